// File contents in and out: bytes → chunks → packs on the way in; chunk index → packs → verified
// bytes on the way out. Neither direction ever holds more than one chunk plus one read block.
import * as fs from 'node:fs';
import { decompressInto } from './zstd.js';
import { giveBuffer, takeBuffer } from './chunk-buffers.js';
import { CorruptError } from '../errors.js';
import { decodeDelta, deltaBases } from './delta-codec.js';
import { baseCache, ChunkCache } from './delta-cache.js';
import type { ChunkIndex, ChunkLocation, ContentRecord } from './chunk-index.js';
import { addChains, lookUpPlaces, type Places } from './chunk-places.js';
import { CHUNK_PROFILE_V1, type Chunker, type ChunkParams } from './chunker.js';
import { ScanningChunker } from './gear-wasm.js';
import { createHasher, EMPTY_CONTENT_ID, hashBytes, type ChunkId, type ContentId, type Hasher } from './hash.js';
import { createWholeHasher, finishWhole, resumeHasher, type WholeHasher } from './hash-state.js';
import { Codec, decodeRecordHeader, RECORD_HEADER_BYTES } from './pack-format.js';
import { requireLocal, type Packs } from './packs.js';
import type { PackWriter } from './pack-writer.js';
import type { DeltaPlan } from './delta-plan.js';
import type { ContentSink, ReadContext } from './content-sink.js';
import { PARALLEL_MIN_BYTES, readContentParallel, writeContentNative, writeContentParallel, type BigRead } from './parallel-content.js';
import { hasNativeCopy, nativeCopy, reserve } from './native-io.js';
import { contentWorker, startedWorker, type WorkerLink } from './worker-link.js';

export type { ContentSink, ReadContext };

/** Turns one file's bytes into a content record, writing chunks the store does not have yet. */
export class ContentWriter implements ContentSink {
  private readonly chunker: Chunker;
  private readonly chunks: ChunkId[] = [];
  private first: Buffer | null = null;
  private hasher: WholeHasher | null = null;
  /** bytes at the start of the chunk stream the hasher has already been given (a resumed append) */
  private hashed = 0;
  size = 0;
  /** offset in the file of the next chunk's first byte */
  private cutAt = 0;

  /** `delta`: the file's earlier version, whose chunks new chunks may be stored against. */
  constructor(
    private readonly sink: PackWriter,
    params: ChunkParams = CHUNK_PROFILE_V1,
    private readonly delta?: DeltaPlan,
  ) {
    this.chunker = new ScanningChunker(params);
  }

  /**
   * A writer for a file that continues existing content (an append). `prefix.record`'s chunks but
   * the last are reused; the last one ended where the old file ended, not at a content-defined
   * cut, so its bytes are chunked again with what follows: the cuts are those a put of the whole
   * file makes. The other bytes are only hashed (the file's id is BLAKE3 of all of them), unless
   * `resumed` is a hasher that has already been given them all (hash-state.ts): then `bytes`
   * holds only the last chunk's. `lastChunkSize` 0 keeps every earlier chunk and starts a new
   * chunk at the old end instead.
   */
  static async continuing(
    sink: PackWriter,
    params: ChunkParams,
    prefix: { record: ContentRecord; bytes: Iterable<Buffer> | AsyncIterable<Buffer>; lastChunkSize: number; resumed?: WholeHasher },
  ): Promise<ContentWriter> {
    const w = new ContentWriter(sink, params);
    if (prefix.record.size > 0) await w.takePrefix(prefix);
    return w;
  }

  private async takePrefix(prefix: { record: ContentRecord; bytes: Iterable<Buffer> | AsyncIterable<Buffer>; lastChunkSize: number; resumed?: WholeHasher }): Promise<void> {
    const keep = prefix.record.size - prefix.lastChunkSize;
    const resumed = prefix.resumed;
    const hasher = resumed ?? (keep > 0 ? createWholeHasher() : null);
    const last = Buffer.allocUnsafe(prefix.lastChunkSize);
    let at = resumed ? keep : 0;
    try {
      for await (const b of prefix.bytes) {
        const head = Math.max(0, Math.min(b.length, keep - at));
        if (head > 0) hasher!.update(head === b.length ? b : b.subarray(0, head));
        if (head < b.length) b.copy(last, at + head - keep, head);
        at += b.length;
      }
    } catch (err) {
      if (hasher !== resumed) hasher?.close?.();
      throw err;
    }
    if (at !== prefix.record.size) throw new Error(`content writer: the earlier content gave ${at} bytes of ${prefix.record.size}`);
    this.hasher = hasher;
    // the resumed hasher has the last chunk's bytes already: they are chunked again, not hashed
    this.hashed = resumed ? prefix.lastChunkSize : 0;
    this.cutAt = keep;
    if (prefix.lastChunkSize === 0) {
      // aligned: every earlier chunk kept whole, the new bytes start a chunk of their own
      this.chunks.push(...prefix.record.chunks);
      this.size = keep;
    } else {
      this.chunks.push(...prefix.record.chunks.slice(0, -1));
      this.size = keep;
      // one chunk's bytes at most: queued with the next push's batch
      this.pushSync(last);
    }
  }

