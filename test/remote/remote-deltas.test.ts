// Versions of a file stored as deltas (docs/format.md, "Deltas") travel through push, clone and
// pull: the delta records go up as they are, with the base chunks the remote lacks, and every
// store that receives them reads the same bytes and passes `fsck --verify-data`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tuskJson, type RunOptions } from '../cli/cli-helpers.js';
import { streamOf, seededBytes, tempDir } from '../helpers.js';
import { decodeIndex } from '../../src/remote/layout.js';
import { localStore, type LocalStore } from './remote-helpers.js';
import { startS3, type S3Server } from './s3-server.js';

let s3: S3Server;
const root = tempDir('tusk-remote-deltas-');
beforeAll(async () => {
  s3 = await startS3(['tusk']);
});
afterAll(async () => {
  await s3.close();
  fs.rmSync(root, { recursive: true, force: true });
});

// the S3 server here; the other cases use a directory remote (the same code past the object store)
const b = {
  url: (tag: string) => `s3://tusk/${tag}`,
  flags: () => ['--endpoint', s3.endpoint, '--path-style', '--checksums', 'when-required'],
  env: (): RunOptions['env'] => s3.env,
};

/** Chunks a store holds as deltas. */
function deltaChunks(dir: string): number {
  const db = new Database(path.join(dir, '.tusk', 'meta.db'), { readonly: true });
  try {
    return db.prepare('SELECT COUNT(DISTINCT id) FROM chunk_deltas').pluck().get() as number;
  } finally {
    db.close();
  }
}

/** v1: 1.5 MiB of seeded bytes; v2: the same with 64 bytes overwritten in the middle. */
const v1 = seededBytes(3 << 19, 11);
const v2 = Buffer.from(v1);
v2.fill(0x5a, 700_000, 700_064);

async function getFile(st: LocalStore, ref: string): Promise<Buffer> {
  const r = await st.run(['get', 'file', ref]);
  expect(r.code, r.describe()).toBe(0);
  return r.stdoutBytes;
}

/** A file of a commit, read in this process. */
async function readIn(st: LocalStore, repo: string, commit: string): Promise<Buffer> {
  const out = path.join(st.dir, `read-${commit}`);
  await st.with((s) => s.getFile({ repo, commit, path: '/t.bin' }, { output: out }));
  return fs.readFileSync(out);
}

describe('deltas through an s3:// remote', () => {
  it('push, clone and pull carry both versions, byte for byte, and every fsck is clean', async () => {
    const tag = 'ds3';
    const a = localStore(path.join(root, `${tag}-a`), b.env);
    const first = await a.put('tables', 'master', { '/t.bin': v1 });
    await a.json(['remote', 'add', 'origin', b.url(tag), ...b.flags()]);
    await a.json(['push']);
    // a store that has v1 before v2 exists: its pull receives deltas whose bases it holds
    await tuskJson(['clone', b.url(tag), path.join(root, `${tag}-early`), ...b.flags(), '--json'], { env: b.env() });

    const second = await a.put('tables', 'master', { '/t.bin': v2 });
    expect(deltaChunks(a.dir)).toBeGreaterThan(0);
    const pushed = await a.json(['push']);
    expect(pushed.branches[0]).toMatchObject({ status: 'pushed', commits: 1 });
    // the edit travels as a delta, not as a second copy of the chunk it touched
    expect(pushed.bytes).toBeLessThan(64 << 10);

    // a clone receives bases and deltas in one import
    await tuskJson(['clone', b.url(tag), path.join(root, `${tag}-late`), ...b.flags(), '--json'], { env: b.env() });
    const late = localStore(path.join(root, `${tag}-late`), b.env);
    const early = localStore(path.join(root, `${tag}-early`), b.env);
    expect((await early.json(['pull'])).branches[0].status).toBe('fast-forwarded');
    expect((await getFile(late, 'tables@master:/t.bin')).equals(v2)).toBe(true);
    for (const st of [late, early]) {
      expect(await st.snapshot('tables', 'master')).toEqual(await a.snapshot('tables', 'master'));
      expect((await readIn(st, 'tables', first)).equals(v1)).toBe(true);
      expect((await readIn(st, 'tables', second)).equals(v2)).toBe(true);
      // the receiving store keeps them as deltas too
      expect(deltaChunks(st.dir)).toBe(deltaChunks(a.dir));
      const fsck = await st.run(['fsck', '--verify-data']);
      expect(fsck.code, fsck.describe()).toBe(0);
    }
    const remote = await a.json(['fsck', '--remote', 'origin', '--verify-data']);
    expect(remote.ok).toBe(true);
    expect(remote.checked.chunksVerified).toBeGreaterThan(0);
  }, 60_000);
});

