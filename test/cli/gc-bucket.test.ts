// `tusk gc` on a store whose packs are in a bucket (s3rver on loopback): objects no chunk row
// names are deleted with their sums and their cached blocks, never one a live writer may still
// own; an object left mostly garbage is rewritten as a new one holding its live chunks, also
// across a crash between the upload and the switch-over; `--dry-run` lists and changes nothing.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTusk } from '../../src/app/tusk.js';
import { openObjectStore } from '../../src/remote/config.js';
import type { ObjectStore } from '../../src/remote/object-store.js';
import { PACK_CACHE_DIR } from '../../src/store/pack-cache.js';
import { seededBytes, tempDir, processEnv } from '../helpers.js';
import { startS3, type S3Server } from '../remote/s3-server.js';
import { expectOk, REPO_ROOT, runTusk, type RunOptions } from './cli-helpers.js';

let s3: S3Server;
const env = processEnv();
beforeAll(async () => {
  s3 = await startS3(['tusk']);
  // the in-process parts (a bucket client, gc through openTusk) read credentials as the CLI does
  env.set(s3.env);
});
afterAll(async () => {
  env.restore();
  await s3?.close();
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

let n = 0;
/** A store in a fresh directory whose packs are under their own prefix of the bucket. */
async function bucketStore(): Promise<{ dir: string; opts: RunOptions; bucket: ObjectStore; url: string }> {
  const dir = tempDir('tusk-gc-bucket-');
  dirs.push(dir);
  const url = `s3://tusk/gc-${process.pid}-${n++}`;
  const opts: RunOptions = { cwd: dir, env: s3.env };
  expectOk(await runTusk(['init', '--packs', url, '--endpoint', s3.endpoint, '--path-style', '--json'], opts));
  return { dir, opts, url, bucket: openObjectStore({ url, endpoint: s3.endpoint, pathStyle: true }) };
}

function cachedFiles(dir: string): string[] {
  const root = path.join(dir, '.tusk', PACK_CACHE_DIR);
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.endsWith('.json')).map((e) => e.name);
}

const KEPT = { 'keep1.bin': seededBytes(300 << 10, 11), 'keep2.bin': seededBytes(200 << 10, 12) };

/**
 * One put of two small files and six of 1 MiB (one pack object), the big ones deleted, and the
 * commit that held them squashed away: the object's live chunks are the small files', under a
 * tenth of it.
 */
async function sparseObject(): Promise<{ dir: string; opts: RunOptions; bucket: ObjectStore; pack: string; size: number }> {
  const store = await bucketStore();
  const { dir, opts, bucket } = store;
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  for (const [name, bytes] of Object.entries(KEPT)) fs.writeFileSync(path.join(src, name), bytes);
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(src, `big${i}.bin`), seededBytes(1 << 20, 20 + i));
  expectOk(await runTusk(['create', 'repo', 'r', '--json'], opts));
  const first = expectOk(await runTusk(['put', 'file', '-r', 'r@master:/d', '-f', src, '--json'], opts)).json();
  const [key, ...more] = await bucket.list('packs/');
  expect(more).toEqual([]);
  expectOk(await runTusk(['delete', 'file', 'r@master:/d/big*', '--json'], opts));
  expectOk(await runTusk(['squash', 'commit', `r@${first.commit as string}`, '--json'], opts));
  const pack = key!.slice('packs/'.length);
  return { ...store, pack, size: (await bucket.get(key!))!.length };
}

/** `get file -r` of what remains, from an emptied cache: the kept files' bytes, and nothing else. */
async function expectKeptFromColdCache(dir: string, opts: RunOptions): Promise<void> {
  expectOk(await runTusk(['cache', 'clear', '--json'], opts));
  const out = path.join(dir, `out-${Date.now()}`);
  expectOk(await runTusk(['get', 'file', '-r', 'r@master:/d', '-o', out, '--json'], opts));
  expect(fs.readdirSync(out).sort()).toEqual(Object.keys(KEPT));
  for (const [name, bytes] of Object.entries(KEPT)) expect(fs.readFileSync(path.join(out, name)).equals(bytes)).toBe(true);
  const fsck = expectOk(await runTusk(['fsck', '--verify-data', '--json'], opts)).json();
  expect(fsck.problems).toEqual([]);
  expect(fsck.ok).toBe(true);
}

