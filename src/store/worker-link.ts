// The content worker seen from the main thread: one per process, started on first use by a big
// put or get, and spoken to synchronously (Atomics.wait + receiveMessageOnPort), so that the
// store's synchronous paths (ingestLocal, readContent's generator) can hand work to it without
// becoming async. Blocks travel as transferred ArrayBuffers, never copied: the native BLAKE3
// binding cannot read SharedArrayBuffer memory.
import { channel } from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessagePort, Worker } from 'node:worker_threads';
import { IoError } from '../errors.js';
import type { ChunkParams } from './chunker.js';
import type { ReadReply, ReadRequest, WriteFailure, WriteRequest } from './file-batch.js';

/** Main thread → worker. `job` keys the worker's state; replies carry it back. */
export type WorkerRequest =
  | { kind: 'chunk-start'; job: number; params: ChunkParams }
  | { kind: 'chunk-block'; job: number; buf: ArrayBuffer; len: number }
  | { kind: 'chunk-end'; job: number }
  | { kind: 'verify-start'; job: number }
  /** pieces: [buffer index, offset, length] per chunk; ids: the chunks' ids, 32 bytes each */
  | { kind: 'verify'; job: number; seq: number; bufs: ArrayBuffer[]; pieces: Int32Array; ids: Uint8Array }
  /** get into a file: pieces read by the main thread, only added to the whole-file hash */
  | { kind: 'hash'; job: number; seq: number; bufs: ArrayBuffer[]; pieces: Int32Array }
  | { kind: 'verify-end'; job: number }
  | { kind: 'cancel'; job: number }
  /** put -r: stat, read and hash a batch of small files; `buf` is a spare buffer to read into */
  | { kind: 'read-files'; job: number; req: ReadRequest; buf: ArrayBuffer | null }
  /** get -r: create directories and write a batch of files; req.buf comes back */
  | { kind: 'write-files'; job: number; req: WriteRequest };

/** Worker → main thread. */
export type WorkerReply =
  | { kind: 'ready'; job: 0 }
  /** chunks cut so far: `ends` are stream offsets where chunks end, `ids` 32 bytes per chunk; `last` after chunk-end */
  | { kind: 'chunks'; job: number; buf: ArrayBuffer | null; ends: Float64Array; ids: Uint8Array; last: boolean }
  /** `bad`: index of the first piece whose bytes do not match its id or -1 (always -1 after `hash`) */
  | { kind: 'verified'; job: number; seq: number; bufs: ArrayBuffer[]; pieces: Int32Array; bad: number }
  | { kind: 'digest'; job: number; digest: Uint8Array }
  | { kind: 'files-read'; job: number; reply: ReadReply }
  | { kind: 'files-written'; job: number; buf: ArrayBuffer; failure: WriteFailure }
  | { kind: 'error'; job: number; message: string };

/**
 * Told (synchronously, on the main thread) when the content worker has started: its heap is set
 * up by then, which puts some of the process's V8 flags back to their defaults (bin/run.js sets
 * them again). The main thread rarely turns the event loop while it uses the worker, so the
 * Worker's own 'online' event would come too late.
 */
export const WORKER_STARTED_CHANNEL = 'tusk:content-worker-started';
const started = channel(WORKER_STARTED_CHANNEL);

/** How long a blocked caller waits for a reply before declaring the worker lost. */
const REPLY_TIMEOUT_MS = 120_000;
/** How long start-up may take before the store falls back to single-threaded work. */
const START_TIMEOUT_MS = 15_000;

/** A started worker and the synchronous channel to it. */
export class WorkerLink {
  private nextJob = 1;
  private readonly mailboxes = new Map<number, WorkerReply[]>();

  constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    /** bumped by the worker after every reply, so a blocked main thread wakes */
    private readonly signal: Int32Array,
    private readonly receiveMessageOnPort: (port: MessagePort) => { message: unknown } | undefined,
  ) {
    this.mailboxes.set(0, []); // job 0: the start-up handshake
  }

  private up = false;

  /** Whether the worker has finished starting (its handshake came), without waiting. */
  get ready(): boolean {
    if (!this.up) {
      const r = this.tryReceive(0);
      if (r) this.handshake(r);
    }
    return this.up;
  }

  /** Wait for the worker to finish starting; throws if it does not within `timeoutMs`. */
  waitReady(timeoutMs: number): void {
    if (!this.up) this.handshake(this.receive(0, timeoutMs));
  }

  private handshake(r: WorkerReply): void {
    if (r.kind !== 'ready') throw new Error(`unexpected ${r.kind}`);
    this.up = true;
    this.close(0);
  }

  /** A new job id; replies for it are kept until close(). */
  open(): number {
    const job = this.nextJob++;
    this.mailboxes.set(job, []);
    return job;
  }

  /** Forget a job: replies still on their way are dropped. */
  close(job: number): void {
    this.mailboxes.delete(job);
  }

  post(msg: WorkerRequest, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(msg, transfer);
  }

  /** The next reply for `job` if one has arrived, without waiting. */
  tryReceive(job: number): WorkerReply | undefined {
    for (;;) {
      const box = this.mailboxes.get(job);
      if (box && box.length > 0) return checked(box.shift()!);
      const m = this.receiveMessageOnPort(this.port);
      if (!m) return undefined;
      this.dispatch(m.message as WorkerReply);
    }
  }

  /** The next reply for `job`, blocking the thread until it comes. */
  receive(job: number, timeoutMs = REPLY_TIMEOUT_MS): WorkerReply {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // read the counter before looking: a reply posted after the look bumps it, so wait() returns at once
      const seen = Atomics.load(this.signal, 0);
      const r = this.tryReceive(job);
      if (r) return r;
      const left = deadline - Date.now();
      if (left <= 0) throw new IoError('the content worker thread stopped responding', 'retry; set TUSK_WORKER=0 to work on one thread');
      Atomics.wait(this.signal, 0, seen, Math.min(left, 1000));
    }
  }

  private dispatch(reply: WorkerReply): void {
    if (reply.kind === 'ready' && started.hasSubscribers) started.publish(null);
    this.mailboxes.get(reply.job)?.push(reply);
  }

  terminate(): void {
    void this.worker.terminate();
  }
}

function checked(r: WorkerReply): WorkerReply {
  if (r.kind === 'error') throw new IoError(`the content worker thread failed: ${r.message}`, 'retry; set TUSK_WORKER=0 to work on one thread');
  return r;
}

/**
 * The built worker script, dist/store/content-worker.js. This module runs from src/store (the
 * tests), dist/store or the CLI bundle in dist/bundle: two levels below the package root each time.
 */
function workerScript(): string | null {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/store/content-worker.js');
  return fs.existsSync(file) ? file : null;
}

/** undefined: not started; a link that may still be starting; null: cannot run here */
let shared: WorkerLink | null | undefined;
/** why `shared` is null, for TUSK_WORKER=1 */
let unavailable = 'it is turned off (TUSK_WORKER=0)';

/**
 * Start the content worker without waiting for it, when a big file is coming: the thread boots
 * while this one reads metadata and opens files. contentWorker() then finds it ready.
 */
export function startContentWorker(): void {
  if (shared !== undefined) return;
  shared = null;
  if (process.env.TUSK_WORKER === '0') return;
  const script = workerScript();
  if (!script) {
    unavailable = 'dist/store/content-worker.js is missing (run `npm run build`)';
    return;
  }
  // loaded here, not at import: every command imports the store, few ever start the worker
  const threads = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new threads.MessageChannel();
  let worker: Worker;
  try {
    worker = new threads.Worker(script, { workerData: { port: port2, signal }, transferList: [port2] });
  } catch (err) {
    unavailable = `it did not start: ${(err as Error).message}`;
    return;
  }
  // The worker must never keep the process alive, nor crash it with an unhandled 'error' event:
  // a worker lost mid-job shows up as an error reply or a receive() timeout.
  worker.unref();
  worker.on('error', (err) => {
    unavailable = `it failed: ${err.message}`;
    shared = null;
  });
  shared = new WorkerLink(worker, port1, signal, threads.receiveMessageOnPort);
}

/**
 * The process's content worker, started on the first call if startContentWorker() was not
 * called; null when it cannot run (callers then work on the main thread, as they do for small
 * files). TUSK_WORKER=0 turns it off; TUSK_WORKER=1 makes a worker that cannot run an error
 * instead, so benchmarks and tests notice a build that silently lost its second thread.
 */
export function contentWorker(): WorkerLink | null {
  const link = availableWorker();
  if (!link) unavailableCheck();
  return link;
}

/**
 * contentWorker() without waiting for the worker to finish starting (`ready` tells): for callers
 * with work of their own to do meanwhile. They call contentWorker() before they wait for a reply,
 * which waits for the start and says whether the worker came up.
 */
export function startedWorker(): WorkerLink | null {
  startContentWorker();
  if (!shared) unavailableCheck();
  return shared ?? null;
}

function unavailableCheck(): void {
  if (process.env.TUSK_WORKER === '1') throw new IoError(`the content worker thread is unavailable: ${unavailable}`, 'unset TUSK_WORKER to work on one thread');
}

function availableWorker(): WorkerLink | null {
  startContentWorker();
  if (!shared) return null;
  const link = shared;
  try {
    link.waitReady(START_TIMEOUT_MS);
  } catch (err) {
    unavailable = `it did not become ready: ${(err as Error).message}`;
    link.terminate();
    shared = null;
    return null;
  }
  return link;
}
