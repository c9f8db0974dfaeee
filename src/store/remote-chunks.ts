// Remote-backed chunks (lazy clones): chunks that the store's commits need but whose bytes stay
// on a remote until something reads them, and the cache of those fetched. A remote_chunks row
// says which remote holds a chunk; a chunks row beside it means a copy is cached here, in a pack
// of the cache's own (chunk_cache), which is evicted whole. Evicting a pack drops its chunk rows
// and leaves the remote_chunks rows: the chunk is remote-backed again and fetched when read.
import type { ChunkId } from './hash.js';
import type { Db } from './meta-db.js';

type Statement = ReturnType<Db['prepare']>;

/** Rows per multi-row INSERT (SQLite takes up to 32,766 bound values). */
const INSERT_ROWS = 200;

/** What a store holds of one remote's chunks. */
export interface RemoteChunkCount {
  remote: string;
  /** remote-backed chunks with no copy here */
  absent: number;
  /** remote-backed chunks with a copy in the cache */
  cached: number;
}

export interface CachePack {
  id: number;
  name: string;
  bytes: number;
}

/**
 * The remote-backed chunks of a store and the cache of those fetched: shared metadata (its rows
 * name chunk and pack rows, which every machine of a team store sees). Synchronous here, as
 * ChunkIndex is; a network database implements its async form (pg/async-contract.ts).
 */
export interface RemoteChunkIndex {
  /** Whether the store has any remote-backed chunk: a store that was never lazily pulled skips every other query. */
  any(): boolean;
  /** Record that `remote` holds these chunks (those already recorded keep their remote). */
  mark(ids: readonly Buffer[], remote: string): void;
  /**
   * Contents rows for one-chunk files whose chunk is remote-backed (a NULL chunk list: the one
   * chunk whose id is the content's), so that their sizes are known while their chunk rows are not.
   */
  putSoleContents(files: readonly { id: Buffer; size: number }[]): void;
  /** Of these chunks, the remote-backed ones with no copy here, by remote. */
  absent(ids: readonly Buffer[]): Map<string, ChunkId[]>;
  /** Of these chunks, those not yet remote-backed. */
  unbacked(ids: readonly Buffer[]): Buffer[];
  /** Whether any of these chunks is remote-backed (cached or not). */
  anyBacked(ids: readonly Buffer[]): boolean;
  /** Mark the cache packs holding any of these chunks as just used; returns their ids. */
  touch(ids: readonly Buffer[], now: number): Set<number>;
  /** Record packs just written with fetched chunks as the cache's. */
  addCachePacks(packs: readonly { id: number; bytes: number }[], now: number): void;
  isCachePack(id: number): boolean;
  cacheBytes(): number;
  /** The cache's packs, least recently used first. */
  cachePacks(): CachePack[];
  /** Forget a cache pack and the chunk rows in it (the caller deletes its file after the unit). */
  evict(pack: number): void;
  /** The chunks of `remote` with no copy here (what a full pull fetches). */
  absentOf(remote: string): ChunkId[];
  /**
   * After a full pull from `remote`: its chunks are here to stay. Cache packs holding any of them
   * become ordinary packs (never evicted), and the chunks that have a copy stop being remote-backed.
   */
  settle(remote: string): void;
  counts(): RemoteChunkCount[];
  /** Delete the rows of chunks `keep` refuses (gc: no commit needs them any more); the number deleted. */
  sweep(keep: (id: Buffer) => boolean): number;
}

/** RemoteChunkIndex on SQLite. */
export class SqliteRemoteChunks implements RemoteChunkIndex {
  private readonly q;

