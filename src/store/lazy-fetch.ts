// Fetching remote-backed chunks on demand (lazy clones). Reads stay synchronous: the async entry
// points that read files (get file, a datum's materialisation, checkout) call ensureContents
// first, once per batch of files. It finds the chunks those files need that are remote-backed
// and absent, fetches their records through the store's RemoteChunkSource (src/remote builds it:
// byte ranges of the remote's packs), fetches the bases of delta records too, checks every chunk
// against its id, and only then writes them, whole, to packs of the cache's own. The cache is then
// cut back to its bound (TUSK_LAZY_CACHE_MAX) by evicting whole packs, least recently used first.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptError, IoError, TuskError } from '../errors.js';
import { CHUNK_PROFILE_V1 } from './chunker.js';
import { lookUpPlaces } from './chunk-places.js';
import { readChunk } from './content-io.js';
import type { ChunkId, ContentId } from './hash.js';
import { sizeFromEnv } from './input-cache.js';
import { PACK_TARGET_BYTES } from './pack-format.js';
import { DEFAULT_COMPRESSION, PackWriter } from './pack-writer.js';
import type { RemoteChunkIndex } from './remote-chunks.js';
import type { RemoteChunkSource } from './remote-source.js';
import { DB_FILE, openCore, type StoreCore } from './store-core.js';
import { decodeDeltaRecord, deltaOfRecord, type DeltaRecord } from './delta-records.js';
import { verifyChunkRecord } from './transfer.js';

/** The cache's default bound on the bytes of fetched chunks it keeps (TUSK_LAZY_CACHE_MAX overrides it). */
export const LAZY_CACHE_MAX_BYTES = 1024 ** 3;

export function lazyCacheLimit(env: NodeJS.ProcessEnv = process.env): number {
  return sizeFromEnv('TUSK_LAZY_CACHE_MAX', LAZY_CACHE_MAX_BYTES, env);
}

/**
 * Whether the store has any remote-backed chunk (is a lazy clone): one query, so a caller can skip
 * listing what it will read. Asked per read, after the commit read is resolved, never kept: a
 * lazy pull in another process records its remote-backed chunks in the unit that adds its
 * commits, so a read of such a commit asks after they are there.
 */
export function anyRemoteBacked(s: StoreCore): Promise<boolean> {
  return s.remoteChunks.any();
}

/** A file about to be read. `end`: only its bytes before this offset will be read. */
export interface ContentWant {
  id: ContentId;
  describe: () => string;
  end?: number;
}

export interface LazyFetch {
  /** chunks fetched and cached */
  chunks: number;
  /** cache packs evicted to stay within the bound */
  evicted: number;
}

/** Chunks fetched, verified and written per round. */
const FETCH_BATCH = 256;

/** Hint for a file whose bytes cannot be fetched. */
const UNREACHABLE = 'check the network and the remote (`tusk remote list`), then retry; nothing was changed';

/**
 * Make the chunks of `wants` readable here: fetch, verify and cache those that are remote-backed
 * and absent. A store with no remote-backed chunk costs one query. Nothing is recorded unless
 * every chunk fetched matched its id.
 */
export async function ensureContents(s: StoreCore, wants: readonly ContentWant[]): Promise<LazyFetch> {
  const table = s.remoteChunks;
  const result: LazyFetch = { chunks: 0, evicted: 0 };
  if (!(await table.any())) return result;
  const chunks: ChunkId[] = [];
  const owner = new Map<string, () => string>();
  const records = await s.index.getContents(wants.map((w) => w.id));
  for (const w of wants) {
    const rec = records.get(w.id.toString('latin1'));
    if (!rec) continue; // the read itself reports a missing record
    // every chunk but a file's last holds at least minSize bytes, so chunk i starts at or after
    // i × minSize: those starting at or after `end` cannot hold a byte of the range
    const list = w.end === undefined ? rec.chunks : rec.chunks.slice(0, Math.ceil(w.end / CHUNK_PROFILE_V1.minSize));
    for (const c of list) {
      const k = c.toString('latin1');
      if (owner.has(k)) continue;
      owner.set(k, w.describe);
      chunks.push(c);
    }
  }
  const now = Date.now();
  const absent = await table.absent(chunks);
  // a reading command opens a local store read-only: the cache is written through a connection of
  // its own (its packs are the store's own: the same backend serves both). A team store's units go
  // to its database whatever the command (it has no meta.db to open twice).
  const w = s.readonly && fs.existsSync(path.join(s.path, DB_FILE)) ? openCore(s.path, { packs: s.packs }) : s;
  try {
    const inUse = await w.remoteChunks.touch(chunks, now);
    if (absent.size === 0) return result;
    await fetchAll(s, w, w.remoteChunks, absent, s.remoteSource, owner, now, inUse, result);
    result.evicted = await evict(w, w.remoteChunks, lazyCacheLimit(), inUse);
  } finally {
    if (w !== s) w.closeMetadata();
  }
  return result;
}

