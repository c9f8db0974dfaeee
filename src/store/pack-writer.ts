// Appends new chunks to leased packs, compressing those that pay for it. Knows nothing of trees
// or commits: the caller fsyncs (sync) and then records the chunk rows in its own transaction.
import { compress } from './zstd.js';
import { CorruptError } from '../errors.js';
import type { ChunkIndex, ChunkLocation, NewChunk, PackRow } from './chunk-index.js';
import { crashPoint } from './crash-points.js';
import type { DeltaEncoder, DeltaIndex, DeltaRow } from './delta-store.js';
import type { ChunkId } from './hash.js';
import { Codec, encodeRecordHeader, PACK_MAGIC, PACK_TARGET_BYTES, RECORD_HEADER_BYTES } from './pack-format.js';
import { ObjectPackAppender } from './object-appender.js';
import type { PackAppender, Packs } from './packs.js';

/** Compression settings, part of the store profile (they change bytes on disk, never ids). */
export interface CompressionPolicy {
  enabled: boolean;
  /** bytes sampled from the chunk to decide cheaply whether it compresses */
  probeBytes: number;
  /** sample must shrink below this ratio at level 1 before the whole chunk is compressed */
  probeRatio: number;
  level: number;
  /** keep the compressed form only when it is at most this fraction of the raw size */
  keepRatio: number;
}

const WRITE_BATCH = 1 << 20;

export const DEFAULT_COMPRESSION: CompressionPolicy = { enabled: true, probeBytes: 8192, probeRatio: 0.9, level: 3, keepRatio: 0.95 };

interface Encoded {
  codec: Codec;
  payload: Uint8Array;
}

/** A pack this session appends to. */
export interface OpenPack {
  row: PackRow;
  appender: PackAppender;
}

/** What one checkpoint() recorded: the first `rows` pending rows and `deltas` delta rows, and the packs it sealed. */
export interface Checkpoint {
  readonly rows: number;
  readonly deltas: number;
  readonly sealed: readonly OpenPack[];
}

/** One write session's view of the packs: dedups within the session and against the index. */
export class PackWriter {
  private current: OpenPack | null = null;
  private readonly touched: OpenPack[] = [];
  private readonly pending: NewChunk[] = [];
  private readonly pendingIds = new Set<string>();
  newChunks = 0;
  /** small chunks in a row that did not compress */
  private rawStreak = 0;
  /** probed (big) chunks in a row that did not compress */
  private probeStreak = 0;
  storedBytes = 0;
  /** Deltas: set by a caller that passes bases to add(); without it every chunk is stored on its own. */
  deltas: { encoder: DeltaEncoder; index: DeltaIndex } | null = null;
  private readonly pendingDeltas: DeltaRow[] = [];
  /** see checkpointEvery */
  private full: { rows: number; record: () => Promise<void> } | null = null;
  private recording = false;

  constructor(
    private readonly index: ChunkIndex,
    private readonly storage: Packs,
    private readonly owner: string,
    private readonly policy: CompressionPolicy = DEFAULT_COMPRESSION,
    private readonly targetBytes = PACK_TARGET_BYTES,
    /** write only to packs of its own, sealed when recorded (the chunk cache evicts packs whole) */
    private readonly ownPacks = false,
  ) {}

  /** The packs this session appended to, with their lengths (after sync()). */
  written(): { id: number; bytes: number }[] {
    return this.touched.map((p) => ({ id: p.row.id, bytes: p.appender.length }));
  }

  /** Which of these chunks are already stored (or queued earlier in this session), as latin1 keys: one index query for all. */
  async known(ids: readonly ChunkId[]): Promise<Set<string>> {
    const ask = ids.filter((id) => !this.pendingIds.has(id.toString('latin1')));
    const out = ask.length > 0 ? await this.index.existingChunks(ask) : new Set<string>();
    for (const id of ids) if (this.pendingIds.has(id.toString('latin1'))) out.add(id.toString('latin1'));
    return out;
  }

  // New chunks are queued and handled in batches of ~1 MiB: one `IN (…)` query checks the whole
  // batch against the index, and the survivors go out in one write. 100,000 small files then cost
  // a few hundred queries and writes, not 100,000 of each, and duplicates are never compressed.
  // add() only queues: the caller awaits drain() once `full` says a batch is ready, so the index
  // is asked between chunks, never in the middle of cutting them.
  private queue: { id: ChunkId; raw: Uint8Array; bases?: ChunkId[]; delta?: { payload: Buffer; rawLen: number; depth: number }; stored?: { codec: Codec; payload: Uint8Array; rawLen: number } }[] = [];
  private queuedBytes = 0;

