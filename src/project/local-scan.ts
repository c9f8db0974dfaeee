// Walking a local directory as `put file -r` sees it: regular files only; symbolic links, sockets
// and the like are skipped. Node builtins only: the hook fast path (hook-fast.ts) loads this
// module without the store, SQLite or yaml.
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';

/** One regular file under a scanned directory, with the stat fields the caches compare. */
export interface ScannedFile {
  /** path below the scanned directory, `/`-separated, no leading slash */
  rel: string;
  size: number;
  mtime: number;
  ctime: number;
  ino: number;
  dev: number;
}

/**
 * Call `visit` for every regular file below `root`, depth first in readdir order (not sorted:
 * sorting 100,000 names costs more than the digest it would stabilise). Returns false when
 * `root` does not exist or is not a directory.
 */
export function walkFiles(root: string, visit: (rel: string, st: fs.Stats) => void): boolean {
  let top: fs.Stats;
  try {
    top = fs.statSync(root);
  } catch {
    return false;
  }
  if (!top.isDirectory()) return false;
  const walk = (dir: string, prefix: string) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = `${dir}/${d.name}`;
      if (d.isDirectory()) walk(full, `${prefix}${d.name}/`);
      else if (d.isFile()) {
        const st = fs.statSync(full, { throwIfNoEntry: false });
        // removed between readdir and stat: it is simply not there
        if (st) visit(`${prefix}${d.name}`, st);
      }
    }
  };
  walk(root, '');
  return true;
}

/** Every regular file below `root` (empty when it does not exist). */
export function scanDir(root: string): { files: ScannedFile[]; exists: boolean } {
  const files: ScannedFile[] = [];
  const exists = walkFiles(root, (rel, st) => files.push({ rel, size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs, ino: st.ino, dev: st.dev }));
  return { files, exists };
}

/** What a watched path looked like: a digest of its files' stats and the newest mtime seen. */
export interface PathDigest {
  digest: string;
  /** newest mtime among the files (ms); 0 when there are none */
  newest: number;
}

/**
 * A digest of (path, size, mtime, ctime, inode) of every file at or below `p`: equal digests
 * mean nothing was written, renamed or replaced since (the same test git's index makes). A
 * missing path has its own digest, so creating it is a change too.
 */
export function digestPath(p: string): PathDigest {
  const h = createHash('sha1');
  let newest = 0;
  const line = (rel: string, st: fs.Stats) => {
    h.update(`${rel}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}\0${st.ino}\n`);
    if (st.mtimeMs > newest) newest = st.mtimeMs;
  };
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) h.update('missing');
  else if (st.isDirectory()) {
    h.update('dir\n');
    walkFiles(p, line);
  } else line('', st);
  return { digest: h.digest('hex'), newest };
}

/** The same digest from an earlier scan of a directory (its files in walk order). */
export function digestScan(files: readonly ScannedFile[], exists: boolean): PathDigest {
  const h = createHash('sha1');
  let newest = 0;
  if (!exists) h.update('missing');
  else {
    h.update('dir\n');
    for (const f of files) {
      h.update(`${f.rel}\0${f.size}\0${f.mtime}\0${f.ctime}\0${f.ino}\n`);
      if (f.mtime > newest) newest = f.mtime;
    }
  }
  return { digest: h.digest('hex'), newest };
}

/** sha256 of a file's bytes, or null when it does not exist. */
export function hashFileBytes(p: string): string | null {
  try {
    return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
