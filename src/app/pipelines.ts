// Pipelines, jobs, datums and logs as commands and the console use them. Writes that start jobs
// (create, update, start, a cron tick) end with the job trigger here; `create` and `update` run
// every registered pipeline check (src/pipeline/checks.ts) whoever calls them.
import { ConflictError, NotFoundError } from '../errors.js';
import { runCron as fireCron } from '../pipeline/cron-ticker.js';
import { requireCommitJobSucceeded } from '../pipeline/job-outcome.js';
import { followLogs, logBatches, readLogs, streamLogs, LogTail, type FollowOptions, type LogFilter, type LogLine } from '../pipeline/logs.js';
import * as service from '../pipeline/pipeline-service.js';
import type { JobInfo } from '../pipeline/pipeline-service.js';
import { restartDatums } from '../pipeline/restart.js';
import { runDaemon, runForeground, runUntil } from '../pipeline/runner.js';
import { runWorker, type WorkerOptions } from '../pipeline/worker.js';
import type { WorkdirRule } from '../pipeline/spec.js';
import type { CommitRef } from '../store/address.js';
import { TERMINAL_JOB_STATES } from '../store/job-records.js';
import type { Store } from '../store/store.js';
import type { StoreHandle } from '../store/store-handle.js';
import { pipelineMsg } from '../ui/messages.js';
import type { JobTrigger } from './job-trigger.js';

export interface CreatePipelineOptions {
  baseDir: string;
  workdir?: WorkdirRule;
  /** run the first jobs here and return when they have ended; a failed one throws JobFailedError */
  wait?: boolean;
  /** told each warning (cluster-only fields) before any job starts */
  onWarning?: (warning: string) => void;
}

export interface UpdatePipelineOptions extends CreatePipelineOptions {
  reprocess?: boolean;
}

export class PipelineService {
  constructor(
    private readonly core: StoreHandle,
    private readonly store: Store,
    private readonly jobs: JobTrigger,
  ) {}

  /** Create the pipelines of a spec text, all or none; each starts a first job. */
  create(text: string, opts: CreatePipelineOptions) {
    return this.write(text, opts, 'created', { workdir: opts.workdir });
  }

  /** Replace the specs of existing pipelines; a pipeline the rule gives no workdir keeps its own. */
  update(text: string, opts: UpdatePipelineOptions) {
    return this.write(text, opts, 'updated', { workdir: opts.workdir, keepWorkdir: true, update: true, reprocess: opts.reprocess });
  }

  /**
   * For `tusk lock`: create or update as the project's spec file says (the checks run as for
   * `create pipeline`). The jobs start as after any write, or at the end of the caller's batch.
   */
  async sync(text: string, opts: { baseDir: string; workdir: WorkdirRule; update?: boolean; reprocess?: boolean }): Promise<void> {
    await service.createPipelines(this.core, text, opts);
    await this.jobs.afterWrite();
  }

  private async write(text: string, opts: CreatePipelineOptions, verb: 'created' | 'updated', create: Omit<service.CreateOptions, 'baseDir'>) {
    const result = await service.createPipelines(this.core, text, { baseDir: opts.baseDir, ...create });
    for (const w of result.warnings) opts.onWarning?.(w);
    const sets = result.pipelines.flatMap((p) => (p.lastJob === null ? [] : [p.lastJob]));
    await this.jobs.afterWrite({ wait: opts.wait, commitSet: sets, written: pipelineMsg.pipelinesWritten(verb, result.pipelines.map((p) => p.name)) });
    // after a wait, the jobs' outcome rather than the state at creation
    if (!opts.wait) return result;
    const pipelines: service.PipelineInfo[] = [];
    for (const p of result.pipelines) pipelines.push(await service.inspectPipeline(this.core, p.name));
    return { ...result, pipelines };
  }

  list() {
    return service.listPipelines(this.core);
  }
  inspect(name: string) {
    return service.inspectPipeline(this.core, name);
  }
  delete(name: string, opts: { force?: boolean; keepRepo?: boolean } = {}) {
    return service.deletePipeline(this.core, name, opts);
  }
  stop(name: string) {
    return service.stopPipeline(this.core, name);
  }
  /** Restart a stopped pipeline: its job over the current inputs starts. */
  async start(name: string, opts: { wait?: boolean } = {}) {
    const p = await service.startPipeline(this.core, name);
    await this.jobs.afterWrite({ wait: opts.wait, commitSet: p.lastJob ?? undefined });
    return opts.wait ? service.inspectPipeline(this.core, p.name) : p;
  }
  /** Fire a pipeline's cron input(s) now: a tick commit and the job it starts. */
  async runCron(name: string, opts: { wait?: boolean } = {}) {
    const tick = await fireCron(this.core, name);
    await this.jobs.afterWrite({ wait: opts.wait, commitSet: tick.commitSet });
    return { ...tick, job: tick.job === null ? null : await service.inspectJob(this.core, tick.pipeline, tick.job) };
  }