describe('tusk gc on packs in a bucket', () => {
  it('after a repo is deleted: --dry-run lists its packs and changes nothing, gc deletes them, reports the bytes, prunes the cache; what remains reads back', async () => {
    const { dir, opts, bucket } = await bucketStore();
    const a = seededBytes(3 << 20, 1);
    const b = seededBytes(2 << 20, 2);
    fs.writeFileSync(path.join(dir, 'a.bin'), a);
    fs.writeFileSync(path.join(dir, 'b.bin'), b);
    for (const r of ['a', 'b']) {
      expectOk(await runTusk(['create', 'repo', r, '--json'], opts));
      expectOk(await runTusk(['put', 'file', `${r}@master:/${r}.bin`, '-f', path.join(dir, `${r}.bin`), '--json'], opts));
    }
    const packsOfB = await bucket.list('packs/');
    expect(packsOfB.length).toBe(2);
    // reading a fills the cache with its blocks
    expectOk(await runTusk(['get', 'file', 'a@master:/a.bin', '-o', path.join(dir, 'a.out'), '--json'], opts));

    expectOk(await runTusk(['delete', 'repo', 'a', '--json'], opts));
    const keys = [...(await bucket.list('packs/')), ...(await bucket.list('pack-sums/'))];
    const dry = expectOk(await runTusk(['gc', '--dry-run', '--json'], opts)).json();
    expect(dry).toMatchObject({ dryRun: true, packsRemoved: 1, chunksRemoved: expect.any(Number) });
    expect(dry.chunksRemoved).toBeGreaterThan(0);
    expect(dry.bytesReclaimed).toBeGreaterThanOrEqual(a.length);
    const [gone] = dry.removedPacks as string[];
    expect(packsOfB).toContain(`packs/${gone}`);
    const text = expectOk(await runTusk(['gc', '--dry-run'], opts)).stdout;
    expect(text).toContain('nothing changed');
    expect(text).toContain(gone);
    // nothing changed: the same objects
    expect([...(await bucket.list('packs/')), ...(await bucket.list('pack-sums/'))]).toEqual(keys);
    expect(cachedFiles(dir).some((f) => f.startsWith(`${gone}.`))).toBe(true);

    const done = expectOk(await runTusk(['gc', '--json'], opts)).json();
    expect(done.dryRun).toBeUndefined();
    expect(done).toMatchObject({ packsRemoved: 1, removedPacks: [gone], chunksRemoved: dry.chunksRemoved });
    expect(done.bytesReclaimed).toBeGreaterThanOrEqual(a.length);
    expect(await bucket.list('packs/')).toEqual(packsOfB.filter((k) => k !== `packs/${gone}`));
    expect(await bucket.list('pack-sums/')).toEqual(packsOfB.filter((k) => k !== `packs/${gone}`).map((k) => k.replace('packs/', 'pack-sums/')));
    expect(cachedFiles(dir).filter((f) => f.startsWith(`${gone}.`))).toEqual([]);

    expectOk(await runTusk(['cache', 'clear', '--json'], opts));
    const out = path.join(dir, 'b.out');
    expectOk(await runTusk(['get', 'file', 'b@master:/b.bin', '-o', out, '--json'], opts));
    expect(fs.readFileSync(out).equals(b)).toBe(true);
    expect(expectOk(await runTusk(['fsck', '--verify-data', '--json'], opts)).json().ok).toBe(true);
  });

  it('a put killed after its upload leaves an object no chunk names: gc deletes it once the writer is dead, and the store reads as before', async () => {
    const { dir, opts, bucket } = await bucketStore();
    const kept = seededBytes(1 << 20, 3);
    fs.writeFileSync(path.join(dir, 'kept.bin'), kept);
    fs.writeFileSync(path.join(dir, 'lost.bin'), seededBytes(2 << 20, 4));
    expectOk(await runTusk(['create', 'repo', 'r', '--json'], opts));
    expectOk(await runTusk(['put', 'file', 'r@master:/kept.bin', '-f', path.join(dir, 'kept.bin'), '--json'], opts));
    const before = await bucket.list('packs/');
    const crashed = await runTusk(['put', 'file', 'r@master:/lost.bin', '-f', path.join(dir, 'lost.bin'), '--json'], { ...opts, env: { ...s3.env, TUSK_CRASH_AT: 'after-pack-sync' } });
    expect(crashed.code, crashed.describe()).toBe(137);
    const after = await bucket.list('packs/');
    expect(after.length).toBe(before.length + 1);
    const orphan = after.find((k) => !before.includes(k))!.slice('packs/'.length);

    const report = expectOk(await runTusk(['gc', '--json'], opts)).json();
    expect(report.removedPacks).toEqual([orphan]);
    expect(report.bytesReclaimed).toBeGreaterThanOrEqual(2 << 20);
    expect(await bucket.list('packs/')).toEqual(before);
    expect(await bucket.list('pack-sums/')).toEqual(before.map((k) => k.replace('packs/', 'pack-sums/')));
    const out = path.join(dir, 'kept.out');
    expectOk(await runTusk(['get', 'file', 'r@master:/kept.bin', '-o', out, '--json'], opts));
    expect(fs.readFileSync(out).equals(kept)).toBe(true);
    const lost = await runTusk(['get', 'file', 'r@master:/lost.bin', '-o', path.join(dir, 'lost.out'), '--json'], opts);
    expect(lost.json().error.code, lost.describe()).toBe('E_NOT_FOUND');
  });

  it('an object a live writer has uploaded and not yet recorded is kept; once the writer is gone, gc deletes it', async () => {
    const { dir, bucket } = await bucketStore();
    // a writer as the write path makes one: a session, a fresh pack claimed, its object uploaded, no chunk rows yet
    const script = path.join(dir, 'writer.mjs');
    const dist = (p: string) => JSON.stringify(path.join(REPO_ROOT, 'dist', p));
    fs.writeFileSync(
      script,
      `import { bucketPacks } from ${dist('app/pack-backends.js')};
       import { openCore } from ${dist('store/store-core.js')};
       import { readPackLocation } from ${dist('store/pack-location.js')};
       import { WriteSession } from ${dist('store/write-session.js')};
       const at = process.argv[2];
       const core = openCore(at, { packs: bucketPacks(at, readPackLocation(at)) });
       const session = await WriteSession.start(core);
       const row = await core.index.claimPack(session.id, 1 << 20, { fresh: true });
       await core.packs.put(row.name, Buffer.alloc(4096, 7));
       console.log(row.name);
       process.stdin.resume();`,
    );
    const child = spawn(process.execPath, [script, path.join(dir, '.tusk')], { env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const name = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => resolve(d.toString().trim()));
      child.on('exit', (code) => reject(new Error(`writer exited ${code}: ${stderr}`)));
    });
    expect(await bucket.list('packs/')).toEqual([`packs/${name}`]);

    const t = await openTusk({ path: path.join(dir, '.tusk') });
    try {
      const err = await t.data.gc({ waitMs: 0 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_LOCKED' });
      expect(await bucket.list('packs/')).toEqual([`packs/${name}`]);

      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const report = await t.data.gc({ waitMs: 0 });
      expect(report.removedPacks).toEqual([name]);
      // the object's bytes, and whatever the metadata gave back
      expect(report.bytesReclaimed).toBeGreaterThanOrEqual(4096);
      expect(await bucket.list('packs/')).toEqual([]);
      expect(await bucket.list('pack-sums/')).toEqual([]);
    } finally {
      await t.close();
      child.kill('SIGKILL');
    }
  });

  it('an object no row names is deleted once its name is older than a writer lease, and spared while younger', async () => {
    const { dir, bucket } = await bucketStore();
    const old = `000000000001${'ab'.repeat(10)}`;
    const young = `${Date.now().toString(16).padStart(12, '0')}${'cd'.repeat(10)}`;
    for (const name of [old, young]) await bucket.put(`packs/${name}`, Buffer.alloc(100, 1));
    const t = await openTusk({ path: path.join(dir, '.tusk') });
    try {
      const dry = await t.data.gc({ dryRun: true });
      expect(dry.removedPacks).toEqual([old]);
      expect(await bucket.list('packs/')).toEqual([`packs/${old}`, `packs/${young}`]);
      const report = await t.data.gc();
      expect(report.removedPacks).toEqual([old]);
      expect(await bucket.list('packs/')).toEqual([`packs/${young}`]);
    } finally {
      await t.close();
    }
  });

  it('an object left mostly garbage: --dry-run names it and changes nothing; gc rewrites it as a new object of its live chunks and deletes it; what remains reads from a cold cache', async () => {
    const { dir, opts, bucket, pack, size } = await sparseObject();
    const keys = [...(await bucket.list('packs/')), ...(await bucket.list('pack-sums/'))];
    const dry = expectOk(await runTusk(['gc', '--dry-run', '--json'], opts)).json();
    expect(dry).toMatchObject({ dryRun: true, packsRemoved: 0, packsRewritten: 1, rewrittenPacks: [pack] });
    expect(dry.bytesReclaimed).toBeGreaterThanOrEqual(6 << 20);
    expect(expectOk(await runTusk(['gc', '--dry-run'], opts)).stdout).toContain(`${pack} (rewritten)`);
    expect([...(await bucket.list('packs/')), ...(await bucket.list('pack-sums/'))]).toEqual(keys);

    const done = expectOk(await runTusk(['gc', '--json'], opts)).json();
    expect(done).toMatchObject({ packsRemoved: 0, packsRewritten: 1, rewrittenPacks: [pack] });
    const [key, ...more] = await bucket.list('packs/');
    expect(more).toEqual([]);
    expect(key).not.toBe(`packs/${pack}`);
    const rewritten = (await bucket.get(key!))!.length;
    // the live chunks and their headers, not the 6 MiB that no chunk needs
    expect(rewritten).toBeLessThan(600 << 10);
    expect(rewritten).toBeGreaterThan(500 << 10);
    expect(done.bytesReclaimed).toBeGreaterThanOrEqual(size - rewritten);
    expect(await bucket.list('pack-sums/')).toEqual([key!.replace('packs/', 'pack-sums/')]);
    expect(cachedFiles(dir).filter((f) => f.startsWith(`${pack}.`))).toEqual([]);
    await expectKeptFromColdCache(dir, opts);
    // nothing left to do
    expect(expectOk(await runTusk(['gc', '--json'], opts)).json()).toMatchObject({ packsRemoved: 0, packsRewritten: 0 });
  });

  it('a gc killed between uploading the rewritten object and the switch-over leaves a store that reads; the next gc cleans up', async () => {
    const { dir, opts, bucket, pack } = await sparseObject();
    const crashed = await runTusk(['gc', '--json'], { ...opts, env: { ...s3.env, TUSK_CRASH_AT: 'in-gc-repack' } });
    expect(crashed.code, crashed.describe()).toBe(137);
    // the new object is up, the old one still named by every chunk row
    const both = await bucket.list('packs/');
    expect(both.length).toBe(2);
    expect(both).toContain(`packs/${pack}`);
    const copy = both.find((k) => k !== `packs/${pack}`)!.slice('packs/'.length);
    expect(await bucket.list('pack-sums/')).toEqual(both.map((k) => k.replace('packs/', 'pack-sums/')));
    await expectKeptFromColdCache(dir, opts);

    const report = expectOk(await runTusk(['gc', '--json'], opts)).json();
    // the copy no row uses goes; the old object is rewritten again, and goes too
    expect(report).toMatchObject({ removedPacks: [copy], packsRewritten: 1, rewrittenPacks: [pack] });
    const [key, ...more] = await bucket.list('packs/');
    expect(more).toEqual([]);
    expect([`packs/${pack}`, `packs/${copy}`]).not.toContain(key);
    await expectKeptFromColdCache(dir, opts);
  });
});
