// RemoteChunkIndex on PostgreSQL: the same rows as remote-chunks.ts. Batches send their ids as
// arrays: one round trip per call however many ids it holds.
import type { ChunkId } from '../hash.js';
import type { CachePack, RemoteChunkCount, RemoteChunkIndex } from '../remote-chunks.js';
import { PAGE, type Binding } from './binding.js';

export class PgRemoteChunks implements RemoteChunkIndex {
  constructor(private readonly b: Binding) {}

  private async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.b.db.query(sql, params)).rowCount ?? 0;
  }

  async any(): Promise<boolean> {
    return (await this.run('SELECT 1 FROM remote_chunks LIMIT 1')) > 0;
  }
  async mark(ids: readonly Buffer[], remote: string): Promise<void> {
    if (ids.length === 0) return;
    await this.run('INSERT INTO remote_chunks (id, remote) SELECT id, $2 FROM unnest($1::bytea[]) AS u(id) ON CONFLICT DO NOTHING', [ids, remote]);
  }
  async putSoleContents(files: readonly { id: Buffer; size: number }[]): Promise<void> {
    if (files.length === 0) return;
    await this.run('INSERT INTO contents (id, size, chunks) SELECT id, size, NULL FROM unnest($1::bytea[], $2::bigint[]) AS u(id, size) ON CONFLICT DO NOTHING', [
      files.map((f) => f.id),
      files.map((f) => f.size),
    ]);
  }
  async absent(ids: readonly Buffer[]): Promise<Map<string, ChunkId[]>> {
    const r = await this.b.db.query<{ id: ChunkId; remote: string }>(
      'SELECT r.id, r.remote FROM remote_chunks r WHERE r.id = ANY($1::bytea[]) AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = r.id)',
      [ids],
    );
    const out = new Map<string, ChunkId[]>();
    for (const row of r.rows) {
      const list = out.get(row.remote) ?? [];
      list.push(row.id);
      out.set(row.remote, list);
    }
    return out;
  }
  async unbacked(ids: readonly Buffer[]): Promise<Buffer[]> {
    const backed = await this.backed(ids);
    return ids.filter((id) => !backed.has(id.toString('latin1')));
  }
  async backed(ids: readonly Buffer[]): Promise<Set<string>> {
    const r = await this.b.db.query<{ id: Buffer }>('SELECT id FROM remote_chunks WHERE id = ANY($1::bytea[])', [ids]);
    return new Set(r.rows.map((x) => x.id.toString('latin1')));
  }
  async anyBacked(ids: readonly Buffer[]): Promise<boolean> {
    return (await this.run('SELECT 1 FROM remote_chunks WHERE id = ANY($1::bytea[]) LIMIT 1', [ids])) > 0;
  }
  async touch(ids: readonly Buffer[], now: number): Promise<Set<number>> {
    const r = await this.b.db.query<{ pack: number }>(
      'UPDATE chunk_cache k SET used = $2 WHERE k.pack IN (SELECT DISTINCT c.pack FROM chunks c WHERE c.id = ANY($1::bytea[])) RETURNING k.pack',
      [ids, now],
    );
    return new Set(r.rows.map((x) => x.pack));
  }
  async addCachePacks(packs: readonly { id: number; bytes: number }[], now: number): Promise<void> {
    if (packs.length === 0) return;
    await this.run(
      'INSERT INTO chunk_cache (pack, bytes, used) SELECT pack, bytes, $3 FROM unnest($1::bigint[], $2::bigint[]) AS u(pack, bytes) ON CONFLICT (pack) DO UPDATE SET bytes = EXCLUDED.bytes, used = EXCLUDED.used',
      [packs.map((p) => p.id), packs.map((p) => p.bytes), now],
    );
  }
  async cacheBytes(): Promise<number> {
    return (await this.b.db.query<{ n: number }>('SELECT COALESCE(SUM(bytes), 0)::bigint AS n FROM chunk_cache')).rows[0]!.n;
  }
  async cachePacks(): Promise<CachePack[]> {
    return (await this.b.db.query<CachePack>('SELECT k.pack AS id, p.name, k.bytes FROM chunk_cache k JOIN packs p ON p.id = k.pack ORDER BY k.used, k.pack')).rows;
  }
  /** One statement: the pack's chunk rows, then the pack (its chunk_cache row goes with it). */
  async evict(pack: number): Promise<void> {
    await this.run('WITH c AS (DELETE FROM chunks WHERE pack = $1) DELETE FROM packs WHERE id = $1', [pack]);
  }
  async absentOf(remote: string): Promise<ChunkId[]> {
    const r = await this.b.db.query<{ id: ChunkId }>('SELECT r.id FROM remote_chunks r WHERE r.remote = $1 AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = r.id)', [remote]);
    return r.rows.map((x) => x.id);
  }
  async settle(remote: string): Promise<void> {
    await this.run(
      `WITH u AS (DELETE FROM chunk_cache WHERE pack IN (SELECT c.pack FROM chunks c JOIN remote_chunks r ON r.id = c.id WHERE r.remote = $1))
       DELETE FROM remote_chunks r WHERE r.remote = $1 AND EXISTS (SELECT 1 FROM chunks c WHERE c.id = r.id)`,
      [remote],
    );
  }
  async counts(): Promise<RemoteChunkCount[]> {
    const r = await this.b.db.query<RemoteChunkCount>(
      `SELECT r.remote, SUM(CASE WHEN c.id IS NULL THEN 1 ELSE 0 END)::bigint AS absent, SUM(CASE WHEN c.id IS NULL THEN 0 ELSE 1 END)::bigint AS cached
       FROM remote_chunks r LEFT JOIN chunks c ON c.id = r.id GROUP BY r.remote ORDER BY r.remote`,
    );
    return r.rows;
  }
  /** A page of ids at a time: the dead ones of each page go in one DELETE. */
  async sweep(live: ReadonlySet<string>): Promise<number> {
    let deleted = 0;
    let last: Buffer | undefined;
    for (;;) {
      const r = await this.b.db.query<{ id: Buffer }>(`SELECT id FROM remote_chunks ${last ? 'WHERE id > $1' : ''} ORDER BY id LIMIT ${PAGE}`, last ? [last] : []);
      const dead = r.rows.map((x) => x.id).filter((id) => !live.has(id.toString('hex')));
      if (dead.length > 0) deleted += await this.run('DELETE FROM remote_chunks WHERE id = ANY($1::bytea[])', [dead]);
      if (r.rows.length < PAGE) return deleted;
      last = r.rows[r.rows.length - 1]!.id;
    }
  }
}
