// A datum worker (`tusk worker`): a process that joins every open job of a store and runs its
// datums, beside any number of other workers and the store's own runner. It shares their whole
// path (runPendingJobs): claims under a renewed lease, the same transforms, retries and timeouts,
// and whoever records a job's last datum ends the job. What is particular to a worker: it has an
// id that names the machine and process, it stays until stopped (or idle for a while), it gives
// back what it holds when stopped, and it ends on the loss of its store instead of carrying on.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CorruptError, IoError, LockedError, StoreBusyError, StoreLostError, TuskError } from '../errors.js';
import type { AttemptOutcome } from '../store/job-records.js';
import type { ChangeFeed, StoreHandle } from '../store/store-handle.js';
import { datumLeaseMs, untilLeaseEnds } from './datum-claims.js';
import { runPendingJobs, type DatumDone } from './job-runner.js';

/**
 * How often a worker checks its store is there, and looks for new jobs while it has nothing to
 * run on a store that cannot notify (a team store's wakes it when something changed).
 */
const POLL_MS = 200;
/** How long a worker waits for a busy store by default before it gives up. */
export const BUSY_WAIT_MS = 600_000;

export interface WorkerOptions {
  /** datums run at once (default: each pipeline's parallelism) */
  concurrency?: number;
  /** end after this long with nothing left to run in any job (default: run until stopped) */
  exitWhenIdleMs?: number;
  /** aborted by SIGTERM/SIGINT: give back what is held, then return */
  stop: AbortSignal;
  /**
   * How long to wait for a busy store (another process holding its write lock) before ending
   * with StoreBusyError (default BUSY_WAIT_MS). The wait counts from the pass that found it busy.
   */
  busyWaitMs?: number;
  /** told first, with the worker's id */
  onStart?: (worker: string) => void;
  onDatum?: (e: WorkerDatumEvent) => void;
  /** told when the store is found busy (once per spell), with how long the worker will wait for it */
  onBusy?: (worker: string, waitMs: number) => void;
}

/** One line of a worker's log: one datum it ran. */
export interface WorkerDatumEvent {
  time: string;
  worker: string;
  pipeline: string;
  job: string;
  datum: string;
  /** the datum's recorded state, or `returned` (given back to the queue unfinished) */
  outcome: AttemptOutcome;
  error: string | null;
  ms: number;
}

/** What a worker did, when it ends. */
export interface WorkerSummary {
  worker: string;
  datums: number;
  succeeded: number;
  failed: number;
  returned: number;
  /** why it ended: idle for --exit-when-idle, or stopped by a signal */
  ended: 'idle' | 'stopped';
}

/** A worker's id: the machine, the process and a random part (a pid is reused, on one host or two). */
export function workerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * Run datums of the store's open jobs until stopped, or until idle for `exitWhenIdleMs`. Throws
 * StoreLostError, after giving back what it holds where the store still takes writes, when the
 * store is deleted or its metadata cannot be read or written. A busy store is waited for, up to
 * `busyWaitMs`; then StoreBusyError.
 */
