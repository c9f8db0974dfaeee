// (local path, device, inode, size, mtime) → content id, so re-putting a directory reads only the
// files that changed, as git's index and restic's parent snapshot do.
import type { Db } from './meta-db.js';
import type { ContentId } from './hash.js';

export interface LocalStat {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

/** A file modified this close to the moment it was read could change again within the same mtime tick. */
const RACY_NS = 2_000_000_000n;

export class FileCache {
  private readonly get;
  private readonly put;

  constructor(db: Db) {
    // mtime in ns exceeds 2^53: read integers as BigInt so they compare exactly
    this.get = db.prepare('SELECT dev, ino, size, mtime_ns AS mtimeNs, content FROM file_cache WHERE path = ?').safeIntegers(true);
    this.put = db.prepare('INSERT OR REPLACE INTO file_cache (path, dev, ino, size, mtime_ns, content) VALUES (?, ?, ?, ?, ?, ?)');
  }

  /** The cached content id when the file is provably unchanged since it was hashed. */
  lookup(path: string, st: LocalStat): ContentId | undefined {
    const row = this.get.get(path) as (LocalStat & { content: Buffer }) | undefined;
    if (!row) return undefined;
    if (row.dev !== st.dev || row.ino !== st.ino || row.size !== st.size || row.mtimeNs !== st.mtimeNs) return undefined;
    return row.content as ContentId;
  }

  /** Remember a file's content id, unless its mtime is too recent to be trusted (racy-git rule). */
  record(path: string, st: LocalStat, content: ContentId, readAtNs: bigint): void {
    if (readAtNs - st.mtimeNs < RACY_NS) return;
    this.put.run(path, st.dev, st.ino, st.size, st.mtimeNs, content);
  }
}