async function fetchAll(
  s: StoreCore,
  w: StoreCore,
  table: RemoteChunkIndex,
  absent: ReadonlyMap<string, ChunkId[]>,
  source: RemoteChunkSource | undefined,
  owner: ReadonlyMap<string, () => string>,
  now: number,
  inUse: Set<number>,
  result: LazyFetch,
): Promise<void> {
  for (const [remote, ids] of absent) {
    const what = owner.get(ids[0]!.toString('latin1'))!;
    if (!source) throw new IoError(`${what()} cannot be read: its bytes are on remote ${remote}, and nothing here can fetch them`, 'run the command through the tusk CLI');
    // a batch at a time: memory holds at most FETCH_BATCH chunks (≤ 512 KiB each), not a whole big file
    for (let i = 0; i < ids.length; i += FETCH_BATCH) {
      const raw = await fetchVerified(s, source, remote, ids.slice(i, i + FETCH_BATCH), (id) => owner.get(id.toString('latin1'))!);
      for (const p of await writeCache(w, table, raw, now)) inUse.add(p);
      result.chunks += raw.length;
    }
  }
}

/** The bytes of `ids` from `remote`, each checked against its id; a delta's bases are fetched too (local ones read here). */
async function fetchVerified(s: StoreCore, source: RemoteChunkSource, remote: string, ids: readonly ChunkId[], describe: (id: ChunkId) => () => string): Promise<{ id: ChunkId; data: Buffer }[]> {
  const wholes = new Map<string, Buffer>();
  const deltas = new Map<string, { where: string } & DeltaRecord>();
  const fileOf = new Map<string, () => string>();
  for (const id of ids) fileOf.set(id.toString('latin1'), describe(id));
  const nameFor = (id: Buffer) => fileOf.get(id.toString('latin1')) ?? describe(ids[0]!);
  const onRecord = (id: ChunkId, record: Buffer, where: string) => {
    const k = id.toString('latin1');
    try {
      const delta = deltaOfRecord(id, record, where);
      if (delta) deltas.set(k, { where, ...delta, payload: Buffer.from(delta.payload) });
      else wholes.set(k, verifyChunkRecord(id, record, where));
    } catch (err) {
      throw named(err, nameFor(id));
    }
  };
  let batch: readonly ChunkId[] = ids;
  for (let round = 0; batch.length > 0; round++) {
    if (round > 64) throw new CorruptError(`${nameFor(batch[0]!)()} cannot be read: the delta chain of a chunk on remote ${remote} does not end`, 'the remote copy is damaged; push again from a sound store');
    try {
      await source.fetch(remote, batch, onRecord);
    } catch (err) {
      if (err instanceof CorruptError) throw NAMED.has(err) ? err : named(err, nameFor(batch[0]!));
      const why = err instanceof Error ? err.message : String(err);
      throw new IoError(`${nameFor(batch[0]!)()} cannot be read: its bytes are on remote ${remote} (${source.url(remote)}), which cannot be reached: ${why}`, UNREACHABLE, { cause: err });
    }
    // deltas name their bases only once they arrive: those neither here nor fetched come next
    const next = new Map<string, ChunkId>();
    for (const [k, d] of deltas) {
      for (const b of d.bases) {
        const bk = b.toString('latin1');
        if (wholes.has(bk) || deltas.has(bk) || next.has(bk)) continue;
        if (!fileOf.has(bk)) fileOf.set(bk, fileOf.get(k) ?? nameFor(b));
        next.set(bk, b);
      }
    }
    const here = next.size > 0 ? await s.index.existingChunks([...next.values()]) : new Set<string>();
    batch = [...next.values()].filter((b) => !here.has(b.toString('latin1')));
  }
  // the bases this store has already: where they lie (and the chains under them), in one lookup
  const local = new Map<string, ChunkId>();
  for (const d of deltas.values()) for (const b of d.bases) if (!wholes.has(b.toString('latin1')) && !deltas.has(b.toString('latin1'))) local.set(b.toString('latin1'), b);
  const places = local.size > 0 ? await lookUpPlaces(s.index, [...local.values()]) : undefined;
  const decoded = new Map<string, Buffer>();
  const bytesOf = async (id: ChunkId, guard: number): Promise<Buffer> => {
    const k = id.toString('latin1');
    const known = wholes.get(k) ?? decoded.get(k);
    if (known) return known;
    const d = deltas.get(k);
    if (!d) return readChunk(s.index, s.packs, id, { describe: nameFor(id) }, undefined, { places });
    if (guard > 64) throw new CorruptError(`${nameFor(id)()} cannot be read: the delta chain of chunk ${id.toString('hex').slice(0, 16)} does not end`, 'the remote copy is damaged; push again from a sound store');
    const bases: Buffer[] = [];
    for (const b of d.bases) bases.push(await bytesOf(b, guard + 1));
    let data: Buffer;
    try {
      data = decodeDeltaRecord(id, d, bases, d.where);
    } catch (err) {
      throw named(err, nameFor(id));
    }
    decoded.set(k, data);
    return data;
  };
  const out: { id: ChunkId; data: Buffer }[] = [];
  for (const id of ids) out.push({ id, data: await bytesOf(id, 0) });
  return out;
}

