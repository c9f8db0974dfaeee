// Pipelines, jobs and datums as rows. The only module with SQL about them; the pipeline layer
// (src/pipeline) holds the rules and calls this through the store core.
import type { Db } from './meta-db.js';
import type { NodeId } from './hash.js';
import { hostname as hostHere } from 'node:os';

export type JobState = 'JOB_CREATED' | 'JOB_STARTING' | 'JOB_RUNNING' | 'JOB_FINISHING' | 'JOB_SUCCESS' | 'JOB_FAILURE' | 'JOB_KILLED' | 'JOB_UNRUNNABLE';
export const TERMINAL_JOB_STATES: readonly JobState[] = ['JOB_SUCCESS', 'JOB_FAILURE', 'JOB_KILLED', 'JOB_UNRUNNABLE'];

export type DatumState = 'pending' | 'running' | 'success' | 'skipped' | 'failed' | 'recovered';

export interface PipelineRow {
  name: string;
  version: number;
  spec: string;
  raw: string;
  salt: string;
  output_branch: string;
  stopped: number;
  created: number;
  updated: number;
}

export interface JobRow {
  pipeline: string;
  id: string;
  version: number;
  salt: string;
  state: JobState;
  reason: string | null;
  created: number;
  started: number | null;
  finished: number | null;
  processed: number;
  skipped: number;
  failed: number;
  recovered: number;
  total: number;
  download_bytes: number;
  upload_bytes: number;
  runner: string | null;
  lease_until: number | null;
}

export interface DatumRow {
  pipeline: string;
  job: string;
  id: string;
  seq: number;
  hash: string;
  state: DatumState;
  inputs: string;
  output: NodeId | null;
  attempts: number;
  started: number | null;
  finished: number | null;
  error: string | null;
  claimed_by: string | null;
  lease_until: number | null;
  download_bytes: number;
  upload_bytes: number;
}

/**
 * The pipeline metadata's contract: pipelines, jobs, datums and their outputs, cron ticks.
 * Implemented on SQLite by SqliteJobRecords. Claims and state changes are made inside a unit of
 * work (StoreCore.unitOfWork), so that two runners never claim one datum; `iterate*` methods
 * stream; each other method is one query.
 */
