// Remotes end to end through the built CLI, on a directory remote and on a real S3-compatible
// server (s3rver on loopback): clone, put, push from two stores, pull, and what must never
// happen (a corrupted remote object used, a secret printed, a dry run writing).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTusk, tuskJson, type RunOptions } from '../cli/cli-helpers.js';
import { localStore } from './remote-helpers.js';
import { seededBytes, tempDir } from '../helpers.js';
import { startS3, type S3Server } from './s3-server.js';

let s3: S3Server;
const root = tempDir('tusk-remote-');
beforeAll(async () => {
  s3 = await startS3(['tusk']);
});
afterAll(async () => {
  await s3.close();
  fs.rmSync(root, { recursive: true, force: true });
});

interface Backend {
  name: string;
  url: (tag: string) => string;
  flags: () => string[];
  env: () => RunOptions['env'];
}

const backends: Backend[] = [
  { name: 'file://', url: (tag) => `file://${path.join(root, `remote-${tag}`)}`, flags: () => [], env: () => ({}) },
  {
    name: 's3://',
    url: (tag) => `s3://tusk/${tag}`,
    flags: () => ['--endpoint', s3.endpoint, '--path-style', '--checksums', 'when-required'],
    env: () => s3.env,
  },
];

describe.each(backends)('a $name remote', (b) => {
  it('carries commits and bytes both ways: push, clone, push from both stores, pull', async () => {
    const tag = `rt${b.name.startsWith('s3') ? 's3' : 'dir'}`;
    const a = localStore(path.join(root, `${tag}-a`), b.env);
    await a.put('images', 'master', { '/big.bin': seededBytes(3 << 20, 7) });
    await a.put('images', 'master', { '/docs/note.txt': 'hello\n' });
    expect((await a.json(['remote', 'add', 'origin', b.url(tag), ...b.flags()])).name).toBe('origin');

    const dry = await a.json(['push', '--dry-run']);
    expect(dry.dryRun).toBe(true);
    expect(dry.branches).toEqual([expect.objectContaining({ repo: 'images', branch: 'master', status: 'would push', commits: 2 })]);
    expect(dry.bytes).toBeGreaterThan(3 << 20);
    // the dry run wrote nothing: a clone finds no remote, and leaves no directory behind
    const early = await runTusk(['clone', b.url(tag), path.join(root, `${tag}-early`), ...b.flags(), '--json'], { env: b.env() });
    expect(early.code, early.describe()).toBe(4);
    expect(fs.existsSync(path.join(root, `${tag}-early`))).toBe(false);

    const pushed = await a.json(['push']);
    expect(pushed.branches[0]).toMatchObject({ status: 'pushed', from: null, commits: 2 });
    expect(pushed.packs).toBe(1);

    const cloned = await tuskJson(['clone', b.url(tag), path.join(root, `${tag}-b`), ...b.flags(), '--json'], { env: b.env() });
    expect(cloned.branches[0]).toMatchObject({ repo: 'images', branch: 'master', status: 'created' });
    const c = localStore(path.join(root, `${tag}-b`), b.env);
    expect(await c.snapshot('images', 'master')).toEqual(await a.snapshot('images', 'master'));

    // both stores add a commit in turn and push; each pulls the other's
    await c.put('images', 'master', { '/c.txt': 'from c\n' });
    expect((await c.json(['push'])).branches[0].status).toBe('pushed');
    expect((await a.json(['pull'])).branches[0].status).toBe('fast-forwarded');
    await a.put('images', 'master', { '/a.bin': seededBytes(700_000, 9) });
    const second = await a.json(['push']);
    // only the new file's chunks travel
    expect(second.bytes).toBeLessThan(800_000);
    expect(second.bytes).toBeGreaterThan(600_000);
    expect((await c.json(['pull'])).branches[0].status).toBe('fast-forwarded');

    const snap = await a.snapshot('images', 'master');
    expect(snap.commits).toHaveLength(4);
    expect(await c.snapshot('images', 'master')).toEqual(snap);
    expect((await c.run(['get', 'file', 'images@master:/big.bin'])).stdoutBytes.equals(seededBytes(3 << 20, 7))).toBe(true);
    expect((await c.run(['fsck', '--verify-data'])).code).toBe(0);
  }, 60_000);
});

