// A store whose packs are in a bucket (a real S3 server, s3rver, on loopback), with the local
// disk only a bounded cache: files go in and come out whole, ranges read only the blocks they
// need, an empty cache is refilled from the bucket and verified, a damaged object is refused and
// never cached, the bound evicts, and a crash between the upload and the metadata commit leaves
// a store that reads.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openTusk } from '../../src/app/tusk.js';
import { bucketPacks, type PacksAt } from '../../src/app/pack-backends.js';
import { openObjectStore } from '../../src/remote/config.js';
import type { ObjectStore } from '../../src/remote/object-store.js';
import { BLOCK_BYTES } from '../../src/store/bucket-packs.js';
import { PACK_CACHE_DIR } from '../../src/store/pack-cache.js';
import { initStore, openStore, type Store } from '../../src/store/store.js';
import { readBack, seededBytes, streamOf, tempDir, processEnv } from '../helpers.js';
import { startS3, type S3Server } from '../remote/s3-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let s3: S3Server;
const env = processEnv();
const setEnv = env.set;
beforeAll(async () => {
  s3 = await startS3(['tusk']);
  setEnv(s3.env);
});
afterAll(async () => {
  env.restore();
  await s3?.close();
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  setEnv({ TUSK_PACK_CACHE_MAX: undefined });
});

let n = 0;
/** A fresh store with its packs under a prefix of its own in the bucket; `client` counts the requests. */
function bucketStore(): { dir: string; storePath: string; at: PacksAt; client: ObjectStore; open: () => Store } {
  const dir = tempDir();
  initStore(dir);
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const storePath = path.join(dir, '.tusk');
  const at: PacksAt = { url: `s3://tusk/store-${process.pid}-${n++}`, endpoint: s3.endpoint, pathStyle: true, checksums: 'when-required' };
  const client = openObjectStore(at);
  const open = () => {
    const s = openStore({ path: storePath, packs: bucketPacks(storePath, at, client) });
    cleanups.unshift(() => s.close());
    return s;
  };
  return { dir, storePath, at, client, open };
}

const localPackFiles = (storePath: string) => fs.readdirSync(path.join(storePath, 'packs'), { recursive: true }).filter((f) => String(f).endsWith('.pack'));
const cachedBlocks = (storePath: string) =>
  fs.existsSync(path.join(storePath, PACK_CACHE_DIR))
    ? fs
        .readdirSync(path.join(storePath, PACK_CACHE_DIR), { recursive: true })
        .map(String)
        .filter((f) => /\.\d+$/.test(f))
    : [];
const big = seededBytes(5 * BLOCK_BYTES + 4321, 11);
const small = Buffer.from('a small file\n'.repeat(20));

async function filled(open: () => Store): Promise<Store> {
  const store = open();
  await store.createRepo('r');
  await store.putFiles({ repo: 'r', branch: 'master' }, [
    { kind: 'stream', repoPath: '/big.bin', stream: streamOf(big) },
    { kind: 'stream', repoPath: '/small.txt', stream: streamOf(small) },
  ]);
  return store;
}