  async buffer(size: number): Promise<Buffer> {
    // a fresh buffer each time: chunks stay views into it until the pack writer drains
    return Buffer.allocUnsafe(size);
  }

  abort(): void {
    this.hasher?.close?.();
  }

  async push(block: Buffer): Promise<void> {
    if (block.length === 0) return;
    this.pushSync(block);
    if (this.sink.batchReady) await this.sink.drain();
  }

  /** Cut and queue a block's chunks; the pack writer's batch is stored by the caller (push, or the constructor's finish). */
  private pushSync(block: Buffer): void {
    this.size += block.length;
    this.chunker.push(block, this.onChunk);
  }

  private readonly onChunk = (chunk: Buffer): void => {
    // The whole-file hash is only needed once there are two chunks: a one-chunk file's id is its chunk id.
    if (this.hasher) {
      if (this.hashed === 0) this.hasher.update(chunk);
      else {
        const skip = Math.min(this.hashed, chunk.length);
        this.hashed -= skip;
        if (skip < chunk.length) this.hasher.update(chunk.subarray(skip));
      }
    } else if (this.chunks.length === 0) this.first = chunk;
    else {
      this.hasher = createWholeHasher();
      this.hasher.update(this.first!);
      this.hasher.update(chunk);
      this.first = null;
    }
    const id = hashBytes(chunk) as ChunkId;
    const start = this.cutAt;
    this.cutAt += chunk.length;
    this.sink.add(id, chunk, this.delta?.basesFor(start, this.cutAt));
    this.chunks.push(id);
  };

  async finish(): Promise<ContentRecord> {
    this.chunker.finish(this.onChunk);
    if (this.sink.batchReady) await this.sink.drain();
    if (this.chunks.length === 0) return { id: EMPTY_CONTENT_ID, size: 0, chunks: [] };
    if (!this.hasher) {
      const id = this.chunks[0]! as unknown as ContentId;
      return { id, size: this.size, chunks: [this.chunks[0]!] };
    }
    return finishWhole(this.hasher, { size: this.size, chunks: this.chunks });
  }
}

/**
 * A writer for a file that starts with the content `prev` and goes on with the bytes pushed to
 * it. Only `prev`'s last chunk and the new bytes are chunked and stored. Where `prev` kept its
 * hasher's end state (hash-state.ts) and that state digests to `prev`'s id, only the last chunk
 * is read (verified against its id) and the new bytes are hashed on from there; otherwise `prev`
 * is read once, each chunk verified, and hashed again.
 */
export async function appendingWriter(index: ChunkIndex, packs: Packs, sink: PackWriter, prev: ContentRecord, ctx: ReadContext, params: ChunkParams = CHUNK_PROFILE_V1): Promise<ContentWriter> {
  if (prev.size === 0) return new ContentWriter(sink, params);
  const resumed = resumeHasher(await index.getContentState(prev.id), prev.id, prev.size) ?? undefined;
  const lastId = prev.chunks[prev.chunks.length - 1]!;
  const read = resumed ? [lastId] : prev.chunks;
  const places = await lookUpPlaces(index, read);
  const last = places.get(lastId.toString('latin1'));
  if (!last) throw missingChunk(ctx, lastId);
  // readChunk looks a chunk missing from `places` up again, and names it when it is not there
  const bytes = (async function* () {
    for (const id of read) yield await readChunk(index, packs, id, ctx, places.get(id.toString('latin1')), { places });
  })();
  return ContentWriter.continuing(sink, params, { record: prev, bytes, lastChunkSize: last.rawLen, resumed });
}

function missingChunk(ctx: ReadContext, id: ChunkId): CorruptError {
  return new CorruptError(`${ctx.describe()} cannot be read: chunk ${id.toString('hex').slice(0, 16)} is missing from the index`, 'run `tusk fsck --verify-data` to list everything affected');
}