/** Errors that already name their file. */
const NAMED = new WeakSet<Error>();

/** A check's error, naming the file it was read for. */
function named(err: unknown, what: () => string): unknown {
  if (!(err instanceof CorruptError) || NAMED.has(err)) return err;
  const out = new CorruptError(`${what()} cannot be read: ${err.message}`, err.hint, { cause: err });
  NAMED.add(out);
  return out;
}

/** Write verified chunks, whole, to packs of the cache's own and record them in one transaction; returns those packs. */
async function writeCache(s: StoreCore, table: RemoteChunkIndex, chunks: readonly { id: ChunkId; data: Buffer }[], now: number): Promise<number[]> {
  const session = `lazy-${randomBytes(8).toString('hex')}`;
  // a registered writer keeps gc from sweeping while these chunks are written but unrecorded
  await s.index.addWriter(session);
  const writer = new PackWriter(s.index, s.packs, session, DEFAULT_COMPRESSION, PACK_TARGET_BYTES, true);
  let failed = true;
  try {
    for (const c of chunks) {
      writer.add(c.id, c.data);
      if (writer.batchReady) await writer.drain();
    }
    // packs in a bucket are uploaded before the unit names them (a no-op for packs on this disk)
    await writer.publish();
    await writer.sync();
    const packs = writer.written();
    await s.unitOfWork(async () => {
      await writer.record();
      await table.addCachePacks(packs, now);
      await s.index.removeWriter(session);
    });
    failed = false;
    return packs.map((p) => p.id);
  } finally {
    await writer.close(failed);
    if (failed) {
      try {
        await s.index.removeWriter(session);
      } catch {
        // its lease runs out on its own
      }
    }
  }
}

/** Evict least recently used cache packs until the cache is within `limit`; packs in `keep` (the read in progress needs them) stay. */
async function evict(s: StoreCore, table: RemoteChunkIndex, limit: number, keep: ReadonlySet<number>): Promise<number> {
  if ((await table.cacheBytes()) <= limit) return 0;
  // what the unit evicted is its result: a body run again starts from the store, not from a
  // count or a list the first run left
  const gone = await s.unitOfWork(async () => {
    let total = await table.cacheBytes();
    const names: string[] = [];
    for (const p of await table.cachePacks()) {
      if (total <= limit) break;
      if (keep.has(p.id)) continue;
      await table.evict(p.id);
      names.push(p.name);
      total -= p.bytes;
    }
    return names;
  });
  for (const name of gone) {
    try {
      if (s.packs.local) s.packs.local.removeNow(name);
      else void s.packs.remove(name).catch(() => {});
    } catch (err) {
      // an unrecorded pack file is reclaimed by the next gc
      if (!(err instanceof TuskError)) throw err;
    }
  }
  return gone.length;
}
