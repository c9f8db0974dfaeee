// What one machine keeps for itself beside a store: the file cache (a local path and its stat →
// its content id, meaningless on another machine, whose inodes and mtimes are its own). It only
// saves reading files again: losing it costs time, never data. On a local store it is tables of
// meta.db (format unchanged); a store whose metadata lives elsewhere (PostgreSQL) keeps it in a
// SQLite file of this machine. docs/format.md, "Shared metadata and this machine's cache".
import { FileCache } from './file-cache.js';
import type { Db } from './meta-db.js';

/** The store's local cache database: the only place the store core names for a machine's own rows. */
export class LocalCache {
  constructor(private readonly db: Db) {}

  /** The file cache (stat → content id) that put, status and checkout use. */
  fileCache(): FileCache {
    return new FileCache(this.db);
  }

  /** Run `fn`'s writes to the file cache in one transaction of their own. */
  inTransaction(fn: () => void): void {
    this.db.transaction(fn)();
  }
}