export interface JobRecords {
  /** Become the store's background runner unless a live one exists. */
  claimRunner(id: string, alive: (owner: { pid: number; host: string; until: number }) => boolean): boolean;
  /** The background runner holding the lease, if any (alive or not). */
  runnerOwner(): { id: string; pid: number; host: string; until: number } | undefined;
  releaseRunner(id: string): void;
  getPipeline(name: string): PipelineRow | undefined;
  listPipelines(): PipelineRow[];
  /** The pipeline whose output branch is repo@branch, if any. */
  pipelineOwning(repo: string, branch: string): PipelineRow | undefined;
  insertPipeline(p: PipelineRow): void;
  /** A finished job's record from another store (a pull); one already here is left as it is. */
  importJob(j: Omit<JobRow, 'runner' | 'lease_until'>): void;
  updatePipeline(p: Omit<PipelineRow, 'stopped' | 'created'>): void;
  setStopped(name: string, stopped: boolean): void;
  deletePipeline(name: string): void;
  getJob(pipeline: string, id: string): JobRow | undefined;
  jobsOf(pipeline: string): JobRow[];
  jobsById(id: string): JobRow[];
  allJobs(): JobRow[];
  /** Jobs not yet terminal, oldest first. */
  openJobs(): JobRow[];
  /** Jobs not yet terminal, and those that ended at or after `endedSince` (ms): what a log follower watches. */
  liveJobs(endedSince: number): Pick<JobRow, 'pipeline' | 'id' | 'state' | 'created' | 'started' | 'finished'>[];
  insertJob(pipeline: string, id: string, version: number, salt: string): void;
  setJobState(pipeline: string, id: string, state: JobState, reason: string | null, finished: number | null): void;
  startJob(pipeline: string, id: string, total: number, runner: string, leaseUntil: number): void;
  leaseJob(pipeline: string, id: string, runner: string | null, leaseUntil: number | null): void;
  setCounts(c: Pick<JobRow, 'pipeline' | 'id' | 'processed' | 'skipped' | 'failed' | 'recovered' | 'download_bytes' | 'upload_bytes'>): void;
  deleteJob(pipeline: string, id: string): void;
  /** The newest successful job of a pipeline other than `exceptJob`: the base a new job builds on. */
  lastSuccessfulJob(pipeline: string, exceptJob: string): JobRow | undefined;
  insertDatum(d: Pick<DatumRow, 'pipeline' | 'job' | 'id' | 'seq' | 'hash' | 'state' | 'inputs' | 'output' | 'started' | 'finished'>): void;
  getDatum(pipeline: string, job: string, id: string): DatumRow | undefined;
  datumsOf(pipeline: string, job: string): DatumRow[];
  /** The job of this pipeline started most recently before `job`: its rows carry every reusable result forward. */
  previousJob(pipeline: string, job: string): string | undefined;
  /** A job's datums with only their input files (JSON), one row at a time, in plan order. */
  datumInputs(pipeline: string, job: string): IterableIterator<Pick<DatumRow, 'id' | 'inputs'>>;
  /** A job's datums without their inputs: what planning and merging need, at a fraction of the read. */
  datumResults(pipeline: string, job: string): Pick<DatumRow, 'id' | 'hash' | 'state' | 'output'>[];
  /** Bytes moved by the datums a job ran itself (skipped ones moved nothing). */
  datumBytes(pipeline: string, job: string): { download_bytes: number; upload_bytes: number };
  firstFailedDatum(pipeline: string, job: string): string | undefined;
  /** Whether any job of the pipeline has datum rows (none: no earlier result to reuse). */
  hasDatums(pipeline: string): boolean;
  /** A successful earlier result for this datum identity, if any. */
  datumResult(pipeline: string, id: string, hash: string): DatumRow | undefined;
  /** Claim up to `limit` datums in one statement: one write transaction per batch, not per datum. */
  claimDatums(pipeline: string, job: string, runner: string, leaseMs: number, limit: number): DatumRow[];
  finishDatum(d: Pick<DatumRow, 'pipeline' | 'job' | 'id' | 'state' | 'output' | 'finished' | 'error' | 'download_bytes' | 'upload_bytes'>): void;
  /** Count one more try of a claimed datum (a retry within the same claim). */
  addAttempt(pipeline: string, job: string, id: string): void;
  /** Send running datums back to the queue (`restart datum`); returns those that were running. */
  restartDatums(pipeline: string, job: string, ids: readonly string[]): string[];
  /** A runner that stops gives its unfinished datums back to the queue (else they wait for its lease to run out). */
  releaseClaims(pipeline: string, job: string, runner: string): number;
  /** The datums of a job this runner holds (claimed and not finished). */
  datumsClaimedBy(pipeline: string, job: string, runner: string): Set<string>;
  renewDatumLeases(pipeline: string, job: string, runner: string, leaseUntil: number): void;
  datumStates(pipeline: string, job: string): Record<DatumState, number>;
  /** When a cron input last ticked (ms), if it ever did. Read it in the transaction that writes the next tick. */
  lastCronTick(pipeline: string, input: string): number | undefined;
  setLastCronTick(pipeline: string, input: string, tick: number): void;
  /** Forget the ticks of cron inputs a pipeline no longer has (after an update renamed or removed them). */
  keepCronTicks(pipeline: string, inputs: readonly string[]): void;
  /** Every datum output root: gc keeps these trees alive (later jobs reuse them). */
  allDatumOutputs(): NodeId[];
}

/** JobRecords on SQLite: prepared statements over its tables. */
export class SqliteJobRecords implements JobRecords {
  private readonly q;

