// Remote-backed chunks (lazy clones): chunks that the store's commits need but whose bytes stay
// on a remote until something reads them, and the cache of those fetched. A remote_chunks row
// says which remote holds a chunk; a chunks row beside it means a copy is cached here, in a pack
// of the cache's own (chunk_cache), which is evicted whole. Evicting a pack drops its chunk rows
// and leaves the remote_chunks rows: the chunk is remote-backed again and fetched when read.
import type { ChunkId } from './hash.js';
import type { Db } from './meta-db.js';
import { whenSettled } from './unit-of-work.js';

type Statement = ReturnType<Db['prepare']>;

/** Rows per multi-row INSERT (SQLite takes up to 32,766 bound values). */
const INSERT_ROWS = 200;
/** Ids bound per `IN (…)` query. */
const IN_IDS = 500;
/** Rows gc's sweep reads per query. */
const SWEEP_PAGE = 1000;

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
 * name chunk and pack rows, which every machine of a team store sees). Every method answers
 * asynchronously, as the other metadata contracts do, and the read path asks in batches
 * (`absent`, `touch`, `unbacked`, `anyBacked` take many ids in one call): a network database
 * answers each call in one round trip, whatever the number of ids.
 */
export interface RemoteChunkIndex {
  /**
   * Whether the store has any remote-backed chunk: a store that was never lazily pulled skips
   * every other query. Asked once per read batch, never kept across batches: a lazy pull in
   * another process may add remote-backed chunks at any moment, with the commits that need them.
   */
  any(): Promise<boolean>;
  /** Record that `remote` holds these chunks (those already recorded keep their remote). */
  mark(ids: readonly Buffer[], remote: string): Promise<void>;
  /**
   * Contents rows for one-chunk files whose chunk is remote-backed (a NULL chunk list: the one
   * chunk whose id is the content's), so that their sizes are known while their chunk rows are not.
   */
  putSoleContents(files: readonly { id: Buffer; size: number }[]): Promise<void>;
  /** Of these chunks, the remote-backed ones with no copy here, by remote. */
  absent(ids: readonly Buffer[]): Promise<Map<string, ChunkId[]>>;
  /** Of these chunks, those not yet remote-backed. */
  unbacked(ids: readonly Buffer[]): Promise<Buffer[]>;
  /** Whether any of these chunks is remote-backed (cached or not). */
  anyBacked(ids: readonly Buffer[]): Promise<boolean>;
  /** Of these chunks, the remote-backed ones (cached or not), as latin1 keys. */
  backed(ids: readonly Buffer[]): Promise<Set<string>>;
  /** Mark the cache packs holding any of these chunks as just used; returns their ids. */
  touch(ids: readonly Buffer[], now: number): Promise<Set<number>>;
  /** Record packs just written with fetched chunks as the cache's. */
  addCachePacks(packs: readonly { id: number; bytes: number }[], now: number): Promise<void>;
  cacheBytes(): Promise<number>;
  /** The cache's packs, least recently used first. */
  cachePacks(): Promise<CachePack[]>;
  /** Forget a cache pack and the chunk rows in it (the caller deletes its file after the unit). */
  evict(pack: number): Promise<void>;
  /** The chunks of `remote` with no copy here (what a full pull fetches). */
  absentOf(remote: string): Promise<ChunkId[]>;
  /**
   * After a full pull from `remote`: its chunks are here to stay. Cache packs holding any of them
   * become ordinary packs (never evicted), and the chunks that have a copy stop being remote-backed.
   */
  settle(remote: string): Promise<void>;
  counts(): Promise<RemoteChunkCount[]>;
  /**
   * Delete the rows of the remote-backed chunks not in `live` (gc: no commit needs them any more);
   * the number deleted. `live` holds the chunk ids to keep, as hex: a set the implementation
   * consults page by page, so a network database reads the table in pages and deletes each
   * page's dead rows in one statement.
   */
  sweep(live: ReadonlySet<string>): Promise<number>;
}

/** RemoteChunkIndex on SQLite. */
export class SqliteRemoteChunks implements RemoteChunkIndex {
  private readonly q;

