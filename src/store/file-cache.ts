// (local path, device, inode, size, mtime, ctime) → content id, so re-putting a directory reads
// only the files that changed, as git's index and restic's parent snapshot do.
import type { Stats } from 'node:fs';
import type { Db } from './meta-db.js';
import type { ContentId } from './hash.js';

export interface LocalStat {
  dev: number;
  ino: number;
  size: number;
  /** stat's millisecond doubles: not nanosecond-exact, but the same file state always gives the same value */
  mtime: number;
  ctime: number;
}

export function localStat(st: Stats): LocalStat {
  return { dev: st.dev, ino: st.ino, size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs };
}

/** A file modified this close to the moment it was read could change again within the same mtime tick. */
const RACY_MS = 2000;

export type CacheRow = LocalStat & { content: Buffer };

export class FileCache {
  private readonly get;
  private readonly put;
  private readonly range;
  private readonly children;
  private readonly preloaded = new Map<string, CacheRow>();
  private readonly preloadedDirs: string[] = [];

  constructor(db: Db) {
    this.get = db.prepare('SELECT dev, ino, size, mtime, ctime, content FROM file_cache WHERE path = ?');
    this.range = db.prepare('SELECT path, dev, ino, size, mtime, ctime, content FROM file_cache WHERE path > ? AND path < ?');
    // direct children only: descendants are scanned by SQLite but never become JS objects
    this.children = db.prepare(
      "SELECT substr(path, ?) AS name, dev, ino, size, mtime, ctime, content FROM file_cache WHERE path > ? AND path < ? AND instr(substr(path, ?), '/') = 0",
    );
    this.put = db.prepare('INSERT OR REPLACE INTO file_cache (path, dev, ino, size, mtime, ctime, content) VALUES (?, ?, ?, ?, ?, ?, ?)');
  }

  /** Load every entry below a directory in one range scan: a re-put of 100,000 files is one query, not 100,000. */
  preload(dir: string): void {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    // '/' + 1 = '0': the range (prefix, prefix with its last '/' bumped) holds exactly the paths below dir
    for (const row of this.range.iterate(prefix, `${prefix.slice(0, -1)}0`) as IterableIterator<CacheRow & { path: string }>) this.preloaded.set(row.path, row);
    this.preloadedDirs.push(prefix);
  }

  /**
   * The cached rows of the files directly in `dir` (absolute, no trailing slash), by name: put -r
   * asks once per directory as it walks, so it holds one directory's rows, never the whole tree's.
   */
  childrenOf(dir: string): Map<string, CacheRow> {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    const out = new Map<string, CacheRow>();
    const from = prefix.length + 1;
    for (const row of this.children.iterate(from, prefix, `${prefix.slice(0, -1)}0`, from) as IterableIterator<CacheRow & { name: string }>) out.set(row.name, row);
    return out;
  }

  /** The cached content id when the file is provably unchanged since it was hashed. */
  lookup(path: string, st: LocalStat): ContentId | undefined {
    const row = this.preloadedDirs.some((d) => path.startsWith(d)) ? this.preloaded.get(path) : (this.get.get(path) as CacheRow | undefined);
    if (!row) return undefined;
    if (row.dev !== st.dev || row.ino !== st.ino || row.size !== st.size || row.mtime !== st.mtime || row.ctime !== st.ctime) return undefined;
    return row.content as ContentId;
  }

  /** Remember a file's content id, unless it changed too recently to be trusted (git's racy-index rule). */
  record(path: string, st: LocalStat, content: ContentId, readAtMs: number): void {
    if (readAtMs - Math.max(st.mtime, st.ctime) < RACY_MS) return;
    this.put.run(path, st.dev, st.ino, st.size, st.mtime, st.ctime, content);
  }
}