  constructor(private readonly db: Db) {
    this.q = {
      pipeline: db.prepare('SELECT * FROM pipelines WHERE name = ?'),
      pipelines: db.prepare('SELECT * FROM pipelines ORDER BY created DESC, name'),
      byOutput: db.prepare('SELECT * FROM pipelines WHERE name = ? AND output_branch = ?'),
      insertPipeline: db.prepare(
        'INSERT INTO pipelines (name, version, spec, raw, salt, output_branch, stopped, created, updated) VALUES (@name, @version, @spec, @raw, @salt, @output_branch, @stopped, @created, @updated)',
      ),
      updatePipeline: db.prepare('UPDATE pipelines SET version = @version, spec = @spec, raw = @raw, salt = @salt, output_branch = @output_branch, updated = @updated WHERE name = @name'),
      setStopped: db.prepare('UPDATE pipelines SET stopped = ?, updated = ? WHERE name = ?'),
      deletePipeline: db.prepare('DELETE FROM pipelines WHERE name = ?'),
      job: db.prepare('SELECT * FROM jobs WHERE pipeline = ? AND id = ?'),
      jobsOf: db.prepare('SELECT * FROM jobs WHERE pipeline = ? ORDER BY created DESC, rowid DESC'),
      jobsById: db.prepare('SELECT * FROM jobs WHERE id = ? ORDER BY pipeline'),
      allJobs: db.prepare('SELECT * FROM jobs ORDER BY created DESC, rowid DESC'),
      openJobs: db.prepare("SELECT * FROM jobs WHERE state IN ('JOB_CREATED', 'JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING') ORDER BY created, rowid"),
      // log followers poll this every ~200 ms: a scan of small columns, never the whole rows
      liveJobs: db.prepare(
        "SELECT pipeline, id, state, created, started, finished FROM jobs WHERE state IN ('JOB_CREATED', 'JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING') OR finished >= ? ORDER BY created, rowid",
      ),
      importJob: db.prepare(
        'INSERT OR IGNORE INTO jobs (pipeline, id, version, salt, state, reason, created, started, finished, processed, skipped, failed, recovered, total, download_bytes, upload_bytes) VALUES (@pipeline, @id, @version, @salt, @state, @reason, @created, @started, @finished, @processed, @skipped, @failed, @recovered, @total, @download_bytes, @upload_bytes)',
      ),
      insertJob: db.prepare('INSERT INTO jobs (pipeline, id, version, salt, state, created) VALUES (?, ?, ?, ?, ?, ?)'),
      setJobState: db.prepare('UPDATE jobs SET state = ?, reason = ?, finished = ? WHERE pipeline = ? AND id = ?'),
      startJob: db.prepare("UPDATE jobs SET state = 'JOB_RUNNING', started = COALESCE(started, ?), total = ?, runner = ?, lease_until = ? WHERE pipeline = ? AND id = ?"),
      leaseJob: db.prepare('UPDATE jobs SET runner = ?, lease_until = ? WHERE pipeline = ? AND id = ?'),
      setCounts: db.prepare(
        'UPDATE jobs SET processed = @processed, skipped = @skipped, failed = @failed, recovered = @recovered, download_bytes = @download_bytes, upload_bytes = @upload_bytes WHERE pipeline = @pipeline AND id = @id',
      ),
      deleteJobs: db.prepare('DELETE FROM jobs WHERE pipeline = ?'),
      deleteJob: db.prepare('DELETE FROM jobs WHERE pipeline = ? AND id = ?'),
      lastSuccess: db.prepare("SELECT * FROM jobs WHERE pipeline = ? AND state = 'JOB_SUCCESS' AND rowid <> (SELECT rowid FROM jobs WHERE pipeline = ? AND id = ?) ORDER BY finished DESC, rowid DESC LIMIT 1"),
      insertDatum: db.prepare(
        'INSERT INTO datums (pipeline, job, id, seq, hash, state, inputs, output, started, finished) VALUES (@pipeline, @job, @id, @seq, @hash, @state, @inputs, @output, @started, @finished)',
      ),
      datum: db.prepare('SELECT * FROM datums WHERE pipeline = ? AND job = ? AND id = ?'),
      datums: db.prepare('SELECT * FROM datums WHERE pipeline = ? AND job = ? ORDER BY seq'),
      previousJob: db.prepare('SELECT id FROM jobs WHERE pipeline = ? AND started IS NOT NULL AND rowid < (SELECT rowid FROM jobs WHERE pipeline = ? AND id = ?) ORDER BY rowid DESC LIMIT 1').pluck(),
      results: db.prepare('SELECT id, hash, state, output FROM datums WHERE pipeline = ? AND job = ?'),
      inputs: db.prepare('SELECT id, inputs FROM datums WHERE pipeline = ? AND job = ? ORDER BY seq'),
      sums: db.prepare("SELECT COALESCE(SUM(download_bytes), 0) AS download_bytes, COALESCE(SUM(upload_bytes), 0) AS upload_bytes FROM datums WHERE pipeline = ? AND job = ? AND state <> 'skipped'"),
      firstFailed: db.prepare("SELECT id FROM datums WHERE pipeline = ? AND job = ? AND state = 'failed' ORDER BY seq LIMIT 1").pluck(),
      anyDatum: db.prepare('SELECT 1 FROM datums WHERE pipeline = ? LIMIT 1').pluck(),
      datumResult: db.prepare("SELECT * FROM datums WHERE pipeline = ? AND id = ? AND hash = ? AND state IN ('success', 'skipped') ORDER BY finished DESC LIMIT 1"),
      // expired claims first (few), then pending ones in plan order: both walk datums_by_state,
      // so a claim costs the same for the first datum of a job as for the 10,000th
      claimDatums: db.prepare(
        `UPDATE datums SET state = 'running', claimed_by = @runner, lease_until = @lease, started = @now, attempts = attempts + 1
         WHERE rowid IN (
           SELECT rowid FROM datums WHERE pipeline = @pipeline AND job = @job AND state = 'running' AND lease_until < @now
           UNION ALL
           SELECT rowid FROM (SELECT rowid FROM datums WHERE pipeline = @pipeline AND job = @job AND state = 'pending' ORDER BY seq LIMIT @limit)
           LIMIT @limit)
         RETURNING *`,
      ),
      // only a running datum: one sent back to the queue by `restart datum` meanwhile is run again
      finishDatum: db.prepare(
        "UPDATE datums SET state = @state, output = @output, finished = @finished, error = @error, claimed_by = NULL, lease_until = NULL, download_bytes = @download_bytes, upload_bytes = @upload_bytes WHERE pipeline = @pipeline AND job = @job AND id = @id AND state = 'running'",
      ),
      addAttempt: db.prepare('UPDATE datums SET attempts = attempts + 1 WHERE pipeline = ? AND job = ? AND id = ?'),
      // `restart datum`: the datum goes back to the queue; its runner sees the claim gone and kills it
      restartDatum: db.prepare("UPDATE datums SET state = 'pending', claimed_by = NULL, lease_until = NULL, started = NULL WHERE pipeline = ? AND job = ? AND id = ? AND state = 'running'"),
      claimedBy: db.prepare("SELECT id FROM datums WHERE pipeline = ? AND job = ? AND state = 'running' AND claimed_by = ?").pluck(),
      releaseClaims: db.prepare("UPDATE datums SET state = 'pending', claimed_by = NULL, lease_until = NULL, started = NULL WHERE pipeline = ? AND job = ? AND state = 'running' AND claimed_by = ?"),
      // through datums_by_state: the running datums of one job, not every datum the store ever ran
      renewDatums: db.prepare("UPDATE datums SET lease_until = ? WHERE pipeline = ? AND job = ? AND state = 'running' AND claimed_by = ?"),
      countStates: db.prepare('SELECT state, COUNT(*) AS n FROM datums WHERE pipeline = ? AND job = ? GROUP BY state'),
      deleteDatums: db.prepare('DELETE FROM datums WHERE pipeline = ?'),
      deleteJobDatums: db.prepare('DELETE FROM datums WHERE pipeline = ? AND job = ?'),
      outputs: db.prepare('SELECT DISTINCT output FROM datums WHERE output IS NOT NULL').pluck(),
      cronTick: db.prepare('SELECT last_tick FROM cron_ticks WHERE pipeline = ? AND input = ?').pluck(),
      setCronTick: db.prepare('INSERT OR REPLACE INTO cron_ticks (pipeline, input, last_tick) VALUES (?, ?, ?)'),
      cronInputs: db.prepare('SELECT input FROM cron_ticks WHERE pipeline = ?').pluck(),
      deleteCronTick: db.prepare('DELETE FROM cron_ticks WHERE pipeline = ? AND input = ?'),
      deleteCronTicks: db.prepare('DELETE FROM cron_ticks WHERE pipeline = ?'),
    };
  }