describe('a pull from a remote whose pack was damaged', () => {
  it('fails with E_CORRUPT and leaves the local store as it was', async () => {
    const remote = path.join(root, 'remote-corrupt');
    const a = localStore(path.join(root, 'corrupt-a'));
    await a.put('data', 'master', { '/x.bin': seededBytes(1 << 20, 3) });
    await a.json(['remote', 'add', 'origin', `file://${remote}`]);
    await a.json(['push']);
    await tuskJson(['clone', `file://${remote}`, path.join(root, 'corrupt-b'), '--json']);
    const c = localStore(path.join(root, 'corrupt-b'));
    const before = await c.snapshot('data', 'master');

    await a.put('data', 'master', { '/y.bin': seededBytes(1 << 20, 4) });
    expect((await a.json(['push'])).packs).toBe(1);
    // flip one byte in the middle of the new pack's chunk data
    const packs = fs.readdirSync(path.join(remote, 'packs')).map((f) => path.join(remote, 'packs', f));
    const newest = packs.sort((x, y) => fs.statSync(y).mtimeMs - fs.statSync(x).mtimeMs)[0]!;
    const bytes = fs.readFileSync(newest);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(newest, bytes);

    const r = await c.run(['pull', '--json']);
    expect(r.code, r.describe()).toBe(5);
    expect(r.json().error.code).toBe('E_CORRUPT');
    expect(await c.snapshot('data', 'master')).toEqual(before);
    expect((await c.run(['fsck', '--verify-data'])).code).toBe(0);

    // fsck --remote: the metadata is whole (so without --verify-data it passes); reading the
    // data finds the damaged chunk, and a missing pack is found without reading anything
    const meta = await c.json(['fsck', '--remote', 'origin']);
    expect(meta).toMatchObject({ ok: true, checked: { branches: 1, updates: 2, bundles: 2, packs: 2 } });
    const deep = await c.run(['fsck', '--remote', 'origin', '--verify-data', '--json']);
    expect(deep.code, deep.describe()).toBe(5);
    expect(deep.json().error.details.problems).toEqual([{ subject: expect.stringMatching(/^pack /), problem: expect.stringContaining('does not match its id') }]);
    fs.rmSync(newest);
    const gone = await c.run(['fsck', '--remote', 'origin', '--json']);
    expect(gone.code, gone.describe()).toBe(5);
    expect(gone.json().error.details.problems).toEqual([{ subject: expect.stringMatching(/^pack /), problem: 'indexed but missing' }]);
  }, 30_000);
});

describe('secrets', () => {
  it('never appear in output, errors or the store config, and the SDK warning stays out', async () => {
    const secret = 'sEcReT-never-print-me-0123456789';
    const env = () => ({ ...s3.env, AWS_SECRET_ACCESS_KEY: secret });
    const a = localStore(path.join(root, 'secret-a'), env);
    await a.put('r', 'master', { '/f': 'x' });
    await a.json(['remote', 'add', 'origin', 's3://tusk/secret', '--endpoint', s3.endpoint, '--path-style']);
    await a.json(['remote', 'add', 'nobucket', 's3://no-such-bucket/p', '--endpoint', s3.endpoint, '--path-style']);
    const ok = await a.run(['push', 'origin', '--json']);
    expect(ok.code, ok.describe()).toBe(0);
    const bad = await a.run(['push', 'nobucket', '--json']);
    expect(bad.code, bad.describe()).toBe(4);
    expect(bad.json().error.message).toContain('no-such-bucket');
    const list = await a.run(['remote', 'list', '--json']);
    const inUrl = await a.run(['remote', 'add', 'x', `s3://AKIA:${secret}@tusk/p`, '--json']);
    expect(inUrl.code).toBe(2);
    for (const out of [ok.stdout, ok.stderr, bad.stdout, bad.stderr, list.stdout, list.stderr, inUrl.stdout, inUrl.stderr, fs.readFileSync(path.join(a.dir, '.tusk', 'remotes.json'), 'utf8')]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain('NodeVersionSupportWarning');
    }
  }, 30_000);
});
