// Chunk id → location, file content → chunk list, tree pages, pack leases and writer sessions.
// The only module with SQL about stored bytes; a PostgreSQL backend would reimplement this file.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import { pagedRows } from './paged-scan.js';
import { whenSettled } from './unit-of-work.js';
import { guardSqlite, type Db } from './meta-db.js';
import { ID_BYTES, type ChunkId, type ContentId, type NodeId } from './hash.js';
import { Codec, RECORD_HEADER_BYTES } from './pack-format.js';
import type { DeltaRow } from './delta-store.js';
import type { StoredPage } from './page-store.js';

/** Where a chunk lives. */
export interface ChunkLocation {
  pack: number;
  packName: string;
  offset: number; // offset of the record header
  storedLen: number;
  rawLen: number;
  codec: Codec;
}

export interface NewChunk {
  id: ChunkId;
  pack: number;
  offset: number;
  storedLen: number;
  rawLen: number;
  codec: Codec;
}

export interface ContentRecord {
  id: ContentId;
  size: number;
  /** chunk ids in order; one chunk whose id equals the content id is stored without a list */
  chunks: ChunkId[];
  /**
   * The same ids back to back, where the writer kept them so (a big file's: chunk-list.ts), and
   * `chunks` is then made only when read. What putContents writes.
   */
  packed?: Buffer;
  /** the whole-file hasher's state at the content's end (hash-state.ts), kept for big contents */
  endState?: Buffer;
}

/** Where one recorded chunk lies (what fsck checks against the packs). */
export interface ChunkPlace {
  id: ChunkId;
  pack: number;
  offset: number;
  storedLen: number;
}

/** A chunk recorded in a pack, as repacking copies it. */
export interface PackedChunk {
  id: ChunkId;
  offset: number;
  storedLen: number;
  rawLen: number;
  codec: Codec;
}

/** A pack with its lease owner, how many chunks it holds and how many of its bytes they use. */
export interface PackUsage {
  id: number;
  name: string;
  size: number;
  owner: string | null;
  chunks: number;
  live: number;
}

/** Rows a paged scan reads per query: no statement stays open while the consumer awaits. */
const SCAN_PAGE = 1000;

export interface PackRow {
  id: number;
  name: string;
  size: number;
  sealed: boolean;
}

/** Live writer sessions older than this without a heartbeat are presumed dead (pid checks catch most crashes sooner). */
export const WRITER_LEASE_MS = 10 * 60_000;

const HOST = hostname();

/** Whether a writer/lease owner recorded as `pid@host` is still running. */
export function isOwnerAlive(pid: number, host: string, leaseUntil: number, now = Date.now()): boolean {
  if (host === HOST) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      // EPERM: the process exists but belongs to another user
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  return leaseUntil > now;
}

/**
 * The byte-level metadata's contract: chunk id → place in a pack, content → chunk list, tree
 * pages, pack rows and leases, writer sessions. Implemented on SQLite by SqliteChunkIndex. Every
 * method but the tree pages' answers asynchronously, and both paths ask in batches — the write
 * path's existingChunks, putChunks, putContents, the read path's getChunks, getChainChunks,
 * getContents take many ids in one call — so that a network implementation makes one round trip
 * per batch, not per chunk.
 * Rows that refer to pack bytes are recorded only after those bytes are durable in the packs
 * (PackWriter.publish, then sync), inside the unit of work that commits what uses them.
 */
