// Running jobs, organised by a job's life: plan (job-plan.ts) → claim (datum-claims.ts) → run
// (datum-layout.ts, datum-run.ts, the lanes below) → collect (job-collect.ts) → finish
// (job-finish.ts). This module drives one job through them and every open job in turn.
import * as os from 'node:os';
import * as path from 'node:path';
import { ConflictError, InvalidArgumentError, IoError, LockedError, StoreBusyError, TuskError } from '../errors.js';
import { onInterrupt } from '../signals.js';
import type { DatumRecord, DatumResult, JobRecord, PipelineRecord } from '../store/job-records.js';
import { TERMINAL_JOB_STATES, type StoreHandle } from '../store/store-handle.js';
import { DatumClaims, datumLeaseMs } from './datum-claims.js';
import { prefetch, realStoreDir, type LaidOut } from './datum-layout.js';
import { ResultBatch, type PendingRows } from './datum-results.js';
import { RESTARTED, runDatum, type DatumEnd } from './datum-run.js';
import { egress, finishJob, finishWhenDone } from './job-finish.js';
import { planJob, readiness } from './job-plan.js';
import type { DatumFile } from './datums.js';
import { fetchDatumInputs, inputCacheLimit, lookUpInputs, trimIfGrown, type InputsAhead } from './materialize.js';
import { PreviousRuns } from './previous-run.js';
import { ScratchSlot } from './scratch.js';
import type { PipelineSpec } from './spec-types.js';
import { MAX_PARALLELISM } from './spec.js';
import { HELPER, findPfsMode } from './pfs-probe.js';
import { ChildProcessTransform, jobLogger, type Transform } from './transform.js';

/** How often a runner renews its leases and looks for a stopped job or a restarted datum. */
const WATCH_MS = 250;

/** Transforms other than child processes (the ML trainers) register here. */
export type TransformFactory = (spec: PipelineSpec) => Transform | undefined;
const factories: TransformFactory[] = [];
export function registerTransform(f: TransformFactory): void {
  factories.push(f);
}
function transformFor(s: StoreHandle, spec: PipelineSpec): Transform {
  for (const f of factories) {
    const t = f(spec);
    if (t) return t;
  }
  // the sandbox's probe answer is remembered in the store's tmp/: a process need not probe again
  const answers = path.join(realStoreDir(s), 'tmp');
  return new ChildProcessTransform(spec.transform, findPfsMode(answers), HELPER, answers);
}

export function specOf(p: PipelineRecord): PipelineSpec {
  return p.spec as PipelineSpec;
}

/** Stop a job: running datums are killed by their runner at its next check. */
export function killJob(s: StoreHandle, pipeline: string, id: string, reason: string): Promise<JobRecord> {
  return s.unitOfWork(async (tx) => {
    const job = await tx.jobs.getJob(pipeline, id);
    if (!job) throw new ConflictError(`job ${pipeline}@${id} not found`);
    if (TERMINAL_JOB_STATES.includes(job.state)) throw new ConflictError(`job ${pipeline}@${id} has already finished`, 'only running jobs can be stopped');
    await finishJob(s, job, 'JOB_KILLED', reason, undefined);
    return (await tx.jobs.getJob(pipeline, id))!;
  });
}

/** One datum this runner ran: how it ended and how long it took here. */
export interface DatumDone {
  job: JobRecord;
  datum: DatumRecord;
  end: DatumEnd;
  ms: number;
}

export interface RunOptions {
  runner: string;
  parallelism?: number;
  /**
   * Aborted when the runner is to stop (a worker's SIGTERM, its store lost): no more datums are
   * claimed, running ones are stopped and every datum the runner holds goes back to the queue.
   */
  stop?: AbortSignal;
  onDatum?: (e: DatumDone) => void;
}

