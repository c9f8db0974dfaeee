// Bounding the datum input cache after a job reads only the cache directories that changed since
// the last bound (their sizes are kept in an index): the total must still count what any process
// added or removed, the bound must still hold, and a lost index must cost a rescan, not a wrong
// total. Directory times are set back by hand where the test needs time to have passed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INPUT_CACHE_DIR, USAGE_INDEX, boundInputCache, inputCacheUsage } from '../../src/store/input-cache.js';
import { seededBytes } from '../helpers.js';
import { withStoreDir } from '../cli/cli-helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A store directory holding only what the cache needs: `cache/` and `tmp/`. */
function storeDir(): string {
  const d = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'tusk-cache-bound-'));
  dirs.push(d);
  fs.mkdirSync(path.join(d, INPUT_CACHE_DIR));
  fs.mkdirSync(path.join(d, 'tmp'));
  return d;
}

const id = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

/** Put a cached file of `size` bytes named for `n` (directory = its first two hex digits), as a layout does. */
function cache(store: string, n: number, size: number): string {
  const dir = path.join(store, INPUT_CACHE_DIR, id(n).slice(0, 2));
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, id(n));
  fs.writeFileSync(file, seededBytes(size, n));
  return file;
}

/** Make every cache directory look last changed a minute ago (as it would once a job is long over). */
function age(store: string): void {
  const root = path.join(store, INPUT_CACHE_DIR);
  const then = new Date(Date.now() - 60_000);
  for (const d of fs.readdirSync(root)) fs.utimesSync(path.join(root, d), then, then);
}

