// ChunkIndex on PostgreSQL: the same rows as chunk-index.ts. Batch methods send their ids as
// arrays (= ANY, unnest): one round trip per batch however many ids it holds.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isOwnerAlive, splitIds, WRITER_LEASE_MS, type ChunkIndex, type ChunkLocation, type ContentRecord, type NewChunk, type PackRow } from '../chunk-index.js';
import type { DeltaRow } from '../delta-store.js';
import type { ChunkId, ContentId, NodeId } from '../hash.js';
import type { StoredPage } from '../page-store.js';
import { Codec, RECORD_HEADER_BYTES } from '../pack-format.js';
import { PAGE, type Binding } from './binding.js';
import { pagedRows } from '../paged-scan.js';
import { CHUNK, CHUNK_LOCATION, CONTENT, PACK, PACK_USE, type ChunkPlace, type PackedChunk, type PackUse } from './rows.js';

const HOST = hostname();

export class PgChunkIndex implements ChunkIndex {
  constructor(private readonly b: Binding) {}

  private async rows(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    return (await this.b.db.query(sql, params)).rows as Record<string, unknown>[];
  }
  private async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.b.db.query(sql, params)).rowCount ?? 0;
  }

  async hasChunk(id: ChunkId): Promise<boolean> {
    return (await this.run('SELECT 1 FROM chunks WHERE id = $1', [id])) > 0;
  }
  async existingChunks(ids: readonly ChunkId[]): Promise<Set<string>> {
    const r = await this.b.db.query<{ id: Buffer }>('SELECT id FROM chunks WHERE id = ANY($1::bytea[])', [ids]);
    return new Set(r.rows.map((x) => x.id.toString('latin1')));
  }
  async getChunk(id: ChunkId): Promise<ChunkLocation | undefined> {
    const [r] = await this.rows(`SELECT ${CHUNK_LOCATION.select} FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.id = $1`, [id]);
    return r && CHUNK_LOCATION.from(r);
  }
  async getSoleChunk(id: ContentId): Promise<ChunkLocation | undefined> {
    const [r] = await this.rows(
      `SELECT ${CHUNK_LOCATION.select} FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.id = $1 AND NOT EXISTS (SELECT 1 FROM contents t WHERE t.id = c.id)`,
      [id],
    );
    return r && CHUNK_LOCATION.from(r);
  }
  async getChunks(ids: readonly ChunkId[]): Promise<Map<string, ChunkLocation>> {
    const rows = await this.rows(`SELECT c.id, ${CHUNK_LOCATION.select} FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.id = ANY($1::bytea[])`, [ids]);
    return new Map(rows.map((r) => [(r.id as Buffer).toString('latin1'), CHUNK_LOCATION.from(r)]));
  }
  async listPacks(): Promise<PackRow[]> {
    return (await this.rows(`SELECT ${PACK.select} FROM packs`)).map(PACK.from);
  }
  /** Every chunk's place, a page at a time (no connection is held between pages). */
  iterateChunkPlaces(): AsyncIterable<ChunkPlace> {
    return pagedRows<ChunkPlace>(async (last) => {
      const rows = await this.rows(`SELECT ${CHUNK.select} FROM chunks ${last ? 'WHERE id > $1' : ''} ORDER BY id LIMIT ${PAGE}`, last ? [last.id] : []);
      return rows.map(CHUNK.place);
    }, PAGE);
  }
  async allChunkIds(): Promise<ChunkId[]> {
    return (await this.b.db.query<{ id: ChunkId }>('SELECT id FROM chunks')).rows.map((r) => r.id);
  }
  async allChunkLists(): Promise<{ id: ContentId; chunks: ChunkId[] }[]> {
    const r = await this.b.db.query<{ id: ContentId; chunks: Buffer }>('SELECT id, chunks FROM contents WHERE length(chunks) > 0');
    return r.rows.map((x) => ({ id: x.id, chunks: splitIds(x.chunks) }));
  }
  async sweepNodes(keep: (id: NodeId) => boolean): Promise<number> {
    return this.sweep('nodes', keep as (id: Buffer) => boolean);
  }
  async sweepContents(keep: (id: ContentId) => boolean): Promise<number> {
    return this.sweep('contents', keep as (id: Buffer) => boolean);
  }
  async sweepChunks(keep: (id: ChunkId) => boolean): Promise<number> {
    return this.sweep('chunks', keep as (id: Buffer) => boolean);
  }
  /** A page of ids at a time: the refused ones of each page go in one DELETE. */
  private async sweep(table: 'nodes' | 'contents' | 'chunks', keep: (id: Buffer) => boolean): Promise<number> {
    let deleted = 0;
    let last: Buffer | undefined;
    for (;;) {
      const r = await this.b.db.query<{ id: Buffer }>(`SELECT id FROM ${table} ${last ? 'WHERE id > $1' : ''} ORDER BY id LIMIT ${PAGE}`, last ? [last] : []);
      const dead = r.rows.map((x) => x.id).filter((id) => !keep(id));
      if (dead.length > 0) deleted += await this.run(`DELETE FROM ${table} WHERE id = ANY($1::bytea[])`, [dead]);
      if (r.rows.length < PAGE) return deleted;
      last = r.rows[r.rows.length - 1]!.id;
    }
  }
  async dropOrphanProfiles(): Promise<void> {
    await this.run('DELETE FROM profiles p WHERE NOT EXISTS (SELECT 1 FROM contents t WHERE t.id = p.content) AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = p.content)');
  }
  async dropOrphanDeltasAndStates(): Promise<void> {
    await this.run(
      `WITH d AS (DELETE FROM chunk_deltas x WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = x.id))
       DELETE FROM content_states s WHERE NOT EXISTS (SELECT 1 FROM contents t WHERE t.id = s.content)`,
    );
  }
  deltaChunkIds(): AsyncIterable<ChunkId> {
    const all = pagedRows<{ id: ChunkId }>(async (last) => {
      const r = await this.b.db.query<{ id: ChunkId }>(`SELECT id FROM chunks WHERE codec = ${Codec.Delta} ${last ? 'AND id > $1' : ''} ORDER BY id LIMIT ${PAGE}`, last ? [last.id] : []);
      return r.rows;
    }, PAGE);
    return (async function* () {
      for await (const r of all) yield r.id;
    })();
  }
  async getChainChunks(ids: readonly ChunkId[]): Promise<Map<string, ChunkLocation>> {
    if (ids.length === 0) return new Map();
    const rows = await this.rows(
      `WITH RECURSIVE chain(id) AS (SELECT base FROM chunk_deltas WHERE id = ANY($1::bytea[]) UNION SELECT d.base FROM chunk_deltas d JOIN chain ON d.id = chain.id)
       SELECT c.id, ${CHUNK_LOCATION.select} FROM (SELECT id FROM chain LIMIT $2) k JOIN chunks c ON c.id = k.id JOIN packs p ON p.id = c.pack`,
      [ids, 4096 + ids.length * 64],
    );
    return new Map(rows.map((r) => [(r.id as Buffer).toString('latin1'), CHUNK_LOCATION.from(r)]));
  }
  async getContentState(id: ContentId): Promise<Buffer | undefined> {
    return (await this.b.db.query<{ state: Buffer }>('SELECT state FROM content_states WHERE content = $1', [id])).rows[0]?.state;
  }
  async contentStates(): Promise<{ content: ContentId; state: Buffer; size: number | null }[]> {
    return (await this.rows('SELECT s.content, s.state, c.size FROM content_states s LEFT JOIN contents c ON c.id = s.content')).map(CONTENT.state);
  }
  async deleteContentState(id: ContentId): Promise<void> {
    await this.run('DELETE FROM content_states WHERE content = $1', [id]);
  }
  async packUsage(): Promise<PackUse[]> {
    return (
      await this.rows(
        `SELECT ${PACK_USE.select}, COUNT(c.id) AS chunks, COALESCE(SUM(c.stored_len + ${RECORD_HEADER_BYTES}), 0) AS live
         FROM packs p LEFT JOIN chunks c ON c.pack = p.id GROUP BY p.id`,
      )
    ).map(PACK_USE.from);
  }
  async deletePack(id: number): Promise<void> {
    await this.run('DELETE FROM packs WHERE id = $1', [id]);
  }
  async sealPack(id: number): Promise<void> {
    await this.run('UPDATE packs SET sealed = true WHERE id = $1', [id]);
  }
  async chunksInPack(pack: number): Promise<PackedChunk[]> {
    return (await this.rows(`SELECT ${CHUNK.select} FROM chunks WHERE pack = $1`, [pack])).map(CHUNK.from);
  }
  async moveChunks(from: number, to: number, moved: readonly { id: ChunkId; offset: number }[]): Promise<void> {
    await this.run(
      'UPDATE chunks c SET pack = $2, "offset" = m.o FROM unnest($3::bytea[], $4::bigint[]) AS m(id, o) WHERE c.id = m.id AND c.pack = $1',
      [from, to, moved.map((m) => m.id), moved.map((m) => m.offset)],
    );
  }
  async putChunks(chunks: Iterable<NewChunk>): Promise<void> {
    const list = [...chunks];
    if (list.length === 0) return;
    await this.run(
      `INSERT INTO chunks (id, pack, "offset", stored_len, raw_len, codec)
       SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::smallint[]) ON CONFLICT DO NOTHING`,
      CHUNK.arrays(list),
    );
  }
  async hasContent(id: ContentId): Promise<boolean> {
    return (await this.run('SELECT 1 FROM contents WHERE id = $1 UNION ALL SELECT 1 FROM chunks WHERE id = $1 LIMIT 1', [id])) > 0;
  }
  /** A content with a chunk list, else a one-chunk content (its id is its chunk's): one query for both. */
  async getContent(id: ContentId): Promise<ContentRecord | undefined> {
    const r = await this.b.db.query<{ size: number; chunks: Buffer | null; listed: boolean }>(
      'SELECT size, chunks, true AS listed FROM contents WHERE id = $1 UNION ALL SELECT raw_len, NULL, false FROM chunks WHERE id = $1 ORDER BY listed DESC LIMIT 1',
      [id],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    return { id, size: row.size, chunks: row.listed && row.chunks ? splitIds(row.chunks) : [id as unknown as ChunkId] };
  }
  /** getContent for many ids in one query: latin1 id → record; missing ids are absent. */
  async getContents(ids: readonly ContentId[]): Promise<Map<string, ContentRecord>> {
    if (ids.length === 0) return new Map();
    const r = await this.b.db.query<{ id: ContentId; size: number; chunks: Buffer | null; listed: boolean }>(
      `SELECT id, size, chunks, true AS listed FROM contents WHERE id = ANY($1::bytea[])
       UNION ALL SELECT id, raw_len, NULL, false FROM chunks WHERE id = ANY($1::bytea[]) AND NOT EXISTS (SELECT 1 FROM contents t WHERE t.id = chunks.id)`,
      [ids],
    );
    return new Map(r.rows.map((row) => [row.id.toString('latin1'), { id: row.id, size: Number(row.size), chunks: row.listed && row.chunks ? splitIds(row.chunks) : [row.id as unknown as ChunkId] }]));
  }
  /** One statement: the chunk lists, and the kept hasher states of those that have one. */
  async putContents(contents: Iterable<ContentRecord>): Promise<void> {
    const list = [...contents].filter((c) => c.packed || !(c.chunks.length === 1 && c.chunks[0]!.equals(c.id)));
    if (list.length === 0) return;
    await this.run(
      `WITH s AS (INSERT INTO content_states (content, state) SELECT * FROM unnest($4::bytea[], $5::bytea[]) ON CONFLICT DO NOTHING)
       INSERT INTO contents (id, size, chunks) SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING`,
      [...CONTENT.arrays(list), ...CONTENT.stateArrays(list)],
    );
  }
  async getNode(id: NodeId): Promise<Buffer | undefined> {
    return (await this.b.db.query<{ data: Buffer }>('SELECT data FROM nodes WHERE id = $1', [id])).rows[0]?.data;
  }
  /** One statement for the lot; the answer is put back in the order asked. */
  async getNodes(ids: readonly NodeId[]): Promise<(Buffer | undefined)[]> {
    if (ids.length === 0) return [];
    const r = await this.b.db.query<{ id: Buffer; data: Buffer }>('SELECT id, data FROM nodes WHERE id = ANY($1::bytea[])', [ids]);
    const found = new Map(r.rows.map((row) => [row.id.toString('latin1'), row.data]));
    return ids.map((id) => found.get(id.toString('latin1')));
  }
  async putNode(id: NodeId, data: Buffer): Promise<void> {
    await this.putNodes([{ id, data }]);
  }
  async putNodes(list: readonly StoredPage[]): Promise<void> {
    if (list.length === 0) return;
    await this.run('INSERT INTO nodes (id, data) SELECT * FROM unnest($1::bytea[], $2::bytea[]) ON CONFLICT DO NOTHING', [list.map((p) => p.id), list.map((p) => p.data)]);
  }
  /** Claim an unsealed pack (or create one), atomically: two writers never hold one pack. */
  async claimPack(owner: string, target: number, opts: { fresh?: boolean } = {}): Promise<PackRow> {
    const now = Date.now();
    return this.b.atomically(async (db) => {
      if (!opts.fresh) {
        const r = await db.query<{ id: number; name: string; size: number; owner: string | null }>(
          'SELECT id, name, size, lease_owner AS owner FROM packs WHERE NOT sealed AND size < $1 ORDER BY size DESC, id LIMIT 8 FOR UPDATE',
          [target],
        );
        for (const p of r.rows) {
          if (p.owner !== null && (await this.writerAlive(db, p.owner, now))) continue;
          await db.query('UPDATE packs SET lease_owner = $1, lease_until = $2 WHERE id = $3', [owner, now + WRITER_LEASE_MS, p.id]);
          return { id: p.id, name: p.name, size: p.size, sealed: false };
        }
      }
      const name = `${now.toString(16).padStart(12, '0')}${randomBytes(10).toString('hex')}`;
      const ins = await db.query<{ id: number }>('INSERT INTO packs (name, size, sealed, lease_owner, lease_until, created) VALUES ($1, 0, false, $2, $3, $4) RETURNING id', [
        name,
        owner,
        now + WRITER_LEASE_MS,
        now,
      ]);
      return { id: ins.rows[0]!.id, name, size: 0, sealed: false };
    });
  }
  async packEnd(id: number): Promise<number> {
    return (await this.b.db.query<{ end: number }>(`SELECT COALESCE(MAX("offset" + stored_len + ${RECORD_HEADER_BYTES}), 0) AS end FROM chunks WHERE pack = $1`, [id])).rows[0]!.end;
  }
  async commitPack(id: number, size: number, sealed: boolean): Promise<void> {
    await this.run('UPDATE packs SET size = $1, sealed = $2, lease_owner = NULL, lease_until = NULL WHERE id = $3', [size, sealed, id]);
  }
  async advancePack(id: number, size: number, owner: string): Promise<void> {
    await this.run('UPDATE packs SET size = $1 WHERE id = $2 AND lease_owner = $3', [size, id, owner]);
  }
  async releasePack(id: number, owner: string): Promise<void> {
    await this.run('UPDATE packs SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2', [id, owner]);
  }
  async addWriter(id: string): Promise<void> {
    const now = Date.now();
    await this.run('INSERT INTO writers (id, pid, host, started, lease_until) VALUES ($1, $2, $3, $4, $5)', [id, process.pid, HOST, now, now + WRITER_LEASE_MS]);
  }
  async removeWriter(id: string): Promise<void> {
    await this.run('DELETE FROM writers WHERE id = $1', [id]);
  }
  async isWriterAlive(id: string, now = Date.now()): Promise<boolean> {
    return this.writerAlive(this.b.db, id, now);
  }
  private async writerAlive(db: Binding['db'], id: string, now: number): Promise<boolean> {
    const w = (await db.query<{ pid: number; host: string; lease_until: number }>('SELECT pid, host, lease_until FROM writers WHERE id = $1', [id])).rows[0];
    return w !== undefined && isOwnerAlive(w.pid, w.host, w.lease_until, now);
  }
  async liveWriters(): Promise<string[]> {
    const r = await this.b.db.query<{ id: string; pid: number; host: string; lease_until: number }>('SELECT id, pid, host, lease_until FROM writers');
    const live: string[] = [];
    const dead: string[] = [];
    for (const w of r.rows) (isOwnerAlive(w.pid, w.host, w.lease_until) ? live : dead).push(w.id);
    if (dead.length > 0) await this.run('DELETE FROM writers WHERE id = ANY($1::text[])', [dead]);
    return live;
  }

  async deltaDepth(id: ChunkId): Promise<number> {
    return (await this.b.db.query<{ depth: number | null }>('SELECT MAX(depth) AS depth FROM chunk_deltas WHERE id = $1', [id])).rows[0]?.depth ?? 0;
  }
  async deltaBasesOf(id: ChunkId): Promise<ChunkId[]> {
    return (await this.b.db.query<{ base: Buffer }>('SELECT base FROM chunk_deltas WHERE id = $1', [id])).rows.map((r) => r.base as ChunkId);
  }
  /** One statement: a row per (chunk, base), kept only where the chunk's row is this writer's record. */
  async putDeltas(rows: readonly DeltaRow[]): Promise<void> {
    const flat = rows.flatMap((r) => r.bases.map((b) => ({ ...r, base: b })));
    if (flat.length === 0) return;
    await this.run(
      `INSERT INTO chunk_deltas (id, base, depth)
       SELECT d.id, d.base, d.depth FROM unnest($1::bytea[], $2::bytea[], $3::bigint[], $4::bigint[], $5::bigint[]) AS d(id, base, depth, pack, o)
       WHERE EXISTS (SELECT 1 FROM chunks c WHERE c.id = d.id AND c.pack = d.pack AND c."offset" = d.o)
       ON CONFLICT DO NOTHING`,
      [flat.map((r) => r.id), flat.map((r) => r.base), flat.map((r) => r.depth), flat.map((r) => r.pack), flat.map((r) => r.offset)],
    );
  }
  async deltaBases(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for await (const r of pagedRows<{ id: Buffer; base: Buffer }>(async (last) => {
      const q = await this.b.db.query<{ id: Buffer; base: Buffer }>(
        `SELECT id, base FROM chunk_deltas ${last ? 'WHERE (id, base) > ($1, $2)' : ''} ORDER BY id, base LIMIT ${PAGE}`,
        last ? [last.id, last.base] : [],
      );
      return q.rows;
    }, PAGE)) {
      const key = r.id.toString('hex');
      const list = out.get(key);
      if (list) list.push(r.base.toString('hex'));
      else out.set(key, [r.base.toString('hex')]);
    }
    return out;
  }
  async getChunkLists(ids: readonly ContentId[]): Promise<Map<string, Buffer | null>> {
    const r = await this.b.db.query<{ id: Buffer; chunks: Buffer | null }>('SELECT id, chunks FROM contents WHERE id = ANY($1::bytea[])', [ids]);
    return new Map(r.rows.map((x) => [x.id.toString('latin1'), x.chunks]));
  }
  async getProfile(content: ContentId, version: number): Promise<string | undefined> {
    return (await this.b.db.query<{ data: string }>('SELECT data FROM profiles WHERE content = $1 AND version = $2', [content, version])).rows[0]?.data;
  }
  async putProfile(content: ContentId, version: number, data: string): Promise<void> {
    await this.run('INSERT INTO profiles (content, version, data) VALUES ($1, $2, $3) ON CONFLICT (content, version) DO UPDATE SET data = EXCLUDED.data', [content, version, data]);
  }
}