/** Run one job to a terminal state (or until its inputs are not ready). Returns false when it must wait. */
export async function runJob(s: StoreHandle, job: JobRecord, opts: RunOptions): Promise<boolean> {
  const pipeline = await s.jobs.getPipeline(job.pipeline);
  if (!pipeline) return true;
  const spec = specOf(pipeline);
  // a bad TUSK_INPUT_CACHE_MAX is an error before the job starts, not after it ran
  const cacheLimit = inputCacheLimit();
  if (opts.stop?.aborted) return false;
  if (job.state === 'JOB_CREATED') {
    const r = await readiness(s, job);
    if (r.kind === 'waiting') return false;
    if (r.kind === 'unrunnable') {
      await s.unitOfWork(async (tx) => finishJob(s, (await tx.jobs.getJob(job.pipeline, job.id))!, 'JOB_UNRUNNABLE', r.reason, undefined));
      return true;
    }
    await planJob(s, job, spec, opts.runner);
  }
  const parallelism = Math.max(1, opts.parallelism ?? spec.parallelism ?? os.availableParallelism());
  // a spec stored before the limit was checked at creation
  if (!(parallelism <= MAX_PARALLELISM))
    throw new InvalidArgumentError(`parallelism_spec.constant: must be at most ${MAX_PARALLELISM}, got ${parallelism}`, 'update the pipeline with a smaller parallelism_spec.constant');
  const deadline = spec.job_timeout_ms ? ((await s.jobs.getJob(job.pipeline, job.id))?.started ?? Date.now()) + spec.job_timeout_ms : Infinity;
  const lanes = new DatumLanes(s, job, spec, transformFor(s, spec), opts, deadline);
  try {
    const results = await lanes.run(parallelism);
    if (Date.now() > deadline) {
      await s.unitOfWork((tx) => ResultBatch.writeInto(tx.jobs, results));
      try {
        await killJob(s, job.pipeline, job.id, `job timed out after ${spec.job_timeout_ms} ms`);
      } catch {
        // already finished
      }
      return true;
    }
    // the last results and the job's end in one unit
    const succeededHere = await finishWhenDone(s, job, results);
    // the scratch trees hold nothing the job's outcome needs: they go once it is recorded
    lanes.removeScratch();
    // the datums' inputs this runner read from packs stay cached for later jobs, within the bound
    trimIfGrown(realStoreDir(s), cacheLimit);
    let after = await s.jobs.getJob(job.pipeline, job.id);
    // egress once, by the runner that ended the job
    if (succeededHere && after && spec.egress) {
      await egress(s, after, spec.egress);
      after = await s.jobs.getJob(job.pipeline, job.id);
    }
    // progress = planned, ran a datum, or ended the job; a job whose remaining datums another
    // runner holds is "must wait", or runPendingJobs would spin on it without yielding
    const progressed = job.state === 'JOB_CREATED' || lanes.ranDatum;
    return progressed || !after || TERMINAL_JOB_STATES.includes(after.state);
  } finally {
    lanes.removeScratch();
  }
}

/**
 * Runs `tick` every `everyMs`, one run at a time (a slow one is not overlapped by the next);
 * a failed run ends the watch, calls `onFail` (the pass must not run on with leases no longer
 * renewed and the job no longer checked) and is thrown by stop().
 */
class Watch {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> = Promise.resolve();
  private failure: { err: unknown } | undefined;
  private stopped = false;

  constructor(
    private readonly tick: () => Promise<void>,
    private readonly everyMs: number,
    private readonly onFail: () => void,
  ) {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.tick().then(
        () => this.schedule(),
        (err: unknown) => {
          this.failure = { err };
          this.onFail();
        },
      );
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
    if (this.failure) throw this.failure.err;
  }
}

/**
 * One runner's pass over a job's datums: it claims them and runs them in lanes, while a watch
 * renews its leases and stops datums when the job is stopped elsewhere (stop job, pipeline
 * update), times out, or a datum is restarted.
 */
