// Bad input and limits, through the CLI: a full disk (a 20 MiB tmpfs), a read-only store read and
// written by an unprivileged user, a store from a newer tusk, symbolic links inside `put -r`, and
// files that change while they are being put.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORMAT_VERSION } from '../../src/store/meta-db.js';
import { initStore } from '../../src/store/store.js';
import { runTusk, unprivilegedRunner, type RunOptions } from '../cli/cli-helpers.js';
import { seededBytes, tempDir } from '../helpers.js';
import { logicalState, recordFigures, scaled, STRESS, storeBytes, textBytes, withStore, withStoreAsync } from './rel-helpers.js';

const MiB = 1 << 20;
let work: string;
const figures: Record<string, unknown> = {};

beforeAll(() => {
  work = tempDir('tusk-limits-');
  fs.chmodSync(work, 0o755); // the unprivileged user must reach the stores inside
});

afterAll(() => {
  if (Object.keys(figures).length) recordFigures('limits', figures);
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A store in `dir` with repo `r` (made in-process: the CLI is for what is under test). */
async function init(dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  initStore(dir);
  await withStoreAsync(dir, (s) => s.createRepo('r'));
}

async function ok(dir: string, args: string[], opts: RunOptions = {}) {
  const r = await runTusk([...args, '--json'], { cwd: dir, ...opts });
  expect(r.code, r.describe()).toBe(0);
  return r.json();
}

/** The error of a command that must fail: exit status and code checked, message returned. */
async function fails(dir: string, args: string[], exit: number, code: string | string[], opts: RunOptions = {}): Promise<string> {
  const r = await runTusk([...args, '--json'], { cwd: dir, ...opts });
  expect(r.code, r.describe()).toBe(exit);
  const err = r.json<{ error: { code: string; message: string } }>().error;
  expect([code].flat(), r.describe()).toContain(err.code);
  return err.message;
}

/** Every file under `.tusk` (name, size, bytes hash): a store that nothing touched hashes the same. */
function fingerprint(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(`${path.relative(dir, p)}\0`).update(fs.readFileSync(p));
    }
  };
  walk(path.join(dir, '.tusk'));
  return h.digest('hex');
}

const state = async (dir: string) => JSON.stringify(await withStoreAsync(dir, async (s) => (await logicalState(s)).state));
const fsckProblems = (dir: string) => withStoreAsync(dir, async (s) => (await s.fsck({ verifyData: true })).problems);

// ---------------------------------------------------------------------------------------------

const disk = (() => {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { ok: false, why: 'not root: cannot mount a tmpfs' };
  return { ok: true, why: '' };
})();