/**
 * What decoding one chunk from a delta chain has to hand: the places looked up for it (given by
 * the caller, and those looked up since), and the bases decoded while the chunk on top is read,
 * not yet proven by its id. Each base is decoded once even where several chunks of the chain
 * share it, and they join baseCache only once the chunk on top has matched its id (so the cache
 * holds only proven bytes). A read whose whole file is hashed (`scope`) keeps them in a cache of
 * its own instead, which only that read uses: the whole-file hash proves them, and the chunk on
 * top is not hashed on its own.
 */
interface ChainRead {
  readonly packs: Packs;
  readonly given: Places | undefined;
  readonly found: Map<string, ChunkLocation>;
  readonly unproven: Map<string, Buffer>;
  readonly scope: ChunkCache | undefined;
}

/** A base's bytes decoded earlier: proven (baseCache), kept by this read, or decoded under the chunk now read. */
const heldBase = (read: ChainRead, key: string) => baseCache.get(key) ?? read.scope?.get(key) ?? read.unproven.get(key);

const placeIn = (read: ChainRead, key: string) => read.found.get(key) ?? read.given?.get(key);

/**
 * Thrown while a chain is decoded when a base's place was not looked up: readChunk looks them up
 * (all of them at once) and decodes again; the decoding itself never waits.
 */
class PlacesNeeded extends Error {
  constructor(readonly ids: ChunkId[]) {
    super('chunk places needed');
  }
}

/** Decoded more than this many times, a chunk's chain keeps asking for places: only a damaged store does that. */
const PLACE_ROUNDS = 64;

/**
 * Read and verify one chunk (at `known`, when the caller has looked it up; `places`: where the
 * bases under it lie, when the caller looked them up ahead). Wrong bytes are never returned: any
 * mismatch is a CorruptError. A delta's bases' places come from `places`, else from one lookup of
 * its chain, and any still missing from one lookup per level. `wholeChecked`: the caller hashes
 * the whole file and, when that does not match, reads it again with every chunk hashed
 * (writeContentNative): a chunk stored on its own is then not hashed here too. A delta is too only
 * with `scope`, the cache that holds the bases decoded for this read and nothing else (baseCache
 * holds only bases proven by the chunk on top); the caller clears it once the file is written.
 */
export async function readChunk(
  index: ChunkIndex,
  packs: Packs,
  id: ChunkId,
  ctx: ReadContext,
  known?: ChunkLocation,
  opts: { places?: Places; wholeChecked?: boolean; scope?: ChunkCache } = {},
): Promise<Buffer> {
  // packs in a bucket: a ranged read through the block cache (bucket stores write no deltas)
  if (!packs.local) return readChunkAsync(index, packs, id, ctx, known ?? opts.places?.get(id.toString('latin1')));
  let loc = known ?? opts.places?.get(id.toString('latin1')) ?? (await index.getChunk(id));
  if (!loc) throw missingChunk(ctx, id);
  let given = opts.places;
  let read: ChainRead | null = null;
  let looked = false;
  for (let round = 0; ; round++) {
    try {
      if (loc.codec === Codec.Delta && !read) {
        // a caller that gave places looked the chains up with them
        given ??= await index.getChainChunks([id]);
        read = { packs, given, found: new Map(), unproven: new Map(), scope: opts.wholeChecked ? opts.scope : undefined };
      }
      return decodeAt(read, packs, id, loc, ctx, 0, opts.wholeChecked ?? false);
    } catch (err) {
      if (err instanceof PlacesNeeded && read && round < PLACE_ROUNDS) {
        const found = await index.getChunks(err.ids);
        const absent = err.ids.find((b) => !found.has(b.toString('latin1')));
        if (absent) throw unreadable(ctx, `chunk ${absent.toString('hex').slice(0, 16)} is missing from the index`);
        for (const [k, l] of found) read.found.set(k, l);
        continue;
      }
      if (err instanceof PlacesNeeded) throw unreadable(ctx, `chunk ${id.toString('hex').slice(0, 16)} has a damaged delta chain`);
      // gc may have moved the chunk, or a base under it, into a rewritten pack, and deleted the
      // old one, between the lookup and the read: look again, and read from the new places if
      // any moved
      if (!(err instanceof CorruptError) || looked) throw err;
      looked = true;
      const now = await index.getChunk(id);
      if (!now) throw err;
      const chain = now.codec === Codec.Delta ? await index.getChainChunks([id]) : null;
      const was = read;
      const same = (k: string, l: ChunkLocation) => {
        const before = was ? placeIn(was, k) : undefined;
        return before !== undefined && before.pack === l.pack && before.offset === l.offset;
      };
      if (now.pack === loc.pack && now.offset === loc.offset && (!chain || [...chain].every(([k, l]) => same(k, l)))) throw err;
      loc = now;
      given = chain ?? undefined;
      read = chain ? { packs, given: chain, found: new Map(), unproven: new Map(), scope: opts.wholeChecked ? opts.scope : undefined } : null;
    }
  }
}