describe('a delta whose base no commit reaches', () => {
  it('travels with its base: two versions put in one open commit', async () => {
    const remote = path.join(root, 'remote-open');
    const a = localStore(path.join(root, 'open-a'));
    await a.with(async (s) => {
      await s.createRepo('tables');
      const c = await s.startCommit('tables', 'master');
      await s.putFiles({ repo: 'tables', branch: 'master' }, [{ kind: 'stream', stream: streamOf(v1), repoPath: '/t.bin' }]);
      await s.putFiles({ repo: 'tables', branch: 'master' }, [{ kind: 'stream', stream: streamOf(v2), repoPath: '/t.bin' }]);
      await s.finishCommit({ repo: 'tables', commit: c.id });
    });
    expect(deltaChunks(a.dir)).toBeGreaterThan(0);
    await a.json(['remote', 'add', 'origin', `file://${remote}`]);
    await a.json(['push']);
    expect((await a.json(['fsck', '--remote', 'origin', '--verify-data'])).ok).toBe(true);
    await tuskJson(['clone', `file://${remote}`, path.join(root, 'open-b'), '--json']);
    const c = localStore(path.join(root, 'open-b'));
    expect((await getFile(c, 'tables@master:/t.bin')).equals(v2)).toBe(true);
    expect((await c.run(['fsck', '--verify-data'])).code).toBe(0);
  }, 30_000);
});

describe('a damaged delta on the remote', () => {
  it('fails the pull with E_CORRUPT, leaves the store as it was, and fsck --remote --verify-data finds it', async () => {
    const remote = path.join(root, 'remote-bad');
    const a = localStore(path.join(root, 'bad-a'));
    await a.put('tables', 'master', { '/t.bin': v1 });
    await a.json(['remote', 'add', 'origin', `file://${remote}`]);
    await a.json(['push']);
    await tuskJson(['clone', `file://${remote}`, path.join(root, 'bad-b'), '--json']);
    const c = localStore(path.join(root, 'bad-b'));
    const before = await c.snapshot('tables', 'master');

    await a.put('tables', 'master', { '/t.bin': v2 });
    const packsBefore = new Set(fs.readdirSync(path.join(remote, 'packs')));
    expect((await a.json(['push'])).packs).toBe(1);
    // the new pack holds only the delta records of the edited chunks: damage one of them
    const fresh = fs.readdirSync(path.join(remote, 'packs')).filter((f) => !packsBefore.has(f));
    const file = path.join(remote, 'packs', fresh[0]!);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 8] ^= 0xff;
    fs.writeFileSync(file, bytes);

    const r = await c.run(['pull', '--json']);
    expect(r.code, r.describe()).toBe(5);
    expect(r.json().error.code).toBe('E_CORRUPT');
    expect(await c.snapshot('tables', 'master')).toEqual(before);
    expect((await c.run(['fsck', '--verify-data'])).code).toBe(0);
    const deep = await c.run(['fsck', '--remote', 'origin', '--verify-data', '--json']);
    expect(deep.code, deep.describe()).toBe(5);
    expect(deep.json().error.details.problems).toEqual([{ subject: `pack ${fresh[0]!.slice(0, 16)}`, problem: expect.stringMatching(/does not (decode|match its id)/) }]);
  }, 30_000);
});

