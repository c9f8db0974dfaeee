// The store's cache of datum input files: one read-only file per content id, under
// `cache/<first two hex digits>/<id>`, read from packs once and hard-linked into every datum
// that needs it. Only transforms that cannot write their inputs get the links (a read-only
// /pfs, in-process readers); others get copies. `fsck --verify-data` hashes every cached file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { createHasher } from './hash.js';

export const INPUT_CACHE_DIR = 'cache';

/** Where the cached copy of a content lives. */
export function cachedInputFile(storeDir: string, id: string): string {
  return path.join(storeDir, INPUT_CACHE_DIR, id.slice(0, 2), id);
}

/** BLAKE3 of a file's bytes, hex, read a block at a time. */
function hashFile(file: string): string {
  const h = createHasher();
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest().toString('hex');
}

/**
 * Hash every cached input against its name. A copy that does not match (changed by something
 * that could write it) is removed, so the next datum reads the content from packs again, and is
 * reported through `onBad`. Returns how many files were checked.
 */
export function verifyInputCache(storeDir: string, onBad: (id: string, problem: string) => void): number {
  const root = path.join(storeDir, INPUT_CACHE_DIR);
  let checked = 0;
  let dirs: string[];
  try {
    dirs = fs.readdirSync(root);
  } catch {
    return 0;
  }
  for (const d of dirs.sort()) {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(root, d));
    } catch {
      continue;
    }
    for (const id of names.sort()) {
      const file = path.join(root, d, id);
      checked++;
      let actual: string;
      try {
        actual = hashFile(file);
      } catch (err) {
        onBad(id, `cannot be read: ${(err as Error).message}`);
        continue;
      }
      if (actual === id) continue;
      try {
        fs.rmSync(file, { force: true });
        onBad(id, 'its bytes do not match its content id (removed: the next datum that needs it reads it from packs)');
      } catch (err) {
        onBad(id, `its bytes do not match its content id, and it cannot be removed (${(err as Error).message}): remove ${file}`);
      }
    }
  }
  return checked;
}

/** The cache's default bound on the bytes it holds (TUSK_INPUT_CACHE_MAX overrides it). */
export const INPUT_CACHE_MAX_BYTES = 4 * 1024 ** 3;

/** A name the cache writes: a content id; anything else is a temporary name left by a crash. */
const CACHE_NAME = /^[0-9a-f]{64}$/;
/** Temporary names written to more recently than this may belong to a runner copying into the cache right now. */
const STRAY_AGE_MS = 60 * 60 * 1000;

/**
 * The bound on the cache's bytes: TUSK_INPUT_CACHE_MAX (bytes, or with a K, M or G suffix in
 * powers of 1024; 0 keeps nothing once a job ends), else INPUT_CACHE_MAX_BYTES. A value that is
 * not a size is an error naming the variable, not a silent default.
 */
export function inputCacheLimit(env: NodeJS.ProcessEnv = process.env): number {
  return sizeFromEnv('TUSK_INPUT_CACHE_MAX', INPUT_CACHE_MAX_BYTES, env);
}

/** A byte size from the variable `name` (bytes, or a number with K, M or G in powers of 1024), else `fallback`. */
export function sizeFromEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(raw);
  if (!m) throw new InvalidArgumentError(`${name}: "${raw}" is not a size`, 'give bytes, or a number with K, M or G (e.g. 2G); 0 keeps nothing cached');
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * unit);
}

export interface CacheTrim {
  /** cached files removed: their content is gone from the store, or the cache was over its bound */
  filesRemoved: number;
  bytesRemoved: number;
  /** what the cache holds afterwards */
  filesKept: number;
  bytesKept: number;
}

/** The content ids (hex) the cache holds files of. */
export function cachedContents(storeDir: string): string[] {
  const out: string[] = [];
  for (const { name } of cacheFiles(path.join(storeDir, INPUT_CACHE_DIR))) if (CACHE_NAME.test(name)) out.push(name);
  return out;
}

/**
 * Bound the cache of datum inputs: drop the files whose content `gone` names (contents the store
 * no longer has, after gc: a set made from cachedContents), temporary names older than an hour (a crash mid-copy), then the least
 * recently used files until the cache holds at most `maxBytes`. Last use is the later of a
 * file's access and change times: laying a cached file out links it (a change of its inode) or
 * copies it (an access). Removing a file never breaks a datum that has it laid out: that datum
 * holds its own link or copy, and the next datum that needs the content reads it from packs.
 */