describe('a full disk (20 MiB tmpfs)', () => {
  let mnt: string;
  let mounted = false;
  let why = disk.why;

  beforeAll(async () => {
    if (!disk.ok) return;
    mnt = path.join(work, 'tmpfs');
    fs.mkdirSync(mnt);
    const r = await new Promise<{ code: number; err: string }>((resolve) => {
      const p = spawn('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mnt], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (b: Buffer) => (err += b.toString()));
      p.on('error', (e) => resolve({ code: 1, err: e.message }));
      p.on('close', (code) => resolve({ code: code ?? 1, err }));
    });
    mounted = r.code === 0;
    if (!mounted) {
      why = `mount -t tmpfs failed: ${r.err.trim()}`;
      console.warn(`[reliability] skipping the full-disk tests: ${why}`);
    }
  });

  afterAll(async () => {
    if (!mounted) return;
    await new Promise((resolve) => spawn('umount', [mnt], { stdio: 'ignore' }).on('close', resolve));
  });

  it('a put bigger than the free space fails with E_IO "no space left", commits nothing; gc reclaims its bytes; a put that fits works', async (ctx) => {
    if (!mounted) return ctx.skip(why);
    const dir = path.join(mnt, 'store');
    await init(dir);
    const small = path.join(work, 'small.bin');
    fs.writeFileSync(small, seededBytes(1 * MiB, 1));
    await ok(dir, ['put', 'file', 'r@master:/small.bin', '-f', small]);
    const before = await state(dir);
    const big = path.join(work, 'big.bin'); // outside the tmpfs
    fs.writeFileSync(big, seededBytes(30 * MiB, 2));
    const msg = await fails(dir, ['put', 'file', 'r@master:/big.bin', '-f', big], 1, 'E_IO');
    expect(msg).toContain('no space left on device');
    expect(await state(dir)).toBe(before);
    expect(await fsckProblems(dir)).toEqual([]);
    const gc = await ok(dir, ['gc']);
    expect(gc.bytesReclaimed).toBeGreaterThan(10 * MiB);
    const mid = path.join(work, 'mid.bin');
    fs.writeFileSync(mid, textBytes(4 * MiB, 3));
    await ok(dir, ['put', 'file', 'r@master:/mid.bin', '-f', mid]);
    const got = await runTusk(['get', 'file', 'r@master:/mid.bin'], { cwd: dir });
    expect(got.stdoutBytes.equals(fs.readFileSync(mid))).toBe(true);
    figures.fullDiskPack = { failedPutMiB: 30, reclaimedBytes: gc.bytesReclaimed };
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a get -o bigger than the free space fails with E_IO "no space left" and leaves no partial file', async (ctx) => {
    if (!mounted) return ctx.skip(why);
    // the store is on the ordinary disk, the output on the tmpfs
    const msg = await getFailsInto('get-full', 30 * MiB, path.join(mnt, 'out'));
    expect(msg).toContain('no space left on device');
  });

  it('when the metadata cannot grow (SQLITE_FULL) the put fails with E_IO, not an internal error, and the store is unchanged', async (ctx) => {
    if (!mounted) return ctx.skip(why);
    const dir = path.join(mnt, 'store2');
    await init(dir);
    // thousands of identical tiny files: one chunk, but thousands of tree entries and cache rows
    const src = path.join(work, 'same');
    fs.mkdirSync(src, { recursive: true });
    const N = scaled(3000, 5000);
    for (let i = 0; i < N; i++) fs.writeFileSync(path.join(src, `a-rather-long-file-name-to-make-the-tree-pages-and-the-file-cache-big-${i}.txt`), 'same\n');
    const before = await state(dir);
    const free = fs.statfsSync(mnt);
    fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(Math.max(0, free.bavail * free.bsize - 200 * 1024)));
    const msg = await fails(dir, ['put', 'file', '-r', 'r@master:/same', '-f', src], 1, 'E_IO');
    expect(msg).toContain('no space left on device');
    fs.rmSync(path.join(mnt, 'filler'));
    expect(await state(dir)).toBe(before);
    expect(await fsckProblems(dir)).toEqual([]);
    const r = await ok(dir, ['put', 'file', '-r', 'r@master:/same', '-f', src]);
    expect(r.files).toBe(N);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('a file size limit (ulimit -f)', () => {
  it('a get -o of a file over the limit fails with E_IO naming the file and the limit, and leaves nothing', async () => {
    const out = path.join(work, 'fsize-out');
    // 2048 blocks of 512 bytes: 1 MiB
    const msg = await getFailsInto('fsize', 3 * MiB, out, { fileSizeBlocks: 2048 });
    expect(msg).toContain(path.join(out, 'f.bin'));
    expect(msg).toContain('file size limit (ulimit -f)');
  });
});

/**
 * A store holding one file of `bytes` whose `get -o` into `out` must fail with E_IO: leaves `out`
 * empty and the store as it was (fsck clean). Returns the error message.
 */
async function getFailsInto(name: string, bytes: number, out: string, opts: RunOptions = {}): Promise<string> {
  const dir = path.join(work, name);
  await init(dir);
  const f = path.join(work, `${name}.bin`);
  fs.writeFileSync(f, seededBytes(bytes, 4));
  await ok(dir, ['put', 'file', 'r@master:/f.bin', '-f', f]);
  const before = await state(dir);
  fs.mkdirSync(out);
  const msg = await fails(dir, ['get', 'file', 'r@master:/f.bin', '-o', path.join(out, 'f.bin')], 1, 'E_IO', opts);
  expect(fs.readdirSync(out)).toEqual([]);
  expect(await state(dir)).toBe(before);
  expect(await fsckProblems(dir)).toEqual([]);
  fs.rmSync(out, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  return msg;
}

// ---------------------------------------------------------------------------------------------

const nobody = unprivilegedRunner();

describe.skipIf(!nobody.ok)(`a read-only store (${nobody.ok ? nobody.why : ''})`, () => {
  const as: RunOptions = nobody.ok ? { asUser: nobody.asUser } : {};
  let dir: string;
  let commit: string;
  const data = seededBytes(2 * MiB + 12345, 7);

  beforeAll(async () => {
    dir = path.join(work, 'ro');
    await init(dir);
    const f = path.join(work, 'ro.bin');
    fs.writeFileSync(f, data);
    commit = (await ok(dir, ['put', 'file', 'r@master:/d/x.bin', '-f', f])).commit;
  });

  const readable = async (label: string) => {
    expect((await ok(dir, ['list', 'commit', 'r@master'], as))[0].id, label).toBe(commit);
    expect((await ok(dir, ['list', 'file', 'r@master:/d'], as)).map((f: { path: string }) => f.path), label).toEqual(['/d/x.bin']);
    expect((await ok(dir, ['fsck', '--verify-data'], as)).ok, label).toBe(true);
    const get = await runTusk(['get', 'file', 'r@master:/d/x.bin'], { cwd: dir, ...as });
    expect(get.code, get.describe()).toBe(0);
    expect(get.stdoutBytes.equals(data), label).toBe(true);
  };

  const writesRefused = async (all = true) => {
    const before = fingerprint(dir);
    const f = path.join(work, 'w.txt');
    fs.writeFileSync(f, 'new\n');
    fs.chmodSync(f, 0o644);
    const writes = [['put', 'file', 'r@master:/new.txt', '-f', f], ['gc'], ['create', 'repo', 'q'], ['delete', 'file', 'r@master:/d/x.bin']];
    for (const args of all ? writes.slice(0, STRESS ? 4 : 2) : writes.slice(0, 1)) {
      const msg = await fails(dir, args, 6, 'E_LOCKED', as);
      expect(msg, args.join(' ')).toMatch(/read-only/);
    }
    expect(fingerprint(dir)).toBe(before);
  };

  it('reads work when the store and its directory are read-only (no -wal/-shm: read through a private snapshot)', async () => {
    expect(fs.existsSync(path.join(dir, '.tusk', 'meta.db-shm'))).toBe(false);
    fs.chmodSync(dir, 0o555);
    await new Promise<void>((resolve) => spawn('chmod', ['-R', 'a-w', path.join(dir, '.tusk')]).on('close', () => resolve()));
    try {
      await readable('read-only, no WAL');
      await writesRefused();
    } finally {
      await new Promise<void>((resolve) => spawn('chmod', ['-R', 'u+w', dir]).on('close', () => resolve()));
    }
  });

  it('reads see the newest commit when a crashed writer left -wal and -shm behind', async () => {
    const f = path.join(work, 'ro2.bin');
    fs.writeFileSync(f, data);
    // the commit lands in the WAL, then the process dies before closing the database
    const r = await runTusk(['put', 'file', 'r@master:/d/y.bin', '-f', f], { cwd: dir, env: { TUSK_CRASH_AT: 'after-commit-txn' } });
    expect(r.code, r.describe()).toBe(137);
    expect(fs.statSync(path.join(dir, '.tusk', 'meta.db-wal')).size).toBeGreaterThan(0);
    commit = await withStoreAsync(dir, async (s) => (await s.core.graph.getBranch('r', 'master'))!.head, { readonly: true });
    await new Promise<void>((resolve) => spawn('chmod', ['-R', 'a-w', dir]).on('close', () => resolve()));
    try {
      expect((await ok(dir, ['list', 'commit', 'r@master'], as))[0].id).toBe(commit);
      const get = await runTusk(['get', 'file', 'r@master:/d/y.bin'], { cwd: dir, ...as });
      expect(get.stdoutBytes.equals(data), get.describe()).toBe(true);
      await writesRefused(false);
    } finally {
      await new Promise<void>((resolve) => spawn('chmod', ['-R', 'u+w', dir]).on('close', () => resolve()));
    }
  });

  it('a store whose metadata is writable but whose packs are not: the put fails with E_IO "read-only", no commit', async () => {
    const own = path.join(work, 'ro-packs');
    await init(own);
    await new Promise<void>((resolve) => spawn('chown', ['-R', `${nobody.ok ? nobody.asUser ?? process.getuid!() : 0}`, own]).on('close', () => resolve()));
    fs.chmodSync(path.join(own, '.tusk', 'packs'), 0o555);
    const before = await state(own);
    const f = path.join(work, 'p.bin');
    fs.writeFileSync(f, seededBytes(100_000, 3));
    fs.chmodSync(f, 0o644);
    const msg = await fails(own, ['put', 'file', 'r@master:/p.bin', '-f', f], 1, 'E_IO', as);
    expect(msg).toMatch(/read-only|permission denied/);
    expect(await state(own)).toBe(before);
    expect(await fsckProblems(own)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('a store written by an older tusk', () => {
  it('a reading command migrates it when it can write the store; a user who cannot gets E_FORMAT and the store is unchanged', async () => {
    const dir = path.join(work, 'older');
    await init(dir);
    // what format 3 left: the file cache a row per file (and none of the later tables)
    const db = new Database(path.join(dir, '.tusk', 'meta.db'));
    db.exec('DROP TABLE file_cache; DROP TABLE profiles; DROP TABLE content_states; DROP TABLE chunk_deltas; DROP TABLE remote_chunks; DROP TABLE chunk_cache; DROP TABLE datum_attempts');
    db.exec('DROP INDEX datums_by_hash; ALTER TABLE datums DROP COLUMN reused; CREATE INDEX datums_by_hash ON datums(pipeline, id, hash)');
    db.exec('CREATE TABLE file_cache (path TEXT PRIMARY KEY, dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL, ctime REAL NOT NULL, content BLOB NOT NULL) WITHOUT ROWID');
    db.pragma('user_version = 3');
    db.close();
    if (nobody.ok) {
      const before = fingerprint(dir);
      const r = await runTusk(['list', 'repo'], { cwd: dir, asUser: nobody.asUser });
      expect(r.code, r.describe()).toBe(1);
      expect(r.stderr, r.describe()).toContain('needs a migration to format');
      expect(r.stderr, r.describe()).toContain('as a user who can write the store');
      expect(fingerprint(dir)).toBe(before);
    }
    const list = await runTusk(['list', 'repo', '--json'], { cwd: dir });
    expect(list.code, list.describe()).toBe(0);
    const after = new Database(path.join(dir, '.tusk', 'meta.db'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    after.close();
  });
});

describe('a store written by a newer tusk', () => {
  it('every command, read or write, refuses it with E_FORMAT and "upgrade tusk", and changes nothing', async () => {
    const dir = path.join(work, 'newer');
    await init(dir);
    const db = new Database(path.join(dir, '.tusk', 'meta.db'));
    db.pragma(`user_version = ${FORMAT_VERSION + 1}`);
    db.close();
    const before = fingerprint(dir);
    for (const args of [['list', 'repo'], ['put', 'file', 'r@master:/x', '-f', path.join(dir, '.tusk', 'meta.db')]]) {
      const r = await runTusk(args, { cwd: dir });
      expect(r.code, r.describe()).toBe(1);
      expect(r.stderr, r.describe()).toContain(`format version ${FORMAT_VERSION + 1}`);
      expect(r.stderr, r.describe()).toContain('upgrade tusk');
      const j = await runTusk([...args, '--json'], { cwd: dir });
      expect(j.json().error.code).toBe('E_FORMAT');
    }
    expect(fingerprint(dir)).toBe(before);
  });
});

// ---------------------------------------------------------------------------------------------

describe('symbolic links inside `put -r`', () => {
  it('are skipped with a warning (in --json: warnings[]), never followed out of the tree, and loops do not hang', async () => {
    const dir = path.join(work, 'links');
    await init(dir);
    const outside = path.join(work, 'outside');
    fs.mkdirSync(path.join(outside, 'dir'), { recursive: true });
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
    fs.writeFileSync(path.join(outside, 'dir', 'inner.txt'), 'inner\n');
    const tree = path.join(work, 'tree');
    fs.mkdirSync(path.join(tree, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'a.txt'), 'a\n');
    fs.writeFileSync(path.join(tree, 'sub', 'b.txt'), 'b\n');
    const links: Record<string, string> = {
      'to-outside-file': path.join(outside, 'secret.txt'),
      'to-outside-dir': path.join(outside, 'dir'),
      'sub/to-inside-file': '../a.txt',
      'sub/loop': '..',
      dangling: path.join(work, 'does-not-exist'),
    };
    for (const [l, target] of Object.entries(links)) fs.symlinkSync(target, path.join(tree, l));
    const r = await runTusk(['put', 'file', '-r', 'r@master:/t', '-f', tree, '--json'], { cwd: dir, timeoutMs: 30_000 });
    expect(r.code, r.describe()).toBe(0);
    const res = r.json<{ files: number; warnings?: string[] }>();
    expect(res.files).toBe(2);
    for (const l of Object.keys(links)) expect(res.warnings ?? [], l).toContainEqual(expect.stringContaining(path.join(tree, l)));
    const files = (await ok(dir, ['list', 'file', 'r@master:/t/**'])).filter((f: { type: string }) => f.type === 'file').map((f: { path: string }) => f.path);
    expect(files.sort()).toEqual(['/t/a.txt', '/t/sub/b.txt']);
    // nothing from outside the tree was read into the store
    const all = await runTusk(['get', 'file', '-r', 'r@master:/', '-o', path.join(work, 'links-out')], { cwd: dir });
    expect(all.code, all.describe()).toBe(0);
    const blob = fs.readdirSync(path.join(work, 'links-out'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'));
    expect(blob.join('')).not.toContain('secret');
    expect(blob.join('')).not.toContain('inner');
  });
});

// ---------------------------------------------------------------------------------------------

/** A process appending to `file` every few ms until killed. */
function appender(file: string, opts: { truncate?: boolean } = {}): ChildProcess {
  const code = opts.truncate
    ? `const fs=require('fs');const f=process.argv[1];let n=fs.statSync(f).size;setInterval(()=>{n=Math.max(0,n-4096);fs.truncateSync(f,n)},2)`
    : `const fs=require('fs');const fd=fs.openSync(process.argv[1],'a');const b=Buffer.alloc(4096,120);setInterval(()=>fs.writeSync(fd,b),2)`;
  return spawn(process.execPath, ['-e', code, file], { stdio: 'ignore' });
}

describe('files that change while they are being put', () => {
  const ROUNDS = scaled(1, 10);
  const SIZE = scaled(12, 24) * MiB;

  for (const mode of ['appended to', 'truncated'] as const) {
    it(`a large file ${mode} by another process during the put: E_CONFLICT (or a whole, consistent version), never a torn file; a retry after it settles succeeds`, async () => {
      const dir = path.join(work, `changing-${mode.replace(/\W/g, '')}`);
      await init(dir);
      const f = path.join(work, `changing-${mode.replace(/\W/g, '')}.bin`);
      const outcomes = { conflict: 0, stored: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        fs.writeFileSync(f, Buffer.concat([seededBytes(SIZE, 40 + round), textBytes(SIZE / 4, 60 + round)]));
        const before = await state(dir);
        const size0 = fs.statSync(f).size;
        const p = appender(f, { truncate: mode === 'truncated' });
        // it is writing before the put starts
        for (let i = 0; i < 400 && fs.statSync(f).size === size0; i++) await new Promise((r) => setTimeout(r, 25));
        expect(fs.statSync(f).size, 'the other process changes the file').not.toBe(size0);
        let r;
        try {
          r = await runTusk(['put', 'file', 'r@master:/f.bin', '-f', f, '--json'], { cwd: dir });
        } finally {
          p.kill('SIGKILL');
          await new Promise((res) => p.once('close', res));
        }
        if (r.code === 3) {
          expect(r.json().error.code).toBe('E_CONFLICT');
          expect(r.json().error.message).toContain('changed while it was being read');
          expect(await state(dir)).toBe(before);
          outcomes.conflict++;
        } else {
          // only acceptable if what was stored is exactly the file as it was at one moment: for an
          // append or a truncation, a prefix of the final bytes that matches the stored size
          expect(r.code, r.describe()).toBe(0);
          const got = (await runTusk(['get', 'file', 'r@master:/f.bin'], { cwd: dir })).stdoutBytes;
          const now = fs.readFileSync(f);
          expect(mode === 'appended to' ? now.subarray(0, got.length).equals(got) : got.subarray(0, now.length).equals(now)).toBe(true);
          outcomes.stored++;
        }
        expect(await fsckProblems(dir)).toEqual([]);
        // settled: the same put succeeds and stores exactly the file
        await ok(dir, ['put', 'file', 'r@master:/f.bin', '-f', f]);
        const got = await runTusk(['get', 'file', 'r@master:/f.bin'], { cwd: dir });
        expect(got.stdoutBytes.equals(fs.readFileSync(f))).toBe(true);
      }
      // what the failed puts wrote goes with gc
      const gcBefore = storeBytes(path.join(dir, '.tusk')).packs;
      await withStoreAsync(dir, (s) => s.gc());
      expect(storeBytes(path.join(dir, '.tusk')).packs).toBeLessThanOrEqual(gcBefore);
      figures[`changing-${mode}`] = outcomes;
      expect(outcomes.conflict).toBeGreaterThan(0);
    }, 300_000);
  }
});