describe('deltas pulled into a store whose packs are objects (init --packs file:///DIR)', () => {
  it('are decoded against bases it holds and stored whole; a damaged one fails the pull with E_CORRUPT and changes nothing', async () => {
    const remote = path.join(root, 'remote-objects');
    const a = localStore(path.join(root, 'objects-a'));
    await a.put('tables', 'master', { '/t.bin': v1 });
    await a.json(['remote', 'add', 'origin', `file://${remote}`]);
    await a.json(['push']);
    const cDir = path.join(root, 'objects-c');
    await tuskJson(['init', cDir, '--packs', `file://${path.join(root, 'objects-c-packs')}`, '--json']);
    const c = localStore(cDir);
    await c.json(['remote', 'add', 'origin', `file://${remote}`]);
    await c.json(['pull']);
    const state = async () => ({ commits: await c.json(['list', 'commit', 'tables@master']), files: await c.json(['glob', 'file', 'tables@master:/**']) });
    const before = await state();

    // v2 goes up as delta records against v1's chunks, which c holds in its packs
    const second = await a.put('tables', 'master', { '/t.bin': v2 });
    const packsBefore = new Set(fs.readdirSync(path.join(remote, 'packs')));
    expect((await a.json(['push'])).packs).toBe(1);
    const fresh = fs.readdirSync(path.join(remote, 'packs')).filter((f) => !packsBefore.has(f));
    const file = path.join(remote, 'packs', fresh[0]!);
    const good = fs.readFileSync(file);
    const bad = Buffer.from(good);
    bad[bad.length - 8] ^= 0xff;
    fs.writeFileSync(file, bad);
    const r = await c.run(['pull', '--json']);
    expect(r.code, r.describe()).toBe(5);
    expect(r.json().error).toMatchObject({ code: 'E_CORRUPT', message: expect.stringMatching(/remote pack .* (does not decode|does not match its id)/) });
    expect(await state()).toEqual(before);

    fs.writeFileSync(file, good);
    expect((await c.json(['pull'])).branches[0]).toMatchObject({ status: 'fast-forwarded', commits: 1 });
    expect((await getFile(c, `tables@${second}:/t.bin`)).equals(v2)).toBe(true);
    expect((await c.json(['fsck', '--verify-data'])).ok).toBe(true);
    // stored whole: no chunk row of codec 2, no delta row
    const db = new Database(path.join(cDir, '.tusk', 'meta.db'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM chunks WHERE codec = 2').pluck().get()).toBe(0);
    db.close();
    expect(deltaChunks(cDir)).toBe(0);
  }, 30_000);
});

describe('fsck --remote without --verify-data', () => {
  it("finds a kept delta whose base's pack was deleted, from the index objects", async () => {
    const remote = path.join(root, 'remote-nobase');
    const a = localStore(path.join(root, 'nobase-a'));
    // v1 is overwritten in the same open commit: its edited chunk is a base no file needs
    await a.with(async (s) => {
      await s.createRepo('tables');
      const c = await s.startCommit('tables', 'master');
      await s.putFiles({ repo: 'tables', branch: 'master' }, [{ kind: 'stream', stream: streamOf(v1), repoPath: '/t.bin' }]);
      await s.putFiles({ repo: 'tables', branch: 'master' }, [{ kind: 'stream', stream: streamOf(v2), repoPath: '/t.bin' }]);
      await s.finishCommit({ repo: 'tables', commit: c.id });
    });
    await a.json(['remote', 'add', 'origin', `file://${remote}`]);
    // tiny packs: each record in a pack of its own, so a base's pack holds nothing else
    await a.json(['push'], { TUSK_REMOTE_PACK_MIB: '0.01' });
    const clean = await a.json(['fsck', '--remote', 'origin']);
    expect(clean.ok).toBe(true);
    expect(clean.checked.deltaBases).toBeGreaterThan(0);

    const db = new Database(path.join(a.dir, '.tusk', 'meta.db'), { readonly: true });
    const bases = (db.prepare('SELECT DISTINCT base FROM chunk_deltas').pluck().all() as Buffer[]).map((b) => b.toString('hex'));
    db.close();
    const indexDir = path.join(remote, 'index');
    const holder = fs.readdirSync(indexDir).find((sha) => decodeIndex(fs.readFileSync(path.join(indexDir, sha)), sha).some((e) => bases.includes(e.id.toString('hex'))))!;
    const base = decodeIndex(fs.readFileSync(path.join(indexDir, holder)), holder)[0]!.id.toString('hex');
    const problem = async () => {
      const r = await a.run(['fsck', '--remote', 'origin', '--json']);
      expect(r.code, r.describe()).toBe(5);
      return r.json().error.details.problems as { subject: string; problem: string }[];
    };

    // the pack gone, its index left
    fs.rmSync(path.join(remote, 'packs', `${holder}.pack`));
    expect(await problem()).toContainEqual({ subject: `chunk ${base.slice(0, 16)}`, problem: expect.stringMatching(new RegExp(`base of delta chunk .*its pack ${holder.slice(0, 16)} is missing`)) });
    // both gone, as a gc deletes them
    fs.rmSync(path.join(indexDir, holder));
    expect(await problem()).toEqual([{ subject: `chunk ${base.slice(0, 16)}`, problem: expect.stringMatching(/base of delta chunk .*no pack index names it/) }]);

    // indexes of the first format do not name bases: the records of the packs a file needs say
    for (const sha of fs.readdirSync(indexDir)) {
      const file = path.join(indexDir, sha);
      const entries = decodeIndex(fs.readFileSync(file), sha);
      fs.writeFileSync(file, Buffer.concat([Buffer.from('TKRIDX01', 'latin1'), ...entries.map((e) => {
        const row = Buffer.alloc(44);
        e.id.copy(row);
        row.writeBigUInt64BE(BigInt(e.offset), 32);
        row.writeUInt32BE(e.length, 40);
        return row;
      })]));
      expect(decodeIndex(fs.readFileSync(file), sha)[0]!.bases).toBeUndefined();
    }
    expect(await problem()).toEqual([{ subject: `chunk ${base.slice(0, 16)}`, problem: expect.stringMatching(/base of delta chunk .*no pack index names it/) }]);
  }, 30_000);
});
