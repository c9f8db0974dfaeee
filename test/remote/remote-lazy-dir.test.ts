// Lazy clones of a directory remote, through the built CLI: a damaged remote object is caught on
// fetch and nothing is cached; a remote out of reach is named and changes nothing; a pipeline job
// and a checkout read fetched bytes; fsck and gc treat remote-backed chunks as such; a lazy clone
// pushes without the bytes it lacks, and a full pull fills them in.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tuskJson } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { decodeIndex } from '../../src/remote/layout.js';
import { localStore, type LocalStore } from './remote-helpers.js';

const root = tempDir('tusk-remote-lazy-dir-');
let a: LocalStore;
const FILES = 400;
const files: Record<string, Buffer> = {};
const big = randomBytes(3 << 20);

beforeAll(async () => {
  a = localStore(path.join(root, 'a'), () => ({ TUSK_RUNNER: 'foreground' }));
  for (let i = 0; i < FILES; i++) files[`/many/f${String(i).padStart(4, '0')}.txt`] = Buffer.from(`file ${i} ${randomBytes(600).toString('hex')}\n`);
  await a.put('data', 'master', { ...files, '/big.bin': big });
  await a.json(['remote', 'add', 'dir', `file://${path.join(root, 'dir-remote')}`]);
  await a.json(['push', 'dir']);
}, 120_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const storeBytes = (dir: string) => {
  let n = 0;
  for (const f of fs.readdirSync(path.join(dir, '.tusk', 'packs'), { recursive: true }) as string[]) {
    const st = fs.statSync(path.join(dir, '.tusk', 'packs', f));
    if (st.isFile()) n += st.size;
  }
  return n;
};
type Fsck = { ok: boolean; checked: { remoteChunks: number }; remote?: { remote: string; absent: number; cached: number }[] };

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
      const err = JSON.parse(r.stdout).error;
      expect(err).toMatchObject({ code: 'E_CORRUPT', message: expect.stringContaining('/many/f0007.txt') });
      expect(err.message.split('cannot be read')).toHaveLength(2);
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
