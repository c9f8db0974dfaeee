// Big files on both cores. ParallelContentWriter (put), readContentParallel and
// writeContentParallel (get) share the work with the content worker (content-worker.ts): on put
// it cuts and hashes chunks while this thread reads the file, hashes it whole and writes packs;
// on get it checks every chunk and the whole file while this thread reads runs of records and
// writes the file (or, into a file that can be taken back, hashes only the whole file behind
// this thread). What they produce is exactly what ContentWriter and
// readContent produce: the same cuts (GearScanner is findCut compiled to wasm), the same chunk
// and content ids, the same errors.
//
// Blocks of BLOCK bytes travel to the worker and back as transferred ArrayBuffers (no copies) and
// are reused across files, so memory stays at a few blocks whatever the file size.
import { CorruptError } from '../errors.js';
import { AlignedWriter } from './aligned-writer.js';
import { giveBuffer } from './chunk-buffers.js';
import type { ChunkIndex, ChunkLocation, ContentRecord } from './chunk-index.js';
import { ChunkIdList, packedContent } from './chunk-list.js';
import { addChains, joinPlaces, type Places } from './chunk-places.js';
import { CHUNK_PROFILE_V1, type ChunkParams } from './chunker.js';
import type { ContentSink, ReadContext } from './content-sink.js';
import * as fs from 'node:fs';
import { createWholeHasher, finishWhole, type WholeHasher } from './hash-state.js';
import { createHasher, EMPTY_CONTENT_ID, ID_BYTES, type ChunkId, type ContentId, type Hasher } from './hash.js';
import { Codec, RECORD_HEADER_BYTES, writeRecordHeader } from './pack-format.js';
import { requireLocal, type LocalPackAccess, type Packs } from './packs.js';
import type { PackWriter } from './pack-writer.js';
import type { NativeCopy } from './native-io.js';
import type { DeltaPlan } from './delta-plan.js';
import { takeApartRun, type RunLayout } from './record-run.js';
import { contentWorker, type WorkerLink, type WorkerReply } from './worker-link.js';

/**
 * Files at least this big use the worker. Below it, the worker's start-up (once per process)
 * and the messages cost about what a second core saves.
 */
export const PARALLEL_MIN_BYTES = 16 << 20;

/** The unit read, sent to the worker and written back: big enough that one message per block is noise. */
const BLOCK = 4 << 20;
/** Blocks one writer holds at most (being filled, in the worker, or holding the bytes after the last cut). */
const WRITER_BLOCKS = 6;
/** Batches a reader keeps in the worker while the caller writes the one before. */
const READER_DEPTH = 4;
/** Chunk locations looked up per query while reading. */
const LOOKUP_BATCH = 256;
/** Chunk locations fetched ahead at most while waiting for the worker (~150 bytes each). */
const LOOKAHEAD = 16 * LOOKUP_BATCH;
/** Spare blocks kept for the next file: a fresh 4 MiB buffer costs a thousand page faults on first touch. */
const SPARE_BLOCKS = 8;

const spare: ArrayBuffer[] = [];

function takeBlock(): ArrayBuffer {
  return spare.pop() ?? new ArrayBuffer(BLOCK);
}