  /** Become the store's background runner unless a live one exists. */
  claimRunner(id: string, alive: (owner: { pid: number; host: string; until: number }) => boolean): boolean {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT value FROM settings WHERE key = 'runner'").pluck().get() as string | undefined;
      if (row) {
        const owner = JSON.parse(row) as { id: string; pid: number; host: string; until: number };
        if (owner.id !== id && alive(owner)) return false;
      }
      this.db.prepare("INSERT OR REPLACE INTO settings (key, value) VALUES ('runner', ?)").run(JSON.stringify({ id, pid: process.pid, host: hostHere(), until: Date.now() + 60_000 }));
      return true;
    }).immediate();
  }

  /** The background runner holding the lease, if any (alive or not). */
  runnerOwner(): { id: string; pid: number; host: string; until: number } | undefined {
    const row = this.db.prepare("SELECT value FROM settings WHERE key = 'runner'").pluck().get() as string | undefined;
    return row ? (JSON.parse(row) as { id: string; pid: number; host: string; until: number }) : undefined;
  }

  releaseRunner(id: string): void {
    const row = this.db.prepare("SELECT value FROM settings WHERE key = 'runner'").pluck().get() as string | undefined;
    if (row && (JSON.parse(row) as { id: string }).id === id) this.db.prepare("DELETE FROM settings WHERE key = 'runner'").run();
  }

  getPipeline(name: string): PipelineRow | undefined {
    return this.q.pipeline.get(name) as PipelineRow | undefined;
  }
  listPipelines(): PipelineRow[] {
    return this.q.pipelines.all() as PipelineRow[];
  }
  /** The pipeline whose output branch is repo@branch, if any. */
  pipelineOwning(repo: string, branch: string): PipelineRow | undefined {
    return this.q.byOutput.get(repo, branch) as PipelineRow | undefined;
  }
  insertPipeline(p: PipelineRow): void {
    this.q.insertPipeline.run(p);
  }
  updatePipeline(p: Omit<PipelineRow, 'stopped' | 'created'>): void {
    this.q.updatePipeline.run(p);
  }
  setStopped(name: string, stopped: boolean): void {
    this.q.setStopped.run(stopped ? 1 : 0, Date.now(), name);
  }
  deletePipeline(name: string): void {
    this.q.deleteCronTicks.run(name);
    this.q.deleteDatums.run(name);
    this.q.deleteJobs.run(name);
    this.q.deletePipeline.run(name);
  }

  getJob(pipeline: string, id: string): JobRow | undefined {
    return this.q.job.get(pipeline, id) as JobRow | undefined;
  }
  jobsOf(pipeline: string): JobRow[] {
    return this.q.jobsOf.all(pipeline) as JobRow[];
  }
  jobsById(id: string): JobRow[] {
    return this.q.jobsById.all(id) as JobRow[];
  }
  allJobs(): JobRow[] {
    return this.q.allJobs.all() as JobRow[];
  }
  /** Jobs not yet terminal, oldest first. */
  openJobs(): JobRow[] {
    return this.q.openJobs.all() as JobRow[];
  }
  /** Jobs not yet terminal, and those that ended at or after `endedSince` (ms): what a log follower watches. */
  liveJobs(endedSince: number): Pick<JobRow, 'pipeline' | 'id' | 'state' | 'created' | 'started' | 'finished'>[] {
    return this.q.liveJobs.all(endedSince) as Pick<JobRow, 'pipeline' | 'id' | 'state' | 'created' | 'started' | 'finished'>[];
  }
  /** A finished job's record from another store (a pull); one already here is left as it is. */
  importJob(j: Omit<JobRow, 'runner' | 'lease_until'>): void {
    this.q.importJob.run(j);
  }
  insertJob(pipeline: string, id: string, version: number, salt: string): void {
    this.q.insertJob.run(pipeline, id, version, salt, 'JOB_CREATED', Date.now());
  }
  setJobState(pipeline: string, id: string, state: JobState, reason: string | null, finished: number | null): void {
    this.q.setJobState.run(state, reason, finished, pipeline, id);
  }
  startJob(pipeline: string, id: string, total: number, runner: string, leaseUntil: number): void {
    this.q.startJob.run(Date.now(), total, runner, leaseUntil, pipeline, id);
  }
  leaseJob(pipeline: string, id: string, runner: string | null, leaseUntil: number | null): void {
    this.q.leaseJob.run(runner, leaseUntil, pipeline, id);
  }
  setCounts(c: Pick<JobRow, 'pipeline' | 'id' | 'processed' | 'skipped' | 'failed' | 'recovered' | 'download_bytes' | 'upload_bytes'>): void {
    this.q.setCounts.run(c);
  }
  deleteJob(pipeline: string, id: string): void {
    this.q.deleteJobDatums.run(pipeline, id);
    this.q.deleteJob.run(pipeline, id);
  }
  /** The newest successful job of a pipeline other than `exceptJob`: the base a new job builds on. */
  lastSuccessfulJob(pipeline: string, exceptJob: string): JobRow | undefined {
    return this.q.lastSuccess.get(pipeline, pipeline, exceptJob) as JobRow | undefined;
  }

  insertDatum(d: Pick<DatumRow, 'pipeline' | 'job' | 'id' | 'seq' | 'hash' | 'state' | 'inputs' | 'output' | 'started' | 'finished'>): void {
    this.q.insertDatum.run(d);
  }
  getDatum(pipeline: string, job: string, id: string): DatumRow | undefined {
    return this.q.datum.get(pipeline, job, id) as DatumRow | undefined;
  }
  datumsOf(pipeline: string, job: string): DatumRow[] {
    return this.q.datums.all(pipeline, job) as DatumRow[];
  }
  /** The job of this pipeline started most recently before `job`: its rows carry every reusable result forward. */
  previousJob(pipeline: string, job: string): string | undefined {
    return this.q.previousJob.get(pipeline, pipeline, job) as string | undefined;
  }
  /** A job's datums with only their input files (JSON), one row at a time, in plan order. */
  datumInputs(pipeline: string, job: string): IterableIterator<Pick<DatumRow, 'id' | 'inputs'>> {
    return this.q.inputs.iterate(pipeline, job) as IterableIterator<Pick<DatumRow, 'id' | 'inputs'>>;
  }
  /** A job's datums without their inputs: what planning and merging need, at a fraction of the read. */
  datumResults(pipeline: string, job: string): Pick<DatumRow, 'id' | 'hash' | 'state' | 'output'>[] {
    return this.q.results.all(pipeline, job) as Pick<DatumRow, 'id' | 'hash' | 'state' | 'output'>[];
  }
  /** Bytes moved by the datums a job ran itself (skipped ones moved nothing). */
  datumBytes(pipeline: string, job: string): { download_bytes: number; upload_bytes: number } {
    return this.q.sums.get(pipeline, job) as { download_bytes: number; upload_bytes: number };
  }
  firstFailedDatum(pipeline: string, job: string): string | undefined {
    return this.q.firstFailed.get(pipeline, job) as string | undefined;
  }
  /** Whether any job of the pipeline has datum rows (none: no earlier result to reuse). */
  hasDatums(pipeline: string): boolean {
    return this.q.anyDatum.get(pipeline) !== undefined;
  }
  /** A successful earlier result for this datum identity, if any. */
  datumResult(pipeline: string, id: string, hash: string): DatumRow | undefined {
    return this.q.datumResult.get(pipeline, id, hash) as DatumRow | undefined;
  }
  /** Claim up to `limit` datums in one statement: one write transaction per batch, not per datum. */
  claimDatums(pipeline: string, job: string, runner: string, leaseMs: number, limit: number): DatumRow[] {
    const now = Date.now();
    const rows = this.q.claimDatums.all({ runner, lease: now + leaseMs, now, pipeline, job, limit }) as DatumRow[];
    return rows.sort((a, b) => a.seq - b.seq);
  }
  finishDatum(d: Pick<DatumRow, 'pipeline' | 'job' | 'id' | 'state' | 'output' | 'finished' | 'error' | 'download_bytes' | 'upload_bytes'>): void {
    this.q.finishDatum.run(d);
  }
  /** Count one more try of a claimed datum (a retry within the same claim). */
  addAttempt(pipeline: string, job: string, id: string): void {
    this.q.addAttempt.run(pipeline, job, id);
  }
  /** Send running datums back to the queue (`restart datum`); returns those that were running. */
  restartDatums(pipeline: string, job: string, ids: readonly string[]): string[] {
    return ids.filter((id) => this.q.restartDatum.run(pipeline, job, id).changes > 0);
  }
  /** A runner that stops gives its unfinished datums back to the queue (else they wait for its lease to run out). */
  releaseClaims(pipeline: string, job: string, runner: string): number {
    return this.q.releaseClaims.run(pipeline, job, runner).changes;
  }
  /** The datums of a job this runner holds (claimed and not finished). */
  datumsClaimedBy(pipeline: string, job: string, runner: string): Set<string> {
    return new Set(this.q.claimedBy.all(pipeline, job, runner) as string[]);
  }
  renewDatumLeases(pipeline: string, job: string, runner: string, leaseUntil: number): void {
    this.q.renewDatums.run(leaseUntil, pipeline, job, runner);
  }
  datumStates(pipeline: string, job: string): Record<DatumState, number> {
    const out: Record<DatumState, number> = { pending: 0, running: 0, success: 0, skipped: 0, failed: 0, recovered: 0 };
    for (const r of this.q.countStates.all(pipeline, job) as { state: DatumState; n: number }[]) out[r.state] = r.n;
    return out;
  }
  /** When a cron input last ticked (ms), if it ever did. Read it in the transaction that writes the next tick. */
  lastCronTick(pipeline: string, input: string): number | undefined {
    return this.q.cronTick.get(pipeline, input) as number | undefined;
  }
  setLastCronTick(pipeline: string, input: string, tick: number): void {
    this.q.setCronTick.run(pipeline, input, tick);
  }
  /** Forget the ticks of cron inputs a pipeline no longer has (after an update renamed or removed them). */
  keepCronTicks(pipeline: string, inputs: readonly string[]): void {
    for (const i of this.q.cronInputs.all(pipeline) as string[]) if (!inputs.includes(i)) this.q.deleteCronTick.run(pipeline, i);
  }

  /** Every datum output root: gc keeps these trees alive (later jobs reuse them). */
  allDatumOutputs(): NodeId[] {
    return this.q.outputs.all() as NodeId[];
  }
}
