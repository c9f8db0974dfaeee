// The remote-backed chunk index of lazy clones (RemoteChunkIndex) as its callers use it: a store
// held open while a lazy pull in another process adds commits reads them; a `get -r` asks the
// index once per batch of files, not per file, and a put of small files asks nothing; gc drops
// the rows of chunks no commit needs.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tuskJson } from '../cli/cli-helpers.js';
import { counted, seededBytes, streamOf, tempDir, tempStores } from '../helpers.js';
import { localStore, type LocalStore } from './remote-helpers.js';
import { openTusk } from '../../src/app/tusk.js';
import { parseFileRef } from '../../src/store/address.js';
import { getFile } from '../../src/store/file-service.js';
import { openStore, Store } from '../../src/store/store.js';
import { LazySource } from '../../src/remote/lazy-source.js';

const root = tempDir('tusk-remote-lazy-index-');
const remoteDir = path.join(root, 'dir-remote');
const FILES = 300;
const files: Record<string, Buffer> = {};

beforeAll(async () => {
  const a = localStore(path.join(root, 'a'));
  for (let i = 0; i < FILES; i++) files[`/many/f${String(i).padStart(4, '0')}.txt`] = Buffer.from(`file ${i} ${randomBytes(400).toString('hex')}\n`);
  await a.put('data', 'master', files);
  await a.json(['remote', 'add', 'dir', `file://${remoteDir}`]);
  await a.json(['push', 'dir']);
}, 120_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Every file under `dir`, by its path below it (leading slash), with its bytes. */
function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile()) out.set(`/${f}`, fs.readFileSync(p));
  }
  return out;
}

function expectManyFiles(dir: string): void {
  const got = readTree(dir);
  expect(got.size).toBe(FILES);
  for (const [p, data] of Object.entries(files)) expect(got.get(p.replace('/many', ''))?.equals(data), p).toBe(true);
}


type Fsck = { ok: boolean; checked: { remoteChunks: number }; remote?: { remote: string; absent: number; cached: number }[] };

describe('the remote-backed chunk index', () => {
  it('a store held open reads a commit that a lazy pull in another process added after it asked', async () => {
    const b: LocalStore = localStore(path.join(root, 'held'));
    await b.put('own', 'master', { '/mine.txt': 'local bytes\n' });
    await b.json(['remote', 'add', 'origin', `file://${remoteDir}`]);
    const tusk = await openTusk({ path: path.join(b.dir, '.tusk') });
    try {
      // a read while nothing is remote-backed: the index says so
      const first = path.join(root, 'held-own');
      await tusk.data.getFile(parseFileRef('own@master:/'), { output: first, recursive: true });
      expect(fs.readFileSync(path.join(first, 'mine.txt'), 'utf8')).toBe('local bytes\n');

      const pulled = await b.run(['pull', 'origin', '--lazy', '--json']);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(JSON.parse(pulled.stdout).remoteBacked).toBeGreaterThan(0);

      // the same open store: its next read asks again, finds the chunks remote-backed and fetches them
      const out = path.join(root, 'held-data');
      await tusk.data.getFile(parseFileRef('data@master:/many'), { output: out, recursive: true });
      expectManyFiles(out);
    } finally {
      await tusk.close();
    }
  }, 60_000);

  it('a get -r of a lazy clone asks the index once per batch of files, and a store with nothing remote-backed once in all', async () => {
    const dir = path.join(root, 'counted');
    await tuskJson(['clone', '--lazy', `file://${remoteDir}`, dir, '--json']);
    const store = openStore({ path: path.join(dir, '.tusk') });
    const source = new LazySource(store);
    store.setRemoteSource(source);
    try {
      const { index, calls } = counted(store.core.remoteChunks);
      const core = { ...store.core, remoteChunks: index };
      const out = path.join(root, 'counted-out');
      await getFile(core, parseFileRef('data@master:/many'), { output: out, recursive: true });
      expectManyFiles(out);
      // 300 files are one batch: whether anything is remote-backed (the get, then its batch), which
      // chunks are absent, which cache packs to mark used, and the cache's size once at the end;
      // the chunks (one a file) are fetched and written to the cache 256 at a time (lazy-fetch.ts)
      expect(Object.fromEntries(calls)).toEqual({ any: 2, absent: 1, touch: 1, addCachePacks: Math.ceil(FILES / 256), cacheBytes: 1 });

      // all fetched now: a second get asks the same questions and fetches nothing
      calls.clear();
      await getFile(core, parseFileRef('data@master:/many'), { output: path.join(root, 'counted-again'), recursive: true });
      expect(Object.fromEntries(calls)).toEqual({ any: 2, absent: 1, touch: 1 });
    } finally {
      source.close();
      store.close();
    }

    const plain = openStore({ path: path.join(root, 'a', '.tusk') });
    try {
      const { index, calls } = counted(plain.core.remoteChunks);
      await getFile({ ...plain.core, remoteChunks: index }, parseFileRef('data@master:/many'), { output: path.join(root, 'plain-out'), recursive: true });
      expect(Object.fromEntries(calls)).toEqual({ any: 1 });
    } finally {
      plain.close();
    }
  }, 60_000);

  it('gc drops the remote-backed rows of chunks no commit needs any more', async () => {
    const dir = path.join(root, 'swept');
    await tuskJson(['clone', '--lazy', `file://${remoteDir}`, dir, '--json']);
    const b = localStore(dir);
    const before = await b.json<Fsck>(['fsck']);
    expect(before.checked.remoteChunks).toBeGreaterThanOrEqual(FILES);
    // a repo of the clone's own keeps its bytes here; the remote-backed ones lose their last commit
    await b.put('own', 'master', { '/mine.txt': 'local bytes\n' });
    await b.json(['delete', 'repo', 'data', '--force']);
    expect((await b.run(['gc'])).code).toBe(0);
    const after = await b.json<Fsck>(['fsck']);
    expect(after.ok).toBe(true);
    expect(after.checked.remoteChunks).toBe(0);
    expect(after.remote).toBeUndefined();
    expect((await b.run(['get', 'file', 'own@master:/mine.txt'])).stdout).toBe('local bytes\n');
  }, 60_000);

  const newStore = tempStores();

  it('a put of new versions of small files asks nothing; a file big enough for a delta asks once', async () => {
    const plain = newStore();
    await plain.createRepo('r');
    const put = (store: Store, files: [string, Buffer][]) => store.putFiles({ repo: 'r', branch: 'master' }, files.map(([p, data]) => ({ kind: 'stream' as const, stream: streamOf(data), repoPath: p })));
    const small = (v: number) => Array.from({ length: 40 }, (_, i): [string, Buffer] => [`/s${i}.txt`, seededBytes(2000, v * 100 + i)]);
    await put(plain, small(1));
    const { index, calls } = counted(plain.core.remoteChunks);
    const store = new Store({ ...plain.core, remoteChunks: index });
    await put(store, small(2));
    expect(Object.fromEntries(calls)).toEqual({});
    // a new version of a file big enough for a delta: whether its base may be remote-backed
    await put(store, [['/big.bin', seededBytes(1 << 20, 7)]]);
    await put(store, [['/big.bin', seededBytes(1 << 20, 8)]]);
    expect(Object.fromEntries(calls)).toEqual({ any: 1 });
  });
});