  constructor(private readonly db: Db) {
    this.q = {
      any: db.prepare('SELECT 1 FROM remote_chunks LIMIT 1').pluck(),
      mark: db.prepare('INSERT OR IGNORE INTO remote_chunks (id, remote) VALUES (?, ?)'),
      addPack: db.prepare('INSERT OR REPLACE INTO chunk_cache (pack, bytes, used) VALUES (?, ?, ?)'),
      cacheBytes: db.prepare('SELECT COALESCE(SUM(bytes), 0) FROM chunk_cache').pluck(),
      cachePacks: db.prepare('SELECT k.pack AS id, p.name, k.bytes FROM chunk_cache k JOIN packs p ON p.id = k.pack ORDER BY k.used, k.pack'),
      dropChunks: db.prepare('DELETE FROM chunks WHERE pack = ?'),
      dropPack: db.prepare('DELETE FROM packs WHERE id = ?'),
      absentOf: db.prepare('SELECT r.id FROM remote_chunks r WHERE r.remote = ? AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = r.id)').pluck(),
      counts: db.prepare(
        `SELECT r.remote, SUM(CASE WHEN c.id IS NULL THEN 1 ELSE 0 END) AS absent, SUM(CASE WHEN c.id IS NULL THEN 0 ELSE 1 END) AS cached
         FROM remote_chunks r LEFT JOIN chunks c ON c.id = r.id GROUP BY r.remote ORDER BY r.remote`,
      ),
      unpin: db.prepare('DELETE FROM chunk_cache WHERE pack IN (SELECT c.pack FROM chunks c JOIN remote_chunks r ON r.id = c.id WHERE r.remote = ?)'),
      settle: db.prepare('DELETE FROM remote_chunks WHERE remote = ? AND id IN (SELECT id FROM chunks)'),
      soleContent: db.prepare('INSERT OR IGNORE INTO contents (id, size, chunks) VALUES (?, ?, NULL)'),
      isCachePack: db.prepare('SELECT 1 FROM chunk_cache WHERE pack = ?').pluck(),
    };
  }

  /** Whether the store has any remote-backed chunk: a store that was never lazily pulled skips every other query. */
  any(): boolean {
    return this.q.any.get() !== undefined;
  }

  /** Record that `remote` holds these chunks (those already recorded keep their remote). */
  mark(ids: readonly Buffer[], remote: string): void {
    this.insertMany('INSERT OR IGNORE INTO remote_chunks (id, remote) VALUES ', '(?, ?)', this.q.mark, ids, (id, out) => out.push(id, remote));
  }

  /**
   * Contents rows for one-chunk files whose chunk is remote-backed (a NULL chunk list: the one
   * chunk whose id is the content's), so that their sizes are known while their chunk rows are not.
   */
  putSoleContents(files: readonly { id: Buffer; size: number }[]): void {
    this.insertMany('INSERT OR IGNORE INTO contents (id, size, chunks) VALUES ', '(?, ?, NULL)', this.q.soleContent, files, (f, out) => out.push(f.id, f.size));
  }

  /**
   * Rows inserted INSERT_ROWS to a statement (a lazy clone of 100,000 files writes 200,000 rows:
   * one statement a row spent more in crossing into SQLite than in the inserts), the rest one by one.
   */
  private insertMany<T>(head: string, tuple: string, one: Statement, rows: readonly T[], bind: (row: T, out: unknown[]) => void): void {
    let i = 0;
    if (rows.length >= INSERT_ROWS) {
      const key = head + tuple;
      let many = this.many.get(key);
      if (!many) this.many.set(key, (many = this.db.prepare(head + Array(INSERT_ROWS).fill(tuple).join(', '))));
      const values: unknown[] = [];
      for (; i + INSERT_ROWS <= rows.length; i += INSERT_ROWS) {
        values.length = 0;
        for (let j = i; j < i + INSERT_ROWS; j++) bind(rows[j]!, values);
        many.run(values);
      }
    }
    const values: unknown[] = [];
    for (; i < rows.length; i++) {
      values.length = 0;
      bind(rows[i]!, values);
      one.run(values);
    }
  }
  private readonly many = new Map<string, Statement>();