export function trimInputCache(storeDir: string, opts: { maxBytes: number; gone?: ReadonlySet<string>; now?: number }): CacheTrim {
  const root = path.join(storeDir, INPUT_CACHE_DIR);
  const out: CacheTrim = { filesRemoved: 0, bytesRemoved: 0, filesKept: 0, bytesKept: 0 };
  const now = opts.now ?? Date.now();
  const kept: { file: string; size: number; used: number }[] = [];
  const remove = (file: string, size: number) => {
    try {
      fs.unlinkSync(file);
      out.filesRemoved++;
      out.bytesRemoved += size;
    } catch {
      // gone already (another runner trimmed it)
    }
  };
  for (const { file, name, st } of cacheFiles(root)) {
    const used = Math.max(st.atimeMs, st.ctimeMs, st.mtimeMs);
    if (!CACHE_NAME.test(name)) {
      // a temporary copy is written, then linked in: its last write says how long ago it was abandoned
      if (now - st.mtimeMs > STRAY_AGE_MS) remove(file, st.size);
    } else if (opts.gone?.has(name)) remove(file, st.size);
    else kept.push({ file, size: st.size, used });
  }
  let total = kept.reduce((n, k) => n + k.size, 0);
  if (total > opts.maxBytes) {
    kept.sort((a, b) => a.used - b.used);
    while (kept.length > 0 && total > opts.maxBytes) {
      const k = kept.shift()!;
      remove(k.file, k.size);
      total -= k.size;
    }
  }
  out.filesKept = kept.length;
  out.bytesKept = total;
  return out;
}

/** Bytes this process added to the cache since it last bounded it. */
let grown = 0;

/** Note that a datum's layout added `bytes` to the cache. */
export function noteCached(bytes: number): void {
  grown += bytes;
}

/** Bound the cache (boundInputCache) if this process added to it since the last time; a job calls it once it has ended. */
export function trimIfGrown(storeDir: string, maxBytes: number): CacheBound | undefined {
  if (grown === 0) return undefined;
  grown = 0;
  return boundInputCache(storeDir, { maxBytes });
}

/**
 * Where the bytes each cache directory held when last read are kept between bounds, beside the
 * store's other scratch (not in the cache, whose every entry is a directory of contents).
 */
export const USAGE_INDEX = path.join('tmp', 'input-cache-usage.json');

/**
 * A directory whose last change is this recent when its stat is taken may change again within
 * the same timestamp: its entry is not kept, so the next bound reads it again. Any change after
 * the stat of an older directory gives it a later time than the one recorded. "Recent" is by
 * the file system's clock (the time it gives a file written just before the stats), not this
 * process's: a store on a file server whose clock is behind would otherwise pass the test.
 */
const RACY_MS = 1000;

/** One cache directory as a bound last read it; it stands while the directory's inode and mtime do. */
interface DirUsage {
  ino: number;
  mtimeMs: number;
  bytes: number;
  files: number;
  /** when its oldest temporary name passes STRAY_AGE_MS and is to be removed; 0: it holds none */
  strayAt: number;
}

export interface CacheBound extends CacheTrim {
  /** directories whose files were listed and stat'ed (the others' sizes came from the index) */
  dirsRead: number;
}

function readUsage(file: string): Record<string, DirUsage> {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { v?: number; dirs?: Record<string, DirUsage> };
    return j.v === 1 && j.dirs && typeof j.dirs === 'object' ? j.dirs : {};
  } catch {
    return {};
  }
}

/**
 * Start writing the index: its temporary file, created now, whose mtime is the file system's
 * clock before any directory is read. Undefined where it cannot be written (no entry is kept then).
 */
