// A clone takes each chunk record as the sender stored it (compressed or not) once it matches its
// id, and reads packs as streams of records: a record cut short by a shorter pack fails the
// clone, which leaves nothing behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTusk, tuskJson, type RunOptions } from '../cli/cli-helpers.js';
import { seededBytes, tempDir } from '../helpers.js';
import { hashBytes } from '../../src/store/hash.js';
import { Codec, encodeRecordHeader } from '../../src/store/pack-format.js';
import { compress } from '../../src/store/zstd.js';
import { localStore } from './remote-helpers.js';
import { startS3, type S3Server } from './s3-server.js';

let s3: S3Server;
const root = tempDir('tusk-remote-clone-');
beforeAll(async () => {
  s3 = await startS3(['tusk']);
});
afterAll(async () => {
  await s3.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const flags = () => ['--endpoint', s3.endpoint, '--path-style', '--checksums', 'when-required'];
const env = (): RunOptions['env'] => s3.env;

/** Chunks of a store by codec: [codec, count, stored bytes]. */
function codecs(dir: string): [number, number, number][] {
  const db = new Database(path.join(dir, '.tusk', 'meta.db'), { readonly: true });
  try {
    return db.prepare('SELECT codec, COUNT(*), SUM(stored_len) FROM chunks GROUP BY codec ORDER BY codec').raw().all() as [number, number, number][];
  } finally {
    db.close();
  }
}

describe('clone from an s3:// remote', () => {
  it('keeps compressed and raw records as they came, and every byte is checked', async () => {
    const a = localStore(path.join(root, 'a'), env);
    const text = Buffer.from('a line of text that compresses well\n'.repeat(60_000));
    await a.put('mixed', 'master', { '/text.txt': text, '/noise.bin': seededBytes(3 << 20, 5) });
    await a.json(['remote', 'add', 'origin', 's3://tusk/mixed', ...flags()]);
    await a.json(['push']);

    const into = path.join(root, 'b');
    const cloned = await tuskJson(['clone', 's3://tusk/mixed', into, ...flags(), '--json'], { env: env() });
    expect(cloned.branches[0]).toMatchObject({ status: 'created' });
    const b = localStore(into, env);
    // the same records, compressed ones still compressed: nothing was encoded again
    const theirs = codecs(a.dir);
    expect(theirs.length).toBeGreaterThan(1);
    expect(codecs(b.dir)).toEqual(theirs);
    expect((await b.run(['get', 'file', 'mixed@master:/text.txt'])).stdoutBytes.equals(text)).toBe(true);
    expect(await b.snapshot('mixed', 'master')).toEqual(await a.snapshot('mixed', 'master'));
    const fsck = await b.run(['fsck', '--verify-data']);
    expect(fsck.code, fsck.describe()).toBe(0);
  }, 60_000);
});

describe('an import of a compressed record', () => {
  it('stores the payload as it came, not compressed again by the local policy', async () => {
    const st = localStore(path.join(root, 'import'));
    // sixteen letters at random: compresses, and differently at each level
    const chunk = Buffer.from(seededBytes(128 << 10, 3).map((b) => 97 + (b & 15)));
    const id = hashBytes(chunk);
    // level 19: never what the local policy (level 3) writes, so a record compressed again would differ
    const payload = compress(chunk, { compressionLevel: 19 });
    expect(payload.equals(compress(chunk, { compressionLevel: 3 }))).toBe(false);
    await st.with(async (s) => {
      const imp = await s.openImport();
      try {
        await imp.addRecord(id, Buffer.concat([encodeRecordHeader(id, Codec.Zstd, chunk.length, payload.length), payload]), 'a test record');
        await imp.commit({ repos: [], commits: [], pages: [], contents: [] }, [], () => new Error('no moves'));
      } finally {
        await imp.abort();
      }
    });
    const db = new Database(path.join(st.dir, '.tusk', 'meta.db'), { readonly: true });
    const row = db.prepare('SELECT codec, stored_len, raw_len FROM chunks WHERE id = ?').get(id) as { codec: number; stored_len: number; raw_len: number };
    db.close();
    expect(row).toEqual({ codec: Codec.Zstd, stored_len: payload.length, raw_len: chunk.length });
    expect((await st.run(['fsck', '--verify-data'])).code).toBe(0);
  });
});

describe('clone from a remote whose pack is shorter than its index says', () => {
  it('fails, names the pack, and leaves no directory behind', async () => {
    const remote = path.join(root, 'remote-short');
    const a = localStore(path.join(root, 'short-a'));
    await a.put('data', 'master', { '/x.bin': seededBytes(2 << 20, 9) });
    await a.json(['remote', 'add', 'origin', `file://${remote}`]);
    await a.json(['push']);
    const [pack] = fs.readdirSync(path.join(remote, 'packs'));
    const file = path.join(remote, 'packs', pack!);
    fs.truncateSync(file, fs.statSync(file).size - 1000);

    const into = path.join(root, 'short-b');
    const r = await runTusk(['clone', `file://${remote}`, into, '--json'], {});
    expect(r.code, r.describe()).not.toBe(0);
    expect(r.json().error.message).toContain(`packs/${pack}`);
    expect(fs.existsSync(into)).toBe(false);
  }, 30_000);
});

describe('remote commands with a piped stdin', () => {
  it('read their arguments from the command line only, as a script or CI job runs them', async () => {
    const remote = path.join(root, 'remote-stdin');
    const a = localStore(path.join(root, 'stdin-a'));
    await a.put('data', 'master', { '/x.txt': 'x\n' });
    await a.json(['remote', 'add', 'r1', `file://${remote}`]);
    const pushed = await runTusk(['push', 'r1', '--json'], { cwd: a.dir, input: 'some earlier output\n' });
    expect(pushed.code, pushed.describe()).toBe(0);
    expect(pushed.json().branches.map((b: { status: string }) => b.status)).toEqual(['pushed']);
    for (const verb of ['pull', 'fetch']) {
      const r = await runTusk([verb, 'r1', '--json'], { cwd: a.dir, input: 'some earlier output\n' });
      expect(r.code, r.describe()).toBe(0);
    }
    // no DIR: the clone goes where the URL's last name says, in the working directory
    const cwd = path.join(root, 'stdin-cwd');
    fs.mkdirSync(cwd);
    const cloned = await runTusk(['clone', `file://${remote}`, '--json'], { cwd, input: 'elsewhere\n' });
    expect(cloned.code, cloned.describe()).toBe(0);
    expect(cloned.json().path).toBe(path.join(cwd, 'remote-stdin'));
  }, 30_000);
});
