// Lazy clones: `clone --lazy` and `pull --lazy` bring metadata only; reads (get file, a datum's
// inputs, checkout) fetch the bytes they need by ranges of the remote's packs, verify them, and
// cache them within TUSK_LAZY_CACHE_MAX. Through the built CLI, against a real S3 server (every
// request logged on the wire by a relay in front of it) and a directory remote.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tuskJson } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { decodeIndex } from '../../src/remote/layout.js';
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
  await a.json(['remote', 'add', 'dir', `file://${path.join(root, 'dir-remote')}`]);
  await a.json(['push', 'dir']);
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

describe('a lazy clone of a directory remote', () => {
  let b: LocalStore;
  const remoteDir = path.join(root, 'dir-remote');
  beforeAll(async () => {
    await tuskJson(['clone', '--lazy', `file://${remoteDir}`, path.join(root, 'dirclone'), '--json']);
    b = localStore(path.join(root, 'dirclone'), () => ({ TUSK_RUNNER: 'foreground' }));
  }, 60_000);

  it('detects a damaged remote object on fetch (E_CORRUPT) and caches nothing', async () => {
    const hash = (await a.json<{ hash: string }>(['inspect', 'file', 'data@master:/many/f0007.txt'])).hash;
    const [indexName] = fs.readdirSync(path.join(remoteDir, 'index'));
    const entry = decodeIndex(fs.readFileSync(path.join(remoteDir, 'index', indexName!)), indexName!).find((e) => e.id.toString('hex') === hash)!;
    const pack = path.join(remoteDir, 'packs', `${indexName}.pack`);
    const saved = fs.readFileSync(pack);
    const damaged = Buffer.from(saved);
    damaged[entry.offset + entry.length - 2]! ^= 0x20;
    fs.writeFileSync(pack, damaged);
    try {
      const r = await b.run(['get', 'file', 'data@master:/many/f0007.txt', '-o', path.join(root, 'f7.out'), '--json']);
      expect(r.code).toBe(5);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'E_CORRUPT', message: expect.stringContaining('/many/f0007.txt') });
      expect((await b.json<Fsck>(['fsck'])).remote![0]!.cached).toBe(0);
      expect(storeBytes(b.dir)).toBe(0);
    } finally {
      fs.writeFileSync(pack, saved);
    }
    expect((await b.run(['get', 'file', 'data@master:/many/f0007.txt'])).stdout).toBe(files['/many/f0007.txt']!.toString());
  }, 60_000);

  it('offline: names the remote and the file, exits non-zero, and changes nothing', async () => {
    const away = `${remoteDir}.away`;
    fs.renameSync(remoteDir, away);
    try {
      const before = await b.json<Fsck>(['fsck']);
      const r = await b.run(['get', 'file', 'data@master:/many/f0300.txt', '-o', path.join(root, 'f300.out'), '--json']);
      expect(r.code).not.toBe(0);
      const err = JSON.parse(r.stdout).error;
      expect(err.code).toBe('E_IO');
      expect(err.message).toContain('/many/f0300.txt');
      expect(err.message).toContain('remote origin');
      expect(await b.json<Fsck>(['fsck'])).toEqual(before);
    } finally {
      fs.renameSync(away, remoteDir);
    }
  }, 60_000);

  it('runs a pipeline job over lazily fetched inputs', async () => {
    const spec = { pipeline: { name: 'sizes' }, input: { pfs: { repo: 'data', glob: '/many/f000*' } }, transform: { cmd: ['sh'], stdin: ['for f in /pfs/data/many/*; do wc -c < "$f" > "/pfs/out/$(basename $f)"; done'] } };
    fs.writeFileSync(path.join(b.dir, 'sizes.json'), JSON.stringify(spec));
    const r = await b.run(['create', 'pipeline', '-f', 'sizes.json', '--wait']);
    expect(r.code, r.stderr).toBe(0);
    const jobs = await b.json<{ state: string }[]>(['list', 'job', '-p', 'sizes']);
    expect(jobs.map((j) => j.state)).toEqual(['JOB_SUCCESS']);
    expect((await b.run(['get', 'file', 'sizes@master:/f0004.txt'])).stdout.trim()).toBe(String(files['/many/f0004.txt']!.length));
  }, 60_000);

  it('checkout writes a work tree from fetched bytes', async () => {
    const out = path.join(root, 'work');
    const r = await b.run(['checkout', 'data@master:/many', '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(out)).toHaveLength(FILES);
    expect(fs.readFileSync(path.join(out, 'f0399.txt')).equals(files['/many/f0399.txt']!)).toBe(true);
  }, 60_000);

  it('fsck reports remote chunks as remote and checks them there; gc keeps what a branch needs', async () => {
    const fsck = await b.json<Fsck>(['fsck']);
    expect(fsck.ok).toBe(true);
    expect(fsck.checked.remoteChunks).toBeGreaterThan(0);
    const remote = await b.json<{ ok: boolean; checked: { remoteBacked: number } }>(['fsck', '--remote', 'origin']);
    expect(remote.ok).toBe(true);
    expect(remote.checked.remoteBacked).toBe(fsck.checked.remoteChunks);
    expect((await b.run(['gc'])).code).toBe(0);
    const after = await b.json<Fsck>(['fsck']);
    expect(after.ok).toBe(true);
    expect(after.checked.remoteChunks).toBe(fsck.checked.remoteChunks);
    expect((await b.run(['get', 'file', 'data@master:/many/f0200.txt'])).stdout).toBe(files['/many/f0200.txt']!.toString());
  }, 60_000);

  it('pushes new commits without the bytes it does not have, and a full pull fills in the rest', async () => {
    await b.put('data', 'master', { '/new.txt': 'from the lazy clone\n' });
    const pushed = await b.run(['push', 'origin', 'data@master', '--json']);
    expect(pushed.code, pushed.stderr).toBe(0);
    await a.json(['pull', 'dir']);
    expect((await a.run(['get', 'file', 'data@master:/new.txt'])).stdout).toBe('from the lazy clone\n');

    const pulled = await b.run(['pull', 'origin', '--json']);
    expect(pulled.code, pulled.stderr).toBe(0);
    const fsck = await b.json<Fsck>(['fsck', '--verify-data']);
    expect(fsck.ok).toBe(true);
    expect(fsck.checked.remoteChunks).toBe(0);
    expect(fsck.remote).toBeUndefined();
    // every byte is here now: the remote is no longer needed
    const away = `${remoteDir}.gone`;
    fs.renameSync(remoteDir, away);
    try {
      const out = path.join(root, 'full.out');
      expect((await b.run(['get', 'file', 'data@master:/big.bin', '-o', out])).code).toBe(0);
      expect(fs.readFileSync(out).equals(big)).toBe(true);
    } finally {
      fs.renameSync(away, remoteDir);
    }
  }, 60_000);
});

describe('pull --lazy', () => {
  it('brings new commits as metadata into a store that has the earlier ones', async () => {
    const { b } = await cloneLazy('pull-lazy');
    await a.put('data', 'master', { '/later.txt': 'later\n' });
    await a.json(['push', 'origin']);
    log.reset();
    const r = await b.json<{ commits: number; chunks: number; remoteBacked: number }>(['pull', '--lazy']);
    // the lazy clone's commit (pulled from the directory remote and pushed on) and this one: a new file each
    expect([r.commits, r.chunks, r.remoteBacked]).toEqual([2, 0, 2]);
    expect(packGets()).toEqual([]);
    expect((await b.run(['get', 'file', 'data@master:/later.txt'])).stdout).toBe('later\n');
  }, 60_000);
});