function startUsage(file: string): { fd: number; tmp: string; clock: number } | undefined {
  const tmp = `${file}.${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    return { fd, tmp, clock: fs.fstatSync(fd).mtimeMs };
  } catch {
    return undefined;
  }
}

function finishUsage(w: { fd: number; tmp: string }, file: string, dirs: Record<string, DirUsage> | undefined): void {
  try {
    if (dirs) {
      fs.writeSync(w.fd, JSON.stringify({ v: 1, dirs }));
      fs.closeSync(w.fd);
      // a rename: a reader sees the old index or the new one, never part of one
      fs.renameSync(w.tmp, file);
      return;
    }
    fs.closeSync(w.fd);
  } catch {
    // no index: the next bound reads the directories it would have vouched for
  }
  fs.rmSync(w.tmp, { force: true });
}

/**
 * Keep the cache within `maxBytes` (and remove temporary names over an hour old) without reading
 * every cached file's metadata each time: a directory's entry in the usage index (its bytes,
 * with the inode and mtime it had) stands until the directory changes, which any file added,
 * renamed or removed in it does, whichever process did it. Only directories that changed are
 * read again; only when the total is over the bound is every file read (trimInputCache), as the
 * least recently used go first. The index is only a shortcut: lost, stale or written by another
 * runner at the same time, it costs a read of the directories it does not vouch for, never a
 * wrong total. tusk never rewrites a cached file in place (it is written whole, then linked in),
 * so its directory's mtime covers its size; one changed by other means (user code in a mode
 * without a read-only /pfs) is removed by the next datum that finds it changed, which changes
 * its directory.
 */
export function boundInputCache(storeDir: string, opts: { maxBytes: number; now?: number }): CacheBound {
  const now = opts.now ?? Date.now();
  const root = path.join(storeDir, INPUT_CACHE_DIR);
  const indexFile = path.join(storeDir, USAGE_INDEX);
  const old = readUsage(indexFile);
  const dirs: Record<string, DirUsage> = {};
  const out: CacheBound = { filesRemoved: 0, bytesRemoved: 0, filesKept: 0, bytesKept: 0, dirsRead: 0 };
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return out;
  }
  const w = startUsage(indexFile);
  let changed = Object.keys(old).length !== names.length;
  for (const d of names) {
    const dir = path.join(root, d);
    // the directory's stat comes before its listing: a change after it shows as a later mtime
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (!st?.isDirectory()) continue;
    const e = old[d];
    let u: DirUsage;
    if (e && e.ino === st.ino && e.mtimeMs === st.mtimeMs && (e.strayAt === 0 || now < e.strayAt)) u = e;
    else {
      changed = true;
      out.dirsRead++;
      u = { ino: st.ino, mtimeMs: st.mtimeMs, bytes: 0, files: 0, strayAt: 0 };
      for (const { file, name, st: fst } of filesIn(dir)) {
        if (CACHE_NAME.test(name)) {
          u.bytes += fst.size;
          u.files++;
        } else if (now - fst.mtimeMs > STRAY_AGE_MS) {
          try {
            fs.unlinkSync(file);
            out.filesRemoved++;
            out.bytesRemoved += fst.size;
          } catch {
            // gone already (another runner trimmed it)
          }
        } else {
          const at = fst.mtimeMs + STRAY_AGE_MS;
          u.strayAt = u.strayAt === 0 ? at : Math.min(u.strayAt, at);
        }
      }
    }
    out.bytesKept += u.bytes;
    out.filesKept += u.files;
    // a removal above changed the directory since its stat: its entry no longer matches, as it should not
    if (w && w.clock - st.mtimeMs >= RACY_MS) dirs[d] = u;
  }
  if (w) finishUsage(w, indexFile, changed ? dirs : undefined);
  if (out.bytesKept <= opts.maxBytes) return out;
  const t = trimInputCache(storeDir, { maxBytes: opts.maxBytes, now });
  return { ...t, filesRemoved: t.filesRemoved + out.filesRemoved, bytesRemoved: t.bytesRemoved + out.bytesRemoved, dirsRead: out.dirsRead };
}

/** What the cache holds now (temporary names left by a copy in progress are not counted). */
export function inputCacheUsage(storeDir: string): { bytes: number; files: number } {
  const out = { bytes: 0, files: 0 };
  for (const { name, st } of cacheFiles(path.join(storeDir, INPUT_CACHE_DIR))) {
    if (!CACHE_NAME.test(name)) continue;
    out.bytes += st.size;
    out.files++;
  }
  return out;
}

/** Every regular file in the cache's two levels of directories (a missing cache or directory holds none). */
function* cacheFiles(root: string): Generator<{ file: string; name: string; st: fs.Stats }> {
  let dirs: string[];
  try {
    dirs = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const d of dirs) yield* filesIn(path.join(root, d));
}

/** Every regular file in one cache directory (a missing one holds none). */
function* filesIn(dir: string): Generator<{ file: string; name: string; st: fs.Stats }> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st?.isFile()) yield { file, name, st };
  }
}