class DatumLanes {
  private readonly abort = new AbortController();
  private readonly claims: DatumClaims;
  private readonly results: ResultBatch;
  private readonly logs: ReturnType<typeof jobLogger>;
  private readonly earlier: PreviousRuns;
  // datums being run, each with its own signal: the job's abort stops it, and so does a restart
  private readonly active = new Map<string, AbortController>();
  // the runner is stopping: nothing more is claimed, what it holds goes back to the queue
  private stopping = false;
  private readonly slots: ScratchSlot[] = [];
  // each claimed datum's share of its batch's input lookup, until the datum is laid out
  private readonly ahead = new Map<string, InputsAhead>();
  /** whether a datum was started in this pass */
  ranDatum = false;

  constructor(
    private readonly s: StoreHandle,
    private readonly job: JobRecord,
    private readonly spec: PipelineSpec,
    private readonly transform: Transform,
    private readonly opts: RunOptions,
    private readonly deadline: number,
  ) {
    this.claims = new DatumClaims(s, job, opts.runner, (batch) => this.lookAhead(batch));
    this.results = new ResultBatch(s);
    this.earlier = new PreviousRuns(s, job);
    this.logs = jobLogger(s.logs.appender(job.pipeline, job.id));
  }

  /**
   * Run the job's datums in up to `parallelism` lanes until none is left to claim or the job
   * stops. Returns the results not yet written, for the caller's unit that ends the job.
   */
  async run(parallelism: number): Promise<PendingRows> {
    // stopped by Ctrl-C or SIGTERM: the datums this runner holds go back to the queue at once
    // (the store runs these writes at once when no unit is in flight, and the process is ending)
    const unregister = onInterrupt(() => {
      void this.results.flush().catch(() => undefined);
      void this.claims.release().catch(() => undefined);
    });
    const stop = () => {
      this.stopping = true;
      for (const ctl of this.active.values()) ctl.abort(RESTARTED);
    };
    // a failed renewal or job check stops the lanes: their datums' leases are no longer renewed,
    // so another runner may take them over while they would run on here
    const watch = new Watch(() => this.watch(), WATCH_MS, stop);
    if (this.opts.stop?.aborted) stop();
    this.opts.stop?.addEventListener('abort', stop);
    let failed = false;
    try {
      const scratchRoot = path.join(realStoreDir(this.s), 'tmp', 'datums');
      // no more lanes (each with two scratch trees) than datums left to claim (running ones may
      // be retaken when their runner's lease runs out)
      const states = await this.s.jobs.datumStates(this.job.pipeline, this.job.id);
      const left = states.pending + states.running;
      const lanes = Array.from({ length: Math.max(1, Math.min(parallelism, left)) }, (_, lane) => this.lane(lane, scratchRoot));
      // one lane failing stops the others (their datums go back to the queue), and all of them
      // have ended before the pass does: none runs on after its runner has left the job
      const failure = await firstFailure(lanes, stop);
      if (failure) throw failure.err;
      // the watch's failure, if it stopped the lanes: the pass ends with it (and gives back what it holds)
      await watch.stop();
    } catch (err) {
      failed = true;
      await this.leaveAfter(err);
      throw err;
    } finally {
      unregister();
      this.opts.stop?.removeEventListener('abort', stop);
      // a lane's failure is the one to report
      await watch.stop().catch((err: unknown) => {
        if (!failed) throw err;
      });
      // lines that could not be written (a team store's database gone) fail a pass that had not failed yet
      await this.logs.close().catch((err: unknown) => {
        if (!failed) throw err;
      });
      this.transform.close?.();
    }
    if (this.stopping) {
      // results first: a datum that ended here must not go back to the queue and run twice
      await this.results.flush();
      await this.claims.release();
    }
    return this.results.take();
  }

  /**
   * After a failed pass: write the results that came in and give back what this runner holds,
   * as far as the store takes it. A busy store is not asked again (each write would wait out
   * its busy timeout): those datums go back when their lease runs out, or when a worker that
   * waited for the store gives back what it holds.
   */
  private async leaveAfter(err: unknown): Promise<void> {
    if (err instanceof StoreBusyError) return;
    try {
      await this.results.flush();
      if (this.stopping) await this.claims.release();
    } catch {
      // the pass's own error is the one to report
    }
  }