  /**
   * `settled`: undefined when a caller outside any unit may use the connection now, else a
   * promise of the moment it may (unit-of-work.ts). A method called outside a unit waits for it,
   * so that it neither sees half of another flow's unit nor writes into it.
   */
  constructor(
    private readonly db: Db,
    private readonly settled: () => Promise<void> | undefined = () => undefined,
  ) {
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
      idsFirst: db.prepare('SELECT id FROM remote_chunks ORDER BY id LIMIT ?').pluck(),
      idsAfter: db.prepare('SELECT id FROM remote_chunks WHERE id > ? ORDER BY id LIMIT ?').pluck(),
      drop: db.prepare('DELETE FROM remote_chunks WHERE id = ?'),
      used: db.prepare('UPDATE chunk_cache SET used = ? WHERE pack = ?'),
    };
  }

  /** Run `f` once no unit of another flow is open on the connection: its statements then run with nothing in between. */
  private at<T>(f: () => T): Promise<T> {
    return whenSettled(this.settled, f);
  }

  any(): Promise<boolean> {
    return this.at(() => this.q.any.get() !== undefined);
  }

  mark(ids: readonly Buffer[], remote: string): Promise<void> {
    return this.at(() => this.insertMany('INSERT OR IGNORE INTO remote_chunks (id, remote) VALUES ', '(?, ?)', this.q.mark, ids, (id, out) => out.push(id, remote)));
  }

  putSoleContents(files: readonly { id: Buffer; size: number }[]): Promise<void> {
    return this.at(() => this.insertMany('INSERT OR IGNORE INTO contents (id, size, chunks) VALUES ', '(?, ?, NULL)', this.q.soleContent, files, (f, out) => out.push(f.id, f.size)));
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

  /** A statement over `n` ids bound as `IN (?, …)`, prepared once per shape and length. */
  private inStmt(sql: (list: string) => string, n: number): Statement {
    const key = `${sql('')}#${n}`;
    let st = this.inStmts.get(key);
    if (!st) this.inStmts.set(key, (st = this.db.prepare(sql(new Array(n).fill('?').join(',')))));
    return st;
  }
  private readonly inStmts = new Map<string, Statement>();

  /** `ids` IN_IDS at a time (SQLite binds a few thousand values per statement). */
  private static slices<T>(ids: readonly T[]): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < ids.length; i += IN_IDS) out.push(ids.slice(i, i + IN_IDS));
    return out;
  }

  absent(ids: readonly Buffer[]): Promise<Map<string, ChunkId[]>> {
    return this.at(() => {
      const out = new Map<string, ChunkId[]>();
      for (const slice of SqliteRemoteChunks.slices(ids)) {
        const rows = this.inStmt((l) => `SELECT r.id, r.remote FROM remote_chunks r WHERE r.id IN (${l}) AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = r.id)`, slice.length).all(slice) as { id: ChunkId; remote: string }[];
        for (const r of rows) {
          const list = out.get(r.remote) ?? [];
          list.push(r.id);
          out.set(r.remote, list);
        }
      }
      return out;
    });
  }

  /** The remote-backed ones of `ids`, as latin1 keys (no unit check: callers are inside `at`). */
  private backedNow(ids: readonly Buffer[], first = false): Set<string> {
    const out = new Set<string>();
    for (const slice of SqliteRemoteChunks.slices(ids)) {
      const rows = this.inStmt((l) => `SELECT id FROM remote_chunks WHERE id IN (${l})${first ? ' LIMIT 1' : ''}`, slice.length)
        .pluck()
        .all(slice) as Buffer[];
      for (const id of rows) out.add(id.toString('latin1'));
      if (first && out.size > 0) break;
    }
    return out;
  }

  unbacked(ids: readonly Buffer[]): Promise<Buffer[]> {
    return this.at(() => {
      const backed = this.backedNow(ids);
      return ids.filter((id) => !backed.has(id.toString('latin1')));
    });
  }

  anyBacked(ids: readonly Buffer[]): Promise<boolean> {
    return this.at(() => this.backedNow(ids, true).size > 0);
  }

  backed(ids: readonly Buffer[]): Promise<Set<string>> {
    return this.at(() => this.backedNow(ids));
  }

  touch(ids: readonly Buffer[], now: number): Promise<Set<number>> {
    return this.at(() => {
      const packs = new Set<number>();
      for (const slice of SqliteRemoteChunks.slices(ids)) {
        const rows = this.inStmt((l) => `SELECT DISTINCT k.pack FROM chunks c JOIN chunk_cache k ON k.pack = c.pack WHERE c.id IN (${l})`, slice.length)
          .pluck()
          .all(slice) as number[];
        for (const p of rows) packs.add(p);
      }
      for (const p of packs) this.q.used.run(now, p);
      return packs;
    });
  }

  addCachePacks(packs: readonly { id: number; bytes: number }[], now: number): Promise<void> {
    return this.at(() => {
      for (const p of packs) this.q.addPack.run(p.id, p.bytes, now);
    });
  }

  cacheBytes(): Promise<number> {
    return this.at(() => this.q.cacheBytes.get() as number);
  }

  cachePacks(): Promise<CachePack[]> {
    return this.at(() => this.q.cachePacks.all() as CachePack[]);
  }

  evict(pack: number): Promise<void> {
    return this.at(() => {
      this.q.dropChunks.run(pack);
      this.q.dropPack.run(pack);
    });
  }

  absentOf(remote: string): Promise<ChunkId[]> {
    return this.at(() => this.q.absentOf.all(remote) as ChunkId[]);
  }

  settle(remote: string): Promise<void> {
    return this.at(() => {
      this.q.unpin.run(remote);
      this.q.settle.run(remote);
    });
  }

  counts(): Promise<RemoteChunkCount[]> {
    return this.at(() => this.q.counts.all() as RemoteChunkCount[]);
  }

  /** A page of ids at a time, as the network implementation does; each page's dead rows deleted before the next is read. */
  sweep(live: ReadonlySet<string>): Promise<number> {
    return this.at(() => {
      let deleted = 0;
      for (let last: Buffer | undefined; ; ) {
        const page = (last ? this.q.idsAfter.all(last, SWEEP_PAGE) : this.q.idsFirst.all(SWEEP_PAGE)) as Buffer[];
        for (const id of page) {
          if (live.has(id.toString('hex'))) continue;
          this.q.drop.run(id);
          deleted++;
        }
        if (page.length < SWEEP_PAGE) return deleted;
        last = page[page.length - 1]!;
      }
    });
  }
}