  /**
   * Queue a chunk to be stored unless it exists. `raw` must stay unchanged until the next
   * drain() (callers hand over fresh buffers, or drain before reusing one). `bases`: chunks of
   * the file's earlier version to store it against, if that pays (delta-store.ts).
   */
  add(id: ChunkId, raw: Uint8Array, bases?: ChunkId[]): void {
    const key = id.toString('latin1');
    if (this.pendingIds.has(key)) return;
    this.pendingIds.add(key);
    this.queue.push(bases ? { id: Buffer.from(id) as ChunkId, raw, bases } : { id: Buffer.from(id) as ChunkId, raw });
    this.queuedBytes += raw.length;
  }

  /** Whether a batch is queued: the caller awaits drain() before queuing more. */
  get batchReady(): boolean {
    return this.queuedBytes >= WRITE_BATCH;
  }

  /**
   * Store a delta record as it came (a remote transfer: src/store/transfer.ts) unless the chunk
   * exists. The caller has its bases stored or queued, and checks the chunk against its id once
   * the record is readable.
   */
  addDelta(id: ChunkId, rawLen: number, payload: Buffer, bases: ChunkId[], depth: number): void {
    if (this.objects) throw deltaInObjects(id);
    const key = id.toString('latin1');
    if (this.pendingIds.has(key)) return;
    this.pendingIds.add(key);
    this.queue.push({ id: Buffer.from(id) as ChunkId, raw: new Uint8Array(0), bases, delta: { payload, rawLen, depth } });
    this.queuedBytes += payload.length;
  }

  /**
   * Store a whole (raw or zstd) record as it came, unless the chunk exists: a remote transfer's
   * chunk is already encoded, and the caller has checked it against its id. Compressing it again
   * would cost the time the sender spent, for the same bytes. `payload` must stay unchanged until
   * the next drain().
   */
  addStored(id: ChunkId, codec: Codec.Raw | Codec.Zstd, rawLen: number, payload: Uint8Array): void {
    const key = id.toString('latin1');
    if (this.pendingIds.has(key)) return;
    this.pendingIds.add(key);
    this.queue.push({ id: Buffer.from(id) as ChunkId, raw: new Uint8Array(0), stored: { codec, payload, rawLen } });
    this.queuedBytes += payload.length;
  }

  /** the drain in progress: one at a time, since claiming a pack and appending to it must not interleave */
  private draining: Promise<void> | null = null;