/**
 * A base chunk's bytes, verified against its id, from the cache of proven bases when it is there
 * (what the delta encoder stores new chunks against). A copy the caller owns: a buffer of the
 * cache could be dropped and reused by another read before the caller resumes.
 */
export async function readBase(index: ChunkIndex, packs: Packs, id: ChunkId, ctx: ReadContext): Promise<Buffer> {
  const key = id.toString('latin1');
  const cached = baseCache.get(key);
  if (cached) return Buffer.from(cached);
  const data = await readChunk(index, packs, id, ctx);
  baseCache.set(key, data);
  return Buffer.from(data);
}

/** A base's bytes while a chain is decoded (depth > 0): from the caches, else decoded from its place. */
function chainBase(read: ChainRead, id: ChunkId, ctx: ReadContext, depth: number): Buffer {
  const key = id.toString('latin1');
  let data = heldBase(read, key);
  if (!data) {
    const loc = placeIn(read, key);
    if (!loc) throw new PlacesNeeded([id]);
    data = decodeAt(read, read.packs, id, loc, ctx, depth, false);
    read.unproven.set(key, data);
  }
  return data;
}

/**
 * A delta's bases' bytes end to end. A lone base is used as the cache holds it (nothing is read
 * before the decode); several are copied into a buffer of their own (`own`: give it back after
 * the decode), each before the next is read, since reading one may make the cache drop another.
 * Their sizes come from the caches or the places; bases with no place are asked for all at once.
 */
function deltaReference(read: ChainRead, bases: readonly ChunkId[], ctx: ReadContext, depth: number, fail: (why: string) => CorruptError): { bytes: Buffer; own: boolean } {
  if (bases.length === 1) return { bytes: chainBase(read, bases[0]!, ctx, depth), own: false };
  const keys = bases.map((b) => b.toString('latin1'));
  const sizes = keys.map((k) => heldBase(read, k)?.length ?? placeIn(read, k)?.rawLen);
  const missing = bases.filter((_, i) => sizes[i] === undefined);
  if (missing.length > 0) throw new PlacesNeeded(missing);
  const total = (sizes as number[]).reduce((a, b) => a + b, 0);
  const bytes = takeBuffer(total);
  let at = 0;
  for (let i = 0; i < bases.length; i++) {
    const part = chainBase(read, bases[i]!, ctx, depth);
    if (at + part.length > total) throw fail(`chunk ${bases[i]!.toString('hex').slice(0, 16)} is not the size its index row gives`);
    bytes.set(part, at);
    at += part.length;
  }
  if (at !== total) throw fail('a delta base is not the size its index row gives');
  return { bytes, own: true };
}

/** Deeper than any chain a writer makes (delta-store.ts MAX_CHAIN): only a damaged store, e.g. a cycle, gets here. */
const CHAIN_LIMIT = 64;

/** A chunk's record read from a local pack at `loc` and checked (decoded down its chain with `read`, for a delta). */
function decodeAt(read: ChainRead | null, packs: Packs, id: ChunkId, loc: ChunkLocation, ctx: ReadContext, depth: number, wholeChecked: boolean): Buffer {
  // a record that is decoded is read into a reusable buffer, given back once decoded
  const rec = takeBuffer(RECORD_HEADER_BYTES + loc.storedLen);
  try {
    (packs.local ?? requireLocal(packs, `reading ${ctx.describe()} synchronously`)).readInto(loc.packName, loc.offset, rec);
  } catch (err) {
    if (err instanceof CorruptError) throw unreadable(ctx, err.message);
    throw err;
  }
  return checkRecord(rec, id, loc, ctx, read ? { read, depth } : undefined, wholeChecked);
}

function unreadable(ctx: ReadContext, why: string): CorruptError {
  return new CorruptError(`${ctx.describe()} cannot be read: ${why}`, 'run `tusk fsck --verify-data` to list everything affected');
}