  listJobs(filter: service.JobFilter = {}) {
    return service.listJobs(this.core, filter);
  }
  listJobSets(opts: { number?: number } = {}) {
    return service.listJobSets(this.core, opts);
  }
  inspectJob(pipeline: string, id: string) {
    return service.inspectJob(this.core, pipeline, id);
  }
  stopJob(pipeline: string, id: string) {
    return service.stopJob(this.core, pipeline, id);
  }

  /**
   * Wait until the job (or every job of a commit set, without `pipeline`) has ended, running jobs
   * here while no background runner does. Throws ConflictError after `timeoutMs`, JobFailedError
   * when one of them did not succeed.
   */
  async waitJobs(ref: { pipeline?: string; id: string }, opts: { timeoutMs?: number; what: string; timeoutSeconds: number }): Promise<JobInfo[]> {
    const { pipeline, id } = ref;
    const select = pipeline === undefined ? () => this.core.jobs.jobsById(id) : async () => [await service.requireJob(this.core, pipeline, id)];
    if ((await select()).length === 0) throw new NotFoundError('job', id, pipelineMsg.noJobsInSet(id), pipelineMsg.noJobsInSetHint);
    const ended = await runUntil(this.core, async () => (await select()).every((j) => TERMINAL_JOB_STATES.includes(j.state)), { timeoutMs: opts.timeoutMs });
    if (!ended) throw new ConflictError(pipelineMsg.jobsTimeout(opts.what, opts.timeoutSeconds), pipelineMsg.jobsTimeoutHint);
    return service.waitJobs(this.core, select);
  }

  /**
   * Wait until a commit is finished (its job, for an output commit, has ended), running jobs here
   * while no background runner does. A branch may move meanwhile: the commit it named first is
   * the one waited for. Throws ConflictError after `timeoutMs`, JobFailedError when its job failed.
   */
  async waitCommit(ref: CommitRef, opts: { timeoutMs?: number; timeoutSeconds: number }) {
    const first = await this.store.inspectCommit(ref);
    const at = { repo: first.repo, commit: first.id };
    const finished = await runUntil(this.core, async () => (await this.store.inspectCommit(at)).finished !== null, { timeoutMs: opts.timeoutMs });
    if (!finished) throw new ConflictError(pipelineMsg.commitTimeout(`${first.repo}@${first.branch ?? ''}=${first.id}`, opts.timeoutSeconds), pipelineMsg.commitTimeoutHint);
    const commit = await this.store.waitCommit(at);
    await requireCommitJobSucceeded(this.core, commit.repo, commit.id);
    return commit;
  }

  listDatums(pipeline: string, job: string) {
    return service.listDatums(this.core, pipeline, job);
  }
  inspectDatum(pipeline: string, job: string, id: string) {
    return service.inspectDatum(this.core, pipeline, job, id);
  }
  /** The datums a spec would have over the current heads, without creating it. */
  previewDatums(text: string, baseDir: string) {
    return service.previewDatums(this.core, text, baseDir);
  }
  restartDatums(pipeline: string, job: string, terms: Parameters<typeof restartDatums>[3]) {
    return restartDatums(this.core, pipeline, job, terms);
  }

  readLogs(filter: LogFilter): Promise<LogLine[]> {
    return readLogs(this.core, filter);
  }
  streamLogs(filter: LogFilter) {
    return streamLogs(this.core, filter);
  }
  logBatches(filter: LogFilter) {
    return logBatches(this.core, filter);
  }
  followLogs(filter: LogFilter, opts: FollowOptions) {
    return followLogs(this.core, filter, opts);
  }
  /** Wake-ups for a live view between two reads (the console's event stream); close the feed when done. */
  changes(signal?: AbortSignal) {
    return this.core.changes(signal);
  }
  /** A job's log lines as they are written (the console's event stream). */
  tailLogs(filter: LogFilter, opts: ConstructorParameters<typeof LogTail>[2]) {
    return new LogTail(this.core, filter, opts);
  }

  /**
   * Run every runnable job here and now; returns the jobs that ended, newest last: those open
   * before the run and those it created.
   */
  async runHere(opts: { parallelism?: number } = {}): Promise<JobInfo[]> {
    const started = Date.now();
    const isEnded = (j: JobInfo) => (TERMINAL_JOB_STATES as readonly string[]).includes(j.state);
    const before = new Set((await this.listJobs()).filter((j) => !isEnded(j)).map((j) => `${j.pipeline}@${j.id}`));
    await runForeground(this.core, opts);
    return (await this.listJobs())
      .filter((j) => isEnded(j) && (before.has(`${j.pipeline}@${j.id}`) || Date.parse(j.created) >= started))
      .reverse();
  }

  /** The background runner's loop (`tusk run --daemon`). */
  runDaemon(opts: { idleMs?: number } = {}) {
    return runDaemon(this.core, opts);
  }

  /** A datum worker's loop (`tusk worker`): datums of every open job until stopped or idle. */
  runWorker(opts: WorkerOptions) {
    return runWorker(this.core, opts);
  }
}