  /**
   * Write every queued chunk the store does not have yet; then, where checkpointEvery asked for
   * it and enough rows are pending, record them.
   */
  async drain(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.queue.length > 0) {
      const p = this.drainQueue();
      this.draining = p;
      try {
        await p;
      } finally {
        this.draining = null;
      }
    }
    if (this.full && this.pending.length >= this.full.rows && !this.recording) {
      this.recording = true;
      try {
        await this.full.record();
      } finally {
        this.recording = false;
      }
    }
  }

  private async drainQueue(): Promise<void> {
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    const known = await this.index.existingChunks(queue.map((q) => q.id));
    let parts: Uint8Array[] = [];
    let partsLen = 0;
    for (const { id, raw: bytes, bases, delta: given, stored } of queue) {
      if (known.has(id.toString('latin1'))) continue;
      // delta hook: a chunk with a base is stored against it when the delta is small enough
      let whole = stored ?? (null as Encoded | null);
      const delta = given ?? (bases && this.deltas ? await this.deltas.encoder.encode(bytes, bases, () => (whole ??= this.encode(bytes)).payload.length) : null);
      if (delta && this.objects) throw deltaInObjects(id);
      const { codec, payload } = delta ? { codec: Codec.Delta, payload: delta.payload } : (whole ?? this.encode(bytes));
      const rawLen = given ? given.rawLen : stored ? stored.rawLen : bytes.length;
      const len = RECORD_HEADER_BYTES + payload.length;
      if (this.current && this.current.appender.length + partsLen + len > this.targetBytes && this.current.appender.length + partsLen > PACK_MAGIC.length) {
        this.current.appender.append(parts);
        parts = [];
        partsLen = 0;
        // full: it is sealed when the session commits, and nothing more is written to it
        this.current.appender.flushAhead();
        // where packs are objects, its upload starts now: it overlaps the rest of the put instead of waiting for the commit
        if (this.objects) this.startUpload(this.current.appender);
        this.current = null;
      }
      const pack = this.current ?? (await this.packFor());
      const offset = pack.appender.length + partsLen;
      parts.push(encodeRecordHeader(id, codec, rawLen, payload.length), payload);
      partsLen += len;
      this.pending.push({ id, pack: pack.row.id, offset, storedLen: payload.length, rawLen, codec });
      // the bases it was made against: the planned ones, theirs (a skip), or the sender's (a transfer)
      if (delta) this.pendingDeltas.push({ id, bases: 'bases' in delta ? delta.bases : bases!, depth: delta.depth, pack: pack.row.id, offset });
      this.newChunks++;
      this.storedBytes += len;
    }
    if (partsLen > 0) this.current!.appender.append(parts);
  }

  /**
   * Have `record` called (it syncs and checkpoints in a transaction of its own) whenever `rows`
   * chunk rows are pending: a row per chunk kept to the end of a long session grew a put of one
   * big file in proportion to its size.
   */
  checkpointEvery(rows: number, record: () => Promise<void>): void {
    this.full = { rows, record };
  }

  private encode(raw: Uint8Array): Encoded {
    const p = this.policy;
    const stored = { codec: Codec.Raw, payload: raw };
    if (!p.enabled || raw.length < 64) return stored;
    if (raw.length > p.probeBytes * 2) {
      // After 32 probed chunks in a row that did not compress (a big random or already compressed
      // file), probe only one in 8 until one compresses: probing every chunk was a visible share
      // of putting such a file. At worst 7 chunks of a compressible stretch stay raw; ids never change.
      if (this.probeStreak >= 32 && this.probeStreak++ % 8 !== 0) return stored;
      // Probe a sample from the middle at level 1: random data is rejected for a small part of a full compress.
      const mid = (raw.length >> 1) - (p.probeBytes >> 1);
      const sample = raw.subarray(mid, mid + p.probeBytes);
      const promising = compress(sample, { compressionLevel: 1 }).length <= sample.length * p.probeRatio;
      const z = promising ? compress(raw, { compressionLevel: p.level }) : null;
      if (!z || z.length > raw.length * p.keepRatio) {
        if (this.probeStreak < 32) this.probeStreak++;
        return stored;
      }
      this.probeStreak = 0;
      return { codec: Codec.Zstd, payload: z };
    }
    // After a long run of incompressible small chunks (a tree of images or random data), try
    // only one in 8, and after a thousand only one in 32: a compressible one ends the run. Costs
    // nothing in ids, only a little space; probing every eighth still showed in puts of many such files.
    if (this.rawStreak >= 32) {
      const every = this.rawStreak >= 1024 ? 32 : 8;
      if (this.rawStreak++ % every !== 0) return stored;
    }
    // a small chunk is its own probe: level 1 costs less than a sample plus a second pass
    const z = compress(raw, { compressionLevel: 1 });
    if (z.length > raw.length * p.keepRatio) {
      if (this.rawStreak < 32) this.rawStreak++;
      return stored;
    }
    this.rawStreak = 0;
    return { codec: Codec.Zstd, payload: z };
  }

  /**
   * Whether packs are immutable objects (no local capability): each session then writes fresh
   * packs, uploads them in publish() and seals them when it records them.
   */
  private get objects(): boolean {
    return this.storage.local === undefined;
  }

  /** Whether checkpoint() may run: it needs synchronous durability, which only local packs give. */
  get canCheckpoint(): boolean {
    return !this.objects;
  }

  private async packFor(): Promise<OpenPack> {
    while (!this.current) {
      const row = await this.index.claimPack(this.owner, this.targetBytes, { fresh: this.objects || this.ownPacks });
      // Opening truncates a pack to its committed size. If recorded chunks lie beyond it (a damaged
      // `packs` row), that would destroy them: seal the pack instead and leave it to fsck.
      if ((await this.index.packEnd(row.id)) > row.size) {
        await this.index.commitPack(row.id, row.size, true);
        continue;
      }
      let appender: PackAppender;
      try {
        appender = this.storage.local ? this.storage.local.openAppender(row.name, row.size, PACK_MAGIC) : new ObjectPackAppender(this.storage, row.name, PACK_MAGIC);
      } catch (err) {
        if (!(err instanceof CorruptError)) throw err;
        // a damaged pack is never appended to again; fsck reports it, new data goes elsewhere
        await this.index.commitPack(row.id, row.size, true);
        continue;
      }
      this.current = { row, appender };
      this.touched.push(this.current);
    }
    return this.current;
  }

  /**
   * Start writing back what the open pack holds so far, on a background thread: the sync() of a
   * coming checkpoint then waits for less. A hint; sync() is still what makes bytes durable.
   */
  async flushAhead(): Promise<void> {
    await this.drain();
    this.current?.appender.flushAhead();
  }

  /**
   * Upload every pack this session wrote where packs are objects; nothing to do for local packs.
   * Before sync(), on the way to the metadata transaction.
   */
  async publish(): Promise<void> {
    if (!this.objects) return;
    await this.drain();
    // nothing may be appended to an uploaded pack: later chunks of this session start a new one
    this.current = null;
    for (const p of this.touched) this.startUpload(p.appender);
    const uploads = this.uploads;
    this.uploads = [];
    await Promise.all(uploads);
  }

  /** Uploads started and not yet waited for; their failures surface in publish(). */
  private uploads: Promise<void>[] = [];

  private startUpload(appender: PackAppender): void {
    const upload = appender.publish!();
    // waited for in publish(); until then a failure must not be an unhandled rejection
    upload.catch(() => {});
    this.uploads.push(upload);
  }

  /** fsync every pack this session appended to. Must happen before the metadata transaction. */
  async sync(): Promise<void> {
    await this.drain();
    for (const p of this.touched) p.appender.sync();
    crashPoint('after-pack-sync');
  }

  /** Record chunk rows and pack sizes. Call inside the commit transaction, after sync(). */
  async record(): Promise<void> {
    await this.index.putChunks(this.pending);
    await this.deltas?.index.record(this.pendingDeltas);
    for (const p of this.touched) {
      const sealed = this.objects || this.ownPacks || p !== this.current || p.appender.length >= this.targetBytes;
      await this.index.commitPack(p.row.id, p.appender.length, sealed);
    }
  }

  /**
   * Where the chunks among `ids` that this session wrote and has not recorded yet lie (after a
   * drain): a transfer reads them back before they are recorded, as bases of the deltas it
   * decodes (where packs are objects, once publish() has uploaded them).
   */
  pendingPlaces(ids: readonly ChunkId[]): Map<string, ChunkLocation> {
    const want = new Set(ids.map((id) => id.toString('latin1')));
    const names = new Map(this.touched.map((p) => [p.row.id, p.row.name]));
    const out = new Map<string, ChunkLocation>();
    for (const c of this.pending) {
      const key = c.id.toString('latin1');
      if (want.has(key)) out.set(key, { pack: c.pack, packName: names.get(c.pack)!, offset: c.offset, storedLen: c.storedLen, rawLen: c.rawLen, codec: c.codec });
    }
    return out;
  }

  /** New chunks written but not yet recorded (pending rows). */
  get unrecorded(): number {
    return this.pending.length;
  }

  /**
   * Record the chunks written so far, in the caller's unit of work, after sync(), and go on
   * writing: full packs are sealed, the open one keeps its lease with its committed size advanced.
   * Changes nothing in memory, since a unit's body may run again: once the unit has committed the
   * caller hands the result to forgetCheckpoint(), which drops the rows and closes the sealed
   * packs. Keeps a long session's memory bounded; chunks recorded here are unreferenced until the
   * session commits, which gc leaves alone while the session's writer row lives.
   */
  async checkpoint(): Promise<Checkpoint> {
    const rows = this.pending.length;
    const deltas = this.pendingDeltas.length;
    await this.index.putChunks(this.pending.slice(0, rows));
    await this.deltas?.index.record(this.pendingDeltas.slice(0, deltas));
    const sealed: OpenPack[] = [];
    for (const p of this.touched) {
      if (p === this.current && p.appender.length < this.targetBytes) {
        await this.index.advancePack(p.row.id, p.appender.length, this.owner);
      } else {
        await this.index.commitPack(p.row.id, p.appender.length, true);
        sealed.push(p);
      }
    }
    return { rows, deltas, sealed };
  }

  /** Drop what checkpoint() recorded, once its unit has committed. */
  forgetCheckpoint(done: Checkpoint): void {
    this.pending.splice(0, done.rows);
    // from here the index knows them: drain() finds repeats with its one query per batch, and
    // only what is still pending or queued stays in the set, which would grow with the session
    this.pendingIds.clear();
    for (const r of this.pending) this.pendingIds.add(r.id.toString('latin1'));
    for (const q of this.queue) this.pendingIds.add(q.id.toString('latin1'));
    this.pendingDeltas.splice(0, done.deltas);
    for (const p of done.sealed) {
      this.touched.splice(this.touched.indexOf(p), 1);
      p.appender.close();
      if (p === this.current) this.current = null;
    }
  }

  /** Close file handles; on failure also release pack leases so the next writer reuses them. */
  async close(failed: boolean): Promise<void> {
    for (const p of this.touched) {
      p.appender.close();
      if (failed) {
        try {
          await this.index.releasePack(p.row.id, this.owner);
        } catch {
          // the lease expires on its own once this process is gone
        }
      }
    }
    this.touched.length = 0;
    this.current = null;
  }
}

/**
 * A delta record headed for packs that are objects (a bucket). Such a store keeps every chunk
 * whole: its reads go through ranged reads of the pack contract, which decode no delta (a delta's
 * bases are read synchronously while it is decoded, which only packs on a local disk serve). A
 * caller that gets here has a bug: a transfer decodes deltas before storing them there.
 */
function deltaInObjects(id: ChunkId): Error {
  return new Error(`internal: chunk ${id.toString('hex').slice(0, 16)} was to be stored as a delta in packs that are objects (a bucket), which hold every chunk whole; the write is refused`);
}