/**
 * A chunk's bytes from its pack record (header and payload), verified against the index and the
 * chunk id. A delta record needs `chain` (where its base chunks are read, and how deep in a chain
 * this chunk lies: only the chunk on top is hashed); without it it is refused.
 */
function checkRecord(rec: Buffer, id: ChunkId, loc: ChunkLocation, ctx: ReadContext, chain?: { read: ChainRead; depth: number }, wholeChecked = false): Buffer {
  const depth = chain?.depth ?? 0;
  const fail = (why: string) => unreadable(ctx, why);
  const h = decodeRecordHeader(rec);
  if (!h || !h.id.equals(id) || h.codec !== loc.codec || h.storedLen !== loc.storedLen || h.rawLen !== loc.rawLen) throw fail(`pack ${loc.packName} has a damaged record at offset ${loc.offset}`);
  let data = rec.subarray(RECORD_HEADER_BYTES);
  if (loc.codec === Codec.Zstd) {
    data = takeBuffer(loc.rawLen);
    try {
      decompressInto(rec.subarray(RECORD_HEADER_BYTES), data);
    } catch {
      throw fail(`chunk ${id.toString('hex').slice(0, 16)} in pack ${loc.packName} does not decompress`);
    }
    giveBuffer(rec);
  } else if (loc.codec === Codec.Delta) {
    // delta hook: the bases' bytes first (themselves perhaps deltas), then this chunk against them
    if (!chain) throw fail(`chunk ${id.toString('hex').slice(0, 16)} in pack ${loc.packName} is stored as a delta, which needs the store's packs on a local disk`);
    const baseIds = deltaBases(data);
    if (!baseIds || depth >= CHAIN_LIMIT) throw fail(`chunk ${id.toString('hex').slice(0, 16)} in pack ${loc.packName} has a damaged delta`);
    const ref = deltaReference(chain.read, baseIds, ctx, depth + 1, fail);
    try {
      data = decodeDelta(data, loc.rawLen, ref.bytes);
    } catch {
      throw fail(`chunk ${id.toString('hex').slice(0, 16)} in pack ${loc.packName} does not decode against its bases`);
    }
    if (ref.own) giveBuffer(ref.bytes);
    giveBuffer(rec);
    if (depth === 0) {
      const scope = wholeChecked ? chain.read.scope : undefined;
      if (data.length !== loc.rawLen || (!scope && !hashBytes(data).equals(id))) throw fail(`chunk ${id.toString('hex').slice(0, 16)} in pack ${loc.packName} does not match its id`);
      // the chunk matched its id, and every base under it is proven; or the whole file will be
      // checked, and they serve only this read until then
      for (const [k, v] of chain.read.unproven) (scope ?? baseCache).set(k, v);
      chain.read.unproven.clear();
    }
    return data;
  } else if (loc.codec !== Codec.Raw) throw fail(`unknown codec ${loc.codec}`);
  if (data.length !== loc.rawLen || (depth === 0 && !wholeChecked && !hashBytes(data).equals(id))) throw fail(`chunk ${id.toString('hex').slice(0, 16)} in pack ${loc.packName} does not match its id`);
  return data;
}

/** readChunk through the pack contract's ranged reads: works on any backend. */
export async function readChunkAsync(index: ChunkIndex, packs: Packs, id: ChunkId, ctx: ReadContext, known?: ChunkLocation): Promise<Buffer> {
  const loc = known ?? (await index.getChunk(id));
  if (!loc) throw missingChunk(ctx, id);
  const at = async (l: ChunkLocation) => {
    let rec: Buffer;
    try {
      rec = await packs.getRange(l.packName, l.offset, RECORD_HEADER_BYTES + l.storedLen);
    } catch (err) {
      if (err instanceof CorruptError) throw unreadable(ctx, err.message);
      throw err;
    }
    return checkRecord(rec, id, l, ctx);
  };
  try {
    return await at(loc);
  } catch (err) {
    // as in readChunk: gc may have moved the chunk since the lookup
    if (!(err instanceof CorruptError)) throw err;
    const now = await index.getChunk(id);
    if (!now || (now.pack === loc.pack && now.offset === loc.offset)) throw err;
    return at(now);
  }
}

/** The most one ranged read of readContentAsync asks for: a run of chunks lying back to back in one pack. */
const RANGE_BYTES = 4 << 20;

/**
 * readContent through the pack contract: the path every backend supports (a local store reads
 * faster through readContent). Chunks lying back to back in one pack are fetched with one ranged
 * read — on a bucket one request per run, not per chunk — and each is verified against its id, the
 * file as a whole against its content id. A record that does not check out in its run is read
 * again on its own, which follows a gc move or names the damage.
 */
