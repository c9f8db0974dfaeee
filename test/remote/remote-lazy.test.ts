// Lazy clones: `clone --lazy` and `pull --lazy` bring metadata only; reads fetch the bytes they
// need by ranges of the remote's packs, verify them, and cache them within TUSK_LAZY_CACHE_MAX.
// Through the built CLI, against a real S3 server, every request logged on the wire by a relay in
// front of it. remote-lazy-dir.test.ts: damage, offline, pipelines, checkout, fsck, gc, push.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tuskJson } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { localStore, type LocalStore } from './remote-helpers.js';
import { logRequests, type RequestLog } from './request-log.js';
import { startS3, type S3Server } from './s3-server.js';

const root = tempDir('tusk-remote-lazy-');
let s3: S3Server;
let log: RequestLog;
let a: LocalStore;
const FILES = 400;
const files: Record<string, Buffer> = {};
const big = randomBytes(3 << 20);

beforeAll(async () => {
  s3 = await startS3(['tusk']);
  log = await logRequests(s3.endpoint, 'tusk');
  a = localStore(path.join(root, 'a'), () => ({ ...s3.env, TUSK_RUNNER: 'foreground' }));
  for (let i = 0; i < FILES; i++) files[`/many/f${String(i).padStart(4, '0')}.txt`] = Buffer.from(`file ${i} ${randomBytes(600).toString('hex')}\n`);
  await a.put('data', 'master', { ...files, '/big.bin': big });
  await a.json(['remote', 'add', 'origin', 's3://tusk/lazy', '--endpoint', log.endpoint, '--path-style', '--checksums', 'when-required']);
  await a.json(['push', 'origin']);
}, 120_000);
afterAll(async () => {
  await log?.close();
  await s3?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const packGets = () => log.requests.filter((r) => r.method === 'GET' && r.key.startsWith('lazy/packs/'));
const lists = () => log.requests.filter((r) => r.method === 'GET' && r.query.includes('list-type'));
const storeBytes = (dir: string) => {
  let n = 0;
  for (const f of fs.readdirSync(path.join(dir, '.tusk', 'packs'), { recursive: true }) as string[]) {
    const st = fs.statSync(path.join(dir, '.tusk', 'packs', f));
    if (st.isFile()) n += st.size;
  }
  return n;
};
const cloneLazy = async (name: string, env: Record<string, string | undefined> = {}) => {
  const dir = path.join(root, name);
  const r = await tuskJson<{ chunks: number; bytes: number; remoteBacked: number; commits: number }>(
    ['clone', '--lazy', 's3://tusk/lazy', dir, '--endpoint', log.endpoint, '--path-style', '--checksums', 'when-required', '--json'],
    { env: { ...s3.env, ...env } },
  );
  return { r, b: localStore(dir, () => ({ ...s3.env, TUSK_RUNNER: 'foreground', ...env })) };
};
type Fsck = { ok: boolean; checked: { remoteChunks: number }; remote?: { remote: string; absent: number; cached: number }[] };

describe('clone --lazy', () => {
  it('takes the metadata of a repo of many files and none of its bytes', async () => {
    log.reset();
    const { r, b } = await cloneLazy('meta');
    expect([r.commits, r.chunks, r.bytes]).toEqual([1, 0, 0]);
    expect(r.remoteBacked).toBeGreaterThan(FILES);
    expect(packGets()).toEqual([]);
    expect(storeBytes(b.dir)).toBe(0);
    // every file is listed, with its size, before any byte is here
    const listed = await b.json<{ path: string; sizeBytes: number }[]>(['list', 'file', 'data@master:/many']);
    expect(listed).toHaveLength(FILES);
    expect(listed[0]!.sizeBytes).toBe(files['/many/f0000.txt']!.length);
    const fsck = await b.json<Fsck>(['fsck']);
    expect(fsck.ok).toBe(true);
    expect(fsck.checked.remoteChunks).toBe(r.remoteBacked);
    expect(fsck.remote).toEqual([{ remote: 'origin', absent: r.remoteBacked, cached: 0 }]);
  }, 60_000);

  it('get file fetches only the pack ranges of that file, with no listing, and gives its exact bytes', async () => {
    const { b } = await cloneLazy('get');
    log.reset();
    const one = await b.run(['get', 'file', 'data@master:/many/f0123.txt']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe(files['/many/f0123.txt']!.toString());
    // one small file: one ranged GET of a few hundred bytes, nothing listed
    expect(packGets().map((g) => [g.range !== undefined, g.bytes < 4096])).toEqual([[true, true]]);
    expect(lists()).toEqual([]);
    log.reset();
    // a big file's chunks are neighbours in one pack: one request, not one per chunk
    const out = path.join(root, 'big.out');
    expect((await b.run(['get', 'file', 'data@master:/big.bin', '-o', out])).code).toBe(0);
    expect(fs.readFileSync(out).equals(big)).toBe(true);
    expect(packGets()).toHaveLength(1);
    log.reset();
    // cached: read again with no request
    expect((await b.run(['get', 'file', 'data@master:/big.bin', '-o', out])).code).toBe(0);
    expect(log.requests).toEqual([]);
  }, 60_000);

  it('a range read fetches only chunks that can hold the range', async () => {
    const { b } = await cloneLazy('range');
    log.reset();
    const r = await b.run(['get', 'file', 'data@master:/big.bin', '--offset', '1000', '--length', '5000', '-o', path.join(root, 'range.out')]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(root, 'range.out')).equals(big.subarray(1000, 6000))).toBe(true);
    const cached = (await b.json<Fsck>(['fsck'])).remote![0]!.cached;
    // 6,000 bytes from offset 1000 lie in the file's first chunk; at most 6000 / 32 KiB + 1 chunks are fetched
    expect(cached).toBeGreaterThan(0);
    expect(cached).toBeLessThan(3);
    expect(packGets().reduce((n, g) => n + g.bytes, 0)).toBeLessThan(big.length / 2);
  }, 60_000);

  it('honours the cache bound: evicts the least recently used, and fetches evicted bytes again', async () => {
    const { b } = await cloneLazy('bound', { TUSK_LAZY_CACHE_MAX: '64K' });
    const out = path.join(root, 'bound.out');
    expect((await b.run(['get', 'file', 'data@master:/big.bin', '-o', out])).code).toBe(0);
    // the read in progress keeps what it needs, even past the bound
    expect((await b.json<Fsck>(['fsck'])).remote![0]!.cached).toBeGreaterThan(1);
    expect((await b.run(['get', 'file', 'data@master:/many/f0001.txt'])).stdout).toBe(files['/many/f0001.txt']!.toString());
    // the big file's chunks went to make room; the small one is what the cache holds now
    expect((await b.json<Fsck>(['fsck'])).remote![0]!.cached).toBe(1);
    expect(storeBytes(b.dir)).toBeLessThan(64 << 10);
    log.reset();
    expect((await b.run(['get', 'file', 'data@master:/big.bin', '-o', out])).code).toBe(0);
    expect(fs.readFileSync(out).equals(big)).toBe(true);
    expect(packGets().length).toBeGreaterThan(0);
  }, 60_000);
});

describe('pull --lazy', () => {
  it('brings new commits as metadata into a store that has the earlier ones', async () => {
    const { b } = await cloneLazy('pull-lazy');
    await a.put('data', 'master', { '/later.txt': 'later\n' });
    await a.json(['push', 'origin']);
    log.reset();
    const r = await b.json<{ commits: number; chunks: number; remoteBacked: number }>(['pull', '--lazy']);
    expect([r.commits, r.chunks, r.remoteBacked]).toEqual([1, 0, 1]);
    expect(packGets()).toEqual([]);
    expect((await b.run(['get', 'file', 'data@master:/later.txt'])).stdout).toBe('later\n');
  }, 60_000);
});