export interface ChunkIndex {
  hasChunk(id: ChunkId): Promise<boolean>;
  /** Which of these chunk ids are already stored, as latin1 keys. One query per 500 ids. */
  existingChunks(ids: readonly ChunkId[]): Promise<Set<string>>;
  getChunk(id: ChunkId): Promise<ChunkLocation | undefined>;
  /** Where a one-chunk content's chunk is (its id is the content id); undefined for any other content. */
  getSoleChunk(id: ContentId): Promise<ChunkLocation | undefined>;
  /** getChunk for many ids, one query per 500 (a big file has thousands): latin1 id → location; missing ids are absent. */
  getChunks(ids: readonly ChunkId[]): Promise<Map<string, ChunkLocation>>;
  /** Every pack recorded, with its committed size. */
  listPacks(): Promise<PackRow[]>;
  /** Where every recorded chunk lies, a page at a time in id order: no cursor stays open between pages. */
  iterateChunkPlaces(): AsyncIterable<ChunkPlace>;
  /** Every recorded chunk's id. */
  allChunkIds(): Promise<ChunkId[]>;
  /** Every content stored as a list of chunks (one-chunk contents have no list). */
  allChunkLists(): Promise<{ id: ContentId; chunks: ChunkId[] }[]>;
  /** Delete every tree page `keep` refuses; the number deleted. Inside gc's unit of work. */
  sweepNodes(keep: (id: NodeId) => boolean): Promise<number>;
  /** Delete every chunk-list content `keep` refuses; the number deleted. */
  sweepContents(keep: (id: ContentId) => boolean): Promise<number>;
  /** Delete every chunk row `keep` refuses; the number deleted. */
  sweepChunks(keep: (id: ChunkId) => boolean): Promise<number>;
  /** Drop the kept CSV profiles of contents that are gone. */
  dropOrphanProfiles(): Promise<void>;
  /** Drop the delta rows of chunks that are gone, and the kept hasher states of contents that are gone. */
  dropOrphanDeltasAndStates(): Promise<void>;
  /** The chunks stored as deltas (codec 2), whose bases the delta rows name: a page at a time. */
  deltaChunkIds(): AsyncIterable<ChunkId>;
  /**
   * Where every chunk the deltas among `ids` are decoded from lies, down their chains: one lookup
   * for many chunks instead of one per base per level. Ids that are not deltas add nothing.
   */
  getChainChunks(ids: readonly ChunkId[]): Promise<Map<string, ChunkLocation>>;
  /** The hasher state kept at a content's end, if any: unchecked, hash-state.ts checks it before use. */
  getContentState(id: ContentId): Promise<Buffer | undefined>;
  /** Every kept hasher state, with its content's size (null when the content is gone). */
  contentStates(): Promise<{ content: ContentId; state: Buffer; size: number | null }[]>;
  deleteContentState(id: ContentId): Promise<void>;
  /** Every pack with its lease owner, how many chunks it holds and how many of its bytes they use. */
  packUsage(): Promise<PackUsage[]>;
  deletePack(id: number): Promise<void>;
  /** No writer appends to a sealed pack again. */
  sealPack(id: number): Promise<void>;
  /** The chunks recorded in a pack. */
  chunksInPack(pack: number): Promise<PackedChunk[]>;
  /** Point chunks at their copies in another pack; a chunk no longer in `from` is left alone. */
  moveChunks(from: number, to: number, moved: readonly { id: ChunkId; offset: number }[]): Promise<void>;
  putChunks(chunks: Iterable<NewChunk>): Promise<void>;
  hasContent(id: ContentId): Promise<boolean>;
  getContent(id: ContentId): Promise<ContentRecord | undefined>;
  /** getContent for many ids (the files of a listing, a recursive get, a job's inputs): latin1 id → record; missing ids are absent. */
  getContents(ids: readonly ContentId[]): Promise<Map<string, ContentRecord>>;
  putContents(contents: Iterable<ContentRecord>): Promise<void>;
  /** A tree page's bytes, undefined when it is not stored. Pages are immutable: a read needs no unit. */
  getNode(id: NodeId): Promise<Buffer | undefined>;
  /** Tree pages' bytes in the order asked (undefined for one not stored): one round trip for the lot; the array itself where a read is a function call (PageStore.getNodes). */
  getNodes(ids: readonly NodeId[]): (Buffer | undefined)[] | Promise<(Buffer | undefined)[]>;
  /** Store a tree page; one already stored is left as it is. Inside the unit that commits the tree using it. */
  putNode(id: NodeId, data: Buffer): Promise<void>;
  /** Store tree pages in one round trip; those already stored are left as they are. Inside a unit. */
  putNodes(pages: readonly StoredPage[]): Promise<void>;
  /**
   * Claim an unsealed pack for appending (or create one). Runs in its own short transaction; a
   * lease whose owner died is taken over, and the new owner truncates the dead writer's tail.
   */
  claimPack(owner: string, target: number, opts?: { fresh?: boolean }): Promise<PackRow>;
  /** Where the last chunk recorded in a pack ends: never beyond its committed size in a sound store. */
  packEnd(id: number): Promise<number>;
  /** Record a pack's new committed size (inside the caller's commit transaction) and release it. */
  commitPack(id: number, size: number, sealed: boolean): Promise<void>;
  /** Record a pack's new committed size and keep appending to it (the lease stays with `owner`). */
  advancePack(id: number, size: number, owner: string): Promise<void>;
  releasePack(id: number, owner: string): Promise<void>;
  /** Register a write session: from here on gc will not sweep, so dedup decisions stay valid. */
  addWriter(id: string): Promise<void>;
  removeWriter(id: string): Promise<void>;
  isWriterAlive(id: string, now?: number): Promise<boolean>;
  /** Writer sessions still running; dead ones are removed as a side effect. */
  liveWriters(): Promise<string[]>;