export async function* readContentAsync(index: ChunkIndex, packs: Packs, id: ContentId, ctx: ReadContext, offset = 0, known: Known = {}): AsyncGenerator<Buffer> {
  if (id.equals(EMPTY_CONTENT_ID)) return;
  const rec = known.record ?? (await contentRecord(index, id, ctx));
  // what a caller looked up with other files' (a batch of datums' inputs) is not asked again
  const places = known.places;
  const locs = places && rec.chunks.every((c) => places.get(c.toString('latin1'))) ? places : await index.getChunks(rec.chunks);
  const locOf = (i: number) => (i < rec.chunks.length ? locs.get(rec.chunks[i]!.toString('latin1')) : undefined);
  const whole = rec.chunks.length > 1 || (rec.chunks.length === 1 && !rec.chunks[0]!.equals(id)) ? createHasher() : null;
  let pos = 0;
  for (let i = 0; i < rec.chunks.length; ) {
    const first = locOf(i);
    let end = first ? first.offset + RECORD_HEADER_BYTES + first.storedLen : 0;
    let j = i + 1;
    for (let l = locOf(j); first && l && l.pack === first.pack && l.offset === end && end + RECORD_HEADER_BYTES + l.storedLen - first.offset <= RANGE_BYTES; l = locOf(++j)) {
      end += RECORD_HEADER_BYTES + l.storedLen;
    }
    const run = first && j > i + 1 ? await readRun(packs, first.packName, first.offset, end - first.offset) : null;
    for (let k = i; k < j; k++) {
      const cid = rec.chunks[k]!;
      const loc = locOf(k);
      let data: Buffer | null = null;
      if (run && loc) {
        const at = loc.offset - first!.offset;
        try {
          data = checkRecord(run.subarray(at, at + RECORD_HEADER_BYTES + loc.storedLen), cid, loc, ctx);
        } catch (err) {
          if (!(err instanceof CorruptError)) throw err;
        }
      }
      data ??= await readChunkAsync(index, packs, cid, ctx, loc);
      whole?.update(data);
      const skip = Math.max(0, offset - pos);
      pos += data.length;
      if (skip < data.length) yield skip > 0 ? data.subarray(skip) : data;
    }
    i = j;
  }
  checkWhole(rec, pos, whole, ctx);
}

/** A run of records, or null when the pack cannot give it (each record is then read on its own, which names the damage). */
async function readRun(packs: Packs, name: string, offset: number, length: number): Promise<Buffer | null> {
  try {
    return await packs.getRange(name, offset, length);
  } catch (err) {
    if (err instanceof CorruptError) return null;
    throw err;
  }
}

function checkWhole(rec: ContentRecord, pos: number, whole: Hasher | null, ctx: ReadContext): void {
  if (pos !== rec.size) throw new CorruptError(`${ctx.describe()} cannot be read: size ${pos} does not match the recorded ${rec.size}`, 'run `tusk fsck --verify-data`');
  if (whole && !whole.digest().equals(rec.id)) throw new CorruptError(`${ctx.describe()} cannot be read: content does not match its id`, 'run `tusk fsck --verify-data`');
}

/** What a caller looked up ahead for a content it reads (a batch of files at once: lookUpContents). */
export interface Known {
  /** the content's record */
  record?: ContentRecord;
  /** where its chunks lie, and the chains under its deltas */
  places?: Places;
}

export interface ReadOptions extends Known {
  /** Each yielded buffer may be overwritten once the next one is asked for (the caller writes it out at once). */
  transient?: boolean;
}

/**
 * The records of many contents, and where all their chunks (and the chains under their deltas)
 * lie: three lookups for the lot, whatever the number of files. Ids without a record are absent
 * (reading them names the damage).
 */
export async function lookUpContents(index: ChunkIndex, ids: readonly ContentId[]): Promise<{ records: Map<string, ContentRecord>; places: Map<string, ChunkLocation> }> {
  const records = await index.getContents(ids);
  const chunks: ChunkId[] = [];
  for (const r of records.values()) for (const c of r.chunks) chunks.push(c);
  return { records, places: await lookUpPlaces(index, chunks) };
}

/**
 * A file's bytes, verified chunk by chunk and as a whole; `offset` skips bytes (they are still
 * read: the whole-file hash needs them). Big files are verified on the content worker.
 */