  /** Of these chunks, the remote-backed ones with no copy here, by remote. One query per 500 ids. */
  absent(ids: readonly Buffer[]): Map<string, ChunkId[]> {
    const out = new Map<string, ChunkId[]>();
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      const rows = this.db
        .prepare(`SELECT r.id, r.remote FROM remote_chunks r WHERE r.id IN (${slice.map(() => '?').join(',')}) AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = r.id)`)
        .all(...slice) as { id: ChunkId; remote: string }[];
      for (const r of rows) {
        const list = out.get(r.remote) ?? [];
        list.push(r.id);
        out.set(r.remote, list);
      }
    }
    return out;
  }

  /** Of these chunks, those not yet remote-backed. */
  unbacked(ids: readonly Buffer[]): Buffer[] {
    const backed = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      const rows = this.db.prepare(`SELECT id FROM remote_chunks WHERE id IN (${slice.map(() => '?').join(',')})`).pluck().all(...slice) as Buffer[];
      for (const id of rows) backed.add(id.toString('latin1'));
    }
    return ids.filter((id) => !backed.has(id.toString('latin1')));
  }

  /** Whether any of these chunks is remote-backed (cached or not). */
  anyBacked(ids: readonly Buffer[]): boolean {
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      if (this.db.prepare(`SELECT 1 FROM remote_chunks WHERE id IN (${slice.map(() => '?').join(',')}) LIMIT 1`).pluck().get(...slice) !== undefined) return true;
    }
    return false;
  }

  /** Mark the cache packs holding any of these chunks as just used; returns their ids. */
  touch(ids: readonly Buffer[], now: number): Set<number> {
    const packs = new Set<number>();
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      const rows = this.db
        .prepare(`SELECT DISTINCT k.pack FROM chunks c JOIN chunk_cache k ON k.pack = c.pack WHERE c.id IN (${slice.map(() => '?').join(',')})`)
        .pluck()
        .all(...slice) as number[];
      for (const p of rows) packs.add(p);
    }
    const upd = this.db.prepare('UPDATE chunk_cache SET used = ? WHERE pack = ?');
    for (const p of packs) upd.run(now, p);
    return packs;
  }

  /** Record packs just written with fetched chunks as the cache's. */
  addCachePacks(packs: readonly { id: number; bytes: number }[], now: number): void {
    for (const p of packs) this.q.addPack.run(p.id, p.bytes, now);
  }

  isCachePack(id: number): boolean {
    return this.q.isCachePack.get(id) !== undefined;
  }

  cacheBytes(): number {
    return this.q.cacheBytes.get() as number;
  }

  /** The cache's packs, least recently used first. */
  cachePacks(): CachePack[] {
    return this.q.cachePacks.all() as CachePack[];
  }

  /** Forget a cache pack and the chunk rows in it (the caller deletes its file after the transaction). */
  evict(pack: number): void {
    this.q.dropChunks.run(pack);
    this.q.dropPack.run(pack);
  }

  /** The chunks of `remote` with no copy here (what a full pull fetches). */
  absentOf(remote: string): ChunkId[] {
    return this.q.absentOf.all(remote) as ChunkId[];
  }

  /**
   * After a full pull from `remote`: its chunks are here to stay. Cache packs holding any of them
   * become ordinary packs (never evicted), and the chunks that have a copy stop being remote-backed.
   */
  settle(remote: string): void {
    this.q.unpin.run(remote);
    this.q.settle.run(remote);
  }

  counts(): RemoteChunkCount[] {
    return this.q.counts.all() as RemoteChunkCount[];
  }

  /** Delete the rows of chunks `keep` refuses (gc: no commit needs them any more); the number deleted. */
  sweep(keep: (id: Buffer) => boolean): number {
    const dead = (this.db.prepare('SELECT id FROM remote_chunks').pluck().all() as Buffer[]).filter((id) => !keep(id));
    const del = this.db.prepare('DELETE FROM remote_chunks WHERE id = ?');
    for (const id of dead) del.run(id);
    return dead.length;
  }
}