  // Deltas, chunk lists by the batch, and column profiles: what the store's other modules asked
  // of the tables below with SQL of their own.
  /** The depth recorded with a chunk's delta rows (delta-store.ts says what it counts): 0 for a chunk stored whole (or unknown). */
  deltaDepth(id: ChunkId): Promise<number>;
  /** The chunks a delta chunk is stored against, per its rows; none for a chunk stored whole (or unknown). */
  deltaBasesOf(id: ChunkId): Promise<ChunkId[]>;
  /**
   * Record delta rows (chunk → each base, depth); in the unit that records their chunk rows, after
   * them. A row is kept only where this writer's record is the chunk's (its pack and offset): when
   * another writer stored the same chunk first, its row and its encoding are the ones that count.
   */
  putDeltas(rows: readonly DeltaRow[]): Promise<void>;
  /** Every delta chunk's bases, hex id → hex ids (gc keeps the bases of what it keeps). */
  deltaBases(): Promise<Map<string, string[]>>;
  /** The chunk lists of those of `ids` that have a contents row, by latin1 id (null: the one chunk whose id is the content's). */
  getChunkLists(ids: readonly ContentId[]): Promise<Map<string, Buffer | null>>;
  /** The kept column profile (JSON text) of a content at a profile format version. */
  getProfile(content: ContentId, version: number): Promise<string | undefined>;
  /** Keep a content's profile (replacing one of the same version). */
  putProfile(content: ContentId, version: number, data: string): Promise<void>;
}