export async function runWorker(s: StoreHandle, opts: WorkerOptions): Promise<WorkerSummary> {
  datumLeaseMs(); // a bad TUSK_DATUM_LEASE_MS ends the worker before it claims anything
  const worker = workerId();
  const summary: WorkerSummary = { worker, datums: 0, succeeded: 0, failed: 0, returned: 0, ended: 'stopped' };
  const lost = new AbortController();
  const stop = AbortSignal.any([opts.stop, lost.signal]);
  // a deleted or overwritten store keeps answering from the files still open: only looking tells
  const watch = setInterval(() => {
    const fault = s.metadataFault();
    if (fault) lost.abort(new StoreLostError(worker, s.path, fault));
  }, POLL_MS);
  const onDatum = (e: DatumDone) => {
    const { outcome, error } = e.end;
    summary.datums++;
    if (outcome === 'success' || outcome === 'recovered') summary.succeeded++;
    else if (outcome === 'failed') summary.failed++;
    else summary.returned++;
    opts.onDatum?.({ time: new Date().toISOString(), worker, pipeline: e.job.pipeline, job: e.job.id, datum: e.datum.id, outcome, error, ms: e.ms });
  };
  const busyWaitMs = opts.busyWaitMs ?? BUSY_WAIT_MS;
  opts.onStart?.(worker);
  let feed: ChangeFeed | undefined;
  try {
    // opened before the first look: a job or datum that changes after that wakes the worker
    feed = await s.changes(stop);
    let idleSince = Date.now();
    // when the store was first found busy in this spell, and whether datums claimed before it are still held
    let busySince: number | undefined;
    let holdsLeftovers = false;
    while (!stop.aborted) {
      const fault = s.metadataFault();
      if (fault) throw new StoreLostError(worker, s.path, fault);
      const passStarted = Date.now();
      // the longest sleep before looking again
      let wakeIn = Infinity;
      try {
        // a pass that failed on a busy store left its claims: they go back before new ones are made
        if (holdsLeftovers) await giveBack(s, worker, { strict: true });
        holdsLeftovers = false;
        const ran = await runPendingJobs(s, { runner: worker, parallelism: opts.concurrency, stop, onDatum });
        if (stop.aborted) break;
        // idleness matters only to a worker that ends on it: others do not ask the store each poll
        if (ran > 0) idleSince = Date.now();
        else if (opts.exitWhenIdleMs !== undefined) {
          if (await hasWorkLeft(s)) idleSince = Date.now();
          else if (Date.now() - idleSince >= opts.exitWhenIdleMs) {
            summary.ended = 'idle';
            break;
          }
          wakeIn = idleSince + opts.exitWhenIdleMs - Date.now();
        }
        wakeIn = Math.min(wakeIn, await untilLeaseEnds(s, POLL_MS));
        busySince = undefined;
      } catch (err) {
        // busy is another process holding the write lock: it frees on its own, so wait (bounded)
        if (!(err instanceof StoreBusyError) || lost.signal.aborted || stop.aborted) throw err;
        holdsLeftovers = true;
        // busy frees without a notification: look again after a poll interval, on any store
        wakeIn = POLL_MS;
        if (busySince === undefined) {
          busySince = passStarted;
          opts.onBusy?.(worker, busyWaitMs);
        }
        const waited = Date.now() - busySince;
        if (waited >= busyWaitMs)
          throw new StoreBusyError(
            `worker ${worker}: the store ${s.path} stayed busy for ${Math.round(waited / 1000)} s: another process holds its write lock`,
            'find the process holding it (a long-running tusk command, a sqlite3 shell) and end it, or start the worker with a longer --busy-wait; the datums it held are retaken when their lease runs out',
            { cause: err },
          );
      }
      // a notification, the lease or idle time running out, or the feed's safety interval
      await feed.next(POLL_MS, wakeIn);
    }
  } catch (err) {
    const thrown = lost.signal.aborted ? lost.signal.reason : asStoreLoss(s, worker, err);
    if (thrown instanceof StoreLostError) await giveBack(s, worker);
    throw thrown;
  } finally {
    clearInterval(watch);
    await feed?.close();
  }
  if (lost.signal.aborted) throw lost.signal.reason;
  return summary;
}

/**
 * Whether a job has datums still to run or running elsewhere: a worker is not idle while a datum
 * another worker holds may come back to the queue (its worker killed, its lease run out).
 */
async function hasWorkLeft(s: StoreHandle): Promise<boolean> {
  for (const job of await s.jobs.openJobs()) {
    if (job.state === 'JOB_CREATED') continue; // waiting for its inputs, or planned on the next pass
    const states = await s.jobs.datumStates(job.pipeline, job.id);
    if (states.pending + states.running > 0) return true;
  }
  return false;
}

/**
 * Give back every datum the worker holds, where the store still takes the write; `strict`: a
 * failure is thrown (the worker goes on and must know), else ignored (the worker is ending).
 */
async function giveBack(s: StoreHandle, worker: string, opts: { strict?: boolean } = {}): Promise<void> {
  try {
    for (const job of await s.jobs.openJobs()) await s.jobs.releaseClaims(job.pipeline, job.id, worker);
  } catch (err) {
    // the store is gone: its datums are retaken when their leases run out
    if (opts.strict) throw err;
  }
}

/**
 * The store's failures end the worker as StoreLostError; a store still busy after the wait ends
 * it as that, and anything else (a bug) is left as it is.
 */
function asStoreLoss(s: StoreHandle, worker: string, err: unknown): unknown {
  const fault = s.metadataFault();
  if (fault) return new StoreLostError(worker, s.path, fault, { cause: err });
  if (err instanceof StoreBusyError) return err;
  const code = (err as { code?: unknown })?.code;
  const isStoreFault = err instanceof IoError || err instanceof LockedError || err instanceof CorruptError || (typeof code === 'string' && code.startsWith('SQLITE_'));
  if (!isStoreFault) return err;
  const reason = err instanceof TuskError ? `${err.code}: ${err.message}` : (err as Error).message;
  return new StoreLostError(worker, s.path, reason, { cause: err });
}