  /** Remove the lanes' scratch trees (each once): the job has ended, or this runner left it. */
  removeScratch(): void {
    for (const slot of this.slots.splice(0)) slot.dispose();
  }

  private async watch(): Promise<void> {
    // results of quick datums must not wait behind a slow one to become visible (for longer than a batch's age)
    await this.results.flushIfDue();
    const j = await this.s.jobs.getJob(this.job.pipeline, this.job.id);
    if (!j || TERMINAL_JOB_STATES.includes(j.state)) this.abort.abort();
    if (Date.now() > this.deadline) this.abort.abort();
    // a datum whose claim is gone was restarted (or retaken after this runner's lease ran out);
    // only those running before the renewal began are judged by it: one claimed meanwhile is not
    // in its answer, and stopping it gave back a datum that had just ended (and ran it again)
    const running = new Set(this.active.keys());
    const ours = await this.claims.renew([...running, ...this.results.pendingIds()]);
    for (const [id, ctl] of this.active) if (running.has(id) && !ours.has(id)) ctl.abort(RESTARTED);
  }

  /**
   * One lane, with two scratch trees: while one datum's command runs in one, the next datum's
   * inputs are laid out in the other, so the command's wait hides the runner's own work. A
   * transform that queues gets that next datum at once and starts it when the current command
   * ends: recording a result then no longer sits between one command and the next.
   */
  private async lane(lane: number, scratchRoot: string): Promise<void> {
    const aborted = () => this.abort.signal.aborted || this.stopping;
    let d = aborted() ? undefined : await this.claims.next();
    // a tree only for a lane that has a datum: a runner polling a job whose datums others hold
    // makes none
    if (!d) return;
    // the transform's sandbox settled (a remembered one checked) before anything is laid out for it
    await this.transform.ready?.(realStoreDir(this.s));
    let slot = new ScratchSlot(scratchRoot);
    this.slots.push(slot);
    // the second tree is made when a second datum comes: a job of one datum needs one
    let spare: ScratchSlot | undefined;
    let running: Promise<void> | undefined = this.begin(d, slot, await this.prefetch(d, slot), lane);
    while (d && !aborted()) {
      this.ranDatum = true;
      // after the current datum's command has been sent off
      await new Promise((r) => setImmediate(r));
      const next = aborted() ? undefined : await this.claims.next();
      if (next && !spare) this.slots.push((spare = new ScratchSlot(scratchRoot)));
      const nextReady = next ? await this.prefetch(next, spare!) : undefined;
      let nextRunning = next && this.transform.queues ? this.begin(next, spare!, nextReady, lane) : undefined;
      try {
        await running;
      } catch (err) {
        // the datum handed over meanwhile still runs in the spare slot: let it end first
        await nextRunning?.catch(() => undefined);
        throw err;
      }
      if (next && !nextRunning && !aborted()) nextRunning = this.begin(next, spare!, nextReady, lane);
      if (next) [slot, spare] = [spare!, slot];
      d = next;
      running = nextRunning;
    }
    // stopped with a datum already handed over: its slot stays until it has ended
    await running;
  }

  /**
   * Look up the inputs of a claimed batch together: on a database, two statements for the batch
   * rather than two for each datum. A failed lookup leaves each datum to look up its own, and to
   * report what fails.
   */
  private async lookAhead(batch: readonly DatumRecord[]): Promise<void> {
    let found: InputsAhead | undefined;
    try {
      found = await lookUpInputs(this.s, batch);
    } catch {
      return;
    }
    if (found) for (const d of batch) this.ahead.set(d.id, found);
  }

  private async prefetch(d: DatumRecord, slot: ScratchSlot): Promise<LaidOut | undefined> {
    const ahead = this.ahead.get(d.id);
    this.ahead.delete(d.id);
    await this.earlier.prepare(d.id);
    return prefetch(this.s, this.spec, this.earlier, d, slot, this.transform.protectsInputs, ahead);
  }