describe('a store whose packs are in a bucket', () => {
  it('puts small and multi-chunk files as objects in the bucket, none on local disk, and reads them back whole and by range', async () => {
    const { storePath, client, open } = bucketStore();
    const store = await filled(open);
    expect(localPackFiles(storePath)).toEqual([]);
    const packs = await store.core.index.listPacks();
    expect(packs.length).toBeGreaterThan(0);
    const keys = await client.list('packs/');
    expect(keys).toEqual(packs.map((p) => `packs/${p.name}`).sort());
    expect(fs.readdirSync(path.join(storePath, 'pack-staging'))).toEqual([]);
    // a staged pack left by a process that died a day ago goes when a store opens; a recent one stays
    const staging = path.join(storePath, 'pack-staging');
    fs.writeFileSync(path.join(staging, 'dead.1-aa.staged'), 'x');
    fs.utimesSync(path.join(staging, 'dead.1-aa.staged'), new Date(Date.now() - 25 * 3600_000), new Date(Date.now() - 25 * 3600_000));
    fs.writeFileSync(path.join(staging, 'live.2-bb.staged'), 'x');
    open();
    expect(fs.readdirSync(staging)).toEqual(['live.2-bb.staged']);

    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/big.bin' })).equals(big)).toBe(true);
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/small.txt' })).equals(small)).toBe(true);
    const out = path.join(storePath, '..', 'part.bin');
    const at = 2 * BLOCK_BYTES + 77;
    await store.getFile({ repo: 'r', branch: 'master', path: '/big.bin' }, { output: out, offset: at, length: 100_000 });
    expect(fs.readFileSync(out).equals(big.subarray(at, at + 100_000))).toBe(true);
    expect((await store.fsck({ verifyData: true })).problems).toEqual([]);
  });

  it('with an empty cache reads everything back from the bucket, verified; a second read costs no GET', async () => {
    const { storePath, client, open } = bucketStore();
    (await filled(open)).close();
    fs.rmSync(path.join(storePath, PACK_CACHE_DIR), { recursive: true, force: true });
    const store = open();
    const gets = client.requests.get;
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/big.bin' })).equals(big)).toBe(true);
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/small.txt' })).equals(small)).toBe(true);
    expect(client.requests.get).toBeGreaterThan(gets);
    expect(cachedBlocks(storePath).length).toBeGreaterThanOrEqual(6);
    const after = client.requests.get;
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/big.bin' })).equals(big)).toBe(true);
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/small.txt' })).equals(small)).toBe(true);
    expect(client.requests.get).toBe(after);
  });

  it('a damaged object in the bucket is E_CORRUPT, and none of its blocks is cached', async () => {
    const { storePath, at, open } = bucketStore();
    const store = await filled(open);
    store.close();
    fs.rmSync(path.join(storePath, PACK_CACHE_DIR), { recursive: true, force: true });
    // flip a byte inside every pack object as the server keeps it
    const prefix = at.url.slice('s3://tusk/'.length);
    const objects = fs.readdirSync(path.join(s3.dir, 'tusk', prefix, 'packs')).filter((f) => f.endsWith('._S3rver_object'));
    expect(objects.length).toBeGreaterThan(0);
    const damaged: string[] = [];
    for (const f of objects) {
      const file = path.join(s3.dir, 'tusk', prefix, 'packs', f);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length >> 1] ^= 0x20;
      fs.writeFileSync(file, bytes);
      damaged.push(`${f.slice(0, -'._S3rver_object'.length)}.${Math.floor((bytes.length >> 1) / BLOCK_BYTES)}`);
    }
    const again = open();
    await expect(readBack(again, { repo: 'r', branch: 'master', path: '/big.bin' })).rejects.toMatchObject({ code: 'E_CORRUPT', message: expect.stringContaining('does not match its recorded hash') });
    // blocks that checked out may be cached; a damaged one never is
    const cached = cachedBlocks(storePath).map((f) => path.basename(f));
    for (const d of damaged) expect(cached).not.toContain(d);
    await expect(readBack(again, { repo: 'r', branch: 'master', path: '/big.bin' })).rejects.toMatchObject({ code: 'E_CORRUPT' });
  });

  it('keeps the cache within TUSK_PACK_CACHE_MAX: it evicts, and a later read fetches again', async () => {
    setEnv({ TUSK_PACK_CACHE_MAX: '2M' });
    const { storePath, client, open } = bucketStore();
    const store = await filled(open);
    const bytesCached = () => cachedBlocks(storePath).reduce((t, f) => t + fs.statSync(path.join(storePath, PACK_CACHE_DIR, f)).size, 0);
    for (let i = 0; i < 2; i++) {
      const gets = client.requests.get;
      expect((await readBack(store, { repo: 'r', branch: 'master', path: '/big.bin' })).equals(big)).toBe(true);
      expect(bytesCached()).toBeLessThanOrEqual(2 * BLOCK_BYTES);
      expect(cachedBlocks(storePath).length).toBeGreaterThan(0);
      // the file is bigger than the bound: the blocks read first were evicted, and come down again
      expect(client.requests.get).toBeGreaterThan(gets);
    }
  });

  it('is wired through the composition root, and `cache info` / `cache clear` see its cache', async () => {
    const { storePath, at } = bucketStore();
    const t = await openTusk({ path: storePath, packs: at });
    cleanups.unshift(() => t.close());
    await t.data.createRepo('r');
    await t.data.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', repoPath: '/big.bin', stream: streamOf(big) }]);
    expect(localPackFiles(storePath)).toEqual([]);
    fs.rmSync(path.join(storePath, PACK_CACHE_DIR), { recursive: true, force: true });
    const out = path.join(storePath, '..', 'big.out');
    await t.data.getFile({ repo: 'r', branch: 'master', path: '/big.bin' }, { output: out });
    expect(fs.readFileSync(out).equals(big)).toBe(true);
    const info = t.caches.info();
    expect(info.packs.blocks).toBeGreaterThanOrEqual(6);
    expect(info.packs.bytes).toBeGreaterThanOrEqual(big.length);
    const cleared = t.caches.clear();
    expect(cleared.packs.blocks).toBe(info.packs.blocks);
    expect(cachedBlocks(storePath)).toEqual([]);
  });

  it('a crash after the upload and before the metadata commit leaves a readable store and at most an unreferenced object', async () => {
    const { dir, storePath, at, client, open } = bucketStore();
    (await filled(open)).close();
    const before = await client.list('packs/');
    const script = path.join(dir, 'crash.mjs');
    fs.writeFileSync(
      script,
      `import { Readable } from 'node:stream';
       import { openTusk } from ${JSON.stringify(path.join(root, 'dist/app/tusk.js'))};
       const t = await openTusk({ path: process.argv[2], packs: JSON.parse(process.argv[3]) });
       const bytes = Buffer.alloc(3 << 20);
       for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
       await t.data.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', repoPath: '/lost.bin', stream: Readable.from([bytes]) }]);
       console.log('committed');`,
    );
    // asynchronously: the S3 server runs in this process and must go on answering the child
    const child = spawn(process.execPath, [script, storePath, JSON.stringify(at)], { env: { ...process.env, TUSK_CRASH_AT: 'after-pack-sync' } });
    const r = { stdout: '', stderr: '', signal: null as NodeJS.Signals | null };
    child.stdout.on('data', (d: Buffer) => (r.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (r.stderr += d.toString()));
    r.signal = await new Promise((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(r.stdout).not.toContain('committed');
    const afterCrash = await client.list('packs/');
    // the upload happened: one object more, which no chunk refers to
    expect(afterCrash.length).toBe(before.length + 1);

    const store = open();
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/big.bin' })).equals(big)).toBe(true);
    expect((await store.listFiles({ repo: 'r', branch: 'master', path: '/' })).map((f) => f.path)).not.toContain('/lost.bin');
    expect((await store.fsck({ verifyData: true })).problems).toEqual([]);
    const more = seededBytes(300_000, 5);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', repoPath: '/more.bin', stream: streamOf(more) }]);
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/more.bin' })).equals(more)).toBe(true);
  });
});