/** ChunkIndex on SQLite: prepared statements over its tables. */
export class SqliteChunkIndex implements ChunkIndex {
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
      hasChunk: db.prepare('SELECT 1 FROM chunks WHERE id = ?').pluck(),
      getChunk: db.prepare(
        'SELECT c.pack, p.name AS packName, c.offset, c.stored_len AS storedLen, c.raw_len AS rawLen, c.codec FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.id = ?',
      ),
      // a content whose id is a chunk id and that has no contents row is that one chunk (see hasContent)
      getSoleChunk: db.prepare(
        'SELECT c.pack, p.name AS packName, c.offset, c.stored_len AS storedLen, c.raw_len AS rawLen, c.codec FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.id = ? AND NOT EXISTS (SELECT 1 FROM contents t WHERE t.id = c.id)',
      ),
      putChunk: db.prepare('INSERT OR IGNORE INTO chunks (id, pack, offset, stored_len, raw_len, codec) VALUES (?, ?, ?, ?, ?, ?)'),
      chunkSize: db.prepare('SELECT raw_len FROM chunks WHERE id = ?').pluck(),
      hasContent: db.prepare('SELECT 1 FROM contents WHERE id = ?').pluck(),
      getContent: db.prepare('SELECT size, chunks FROM contents WHERE id = ?'),
      putContent: db.prepare('INSERT OR IGNORE INTO contents (id, size, chunks) VALUES (?, ?, ?)'),
      getState: db.prepare('SELECT state FROM content_states WHERE content = ?').pluck(),
      putState: db.prepare('INSERT OR IGNORE INTO content_states (content, state) VALUES (?, ?)'),
      allStates: db.prepare('SELECT s.content, s.state, c.size FROM content_states s LEFT JOIN contents c ON c.id = s.content'),
      deleteState: db.prepare('DELETE FROM content_states WHERE content = ?'),
      getNode: db.prepare('SELECT data FROM nodes WHERE id = ?').pluck(),
      putNode: db.prepare('INSERT OR IGNORE INTO nodes (id, data) VALUES (?, ?)'),
      claimablePack: db.prepare(
        'SELECT id, name, size, sealed, lease_owner AS owner, lease_until AS leaseUntil FROM packs WHERE sealed = 0 AND size < ? ORDER BY size DESC LIMIT 8',
      ),
      leasePack: db.prepare('UPDATE packs SET lease_owner = ?, lease_until = ? WHERE id = ?'),
      newPack: db.prepare('INSERT INTO packs (name, size, sealed, lease_owner, lease_until, created) VALUES (?, 0, 0, ?, ?, ?)'),
      packEnd: db.prepare(`SELECT COALESCE(MAX(offset + stored_len + ${RECORD_HEADER_BYTES}), 0) FROM chunks WHERE pack = ?`).pluck(),
      commitPack: db.prepare('UPDATE packs SET size = ?, sealed = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?'),
      advancePack: db.prepare('UPDATE packs SET size = ? WHERE id = ? AND lease_owner = ?'),
      releasePack: db.prepare('UPDATE packs SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?'),
      writerGet: db.prepare('SELECT pid, host, lease_until AS leaseUntil FROM writers WHERE id = ?'),
      addWriter: db.prepare('INSERT INTO writers (id, pid, host, started, lease_until) VALUES (?, ?, ?, ?, ?)'),
      removeWriter: db.prepare('DELETE FROM writers WHERE id = ?'),
      writers: db.prepare('SELECT id, pid, host, lease_until AS leaseUntil FROM writers'),
      packs: db.prepare('SELECT id, name, size, sealed FROM packs'),
      chunkPlacesFirst: db.prepare('SELECT id, pack, offset, stored_len AS storedLen FROM chunks ORDER BY id LIMIT ?'),
      chunkPlacesAfter: db.prepare('SELECT id, pack, offset, stored_len AS storedLen FROM chunks WHERE id > ? ORDER BY id LIMIT ?'),
      deltaIdsFirst: db.prepare(`SELECT id FROM chunks WHERE codec = ${Codec.Delta} ORDER BY id LIMIT ?`).pluck(),
      deltaIdsAfter: db.prepare(`SELECT id FROM chunks WHERE codec = ${Codec.Delta} AND id > ? ORDER BY id LIMIT ?`).pluck(),
      chunkIds: db.prepare('SELECT id FROM chunks').pluck(),
      chunkLists: db.prepare('SELECT id, chunks FROM contents WHERE length(chunks) > 0'),
    };
  }

  /** Run `f` once no unit of another flow is open on the connection: its statements then run with nothing in between. */
  private at<T>(f: () => T): Promise<T> {
    return whenSettled(this.settled, f);
  }

  hasChunk(id: ChunkId): Promise<boolean> {
    return this.at(() => {
      return this.q.hasChunk.get(id) !== undefined;
    });
  }

  /** Which of these chunk ids are already stored, as latin1 keys. One query per 500 ids. */
  existingChunks(ids: readonly ChunkId[]): Promise<Set<string>> {
    return this.at(() => {
      const out = new Set<string>();
      for (let i = 0; i < ids.length; i += 500) {
        const slice = ids.slice(i, i + 500);
        const stmt = this.inStmt(slice.length);
        for (const id of stmt.all(...slice) as Buffer[]) out.add(id.toString('latin1'));
      }
      return out;
    });
  }

  private readonly inStmts = new Map<number, Database.Statement>();
  private inStmt(n: number): Database.Statement {
    let st = this.inStmts.get(n);
    if (!st) {
      st = this.db.prepare(`SELECT id FROM chunks WHERE id IN (${new Array(n).fill('?').join(',')})`).pluck();
      this.inStmts.set(n, st);
    }
    return st;
  }

  getChunk(id: ChunkId): Promise<ChunkLocation | undefined> {
    return this.at(() => this.q.getChunk.get(id) as ChunkLocation | undefined);
  }

  /**
   * Where every chunk the deltas among `ids` are decoded from lies, down their chains (the
   * `chunk_deltas` rows, and each base's location): one query per 500 ids instead of one per base
   * per level. Bases without a row here are simply absent; the reader looks them up on its own.
   */
  getChainChunks(ids: readonly ChunkId[]): Promise<Map<string, ChunkLocation>> {
    return this.at(() => {
      const out = new Map<string, ChunkLocation>();
      for (let i = 0; i < ids.length; i += 500) {
        const slice = ids.slice(i, i + 500);
        const st = this.stmtFor(this.chainStmts, slice.length, (marks) =>
          // the limit bounds what a damaged store (a cycle) can make the query walk
          `WITH RECURSIVE chain(id) AS (SELECT base FROM chunk_deltas WHERE id IN (${marks}) UNION SELECT d.base FROM chunk_deltas d JOIN chain ON d.id = chain.id LIMIT ${4096 + slice.length * 64})
           SELECT c.id, c.pack, p.name, c.offset, c.stored_len, c.raw_len, c.codec FROM chain JOIN chunks c ON c.id = chain.id JOIN packs p ON p.id = c.pack`,
        );
        for (const r of st.all(...slice) as LocationRow[]) out.set(r[0].toString('latin1'), locationOf(r));
      }
      return out;
    });
  }

  private readonly chainStmts = new Map<number, Database.Statement>();

  /** A raw statement with `n` placeholders, prepared once per `n`. */
  private stmtFor(cache: Map<number, Database.Statement>, n: number, sql: (marks: string) => string): Database.Statement {
    let st = cache.get(n);
    if (!st) {
      st = this.db.prepare(sql(new Array(n).fill('?').join(','))).raw();
      cache.set(n, st);
    }
    return st;
  }

  /** Where a one-chunk content's chunk is (its id is the content id); undefined for any other content. */
  getSoleChunk(id: ContentId): Promise<ChunkLocation | undefined> {
    return this.at(() => this.q.getSoleChunk.get(id) as ChunkLocation | undefined);
  }

  /** getChunk for many ids, one query per 500 (a big file has thousands): latin1 id → location; missing ids are absent. */
  getChunks(ids: readonly ChunkId[]): Promise<Map<string, ChunkLocation>> {
    return this.at(() => {
      const out = new Map<string, ChunkLocation>();
      for (let i = 0; i < ids.length; i += 500) {
        const slice = ids.slice(i, i + 500);
        // rows as arrays: building the objects here costs ~40% less than letting the driver
        // name every column (get -o of 1 GiB looks up 7,000 chunks)
        const st = this.stmtFor(this.locStmts, slice.length, (marks) => `SELECT c.id, c.pack, p.name, c.offset, c.stored_len, c.raw_len, c.codec FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.id IN (${marks})`);
        for (const r of st.all(...slice) as LocationRow[]) out.set(r[0].toString('latin1'), locationOf(r));
      }
      return out;
    });
  }

  private readonly locStmts = new Map<number, Database.Statement>();

  /** Every pack recorded, with its committed size. */
  listPacks(): Promise<PackRow[]> {
    return this.at(() => {
      return (this.q.packs.all() as { id: number; name: string; size: number; sealed: number }[]).map((r) => ({ id: r.id, name: r.name, size: r.size, sealed: r.sealed !== 0 }));
    });
  }

  /** Where every recorded chunk lies, a page at a time in id order: no statement stays open between pages. */
  async *iterateChunkPlaces(): AsyncIterable<ChunkPlace> {
    yield* this.scan(this.q.chunkPlacesFirst, this.q.chunkPlacesAfter, (r: ChunkPlace) => r.id);
  }

  /**
   * Rows of a table in id order, SCAN_PAGE per query. Each page is read whole before it is
   * handed out, so the consumer may await (and other queries run) between rows.
   */
  private scan<R>(first: Database.Statement, after: Database.Statement, idOf: (r: R) => Buffer): AsyncIterable<R> {
    return pagedRows((last) => this.at(() => (last === undefined ? first.all(SCAN_PAGE) : after.all(idOf(last), SCAN_PAGE)) as R[]), SCAN_PAGE);
  }

  /** Every recorded chunk's id. */
  allChunkIds(): Promise<ChunkId[]> {
    return this.at(() => {
      return this.q.chunkIds.all() as ChunkId[];
    });
  }

  /** Every content stored as a list of chunks (one-chunk contents have no list). */
  allChunkLists(): Promise<{ id: ContentId; chunks: ChunkId[] }[]> {
    return this.at(() => {
      return (this.q.chunkLists.all() as { id: Buffer; chunks: Buffer }[]).map((r) => ({ id: r.id as ContentId, chunks: splitIds(r.chunks) }));
    });
  }

  /** Delete every tree page `keep` refuses; the number deleted. */
  sweepNodes(keep: (id: NodeId) => boolean): Promise<number> {
    return this.at(() => {
      return this.sweep('nodes', keep as (id: Buffer) => boolean);
    });
  }

  /** Delete every chunk-list content `keep` refuses; the number deleted. */
  sweepContents(keep: (id: ContentId) => boolean): Promise<number> {
    return this.at(() => {
      return this.sweep('contents', keep as (id: Buffer) => boolean);
    });
  }

  /** Delete every chunk row `keep` refuses (their bytes stay in the packs until a pack is rewritten or emptied); the number deleted. */
  sweepChunks(keep: (id: ChunkId) => boolean): Promise<number> {
    return this.at(() => {
      return this.sweep('chunks', keep as (id: Buffer) => boolean);
    });
  }

  private sweep(table: 'nodes' | 'contents' | 'chunks', keep: (id: Buffer) => boolean): number {
    // collected first: a table cannot be changed while it is being iterated
    const dead = (this.db.prepare(`SELECT id FROM ${table}`).pluck().all() as Buffer[]).filter((id) => !keep(id));
    const del = this.db.prepare(`DELETE FROM ${table} WHERE id = ?`);
    for (const id of dead) del.run(id);
    return dead.length;
  }

  /**
   * Drop the kept CSV profiles (profile-cache.ts) of contents that are gone: a profile is worth
   * nothing without its content. A one-chunk content has no contents row; its id is the chunk's.
   */
  dropOrphanProfiles(): Promise<void> {
    return this.at(() => {
      this.db.prepare('DELETE FROM profiles WHERE content NOT IN (SELECT id FROM contents) AND content NOT IN (SELECT id FROM chunks)').run();
    });
  }

  /** A delta row is worth nothing once its chunk is gone; a kept hasher state once its content is (only multi-chunk contents have one). */
  dropOrphanDeltasAndStates(): Promise<void> {
    return this.at(() => {
      this.db.prepare('DELETE FROM chunk_deltas WHERE id NOT IN (SELECT id FROM chunks)').run();
      this.db.prepare('DELETE FROM content_states WHERE content NOT IN (SELECT id FROM contents)').run();
    });
  }

  /** The chunks stored as deltas, a page at a time. */
  async *deltaChunkIds(): AsyncIterable<ChunkId> {
    yield* this.scan(this.q.deltaIdsFirst, this.q.deltaIdsAfter, (id: ChunkId) => id);
  }

  /** Every pack with its lease owner, how many chunks it holds and how many of its bytes they use. */
  packUsage(): Promise<PackUsage[]> {
    return this.at(() => {
      return this.db
        .prepare(
          `SELECT p.id, p.name, p.size, p.lease_owner AS owner, COUNT(c.id) AS chunks, COALESCE(SUM(c.stored_len + ${RECORD_HEADER_BYTES}), 0) AS live
           FROM packs p LEFT JOIN chunks c ON c.pack = p.id GROUP BY p.id`,
        )
        .all() as PackUsage[];
    });
  }

  deletePack(id: number): Promise<void> {
    return this.at(() => {
      this.db.prepare('DELETE FROM packs WHERE id = ?').run(id);
    });
  }

  /** No writer appends to a sealed pack again. */
  sealPack(id: number): Promise<void> {
    return this.at(() => {
      this.db.prepare('UPDATE packs SET sealed = 1 WHERE id = ?').run(id);
    });
  }

  /** The chunks recorded in a pack. */
  chunksInPack(pack: number): Promise<PackedChunk[]> {
    return this.at(() => {
      return this.db.prepare('SELECT id, offset, stored_len AS storedLen, raw_len AS rawLen, codec FROM chunks WHERE pack = ?').all(pack) as PackedChunk[];
    });
  }

  /** Point chunks at their copies in another pack; a chunk no longer in `from` (moved or swept meanwhile) is left alone. */
  moveChunks(from: number, to: number, moved: readonly { id: ChunkId; offset: number }[]): Promise<void> {
    return this.at(() => {
      const upd = this.db.prepare('UPDATE chunks SET pack = ?, offset = ? WHERE id = ? AND pack = ?');
      for (const m of moved) upd.run(to, m.offset, m.id, from);
    });
  }

  putChunks(chunks: Iterable<NewChunk>): Promise<void> {
    return this.at(() => {
      for (const c of chunks) this.q.putChunk.run(c.id, c.pack, c.offset, c.storedLen, c.rawLen, c.codec);
    });
  }

  // A one-chunk file (most small files) has no contents row: its content id is its chunk id, so
  // the chunk row is the record. Saves a row and an index insert per small file.
  hasContent(id: ContentId): Promise<boolean> {
    return this.at(() => this.q.hasContent.get(id) !== undefined || this.q.hasChunk.get(id) !== undefined);
  }

  getContent(id: ContentId): Promise<ContentRecord | undefined> {
    return this.at(() => {
      const row = this.q.getContent.get(id) as { size: number; chunks: Buffer | null } | undefined;
      if (row) return { id, size: row.size, chunks: row.chunks ? splitIds(row.chunks) : [id as unknown as ChunkId] };
      const loc = this.q.chunkSize.get(id) as number | undefined;
      return loc === undefined ? undefined : { id, size: loc, chunks: [id as unknown as ChunkId] };
    });
  }

  /** getContent for many ids: one query per 500 for the chunk lists, one per 500 for the one-chunk contents among the rest. */
  getContents(ids: readonly ContentId[]): Promise<Map<string, ContentRecord>> {
    return this.at(() => {
      const out = new Map<string, ContentRecord>();
      const rest: ContentId[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const slice = ids.slice(i, i + 500);
        const st = this.stmtFor(this.contentStmts, slice.length, (marks) => `SELECT id, size, chunks FROM contents WHERE id IN (${marks})`);
        for (const [id, size, chunks] of st.all(...slice) as [ContentId, number, Buffer | null][]) {
          out.set(id.toString('latin1'), { id, size, chunks: chunks ? splitIds(chunks) : [id as unknown as ChunkId] });
        }
        for (const id of slice) if (!out.has(id.toString('latin1'))) rest.push(id);
      }
      for (let i = 0; i < rest.length; i += 500) {
        const slice = rest.slice(i, i + 500);
        const st = this.stmtFor(this.soleStmts, slice.length, (marks) => `SELECT id, raw_len FROM chunks WHERE id IN (${marks})`);
        for (const [id, size] of st.all(...slice) as [ContentId, number][]) out.set(id.toString('latin1'), { id, size, chunks: [id as unknown as ChunkId] });
      }
      return out;
    });
  }

  private readonly contentStmts = new Map<number, Database.Statement>();
  private readonly soleStmts = new Map<number, Database.Statement>();
  private readonly listStmts = new Map<number, Database.Statement>();

  putContents(contents: Iterable<ContentRecord>): Promise<void> {
    return this.at(() => {
      for (const c of contents) {
        if (!c.packed && c.chunks.length === 1 && c.chunks[0]!.equals(c.id)) continue;
        this.q.putContent.run(c.id, c.size, chunkListBytes(c));
        if (c.endState) this.q.putState.run(c.id, c.endState);
      }
    });
  }

  /** Every kept hasher state, with its content's size (null when the content is gone). */
  contentStates(): Promise<{ content: ContentId; state: Buffer; size: number | null }[]> {
    return this.at(() => {
      return this.q.allStates.all() as { content: ContentId; state: Buffer; size: number | null }[];
    });
  }

  deleteContentState(id: ContentId): Promise<void> {
    return this.at(() => {
      this.q.deleteState.run(id);
    });
  }

  /** The hasher state kept at a content's end, if any: unchecked, hash-state.ts checks it before use. */
  getContentState(id: ContentId): Promise<Buffer | undefined> {
    return this.at(() => this.q.getState.get(id) as Buffer | undefined);
  }

  // Pages are immutable and content-addressed: a read outside a unit need not wait for one in
  // flight (a page it could see early is one no committed tree it was given refers to yet).
  getNode(id: NodeId): Promise<Buffer | undefined> {
    return Promise.resolve(this.q.getNode.get(id) as Buffer | undefined);
  }

  // Answered at once, not in a promise: a walker that is given the array goes on in the same turn,
  // where a promise would cost it a microtask and the garbage of one per page.
  getNodes(ids: readonly NodeId[]): (Buffer | undefined)[] {
    const out: (Buffer | undefined)[] = new Array(ids.length);
    // a prepared statement per id: on SQLite a query costs a function call, not a round trip
    for (let i = 0; i < ids.length; i++) out[i] = this.q.getNode.get(ids[i]) as Buffer | undefined;
    return out;
  }

  putNode(id: NodeId, data: Buffer): Promise<void> {
    return this.putNodes([{ id, data }]);
  }

  putNodes(pages: readonly StoredPage[]): Promise<void> {
    return this.at(() => {
      for (const p of pages) this.q.putNode.run(p.id, p.data);
    });
  }

  /**
   * Claim an unsealed pack for appending (or create one). Runs in its own short transaction; a
   * lease whose owner died is taken over, and the new owner truncates the dead writer's tail.
   */
  claimPack(owner: string, target: number, opts: { fresh?: boolean } = {}): Promise<PackRow> {
    return this.at(() => {
      const now = Date.now();
      return guardSqlite(() => this.db.transaction((): PackRow => {
        const rows = opts.fresh ? [] : this.q.claimablePack.all(target) as { id: number; name: string; size: number; sealed: number; owner: string | null; leaseUntil: number | null }[];
        for (const r of rows) {
          if (r.owner !== null && this.writerAlive(r.owner, now)) continue;
          this.q.leasePack.run(owner, now + WRITER_LEASE_MS, r.id);
          return { id: r.id, name: r.name, size: r.size, sealed: false };
        }
        const name = `${now.toString(16).padStart(12, '0')}${randomBytes(10).toString('hex')}`;
        const info = this.q.newPack.run(name, owner, now + WRITER_LEASE_MS, now);
        return { id: Number(info.lastInsertRowid), name, size: 0, sealed: false };
      }).immediate());
    });
  }

  /** Where the last chunk recorded in a pack ends: never beyond its committed size in a sound store. */
  packEnd(id: number): Promise<number> {
    return this.at(() => {
      return this.q.packEnd.get(id) as number;
    });
  }

  /** Record a pack's new committed size (inside the caller's commit transaction) and release it. */
  commitPack(id: number, size: number, sealed: boolean): Promise<void> {
    return this.at(() => {
      this.q.commitPack.run(size, sealed ? 1 : 0, id);
    });
  }

  /** Record a pack's new committed size and keep appending to it (the lease stays with `owner`). */
  advancePack(id: number, size: number, owner: string): Promise<void> {
    return this.at(() => {
      this.q.advancePack.run(size, id, owner);
    });
  }

  releasePack(id: number, owner: string): Promise<void> {
    return this.at(() => {
      this.q.releasePack.run(id, owner);
    });
  }

  /** Register a write session: from here on gc will not sweep, so dedup decisions stay valid. */
  addWriter(id: string): Promise<void> {
    return this.at(() => {
      const now = Date.now();
      guardSqlite(() => this.q.addWriter.run(id, process.pid, HOST, now, now + WRITER_LEASE_MS), 'cannot start a write');
    });
  }

  removeWriter(id: string): Promise<void> {
    return this.at(() => {
      this.q.removeWriter.run(id);
    });
  }

  isWriterAlive(id: string, now = Date.now()): Promise<boolean> {
    return this.at(() => {
      return this.writerAlive(id, now);
    });
  }

  /** isWriterAlive inside claimPack's synchronous transaction. */
  private writerAlive(id: string, now: number): boolean {
    const w = this.q.writerGet.get(id) as { pid: number; host: string; leaseUntil: number } | undefined;
    return w !== undefined && isOwnerAlive(w.pid, w.host, w.leaseUntil, now);
  }

  /** Writer sessions still running; dead ones are removed as a side effect. */
  liveWriters(): Promise<string[]> {
    return this.at(() => {
      const live: string[] = [];
      for (const w of this.q.writers.all() as { id: string; pid: number; host: string; leaseUntil: number }[]) {
        if (isOwnerAlive(w.pid, w.host, w.leaseUntil)) live.push(w.id);
        else this.q.removeWriter.run(w.id);
      }
      return live;
    });
  }

  // prepared on first use
  private get extra() {
    return (this.#extra ??= {
      depth: this.db.prepare('SELECT MAX(depth) FROM chunk_deltas WHERE id = ?').pluck(),
      basesOf: this.db.prepare('SELECT base FROM chunk_deltas WHERE id = ?').pluck(),
      putDelta: this.db.prepare(
        'INSERT OR IGNORE INTO chunk_deltas (id, base, depth) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ? AND pack = ? AND offset = ?)',
      ),
      deltas: this.db.prepare('SELECT id, base FROM chunk_deltas').raw(),
      getProfile: this.db.prepare('SELECT data FROM profiles WHERE content = ? AND version = ?').pluck(),
      putProfile: this.db.prepare('INSERT OR REPLACE INTO profiles (content, version, data) VALUES (?, ?, ?)'),
    });
  }
  #extra: Record<'depth' | 'basesOf' | 'putDelta' | 'deltas' | 'getProfile' | 'putProfile', Database.Statement> | undefined;

  deltaDepth(id: ChunkId): Promise<number> {
    return this.at(() => (this.extra.depth.get(id) as number | null) ?? 0);
  }

  deltaBasesOf(id: ChunkId): Promise<ChunkId[]> {
    return this.at(() => this.extra.basesOf.all(id) as ChunkId[]);
  }

  putDeltas(rows: readonly DeltaRow[]): Promise<void> {
    return this.at(() => {
      for (const r of rows) for (const b of r.bases) this.extra.putDelta.run(r.id, b, r.depth, r.id, r.pack, r.offset);
    });
  }

  deltaBases(): Promise<Map<string, string[]>> {
    return this.at(() => {
      const out = new Map<string, string[]>();
      for (const [id, base] of this.extra.deltas.iterate() as IterableIterator<[Buffer, Buffer]>) {
        const key = id.toString('hex');
        const list = out.get(key);
        if (list) list.push(base.toString('hex'));
        else out.set(key, [base.toString('hex')]);
      }
      return out;
    });
  }

  getChunkLists(ids: readonly ContentId[]): Promise<Map<string, Buffer | null>> {
    return this.at(() => {
      const out = new Map<string, Buffer | null>();
      for (let i = 0; i < ids.length; i += 500) {
        const slice = ids.slice(i, i + 500);
        const st = this.stmtFor(this.listStmts, slice.length, (marks) => `SELECT id, chunks FROM contents WHERE id IN (${marks})`);
        for (const [id, chunks] of st.all(...slice) as [Buffer, Buffer | null][]) out.set(id.toString('latin1'), chunks);
      }
      return out;
    });
  }

  getProfile(content: ContentId, version: number): Promise<string | undefined> {
    return this.at(() => this.extra.getProfile.get(content, version) as string | undefined);
  }

  putProfile(content: ContentId, version: number, data: string): Promise<void> {
    return this.at(() => {
      this.extra.putProfile.run(content, version, data);
    });
  }
}

/** A location as the raw statements give it: id, pack, pack name, offset, stored length, raw length, codec. */
type LocationRow = [Buffer, number, string, number, number, number, Codec];

function locationOf(r: LocationRow): ChunkLocation {
  return { pack: r[1], packName: r[2], offset: r[3], storedLen: r[4], rawLen: r[5], codec: r[6] };
}

/** What the store keeps as a content's list: its chunk ids back to back. */
export function chunkListBytes(rec: ContentRecord): Buffer {
  return rec.packed ?? (rec.chunks.length === 0 ? Buffer.alloc(0) : Buffer.concat(rec.chunks));
}

export function splitIds(buf: Buffer): ChunkId[] {
  const out: ChunkId[] = [];
  for (let i = 0; i + ID_BYTES <= buf.length; i += ID_BYTES) out.push(buf.subarray(i, i + ID_BYTES) as ChunkId);
  return out;
}