export async function* readContent(index: ChunkIndex, packs: Packs, id: ContentId, ctx: ReadContext, offset = 0, opts: ReadOptions = {}): AsyncGenerator<Buffer> {
  if (id.equals(EMPTY_CONTENT_ID)) return;
  if (!packs.local) {
    yield* readContentAsync(index, packs, id, ctx, offset, opts);
    return;
  }
  yield* readRecord(index, packs, opts.record ?? (await contentRecord(index, id, ctx)), ctx, offset, opts);
}

/**
 * A file's bytes from `offset` on, reading only the chunks that hold them, each verified against
 * its id (the bytes before `offset` are not read, so the whole-file id is not checked: the
 * caller knows them from elsewhere, e.g. an earlier version of the file that this one extends).
 */
export async function* readFrom(index: ChunkIndex, packs: Packs, id: ContentId, ctx: ReadContext, offset: number): AsyncGenerator<Buffer> {
  if (id.equals(EMPTY_CONTENT_ID)) return;
  const rec = await contentRecord(index, id, ctx);
  // located from the last chunk back to the one holding `offset`: the end of a big file (an
  // append) costs a lookup of its last chunks, not of its hundreds of chunks
  const places = new Map<string, ChunkLocation>();
  let first = rec.chunks.length;
  let at = rec.size;
  while (first > 0 && at > offset) {
    const batch = rec.chunks.slice(Math.max(0, first - TAIL_LOOKUP), first);
    const found = await index.getChunks(batch);
    for (let i = batch.length - 1; i >= 0 && at > offset; i--) {
      const key = batch[i]!.toString('latin1');
      const loc = found.get(key);
      if (!loc) throw missingChunk(ctx, batch[i]!);
      places.set(key, loc);
      at -= loc.rawLen;
      first--;
    }
  }
  const read = rec.chunks.slice(first);
  await addChains(index, places, read);
  for (const c of read) {
    const loc = places.get(c.toString('latin1'))!;
    const data = await readChunk(index, packs, c, ctx, loc, { places });
    yield offset > at ? data.subarray(offset - at) : data;
    at += loc.rawLen;
  }
}

/** Chunks looked up at a time by readFrom, walking back from a content's end. */
const TAIL_LOOKUP = 16;

/**
 * A file's bytes written into `fd`, a new file, from its start (`offset` skips bytes of the
 * content), for a caller that removes the file if this throws: a big file is then written before
 * it is checked, as a whole (writeContentParallel); anything else is checked as readContent
 * checks it. Returns the bytes written.
 */
export async function writeContent(index: ChunkIndex, packs: Packs, id: ContentId, ctx: ReadContext, fd: number, offset = 0, onBytes?: (n: number) => void, known: Known = {}): Promise<number> {
  if (id.equals(EMPTY_CONTENT_ID)) return 0;
  if (!packs.local) return writeFetched(readContentAsync(index, packs, id, ctx, offset, known), fd, onBytes);
  const rec = known.record ?? (await contentRecord(index, id, ctx));
  const reserveBlocks = () => {
    if (rec.size - offset >= RESERVE_MIN_BYTES) reserve(fd, rec.size - offset);
  };
  reserveBlocks();
  let written = 0;
  const count = (k: number) => {
    written += k;
    onBytes?.(k);
  };
  // a way that gives up (returns null) leaves part of the file: the next way starts from nothing
  const startOver = () => {
    fs.ftruncateSync(fd, 0);
    onBytes?.(-written);
    written = 0;
    reserveBlocks(); // the truncate gave the reserved blocks back
  };
  const copy = usesWorker(rec) && copiesNatively(rec.size, offset) ? nativeCopy(fd) : null;
  if (copy) {
    // the addon hashes the whole file: chunks it is handed are not hashed one by one as well, and
    // the bases their deltas are decoded from are kept for this file alone until that hash is in
    const scope = new ChunkCache();
    const readOne = (cid: ChunkId, known?: ChunkLocation, places?: Places) => readChunk(index, packs, cid, ctx, known, { places, wholeChecked: true, scope });
    let n: number | null;
    try {
      n = await writeContentNative({ index, packs, rec, readOne }, copy, count);
    } finally {
      scope.clear();
    }
    if (n !== null) return n;
    startOver(); // the whole-file hash did not match: again on the worker, which names the damage
  }
  const link = usesWorker(rec) ? startedWorker() : null;
  if (link) {
    const n = await writeContentParallel(bigRead(index, packs, rec, ctx, offset, link), fd, count);
    if (n !== null) return n;
    startOver(); // the worker never started: again, the careful way, chunk by chunk
  }
  // every way above returned or started over: nothing of the file is written yet
  return writeFetched(readRecord(index, packs, rec, ctx, offset, { transient: true, places: known.places }), fd, onBytes);
}

