// The content worker thread (started by worker-link.ts): the CPU half of big puts and gets, so
// that the main thread only reads, writes and talks to SQLite while this one
//  - put: finds chunk boundaries (GearScanner, the same cuts as chunker.ts) and hashes every chunk
//    (its id); the main thread hashes the whole stream, which balances the two threads best;
//  - get: hashes every chunk read back against its id, and the whole file against its content id;
//    for a get into a file that can be taken back, it hashes only the whole file, behind the main
//    thread that reads and writes it;
//  - put -r / get -r of many small files: reads (and hashes) or writes whole batches of files
//    (file-batch.ts), the system calls that dominate small files, while the main thread stores
//    or verifies the batch before.
// Every reply bumps the shared signal, which is what a blocked main thread waits on.
import { workerData, type MessagePort } from 'node:worker_threads';
import type { ChunkParams } from './chunker.js';
import { readFileBatch, writeFileBatch } from './file-batch.js';
import { WasmChunker } from './gear-wasm.js';
import { createHasher, hashBytes, ID_BYTES, type Hasher } from './hash.js';
import { NativeChunker, nativeChunker } from './native-io.js';
import type { WorkerReply, WorkerRequest } from './worker-link.js';

const { port, signal } = workerData as { port: MessagePort; signal: Int32Array };

interface ChunkJob {
  kind: 'chunk';
  chunker: WasmChunker | NativeChunker;
  /** stream offset of the end of the last chunk (the wasm chunker's; the native one keeps its own) */
  cut: number;
}

interface VerifyJob {
  kind: 'verify';
  whole: Hasher;
}

const jobs = new Map<number, ChunkJob | VerifyJob>();
/**
 * A chunker whose job ended, kept for the next one: a wasm one holds megabytes of memory. The
 * addon's (native-io.ts) cuts and hashes in one call per block, without copying the block into
 * wasm memory first, which costs this thread less per GiB. Without the addon, the wasm scanner.
 */
let idle: WasmChunker | NativeChunker | null = null;

function chunkerFor(params: ChunkParams): WasmChunker | NativeChunker {
  const c = idle;
  idle = null;
  const p = c?.params;
  if (c && p!.minSize === params.minSize && p!.avgSize === params.avgSize && p!.maxSize === params.maxSize && p!.normalization === params.normalization) return c;
  return nativeChunker(params) ?? new WasmChunker(params);
}

function endJob(id: number, ended = false): void {
  const job = jobs.get(id);
  jobs.delete(id);
  if (job?.kind !== 'chunk') return;
  // a native chunker is ready for the next stream only after end(); one cancelled mid-stream is dropped
  if (job.chunker instanceof WasmChunker) {
    job.chunker.reset();
    idle = job.chunker;
  } else if (ended) idle = job.chunker;
}

function reply(msg: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

/** Cut `block` (or, at the end, what is left) and hash the chunks; ends are stream offsets. */
function cutChunks(job: ChunkJob, block: Uint8Array | null): { ends: Float64Array; ids: Uint8Array } {
  if (job.chunker instanceof NativeChunker) return block ? job.chunker.push(block) : job.chunker.end();
  const ends: number[] = [];
  const ids: Buffer[] = [];
  const emit = (chunk: Buffer) => {
    ids.push(hashBytes(chunk));
    job.cut += chunk.length;
    ends.push(job.cut);
  };
  if (block) job.chunker.push(block, emit);
  else job.chunker.finish(emit);
  return { ends: Float64Array.from(ends), ids: Buffer.concat(ids, ids.length * ID_BYTES) };
}

function handle(msg: WorkerRequest): void {
  switch (msg.kind) {
    case 'chunk-start':
      jobs.set(msg.job, { kind: 'chunk', chunker: chunkerFor(msg.params), cut: 0 });
      return;
    case 'chunk-block': {
      const job = jobOf(msg.job, 'chunk');
      const { ends, ids } = cutChunks(job, new Uint8Array(msg.buf, 0, msg.len));
      reply({ kind: 'chunks', job: msg.job, buf: msg.buf, ends, ids, last: false }, [msg.buf]);
      return;
    }
    case 'chunk-end': {
      const job = jobOf(msg.job, 'chunk');
      const { ends, ids } = cutChunks(job, null);
      endJob(msg.job, true);
      reply({ kind: 'chunks', job: msg.job, buf: null, ends, ids, last: true });
      return;
    }
    case 'verify-start':
      jobs.set(msg.job, { kind: 'verify', whole: createHasher() });
      return;
    case 'verify': {
      const bad = verifyPieces(jobOf(msg.job, 'verify'), msg.bufs, msg.pieces, msg.ids);
      reply({ kind: 'verified', job: msg.job, seq: msg.seq, bufs: msg.bufs, pieces: msg.pieces, bad }, msg.bufs);
      return;
    }
    case 'hash': {
      const job = jobOf(msg.job, 'verify');
      const { bufs, pieces } = msg;
      for (let i = 0; i < pieces.length / 3; i++) job.whole.update(new Uint8Array(bufs[pieces[3 * i]!]!, pieces[3 * i + 1], pieces[3 * i + 2]));
      reply({ kind: 'verified', job: msg.job, seq: msg.seq, bufs, pieces, bad: -1 }, bufs);
      return;
    }
    case 'verify-end': {
      const job = jobOf(msg.job, 'verify');
      jobs.delete(msg.job);
      reply({ kind: 'digest', job: msg.job, digest: job.whole.digest() });
      return;
    }
    case 'cancel':
      endJob(msg.job);
      return;
    case 'read-files': {
      const r = readFileBatch(msg.req, msg.buf);
      reply({ kind: 'files-read', job: msg.job, reply: r }, [r.buf]);
      return;
    }
    case 'write-files': {
      const failure = writeFileBatch(msg.req);
      reply({ kind: 'files-written', job: msg.job, buf: msg.req.buf, failure }, [msg.req.buf]);
      return;
    }
  }
}

/**
 * Hash each piece against its id. The whole-file hash only takes a batch whose chunks all
 * matched: the caller replaces a bad chunk (or fails) and sends the batch again, so nothing is
 * hashed twice into it. Returns the index of the first bad piece, or -1.
 */
function verifyPieces(job: VerifyJob, bufs: ArrayBuffer[], pieces: Int32Array, ids: Uint8Array): number {
  const views: Uint8Array[] = [];
  for (let i = 0; i < pieces.length / 3; i++) {
    const view = new Uint8Array(bufs[pieces[3 * i]!]!, pieces[3 * i + 1], pieces[3 * i + 2]);
    if (!hashBytes(view).equals(ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES))) return i;
    views.push(view);
  }
  for (const v of views) job.whole.update(v);
  return -1;
}

function jobOf<K extends 'chunk' | 'verify'>(id: number, kind: K): Extract<ChunkJob | VerifyJob, { kind: K }> {
  const job = jobs.get(id);
  if (!job || job.kind !== kind) throw new Error(`no ${kind} job ${id}`);
  return job as Extract<ChunkJob | VerifyJob, { kind: K }>;
}

port.on('message', (msg: WorkerRequest) => {
  try {
    handle(msg);
  } catch (err) {
    endJob(msg.job);
    reply({ kind: 'error', job: msg.job, message: (err as Error).message });
  }
});
reply({ kind: 'ready', job: 0 });