describe('bounding the input cache from its usage index', () => {
  it('reads only the directories that changed, whoever changed them, and keeps the total exact', () => {
    const s = storeDir();
    for (let n = 1; n <= 5; n++) cache(s, n, 1000 * n);
    age(s);
    const first = boundInputCache(s, { maxBytes: 1 << 20 });
    expect(first).toMatchObject({ dirsRead: 5, filesKept: 5, bytesKept: 15_000, filesRemoved: 0 });
    expect(fs.existsSync(path.join(s, USAGE_INDEX))).toBe(true);

    expect(boundInputCache(s, { maxBytes: 1 << 20 })).toMatchObject({ dirsRead: 0, filesKept: 5, bytesKept: 15_000 });

    // another runner adds to one directory and removes from another
    cache(s, 6, 6000);
    fs.rmSync(path.join(s, INPUT_CACHE_DIR, id(2).slice(0, 2), id(2)));
    const after = boundInputCache(s, { maxBytes: 1 << 20 });
    expect(after).toMatchObject({ dirsRead: 2, filesKept: 5, bytesKept: 19_000 });
    expect(after.bytesKept).toBe(inputCacheUsage(s).bytes);
    // changed within the last second: read again next time (a change in the same timestamp would
    // not show), by the file system's clock even where this process's runs an hour ahead
    expect(boundInputCache(s, { maxBytes: 1 << 20, now: Date.now() + 3600_000 }).dirsRead).toBe(2);
    expect(boundInputCache(s, { maxBytes: 1 << 20 }).dirsRead).toBe(2);
    age(s);
    boundInputCache(s, { maxBytes: 1 << 20 });
    expect(boundInputCache(s, { maxBytes: 1 << 20 }).dirsRead).toBe(0);
  });

  it('over the bound, drops the least recently used files as a full trim does', () => {
    const s = storeDir();
    const files = [1, 2, 3, 4].map((n) => cache(s, n, 10_000));
    // 3 and 4 were used last
    const later = new Date(Date.now() + 3600_000);
    for (const f of files.slice(2)) fs.utimesSync(f, later, fs.statSync(f).mtime);
    age(s);
    expect(boundInputCache(s, { maxBytes: 40_000 })).toMatchObject({ filesRemoved: 0, bytesKept: 40_000 });
    cache(s, 5, 10_000);
    fs.utimesSync(path.join(s, INPUT_CACHE_DIR, id(5).slice(0, 2), id(5)), later, later);
    const r = boundInputCache(s, { maxBytes: 30_000 });
    expect(r).toMatchObject({ filesRemoved: 2, bytesRemoved: 20_000, filesKept: 3, bytesKept: 30_000 });
    expect(files.map((f) => fs.existsSync(f))).toEqual([false, false, true, true]);
    expect(inputCacheUsage(s).bytes).toBe(30_000);
  });

  it('a lost, corrupt or foreign index costs a rescan, never a wrong total', () => {
    const s = storeDir();
    for (let n = 1; n <= 3; n++) cache(s, n, 2000);
    age(s);
    boundInputCache(s, { maxBytes: 1 << 20 });
    const index = path.join(s, USAGE_INDEX);
    fs.rmSync(index);
    expect(boundInputCache(s, { maxBytes: 1 << 20 })).toMatchObject({ dirsRead: 3, bytesKept: 6000 });
    fs.writeFileSync(index, '{"v":1,"dirs":{"01":{"ino"');
    expect(boundInputCache(s, { maxBytes: 1 << 20 })).toMatchObject({ dirsRead: 3, bytesKept: 6000 });
    // an entry that claims less than a directory holds, but for another inode or time, is not believed
    const j = JSON.parse(fs.readFileSync(index, 'utf8')) as { dirs: Record<string, { bytes: number; mtimeMs: number; ino: number }> };
    j.dirs['01']!.bytes = 0;
    j.dirs['01']!.mtimeMs -= 1;
    j.dirs['02']!.bytes = 0;
    j.dirs['02']!.ino += 1;
    fs.writeFileSync(index, JSON.stringify(j));
    expect(boundInputCache(s, { maxBytes: 1 << 20 })).toMatchObject({ dirsRead: 2, bytesKept: 6000 });
    // the directory itself removed (the cache cleared): nothing is counted for it
    fs.rmSync(path.join(s, INPUT_CACHE_DIR, '03'), { recursive: true });
    expect(boundInputCache(s, { maxBytes: 1 << 20 })).toMatchObject({ bytesKept: 4000, filesKept: 2 });
  });

  it('removes a temporary name once it is an hour old, though its directory has not changed since', () => {
    const s = storeDir();
    cache(s, 7, 500);
    const stray = `${cache(s, 8, 300)}.123-abcd`;
    fs.renameSync(stray.slice(0, -'.123-abcd'.length), stray);
    age(s);
    const now = Date.now();
    expect(boundInputCache(s, { maxBytes: 1 << 20, now })).toMatchObject({ filesRemoved: 0, filesKept: 1, bytesKept: 500 });
    expect(boundInputCache(s, { maxBytes: 1 << 20, now: now + 1000 }).dirsRead).toBe(0);
    expect(boundInputCache(s, { maxBytes: 1 << 20, now: now + 2 * 3600_000 })).toMatchObject({ filesRemoved: 1, bytesRemoved: 300, dirsRead: 1 });
    expect(fs.existsSync(stray)).toBe(false);
  });

  it('jobs that each cache new inputs keep the cache within TUSK_INPUT_CACHE_MAX, job after job', () =>
    withStoreDir(async (s) => {
      const store = path.join(s.dir, '.tusk');
      const env = { TUSK_INPUT_CACHE_MAX: '25000' };
      await s.json(['create', 'repo', 'in']);
      fs.writeFileSync(path.join(s.dir, 'cat.json'), JSON.stringify({ pipeline: { name: 'cat' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'cat /pfs/in/* >/dev/null'] } }));
      fs.writeFileSync(path.join(s.dir, 'f'), seededBytes(10_000, 1));
      await s.json(['put', 'file', 'in@master:/f1', '-f', path.join(s.dir, 'f')]);
      await s.json(['create', 'pipeline', '-f', path.join(s.dir, 'cat.json'), '--wait'], { env });
      for (let i = 2; i <= 6; i++) {
        // the cache as it is after a while: its directories' times are not this second's
        age(store);
        fs.writeFileSync(path.join(s.dir, 'f'), seededBytes(10_000, i));
        await s.json(['put', 'file', `in@master:/f${i}`, '-f', path.join(s.dir, 'f'), '--wait'], { env });
        const u = inputCacheUsage(store);
        expect(u.bytes, `after job ${i}`).toBeLessThanOrEqual(25_000);
        // the newest input is one of those kept
        expect(u.files).toBe(2);
      }
      expect((await s.json<{ state: string }[]>(['list', 'job', '-p', 'cat'])).map((j) => j.state)).toEqual(Array(6).fill('JOB_SUCCESS'));
    }));
});