/** Write a content's pieces to `fd` from its start, in order: the careful way on local packs, and the only way where packs are in a bucket. */
async function writeFetched(parts: AsyncIterable<Buffer>, fd: number, onBytes?: (n: number) => void): Promise<number> {
  let written = 0;
  for await (const b of parts) {
    for (let off = 0; off < b.length; ) off += fs.writeSync(fd, b, off, b.length - off, written + off);
    written += b.length;
    onBytes?.(b.length);
  }
  return written;
}

/**
 * Files at least this big get their blocks reserved before they are written (native-io.ts): a
 * system call that pays for itself many times over at this size, and nothing to gain below it.
 */
const RESERVE_MIN_BYTES = 1 << 20;

async function contentRecord(index: ChunkIndex, id: ContentId, ctx: ReadContext): Promise<ContentRecord> {
  const rec = await index.getContent(id);
  if (!rec) throw new CorruptError(`${ctx.describe()} cannot be read: its content record is missing`, 'run `tusk fsck` to list everything affected');
  return rec;
}

const bigRead = (index: ChunkIndex, packs: Packs, rec: ContentRecord, ctx: ReadContext, offset: number, link: WorkerLink): BigRead => ({
  index,
  packs,
  rec,
  ctx,
  offset,
  link,
  readOne: (cid, known, places) => readChunk(index, packs, cid, ctx, known, { places }),
});

const usesWorker = (rec: ContentRecord) => rec.size >= PARALLEL_MIN_BYTES && rec.chunks.length > 1;

/**
 * Whether writeContent copies a big content of `size` bytes, from `offset`, with the native
 * addon's copy loop rather than on the content worker (which getFile then need not start).
 */
export function copiesNatively(size: number, offset: number): boolean {
  return size >= PARALLEL_MIN_BYTES && offset === 0 && hasNativeCopy();
}

async function* readRecord(index: ChunkIndex, packs: Packs, rec: ContentRecord, ctx: ReadContext, offset: number, opts: ReadOptions): AsyncGenerator<Buffer> {
  const { id } = rec;
  const link = usesWorker(rec) ? contentWorker() : null;
  if (link) {
    yield* readContentParallel(bigRead(index, packs, rec, ctx, offset, link), opts.transient ?? false);
    return;
  }
  // Chunk ids protect each piece; the whole-file hash also proves the chunk list is the right one,
  // so it is computed even when an offset skips the start.
  // (a one-chunk record whose chunk is not the content itself can only come from a damaged row)
  const whole = rec.chunks.length > 1 || (rec.chunks.length === 1 && !rec.chunks[0]!.equals(id)) ? createHasher() : null;
  // every chunk's place, and the places of the chains under its deltas, in two lookups (a file
  // below PARALLEL_MIN_BYTES has at most a few hundred chunks): a network index answers each in
  // one round trip; readChunk looks up one absent here
  const places = opts.places ?? (rec.chunks.length > 1 ? await lookUpPlaces(index, rec.chunks) : undefined);
  let pos = 0;
  for (const cid of rec.chunks) {
    const data = await readChunk(index, packs, cid, ctx, places?.get(cid.toString('latin1')), { places });
    whole?.update(data);
    const skip = Math.max(0, offset - pos);
    pos += data.length;
    if (skip < data.length) yield skip > 0 ? data.subarray(skip) : data;
  }
  checkWhole(rec, pos, whole, ctx);
}

/** The record of several contents joined end to end: chunk lists concatenated, id hashed over `bytes`. */
export async function concatContents(parts: readonly (ContentRecord | undefined)[], bytes: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<ContentRecord> {
  const chunks: ChunkId[] = [];
  let size = 0;
  for (const p of parts) {
    if (!p) continue;
    chunks.push(...p.chunks);
    size += p.size;
  }
  if (size === 0) return { id: EMPTY_CONTENT_ID, size: 0, chunks: [] };
  const h = createHasher();
  for await (const b of bytes) h.update(b);
  const id = h.digest() as ContentId;
  // a single-chunk result keeps the invariant "one chunk ⇒ content id = chunk id"
  return { id, size, chunks: chunks.length === 1 && chunks[0]!.equals(id) ? [chunks[0]!] : chunks };
}