  /** Run a claimed datum, unless it was sent back to the queue before it started (someone claims it again). */
  private begin(d: DatumRecord, slot: ScratchSlot, ready: LaidOut | undefined, lane: number): Promise<void> {
    if (this.claims.takeRestarted(d)) return Promise.resolve();
    const running = this.runClaimed(d, slot, ready, lane);
    // the lane awaits it only after claiming and laying out the next datum: a failure meanwhile
    // is not an unhandled rejection (which would end the process), it reaches the lane then
    void running.catch(() => undefined);
    return running;
  }

  private async runClaimed(d: DatumRecord, slot: ScratchSlot, ready: LaidOut | undefined, lane: number): Promise<void> {
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    this.abort.signal.addEventListener('abort', stop);
    this.active.set(d.id, ctl);
    // stopping began while this datum was being handed over: it goes back with the rest
    if (this.stopping) ctl.abort(RESTARTED);
    const started = Date.now();
    try {
      const { s, job, spec, transform, results, earlier } = this;
      const end = await runDatum({ s, job, spec, datum: d, transform, slot, results, signal: ctl.signal, log: this.logs.forDatum(d.id), ready, lane, earlier, runner: this.opts.runner });
      this.opts.onDatum?.({ job, datum: d, end, ms: Date.now() - started });
    } finally {
      this.earlier.forget(d.id);
      this.active.delete(d.id);
      this.abort.signal.removeEventListener('abort', stop);
    }
  }
}

/** Wait for every lane; the first to fail calls `stop`, so that the others end soon. Returns that failure. */
async function firstFailure(lanes: readonly Promise<void>[], stop: () => void): Promise<{ err: unknown } | undefined> {
  let failure: { err: unknown } | undefined;
  await Promise.all(
    lanes.map((l) =>
      l.catch((err: unknown) => {
        if (failure) return;
        failure = { err };
        stop();
      }),
    ),
  );
  return failure;
}

/**
 * runJob, where an error that belongs to this job (a bad stored spec, a transform that cannot be
 * set up, a bug) fails the job with the reason instead of ending the runner: the jobs of every
 * other pipeline still run. A busy or read-only store is no fault of the job and still ends the
 * runner.
 */
async function runJobOrFail(s: StoreHandle, job: JobRecord, opts: RunOptions): Promise<boolean> {
  try {
    return await runJob(s, job, opts);
  } catch (err) {
    // the store, not the job: busy, read-only, or failing to read or write (gone, a disk error)
    if (err instanceof LockedError || err instanceof IoError) throw err;
    // a runner stopping (its store lost, a signal) is no fault of the job either
    if (opts.stop?.aborted) throw err;
    const reason = err instanceof TuskError ? err.message : `runner error: ${(err as Error).message}`;
    await s.unitOfWork(async (tx) => {
      const j = await tx.jobs.getJob(job.pipeline, job.id);
      if (j && !TERMINAL_JOB_STATES.includes(j.state)) await finishJob(s, j, 'JOB_FAILURE', reason, null);
    });
    return true;
  }
}

/**
 * Run every open job until none is left that can make progress. Jobs of one pipeline run in
 * order (each builds on the previous one's output); different pipelines interleave by age.
 */
export async function runPendingJobs(s: StoreHandle, opts: RunOptions): Promise<number> {
  // a bad TUSK_DATUM_LEASE_MS is the runner's error, not a job's
  datumLeaseMs();
  let ran = 0;
  for (;;) {
    let progressed = false;
    const busy = new Set<string>();
    for (const job of await s.jobs.openJobs()) {
      if (opts.stop?.aborted) return ran;
      if (busy.has(job.pipeline)) continue;
      busy.add(job.pipeline);
      if (await runJobOrFail(s, job, opts)) {
        progressed = true;
        ran++;
        break; // the job list changed: downstream jobs may now be ready
      }
    }
    if (!progressed) return ran;
  }
}