function giveBlock(buf: ArrayBuffer): void {
  if (buf.byteLength === BLOCK && spare.length < SPARE_BLOCKS) spare.push(buf);
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------------
// put

interface HeldBlock {
  /** stream offset of the block's first byte */
  start: number;
  len: number;
  /** null while the worker has it */
  buf: ArrayBuffer | null;
}

/**
 * ContentWriter's twin for big files: the worker cuts and hashes chunks, this thread hashes the
 * whole stream (the content id) and stores the chunks. The whole stream is hashed here rather
 * than in the worker: for data already stored this thread has little else to do, and for new
 * data it costs the same.
 */
export class ParallelContentWriter implements ContentSink {
  size = 0;
  private readonly job: number;
  /** blocks sent and not yet released, in stream order */
  private readonly held: HeldBlock[] = [];
  private fill: ArrayBuffer | null = null;
  private filled = 0;
  private owned = 0;
  private inFlight = 0;
  private sent = 0;
  /** stream offset of the end of the last chunk handed to the pack writer */
  private cut = 0;
  private readonly chunks = new ChunkIdList();
  private readonly whole: WholeHasher = createWholeHasher();
  private ended = false;
  private closed = false;

  constructor(
    private readonly packs: PackWriter,
    private readonly link: WorkerLink,
    params: ChunkParams = CHUNK_PROFILE_V1,
    /** the file's earlier version, whose chunks new chunks may be stored against */
    private readonly delta?: DeltaPlan,
  ) {
    this.job = link.open();
    link.post({ kind: 'chunk-start', job: this.job, params });
  }

  async buffer(size: number): Promise<Buffer> {
    if (this.fill && this.filled === BLOCK) this.send();
    if (!this.fill) {
      this.fill = await this.take();
      this.filled = 0;
    }
    return Buffer.from(this.fill, this.filled, Math.min(size, BLOCK - this.filled));
  }

  async push(block: Buffer): Promise<void> {
    if (block.length === 0) return;
    this.size += block.length;
    if (this.fill && block.buffer === this.fill && block.byteOffset === this.filled) {
      this.filled += block.length; // read in place into buffer(): nothing to copy
    } else {
      for (let off = 0; off < block.length; ) {
        const dest = await this.buffer(block.length - off);
        block.copy(dest, 0, off, off + dest.length);
        this.filled += dest.length;
        off += dest.length;
      }
    }
    if (this.filled === BLOCK) this.send();
    await this.collect(false);
  }

  async finish(): Promise<ContentRecord> {
    try {
      if (this.fill && this.filled > 0) this.send();
      this.link.post({ kind: 'chunk-end', job: this.job });
      while (!this.ended) await this.collect(true);
    } catch (err) {
      this.abort();
      throw err;
    }
    this.close();
    // the digest and end state from finishWhole, the ids as they were kept
    if (this.chunks.length > 1) return packedContent(finishWhole(this.whole, { size: this.size, chunks: [] }), this.chunks.bytes());
    this.whole.close?.();
    if (this.chunks.length === 0) return { id: EMPTY_CONTENT_ID, size: 0, chunks: [] };
    const only = this.chunks.at(0);
    return { id: only as unknown as ContentId, size: this.size, chunks: [only] };
  }

  abort(): void {
    if (this.closed) return;
    this.link.post({ kind: 'cancel', job: this.job });
    this.close();
    this.whole.close?.();
  }

  private close(): void {
    this.closed = true;
    this.link.close(this.job);
    for (const h of this.held) if (h.buf) giveBlock(h.buf);
    this.held.length = 0;
    if (this.fill) giveBlock(this.fill);
    this.fill = null;
  }

  /** A block to fill; waits for the worker when this writer already holds its share. */
  private async take(): Promise<ArrayBuffer> {
    // with nothing in flight, waiting would never end: the held blocks are all needed for the
    // bytes after the last cut (only possible with many short blocks), so take one more
    while (this.owned >= WRITER_BLOCKS && this.inFlight > 0) await this.collect(true);
    this.owned++;
    return takeBlock();
  }

  private send(): void {
    const buf = this.fill!;
    const len = this.filled;
    this.fill = null;
    this.filled = 0;
    this.held.push({ start: this.sent, len, buf: null });
    this.sent += len;
    this.inFlight++;
    // BLAKE3 of the blocks in order is BLAKE3 of the stream: the content id (a one-chunk file uses its chunk id)
    this.whole.update(new Uint8Array(buf, 0, len));
    this.link.post({ kind: 'chunk-block', job: this.job, buf, len }, [buf]);
  }

  /** Handle the replies that have arrived; with `wait`, block until at least one has. */
  private async collect(wait: boolean): Promise<void> {
    let r = wait ? this.link.receive(this.job) : this.link.tryReceive(this.job);
    for (; r; r = this.link.tryReceive(this.job)) await this.onChunks(r);
  }

  private async onChunks(r: WorkerReply): Promise<void> {
    if (r.kind !== 'chunks') throw new Error(`content worker: unexpected ${r.kind} reply`);
    if (r.buf) {
      // replies come in the order blocks were sent
      this.held.find((h) => h.buf === null)!.buf = r.buf;
      this.inFlight--;
    }
    const ids = bufferOf(r.ids);
    // copied into the file's list: a view of each id would keep the reply's buffer to the commit
    this.chunks.append(ids.subarray(0, r.ends.length * ID_BYTES));
    for (let i = 0; i < r.ends.length; i++) {
      const end = r.ends[i]!;
      const id = ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES) as ChunkId;
      this.packs.add(id, this.bytes(this.cut, end), this.delta?.basesFor(this.cut, end));
      this.cut = end;
      // a batch at a time, as the pack writer sizes them: one write of ~1 MiB each
      if (this.packs.batchReady) await this.packs.drain();
    }
    // the queued chunks are views into held blocks: store them now, so the blocks can be reused
    if (r.ends.length > 0) await this.packs.drain();
    while (this.held.length > 0 && this.held[0]!.buf && this.held[0]!.start + this.held[0]!.len <= this.cut) {
      giveBlock(this.held.shift()!.buf!);
      this.owned--;
    }
    if (r.last) this.ended = true;
  }

  /** Stream bytes [from, to): a view when one block holds them, else a copy (a chunk across two blocks). */
  private bytes(from: number, to: number): Buffer {
    let i = this.held.findIndex((h) => h.start + h.len > from);
    const first = this.held[i]!;
    if (to <= first.start + first.len) return Buffer.from(first.buf!, from - first.start, to - from);
    const out = Buffer.allocUnsafe(to - from);
    for (let o = 0; o < out.length; i++) {
      const h = this.held[i]!;
      const s = Math.max(from, h.start) - h.start;
      const e = Math.min(to, h.start + h.len) - h.start;
      out.set(new Uint8Array(h.buf!, s, e - s), o);
      o += e - s;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// get

interface Batch {
  seq: number;
  /** content offset of its first byte (meaningful when every chunk was found) */
  start: number;
  /** index of its first chunk in the content's chunk list */
  first: number;
  count: number;
  /** where its chunks lie, back to back in one pack; fewer than `count` when one is missing from the index */
  locs: ChunkLocation[];
  /** the places looked up with them: where the bases of its deltas lie, for readOne */
  places: Places;
  bytes: number;
  ids: Buffer;
  /** its buffer comes from the spare blocks and goes back to them */
  pooled: boolean;
}

/** A run read and taken apart: [buffer index, offset, length] per chunk. */
interface ReadRun {
  bufs: ArrayBuffer[];
  pieces: Int32Array;
}

/**
 * A big content's chunks in order, a run at a time: runs of records lying back to back in one
 * pack (as a big file's do) are read with one pread each and taken apart (record-run.ts). Record
 * headers are checked here; chunk bytes are hashed by the worker. Anything wrong with a record is
 * handed to `readOne` (readChunk: it looks the chunk up again, as after a gc move, and throws the
 * error that names the file).
 */
class RunReader {
  private next = 0;
  /** content offset where the next run starts */
  private pos = 0;
  /** chunks whose locations were fetched: windows of LOOKUP_BATCH chunks, the oldest still needed first */
  private looked = 0;
  private readonly windows: { end: number; locs: Map<string, ChunkLocation> }[] = [];
  /** lookups of the next window in flight, ahead of need */
  private ahead: Promise<void> | null = null;
  /** runs are read whole, synchronously: a local backend's capability */
  readonly local: LocalPackAccess;

  constructor(
    private readonly index: ChunkIndex,
    packs: Packs,
    private readonly rec: ContentRecord,
    readonly readOne: ReadOne,
    /** read into spare blocks, which the caller gives back */
    private readonly pooled: boolean,
  ) {
    this.local = requireLocal(packs, 'reading a big file synchronously');
  }

  get done(): boolean {
    return this.next >= this.rec.chunks.length;
  }

  /** Bytes in the runs planned so far. */
  get position(): number {
    return this.pos;
  }

  /** The next run of chunks lying back to back in one pack, at most a block long. */
  async plan(): Promise<Batch> {
    const { chunks } = this.rec;
    const first = this.next;
    const locs: ChunkLocation[] = [];
    // the windows of lookups the run spans: a run of small records (deltas) may span several
    const windows: Places[] = [];
    let bytes = 0;
    while (this.next < chunks.length) {
      const window = await this.locate(this.next);
      if (windows[windows.length - 1] !== window) windows.push(window);
      const loc = window.get(chunks[this.next]!.toString('latin1'));
      const len = loc ? RECORD_HEADER_BYTES + loc.storedLen : 0;
      const prev = locs[locs.length - 1];
      if (prev && (!loc || loc.pack !== prev.pack || loc.offset !== prev.offset + RECORD_HEADER_BYTES + prev.storedLen || bytes + len > BLOCK)) break;
      this.next++;
      if (!loc) break; // readOne reports the missing chunk
      locs.push(loc);
      bytes += len;
    }
    const count = this.next - first;
    const ids = Buffer.concat(chunks.slice(first, this.next), count * ID_BYTES);
    const start = this.pos;
    for (const loc of locs) this.pos += loc.rawLen;
    return { seq: -1, start, first, count, locs, places: joinPlaces(windows), bytes, ids, pooled: this.pooled && locs.length === count };
  }

  /** Read and take apart a run; every record that does not check out goes to readOne. */
  async read(b: Batch): Promise<ReadRun> {
    const bufs: ArrayBuffer[] = [];
    const pieces = new Int32Array(3 * b.count);
    const aside: number[] = [];
    const readAside = (j: number) => {
      aside.push(j);
      return true;
    };
    if (b.locs.length < b.count) readAside(0);
    else {
      const buf = b.pooled && b.bytes <= BLOCK ? takeBlock() : new ArrayBuffer(b.bytes);
      bufs.push(buf);
      let readable = true;
      try {
        this.local.readInto(b.locs[0]!.packName, b.locs[0]!.offset, new Uint8Array(buf, 0, b.bytes));
      } catch (err) {
        if (!(err instanceof CorruptError)) throw err;
        readable = false;
      }
      if (readable) takeApartRun(bufs, this.layoutOf(b), pieces, readAside);
      else for (let j = 0; j < b.count; j++) readAside(j);
    }
    // readChunk checks everything again and throws the precise error; if it returns, the chunk
    // was fine in its current place (gc moved it)
    for (const j of aside) await this.replace({ bufs, pieces }, b, j);
    return { bufs, pieces };
  }

  /**
   * When every record of the run holds its chunk as it is (not compressed): [offset in the run,
   * length] of each chunk's bytes, and the record header each must have; null otherwise.
   */
  rawSpans(b: Batch): { spans: Int32Array; headers: Buffer } | null {
    if (b.locs.length < b.count) return null;
    const spans = new Int32Array(2 * b.count);
    const headers = Buffer.alloc(RECORD_HEADER_BYTES * b.count);
    const base = b.locs[0]!.offset;
    for (let j = 0; j < b.count; j++) {
      const loc = b.locs[j]!;
      if (loc.codec !== Codec.Raw || loc.storedLen !== loc.rawLen) return null;
      spans[2 * j] = loc.offset - base + RECORD_HEADER_BYTES;
      spans[2 * j + 1] = loc.rawLen;
      writeRecordHeader(headers, RECORD_HEADER_BYTES * j, b.ids.subarray(ID_BYTES * j, ID_BYTES * (j + 1)), Codec.Raw, loc.rawLen, loc.storedLen);
    }
    return { spans, headers };
  }

  /** Point piece `j` of a run at its chunk read through readOne, in a buffer of its own. */
  async replace(run: ReadRun, b: Batch, j: number): Promise<void> {
    const data = await this.readOne(this.rec.chunks[b.first + j]!, b.locs[j], b.places);
    const own = new ArrayBuffer(data.length);
    new Uint8Array(own).set(data);
    giveBuffer(data);
    run.pieces.set([run.bufs.push(own) - 1, 0, data.length], 3 * j);
  }

  /**
   * Fetch the locations of the next window of chunks ahead of need, for a caller that would
   * otherwise wait for the worker (as it does while the worker starts); false when far enough
   * ahead already. A window's places hold the chains under its deltas too: one more query for
   * the window, none per delta.
   */
  async lookAhead(): Promise<boolean> {
    while (this.ahead) await this.ahead;
    if (this.looked >= this.rec.chunks.length || this.looked - this.next >= LOOKAHEAD) return false;
    const ids = this.rec.chunks.slice(this.looked, this.looked + LOOKUP_BATCH);
    const end = this.looked + LOOKUP_BATCH;
    this.looked = end;
    const fetch = (async () => {
      const locs = await this.index.getChunks(ids);
      await addChains(this.index, locs, ids);
      this.windows.push({ end, locs });
    })();
    this.ahead = fetch;
    try {
      await fetch;
    } finally {
      this.ahead = null;
    }
    return true;
  }

  /** The places of the window that holds chunk `i`; `i` only grows from call to call. */
  private async locate(i: number): Promise<Places> {
    while (this.windows.length > 0 && this.windows[0]!.end <= i) this.windows.shift();
    if (this.windows.length === 0) {
      this.looked = i;
      await this.lookAhead();
    }
    return this.windows[0]!.locs;
  }

  layoutOf(b: Batch): RunLayout {
    const records = new Int32Array(4 * b.count);
    const base = b.locs[0]!.offset;
    b.locs.forEach((loc, j) => records.set([loc.offset - base, loc.storedLen, loc.rawLen, loc.codec], 4 * j));
    return { records, ids: b.ids };
  }
}

/** A big content to read on both threads, and what it is read with. */
export interface BigRead {
  index: ChunkIndex;
  packs: Packs;
  rec: ContentRecord;
  /** names the file in errors */
  ctx: ReadContext;
  /** content bytes to skip (still read: the whole-file hash needs them) */
  offset: number;
  link: WorkerLink;
  /** one chunk read and checked the careful way (readChunk), for what a run cannot give */
  readOne: ReadOne;
}

/** readChunk of one chunk, at the place the run found for it (if any), its deltas' bases among `places`. */
type ReadOne = (id: ChunkId, known?: ChunkLocation, places?: Places) => Promise<Buffer>;

type Verified = Extract<WorkerReply, { kind: 'verified' }>;

/** A verify job on the worker: batches sent to it in order, replies taken back by number, then the whole-file digest. */
class VerifyJob {
  readonly id: number;
  private finished = false;
  private readonly early = new Map<number, Verified>();

  constructor(private readonly link: WorkerLink) {
    this.id = link.open();
    link.post({ kind: 'verify-start', job: this.id });
  }

  /** The reply for batch `seq`, waiting for it (replies come in the order sent, except after a resend). */
  receive(seq: number): Verified {
    for (;;) {
      const got = this.poll(seq);
      if (got) return got;
      this.keep(this.link.receive(this.id));
    }
  }

  /** The reply for batch `seq` if it has come, without waiting. */
  poll(seq: number): Verified | undefined {
    for (let r = this.link.tryReceive(this.id); r; r = this.link.tryReceive(this.id)) this.keep(r);
    const got = this.early.get(seq);
    this.early.delete(seq);
    return got;
  }

  /** The whole-file hash of every batch the worker took. */
  digest(): Buffer {
    this.link.post({ kind: 'verify-end', job: this.id });
    const d = this.link.receive(this.id);
    if (d.kind !== 'digest') throw new Error(`content worker: unexpected ${d.kind} reply`);
    this.finished = true;
    return bufferOf(d.digest);
  }

  close(): void {
    if (!this.finished) this.link.post({ kind: 'cancel', job: this.id });
    this.link.close(this.id);
  }

  private keep(r: WorkerReply): void {
    if (r.kind !== 'verified') throw new Error(`content worker: unexpected ${r.kind} reply`);
    this.early.set(r.seq, r);
  }
}

function checkRead(rec: ContentRecord, ctx: ReadContext, pos: number, digest: Buffer): void {
  if (pos !== rec.size) throw new CorruptError(`${ctx.describe()} cannot be read: size ${pos} does not match the recorded ${rec.size}`, 'run `tusk fsck --verify-data`');
  if (!digest.equals(rec.id)) throw new CorruptError(`${ctx.describe()} cannot be read: content does not match its id`, 'run `tusk fsck --verify-data`');
}

/**
 * readContent for big contents: this thread reads runs (RunReader); the worker checks every
 * chunk against its id and the whole file against the content id. Only verified bytes are
 * yielded. Reading in the worker too was tried: it left this thread waiting, and was slower
 * whenever the machine was busy.
 *
 * `transient`: yielded buffers are reused once the caller asks for the next one (for callers
 * that write each buffer out synchronously).
 */
export async function* readContentParallel({ index, packs, rec, ctx, offset, link, readOne }: BigRead, transient: boolean): AsyncGenerator<Buffer> {
  const reader = new RunReader(index, packs, rec, readOne, transient);
  const job = new VerifyJob(link);
  try {
    let seq = 0;
    const send = (b: Batch, { bufs, pieces }: ReadRun): void => {
      b.seq = seq++;
      link.post({ kind: 'verify', job: job.id, seq: b.seq, bufs, pieces, ids: b.ids }, bufs);
    };
    const queue: Batch[] = [];
    const refill = async () => {
      while (queue.length < READER_DEPTH && !reader.done) {
        const b = await reader.plan();
        send(b, await reader.read(b));
        queue.push(b);
      }
    };
    await refill();
    let pos = 0;
    while (queue.length > 0) {
      const b = queue.shift()!;
      let r = job.receive(b.seq);
      while (r.bad >= 0) {
        await reader.replace(r, b, r.bad);
        send(b, r);
        r = job.receive(b.seq);
      }
      // keep the worker busy on the next runs while the caller writes this one
      await refill();
      const { bufs, pieces } = r;
      for (let j = 0; j < b.count; j++) {
        const len = pieces[3 * j + 2]!;
        const skip = Math.max(0, offset - pos);
        pos += len;
        if (skip < len) yield Buffer.from(bufs[pieces[3 * j]!]!, pieces[3 * j + 1]! + skip, len - skip);
      }
      if (b.pooled) giveBlock(bufs[0]!);
    }
    checkRead(rec, ctx, pos, job.digest());
  } finally {
    job.close();
  }
}

/** A run's pieces without their first `skip` bytes (a copy: the worker still hashes them all). */
function skipped(pieces: Int32Array, skip: number): Int32Array {
  const out = pieces.slice();
  for (let j = 0; j < out.length && skip > 0; j += 3) {
    const cut = Math.min(skip, out[j + 2]!);
    out[j + 1]! += cut;
    out[j + 2]! -= cut;
    skip -= cut;
  }
  return out;
}

/** Runs in the worker at most while writing (hashed after this thread read and wrote them). */
const WRITER_DEPTH = 8;

/**
 * A big content written into `fd` at file position 0 (bytes before `offset` skipped), for a
 * caller that removes the file if this throws. Returns the bytes written, or null when the worker
 * did not start: the file is then partly written and the caller starts it over the careful way
 * (readContent).
 *
 * Only the whole file is hashed, not every chunk as well: a whole-file hash that matches the
 * content id proves every byte, so this checks what readContentParallel checks with half the
 * hashing, and writes before the check instead of after it. When it does not match, each chunk
 * is read again to name the damaged one.
 *
 * This thread reads each run and writes it (in aligned pieces: aligned-writer.ts); the worker
 * hashes the runs, in order, behind it.
 * Writes to one file do not run in parallel (two threads writing it were slower than one). The
 * caller reserves a big file's blocks before writing (native-io.ts), which makes the writes much
 * cheaper; after that, having the worker read runs as well as hash them (this thread only
 * writing) was no faster, whether it read every run or only when it had nothing queued: both
 * threads copy through the same memory, and it was the busier one then.
 */
export async function writeContentParallel({ index, packs, rec, ctx, offset, link, readOne }: BigRead, fd: number, onBytes?: (n: number) => void): Promise<number | null> {
  const reader = new RunReader(index, packs, rec, readOne, true);
  const job = new VerifyJob(link);
  try {
    /** runs written and sent to be hashed, in order */
    const sent: Batch[] = [];
    let seq = 0;
    let written = 0;
    const out = new AlignedWriter(fd);
    const write = (b: Batch, { bufs, pieces }: ReadRun) => {
      const run = offset > b.start ? skipped(pieces, offset - b.start) : pieces;
      out.writeRun(bufs, run);
      let n = 0;
      for (let j = 2; j < run.length; j += 3) n += run[j]!;
      written += n;
      onBytes?.(n);
    };
    /** A run the worker has hashed: its block can hold the next one. */
    const settle = (r: Verified): void => {
      if (sent.shift()!.pooled) giveBlock(r.bufs[0]!);
    };
    for (;;) {
      for (let r = sent[0] && job.poll(sent[0].seq); r; r = sent[0] && job.poll(sent[0].seq)) settle(r);
      if (reader.done && sent.length === 0) break;
      if (!reader.done && sent.length < WRITER_DEPTH) {
        const b = await reader.plan();
        b.seq = seq++;
        const run = await reader.read(b);
        write(b, run);
        link.post({ kind: 'hash', job: job.id, seq: b.seq, bufs: run.bufs, pieces: run.pieces }, run.bufs);
        sent.push(b);
        continue;
      }
      // nothing to write until the worker answers: look chunks up meanwhile, or wait
      if (await reader.lookAhead()) continue;
      // (a worker that never started: start over)
      if (!link.ready && contentWorker() !== link) return null;
      settle(job.receive(sent[0]!.seq));
    }
    out.end();
    const digest = job.digest();
    // name the damaged chunk if there is one (readOne throws for it)
    if (!digest.equals(rec.id)) for (const cid of rec.chunks) await readOne(cid);
    checkRead(rec, ctx, reader.position, digest);
    return written;
  } finally {
    job.close();
  }
}

/**
 * writeContentParallel done by the native addon's copy loop (tusk-io.c): this thread plans the
 * runs and the addon reads, writes and hashes them, the hashing on a thread of its own. A run it
 * cannot take whole (compressed chunks, a chunk missing from its run, a pack that ends early or
 * cannot be read, a record header that is not the one expected) is read chunk by chunk through
 * readOne, checked, and handed over as bytes. As there, the whole-file hash proves every byte.
 * Content offsets are not handled here (callers with one use the worker). Returns the bytes
 * written, or null when the whole-file hash does not match: the file is then partly written and
 * the caller writes it again the other way, which names the damage. `copy` is ended either way.
 *
 * What it saves over the JavaScript loop (writeContentParallel) is not in the writes, which cost
 * the same from either (aligned-writer.ts), but around them: Node's per-call work on each read,
 * the messages to the worker, and the worker's start and teardown. writeContent keeps both loops;
 * test/store/copy-loops.test.ts proves them and the chunk-by-chunk reader byte-equal, and
 * bench/README.md ("Figures behind the code") gives the times.
 */
export async function writeContentNative({ packs, rec, index, readOne }: Omit<BigRead, 'link' | 'offset' | 'ctx'>, copy: NativeCopy, onBytes?: (n: number) => void): Promise<number | null> {
  const reader = new RunReader(index, packs, rec, readOne, false);
  let written = 0;
  try {
    while (!reader.done) {
      const b = await reader.plan();
      const raw = reader.rawSpans(b);
      const before = written;
      let done = false;
      if (raw) {
        const first = b.locs[0]!;
        let fd: number | null = null;
        try {
          fd = reader.local.fdOf(first.packName);
        } catch (err) {
          if (!(err instanceof CorruptError)) throw err; // a missing pack: readOne names it
        }
        done = fd !== null && copy.run(fd, first.offset, b.bytes, raw.spans, raw.headers);
        if (done) for (let j = 1; j < raw.spans.length; j += 2) written += raw.spans[j]!;
      }
      if (!done) {
        for (let j = 0; j < b.count; j++) {
          const data = await readOne(rec.chunks[b.first + j]!, b.locs[j], b.places);
          copy.bytes(data);
          written += data.length;
          // the addon copied it: its buffer can hold the next decoded chunk
          giveBuffer(data);
        }
      }
      onBytes?.(written - before);
    }
    const digest = copy.end();
    // a chunk that changed place after it was looked up (gc), or damage no header shows: the
    // caller writes the file again on the worker, which checks each record and names the damage
    if (written !== rec.size || !digest.equals(rec.id)) return null;
    return written;
  } finally {
    copy.abort();
  }
}
