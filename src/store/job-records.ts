// Pipelines, jobs and datums as records. The only module with SQL about them; the pipeline layer
// (src/pipeline) holds the rules and calls this through the store core.
import { guardSqlite, type Db } from './meta-db.js';
import type { NodeId } from './hash.js';
import { hostname as hostHere } from 'node:os';
import type { DatumFile } from './types.js';
import { whenSettled } from './unit-of-work.js';

export type JobState = 'JOB_CREATED' | 'JOB_STARTING' | 'JOB_RUNNING' | 'JOB_FINISHING' | 'JOB_SUCCESS' | 'JOB_FAILURE' | 'JOB_KILLED' | 'JOB_UNRUNNABLE';
export const TERMINAL_JOB_STATES: readonly JobState[] = ['JOB_SUCCESS', 'JOB_FAILURE', 'JOB_KILLED', 'JOB_UNRUNNABLE'];

export type DatumState = 'pending' | 'running' | 'success' | 'skipped' | 'failed' | 'recovered';

export type { DatumFile, WindowBounds } from './types.js';

export interface PipelineRecord {
  name: string;
  version: number;
  /** the decoded spec, as the pipeline layer wrote it (a JSON value) */
  spec: unknown;
  /** the spec as the user wrote it */
  raw: string;
  salt: string;
  outputBranch: string;
  stopped: boolean;
  created: number;
  updated: number;
}

export interface JobRecord {
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
  downloadBytes: number;
  uploadBytes: number;
  runner: string | null;
  leaseUntil: number | null;
}

/** What a log follower watches of a job. */
export type JobSummary = Pick<JobRecord, 'pipeline' | 'id' | 'state' | 'created' | 'started' | 'finished'>;

export interface DatumRecord {
  pipeline: string;
  job: string;
  id: string;
  seq: number;
  hash: string;
  state: DatumState;
  inputs: DatumFile[];
  output: NodeId | null;
  attempts: number;
  started: number | null;
  finished: number | null;
  error: string | null;
  claimedBy: string | null;
  leaseUntil: number | null;
  downloadBytes: number;
  uploadBytes: number;
}

/** How an attempt at a datum ended: its datum state, or `returned` (given back to the queue unfinished). */
export type AttemptOutcome = 'success' | 'failed' | 'recovered' | 'returned';

/**
 * One attempt at a datum: which worker (runner) ran it, when, and how it ended. A claim opens the
 * row (started = the claim); the attempt's end fills it in. A row left open (finished null) is an
 * attempt whose worker went away: the datum was taken over when its lease ran out.
 */
export interface DatumAttempt {
  pipeline: string;
  job: string;
  datum: string;
  /** 1, 2, … as the datum's `attempts` counted it */
  attempt: number;
  worker: string;
  started: number;
  finished: number | null;
  outcome: AttemptOutcome | null;
  error: string | null;
}

/** A datum as planning records it. */
export type NewDatum = Pick<DatumRecord, 'pipeline' | 'job' | 'id' | 'seq' | 'hash' | 'state' | 'inputs' | 'output' | 'started' | 'finished'>;
/**
 * A datum's result, as its runner records it. `runner` is the runner whose claim the result ends:
 * a runner whose lease ran out, and whose datum another has taken over, records nothing.
 */
export type DatumResult = Pick<DatumRecord, 'pipeline' | 'job' | 'id' | 'seq' | 'state' | 'output' | 'finished' | 'error' | 'downloadBytes' | 'uploadBytes'> & { runner: string };
/** What planning and merging need of a datum. */
export type DatumOutcome = Pick<DatumRecord, 'id' | 'hash' | 'state' | 'output'>;
export type JobCounts = Pick<JobRecord, 'pipeline' | 'id' | 'processed' | 'skipped' | 'failed' | 'recovered' | 'downloadBytes' | 'uploadBytes'>;
export type RunnerLease = { id: string; pid: number; host: string; until: number };

/**
 * The pipeline metadata's contract: pipelines, jobs, datums and their outputs, cron ticks.
 * Implemented on SQLite by SqliteJobRecords; a network database implements it again, so every
 * method is asynchronous and one round trip: batch-shaped methods take or return many records
 * at once, `iterate*` methods stream in pages. Claims and state changes that must go together
 * are made inside a unit of work (StoreCore.unitOfWork); a method called outside any unit is a
 * unit of its own, and sees what the last finished unit left.
 */
export interface JobRecords {
  /** Become the store's background runner unless a live one exists. */
  claimRunner(id: string, alive: (owner: RunnerLease) => boolean): Promise<boolean>;
  /** The background runner holding the lease, if any (alive or not). */
  runnerOwner(): Promise<RunnerLease | undefined>;
  releaseRunner(id: string): Promise<void>;
  getPipeline(name: string): Promise<PipelineRecord | undefined>;
  listPipelines(): Promise<PipelineRecord[]>;
  /** The pipeline whose output branch is repo@branch, if any. */
  pipelineOwning(repo: string, branch: string): Promise<PipelineRecord | undefined>;
  insertPipeline(p: PipelineRecord): Promise<void>;
  updatePipeline(p: Omit<PipelineRecord, 'stopped' | 'created'>): Promise<void>;
  setStopped(name: string, stopped: boolean): Promise<void>;
  deletePipeline(name: string): Promise<void>;
  getJob(pipeline: string, id: string): Promise<JobRecord | undefined>;
  jobsOf(pipeline: string): Promise<JobRecord[]>;
  jobsById(id: string): Promise<JobRecord[]>;
  allJobs(): Promise<JobRecord[]>;
  /** Jobs not yet terminal, oldest first. */
  openJobs(): Promise<JobRecord[]>;
  /**
   * When the first lease of a datum running in an open job runs out (ms), if any is running: a
   * runner with nothing to claim looks again then, as a lease running out sends no notification.
   */
  nextLeaseEnd(): Promise<number | undefined>;
  /** Jobs not yet terminal, and those that ended at or after `endedSince` (ms): what a log follower watches. */
  liveJobs(endedSince: number): Promise<JobSummary[]>;
  /** A finished job's record from another store (a pull); one already here is left as it is. */
  importJob(j: Omit<JobRecord, 'runner' | 'leaseUntil'>): Promise<void>;
  insertJob(pipeline: string, id: string, version: number, salt: string): Promise<void>;
  setJobState(pipeline: string, id: string, state: JobState, reason: string | null, finished: number | null): Promise<void>;
  startJob(pipeline: string, id: string, total: number, runner: string, leaseUntil: number): Promise<void>;
  leaseJob(pipeline: string, id: string, runner: string | null, leaseUntil: number | null): Promise<void>;
  setCounts(c: JobCounts): Promise<void>;
  deleteJob(pipeline: string, id: string): Promise<void>;
  /** The newest successful job of a pipeline other than `exceptJob`: the base a new job builds on. */
  lastSuccessfulJob(pipeline: string, exceptJob: string): Promise<JobRecord | undefined>;
  /** Record a job's planned datums, all at once. */
  insertDatums(ds: readonly NewDatum[]): Promise<void>;
  getDatum(pipeline: string, job: string, id: string): Promise<DatumRecord | undefined>;
  datumsOf(pipeline: string, job: string): Promise<DatumRecord[]>;
  /** The job of this pipeline started most recently before `job`: its rows carry every reusable result forward. */
  previousJob(pipeline: string, job: string): Promise<string | undefined>;
  /** A job's datums with only their input files, in plan order, a page at a time. */
  iterateDatumInputs(pipeline: string, job: string): AsyncIterable<Pick<DatumRecord, 'id' | 'inputs'>>;
  /** A job's datums without their inputs: what planning and merging need, at a fraction of the read. */
  datumOutcomes(pipeline: string, job: string): Promise<DatumOutcome[]>;
  /** Bytes moved by the datums a job ran itself (skipped ones moved nothing). */
  datumBytes(pipeline: string, job: string): Promise<{ downloadBytes: number; uploadBytes: number }>;
  firstFailedDatum(pipeline: string, job: string): Promise<string | undefined>;
  /** Whether any job of the pipeline has datum records (none: no earlier result to reuse). */
  hasDatums(pipeline: string): Promise<boolean>;
  /**
   * Successful earlier results for these datum identities, keyed by datum id (a miss is absent):
   * the newest row that ran and succeeded. A skipped row only carries such a row's output, and
   * rows go only with their pipeline, so skipped rows are not looked up (nor indexed for it).
   */
  priorResults(pipeline: string, wanted: readonly { id: string; hash: string }[]): Promise<Map<string, DatumRecord>>;
  /**
   * Claim up to `limit` datums at once, in plan order: one write per batch, not per datum. Each
   * claim opens the datum's attempt row for `runner` in the same write.
   */
  claimDatums(pipeline: string, job: string, runner: string, leaseMs: number, limit: number): Promise<DatumRecord[]>;
  /**
   * Record datum results; only a datum still running under the result's runner takes it (one
   * restarted meanwhile runs again; one taken over after the runner's lease ran out keeps the
   * new owner's claim and, later, its result).
   */
  finishDatums(results: readonly DatumResult[]): Promise<void>;
  /** Count one more try of a claimed datum (a retry within the same claim) and open its attempt row for `runner`. */
  addAttempt(pipeline: string, job: string, id: string, runner: string): Promise<void>;
  /** Send running datums back to the queue (`restart datum`), their open attempt rows ending `returned`; returns those that were running. */
  restartDatums(pipeline: string, job: string, ids: readonly string[]): Promise<string[]>;
  /**
   * Record how attempts ended (and when they really started), filling in the rows their claims
   * opened. A row already ended (`returned` by `restart datum` or a release) keeps its end: a
   * runner that finishes after losing its claim does not rewrite it.
   */
  finishAttempts(rows: readonly DatumAttempt[]): Promise<void>;
  /** A job's attempt rows (one datum's when `datum` is given), by datum and attempt. */
  attemptsOf(pipeline: string, job: string, datum?: string): Promise<DatumAttempt[]>;
  /**
   * A runner that stops gives its unfinished datums back to the queue (else they wait for its lease
   * to run out); their open attempt rows end `returned`.
   */
  releaseClaims(pipeline: string, job: string, runner: string): Promise<number>;
  /**
   * Renew the lease of every datum of a job this runner holds to `leaseUntil`; returns the ids it
   * still holds (claimed and not finished). `dueBefore`: a lease that already lasts until then may
   * be left as it is (a store whose rewritten rows cost it, PostgreSQL, then writes fewer).
   * `held`: the datums the runner knows it holds; a store may then renew and answer for those
   * only (PostgreSQL looks them up by key instead of scanning the job's running rows).
   */
  renewDatumLeases(pipeline: string, job: string, runner: string, leaseUntil: number, dueBefore?: number, held?: readonly string[]): Promise<Set<string>>;
  datumStates(pipeline: string, job: string): Promise<Record<DatumState, number>>;
  /** When a cron input last ticked (ms), if it ever did. Read it in the unit that writes the next tick. */
  lastCronTick(pipeline: string, input: string): Promise<number | undefined>;
  setLastCronTick(pipeline: string, input: string, tick: number): Promise<void>;
  /** Forget the ticks of cron inputs a pipeline no longer has (after an update renamed or removed them). */
  keepCronTicks(pipeline: string, inputs: readonly string[]): Promise<void>;
  /** Every datum output root: gc keeps these trees alive (later jobs reuse them). */
  allDatumOutputs(): Promise<NodeId[]>;
}

interface PipelineRow {
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

interface JobRow extends Omit<JobRecord, 'downloadBytes' | 'uploadBytes' | 'leaseUntil'> {
  download_bytes: number;
  upload_bytes: number;
  lease_until: number | null;
}

interface DatumRow extends Omit<DatumRecord, 'inputs' | 'claimedBy' | 'leaseUntil' | 'downloadBytes' | 'uploadBytes'> {
  inputs: string;
  claimed_by: string | null;
  lease_until: number | null;
  download_bytes: number;
  upload_bytes: number;
}

const pipelineOf = (r: PipelineRow): PipelineRecord => ({
  name: r.name,
  version: r.version,
  spec: JSON.parse(r.spec) as unknown,
  raw: r.raw,
  salt: r.salt,
  outputBranch: r.output_branch,
  stopped: r.stopped !== 0,
  created: r.created,
  updated: r.updated,
});

const jobOf = (r: JobRow): JobRecord => ({
  pipeline: r.pipeline,
  id: r.id,
  version: r.version,
  salt: r.salt,
  state: r.state,
  reason: r.reason,
  created: r.created,
  started: r.started,
  finished: r.finished,
  processed: r.processed,
  skipped: r.skipped,
  failed: r.failed,
  recovered: r.recovered,
  total: r.total,
  downloadBytes: r.download_bytes,
  uploadBytes: r.upload_bytes,
  runner: r.runner,
  leaseUntil: r.lease_until,
});

const datumOf = (r: DatumRow): DatumRecord => ({
  pipeline: r.pipeline,
  job: r.job,
  id: r.id,
  seq: r.seq,
  hash: r.hash,
  state: r.state,
  inputs: JSON.parse(r.inputs) as DatumFile[],
  output: r.output,
  attempts: r.attempts,
  started: r.started,
  finished: r.finished,
  error: r.error,
  claimedBy: r.claimed_by,
  leaseUntil: r.lease_until,
  downloadBytes: r.download_bytes,
  uploadBytes: r.upload_bytes,
});

/** Rows a datum iteration reads per query: bounded memory, and no cursor held open across an await. */
const DATUM_PAGE = 1000;

/**
 * JobRecords on SQLite: prepared statements over its tables, each method an async wrapper. A
 * method called outside a unit of work first waits for the unit in flight on the connection
 * (`settled`), so that it never sees half of one.
 */
export class SqliteJobRecords implements JobRecords {
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly settled: () => Promise<void> | undefined = () => undefined,
  ) {
    this.q = {
      runner: db.prepare("SELECT value FROM settings WHERE key = 'runner'").pluck(),
      setRunner: db.prepare("INSERT OR REPLACE INTO settings (key, value) VALUES ('runner', ?)"),
      dropRunner: db.prepare("DELETE FROM settings WHERE key = 'runner'"),
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
      nextLeaseEnd: db
        .prepare(
          "SELECT min(d.lease_until) FROM jobs j JOIN datums d ON d.pipeline = j.pipeline AND d.job = j.id AND d.state = 'running' WHERE j.state IN ('JOB_CREATED', 'JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING')",
        )
        .pluck(),
      // log followers poll this every ~200 ms: a scan of small columns, never the whole rows
      liveJobs: db.prepare(
        "SELECT pipeline, id, state, created, started, finished FROM jobs WHERE state IN ('JOB_CREATED', 'JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING') OR finished >= ? ORDER BY created, rowid",
      ),
      importJob: db.prepare(
        'INSERT OR IGNORE INTO jobs (pipeline, id, version, salt, state, reason, created, started, finished, processed, skipped, failed, recovered, total, download_bytes, upload_bytes) VALUES (@pipeline, @id, @version, @salt, @state, @reason, @created, @started, @finished, @processed, @skipped, @failed, @recovered, @total, @downloadBytes, @uploadBytes)',
      ),
      insertJob: db.prepare('INSERT INTO jobs (pipeline, id, version, salt, state, created) VALUES (?, ?, ?, ?, ?, ?)'),
      setJobState: db.prepare('UPDATE jobs SET state = ?, reason = ?, finished = ? WHERE pipeline = ? AND id = ?'),
      startJob: db.prepare("UPDATE jobs SET state = 'JOB_RUNNING', started = COALESCE(started, ?), total = ?, runner = ?, lease_until = ? WHERE pipeline = ? AND id = ?"),
      leaseJob: db.prepare('UPDATE jobs SET runner = ?, lease_until = ? WHERE pipeline = ? AND id = ?'),
      setCounts: db.prepare(
        'UPDATE jobs SET processed = @processed, skipped = @skipped, failed = @failed, recovered = @recovered, download_bytes = @downloadBytes, upload_bytes = @uploadBytes WHERE pipeline = @pipeline AND id = @id',
      ),
      deleteJobs: db.prepare('DELETE FROM jobs WHERE pipeline = ?'),
      deleteJob: db.prepare('DELETE FROM jobs WHERE pipeline = ? AND id = ?'),
      lastSuccess: db.prepare("SELECT * FROM jobs WHERE pipeline = ? AND state = 'JOB_SUCCESS' AND rowid <> (SELECT rowid FROM jobs WHERE pipeline = ? AND id = ?) ORDER BY finished DESC, rowid DESC LIMIT 1"),
      // reused: a skipped row, kept out of datums_by_hash (format 12)
      insertDatum: db.prepare(
        'INSERT INTO datums (pipeline, job, id, seq, hash, state, inputs, output, started, finished, reused) VALUES (@pipeline, @job, @id, @seq, @hash, @state, @inputs, @output, @started, @finished, @reused)',
      ),
      datum: db.prepare('SELECT * FROM datums WHERE pipeline = ? AND job = ? AND id = ?'),
      deleteDatum: db.prepare('DELETE FROM datums WHERE pipeline = ? AND job = ? AND id = ?'),
      datums: db.prepare('SELECT * FROM datums WHERE pipeline = ? AND job = ? ORDER BY seq'),
      previousJob: db.prepare('SELECT id FROM jobs WHERE pipeline = ? AND started IS NOT NULL AND rowid < (SELECT rowid FROM jobs WHERE pipeline = ? AND id = ?) ORDER BY rowid DESC LIMIT 1').pluck(),
      results: db.prepare('SELECT id, hash, state, output FROM datums WHERE pipeline = ? AND job = ?'),
      inputsPage: db.prepare('SELECT id, seq, inputs FROM datums WHERE pipeline = ? AND job = ? AND seq > ? ORDER BY seq LIMIT ?'),
      sums: db.prepare("SELECT COALESCE(SUM(download_bytes), 0) AS downloadBytes, COALESCE(SUM(upload_bytes), 0) AS uploadBytes FROM datums WHERE pipeline = ? AND job = ? AND state <> 'skipped'"),
      firstFailed: db.prepare("SELECT id FROM datums WHERE pipeline = ? AND job = ? AND state = 'failed' ORDER BY seq LIMIT 1").pluck(),
      anyDatum: db.prepare('SELECT 1 FROM datums WHERE pipeline = ? LIMIT 1').pluck(),
      // the newest successful run of an identity: a skipped row only carries such a row's output,
      // and only rows that were not reused are in datums_by_hash (format 12)
      datumResult: db.prepare("SELECT * FROM datums WHERE pipeline = ? AND id = ? AND hash = ? AND reused = 0 AND state = 'success' ORDER BY finished DESC LIMIT 1"),
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
      // only a datum running under this runner: one sent back to the queue by `restart datum`
      // meanwhile is run again, one retaken after the runner's lease ran out is the new owner's
      finishDatum: db.prepare(
        "UPDATE datums SET state = @state, output = @output, finished = @finished, error = @error, claimed_by = NULL, lease_until = NULL, download_bytes = @downloadBytes, upload_bytes = @uploadBytes WHERE pipeline = @pipeline AND job = @job AND id = @id AND state = 'running' AND claimed_by = @runner",
      ),
      addAttempt: db.prepare('UPDATE datums SET attempts = attempts + 1 WHERE pipeline = ? AND job = ? AND id = ? RETURNING attempts').pluck(),
      // `restart datum`: the datum goes back to the queue; its runner sees the claim gone and kills it
      restartDatum: db.prepare("UPDATE datums SET state = 'pending', claimed_by = NULL, lease_until = NULL, started = NULL WHERE pipeline = ? AND job = ? AND id = ? AND state = 'running'"),
      releaseClaims: db.prepare("UPDATE datums SET state = 'pending', claimed_by = NULL, lease_until = NULL, started = NULL WHERE pipeline = ? AND job = ? AND state = 'running' AND claimed_by = ?"),
      // through datums_by_state: the running datums of one job, not every datum the store ever ran
      renewDatums: db.prepare("UPDATE datums SET lease_until = ? WHERE pipeline = ? AND job = ? AND state = 'running' AND claimed_by = ? RETURNING id").pluck(),
      countStates: db.prepare('SELECT state, COUNT(*) AS n FROM datums WHERE pipeline = ? AND job = ? GROUP BY state'),
      deleteDatums: db.prepare('DELETE FROM datums WHERE pipeline = ?'),
      deleteAttempts: db.prepare('DELETE FROM datum_attempts WHERE pipeline = ?'),
      deleteJobAttempts: db.prepare('DELETE FROM datum_attempts WHERE pipeline = ? AND job = ?'),
      // a claim opens the attempt row; a retaken datum's earlier row stays open (its worker went away)
      openAttempt: db.prepare('INSERT OR REPLACE INTO datum_attempts (pipeline, job, datum, attempt, worker, started) VALUES (?, ?, ?, ?, ?, ?)'),
      finishAttempt: db.prepare(
        `INSERT INTO datum_attempts (pipeline, job, datum, attempt, worker, started, finished, outcome, error) VALUES (@pipeline, @job, @datum, @attempt, @worker, @started, @finished, @outcome, @error)
         ON CONFLICT (pipeline, job, datum, attempt) DO UPDATE SET worker = excluded.worker, started = excluded.started, finished = excluded.finished, outcome = excluded.outcome, error = excluded.error
         WHERE datum_attempts.finished IS NULL`,
      ),
      attempts: db.prepare('SELECT * FROM datum_attempts WHERE pipeline = ? AND job = ? ORDER BY datum, attempt'),
      // the attempt of the claim being undone (an earlier open row is a lost one, and stays so)
      returnAttempt: db.prepare(
        "UPDATE datum_attempts SET finished = @now, outcome = 'returned' WHERE pipeline = @pipeline AND job = @job AND datum = @id AND finished IS NULL AND attempt = (SELECT attempts FROM datums WHERE pipeline = @pipeline AND job = @job AND id = @id)",
      ),
      datumAttempts: db.prepare('SELECT * FROM datum_attempts WHERE pipeline = ? AND job = ? AND datum = ? ORDER BY attempt'),
      returnAttempts: db.prepare(
        "UPDATE datum_attempts SET finished = ?, outcome = 'returned' WHERE pipeline = ? AND job = ? AND worker = ? AND finished IS NULL AND datum IN (SELECT id FROM datums WHERE pipeline = ? AND job = ? AND state = 'running' AND claimed_by = ?)",
      ),
      deleteJobDatums: db.prepare('DELETE FROM datums WHERE pipeline = ? AND job = ?'),
      outputs: db.prepare('SELECT DISTINCT output FROM datums WHERE output IS NOT NULL').pluck(),
      cronTick: db.prepare('SELECT last_tick FROM cron_ticks WHERE pipeline = ? AND input = ?').pluck(),
      setCronTick: db.prepare('INSERT OR REPLACE INTO cron_ticks (pipeline, input, last_tick) VALUES (?, ?, ?)'),
      cronInputs: db.prepare('SELECT input FROM cron_ticks WHERE pipeline = ?').pluck(),
      deleteCronTick: db.prepare('DELETE FROM cron_ticks WHERE pipeline = ? AND input = ?'),
      deleteCronTicks: db.prepare('DELETE FROM cron_ticks WHERE pipeline = ?'),
    };
  }

  /**
   * Run `f` once no unit of another flow is open on the connection. A store that stays busy, or
   * fails, is the TuskError that says so (guardSqlite), as in the units themselves.
   */
  private at<T>(f: () => T): Promise<T> {
    return whenSettled(this.settled, () => guardSqlite(f));
  }

  /** Run `f`'s statements together: their own transaction, or a savepoint in the unit in flight. */
  private together<T>(f: () => T): Promise<T> {
    return this.at(() => this.db.transaction(f).immediate());
  }

  claimRunner(id: string, alive: (owner: RunnerLease) => boolean): Promise<boolean> {
    return this.together(() => {
      const row = this.q.runner.get() as string | undefined;
      if (row) {
        const owner = JSON.parse(row) as RunnerLease;
        if (owner.id !== id && alive(owner)) return false;
      }
      this.q.setRunner.run(JSON.stringify({ id, pid: process.pid, host: hostHere(), until: Date.now() + 60_000 }));
      return true;
    });
  }
  runnerOwner(): Promise<RunnerLease | undefined> {
    return this.at(() => {
      const row = this.q.runner.get() as string | undefined;
      return row ? (JSON.parse(row) as RunnerLease) : undefined;
    });
  }
  releaseRunner(id: string): Promise<void> {
    return this.together(() => {
      const row = this.q.runner.get() as string | undefined;
      if (row && (JSON.parse(row) as { id: string }).id === id) this.q.dropRunner.run();
    });
  }

  getPipeline(name: string): Promise<PipelineRecord | undefined> {
    return this.at(() => {
      const r = this.q.pipeline.get(name) as PipelineRow | undefined;
      return r && pipelineOf(r);
    });
  }
  listPipelines(): Promise<PipelineRecord[]> {
    return this.at(() => (this.q.pipelines.all() as PipelineRow[]).map(pipelineOf));
  }
  pipelineOwning(repo: string, branch: string): Promise<PipelineRecord | undefined> {
    return this.at(() => {
      const r = this.q.byOutput.get(repo, branch) as PipelineRow | undefined;
      return r && pipelineOf(r);
    });
  }
  insertPipeline(p: PipelineRecord): Promise<void> {
    return this.at(() => {
      this.q.insertPipeline.run({ name: p.name, version: p.version, spec: JSON.stringify(p.spec), raw: p.raw, salt: p.salt, output_branch: p.outputBranch, stopped: p.stopped ? 1 : 0, created: p.created, updated: p.updated });
    });
  }
  updatePipeline(p: Omit<PipelineRecord, 'stopped' | 'created'>): Promise<void> {
    return this.at(() => {
      this.q.updatePipeline.run({ name: p.name, version: p.version, spec: JSON.stringify(p.spec), raw: p.raw, salt: p.salt, output_branch: p.outputBranch, updated: p.updated });
    });
  }
  setStopped(name: string, stopped: boolean): Promise<void> {
    return this.at(() => {
      this.q.setStopped.run(stopped ? 1 : 0, Date.now(), name);
    });
  }
  deletePipeline(name: string): Promise<void> {
    return this.together(() => {
      this.q.deleteCronTicks.run(name);
      this.q.deleteAttempts.run(name);
      this.q.deleteDatums.run(name);
      this.q.deleteJobs.run(name);
      this.q.deletePipeline.run(name);
    });
  }

  getJob(pipeline: string, id: string): Promise<JobRecord | undefined> {
    return this.at(() => {
      const r = this.q.job.get(pipeline, id) as JobRow | undefined;
      return r && jobOf(r);
    });
  }
  jobsOf(pipeline: string): Promise<JobRecord[]> {
    return this.at(() => (this.q.jobsOf.all(pipeline) as JobRow[]).map(jobOf));
  }
  jobsById(id: string): Promise<JobRecord[]> {
    return this.at(() => (this.q.jobsById.all(id) as JobRow[]).map(jobOf));
  }
  allJobs(): Promise<JobRecord[]> {
    return this.at(() => (this.q.allJobs.all() as JobRow[]).map(jobOf));
  }
  openJobs(): Promise<JobRecord[]> {
    return this.at(() => (this.q.openJobs.all() as JobRow[]).map(jobOf));
  }
  nextLeaseEnd(): Promise<number | undefined> {
    return this.at(() => (this.q.nextLeaseEnd.get() as number | null) ?? undefined);
  }
  liveJobs(endedSince: number): Promise<JobSummary[]> {
    return this.at(() => this.q.liveJobs.all(endedSince) as JobSummary[]);
  }
  importJob(j: Omit<JobRecord, 'runner' | 'leaseUntil'>): Promise<void> {
    return this.at(() => {
      this.q.importJob.run(j);
    });
  }
  insertJob(pipeline: string, id: string, version: number, salt: string): Promise<void> {
    return this.at(() => {
      this.q.insertJob.run(pipeline, id, version, salt, 'JOB_CREATED', Date.now());
    });
  }
  setJobState(pipeline: string, id: string, state: JobState, reason: string | null, finished: number | null): Promise<void> {
    return this.at(() => {
      this.q.setJobState.run(state, reason, finished, pipeline, id);
    });
  }
  startJob(pipeline: string, id: string, total: number, runner: string, leaseUntil: number): Promise<void> {
    return this.at(() => {
      this.q.startJob.run(Date.now(), total, runner, leaseUntil, pipeline, id);
    });
  }
  leaseJob(pipeline: string, id: string, runner: string | null, leaseUntil: number | null): Promise<void> {
    return this.at(() => {
      this.q.leaseJob.run(runner, leaseUntil, pipeline, id);
    });
  }
  setCounts(c: JobCounts): Promise<void> {
    return this.at(() => {
      this.q.setCounts.run(c);
    });
  }
  deleteJob(pipeline: string, id: string): Promise<void> {
    return this.together(() => {
      this.q.deleteJobAttempts.run(pipeline, id);
      this.q.deleteJobDatums.run(pipeline, id);
      this.q.deleteJob.run(pipeline, id);
    });
  }
  lastSuccessfulJob(pipeline: string, exceptJob: string): Promise<JobRecord | undefined> {
    return this.at(() => {
      const r = this.q.lastSuccess.get(pipeline, pipeline, exceptJob) as JobRow | undefined;
      return r && jobOf(r);
    });
  }

  insertDatums(ds: readonly NewDatum[]): Promise<void> {
    const insert = () => {
      let done = 0;
      try {
        for (const d of ds) {
          this.q.insertDatum.run({ ...d, inputs: JSON.stringify(d.inputs), reused: d.state === 'skipped' ? 1 : 0 });
          done++;
        }
      } catch (err) {
        // all or none: the rows written before the one that failed go again (they are new rows,
        // so removing them leaves the records as they were)
        for (let i = 0; i < done; i++) this.q.deleteDatum.run(ds[i]!.pipeline, ds[i]!.job, ds[i]!.id);
        throw err;
      }
    };
    // In a unit (planning a job), no savepoint of its own: SQLite would copy every page the rows
    // touch into the savepoint's journal, past 64 KiB a temporary file, a second write of most
    // pages a job's planning dirties. A failure part-way takes its rows back itself (above).
    return this.at(() => (this.db.inTransaction ? insert() : this.db.transaction(insert).immediate()));
  }
  getDatum(pipeline: string, job: string, id: string): Promise<DatumRecord | undefined> {
    return this.at(() => {
      const r = this.q.datum.get(pipeline, job, id) as DatumRow | undefined;
      return r && datumOf(r);
    });
  }
  datumsOf(pipeline: string, job: string): Promise<DatumRecord[]> {
    return this.at(() => (this.q.datums.all(pipeline, job) as DatumRow[]).map(datumOf));
  }
  previousJob(pipeline: string, job: string): Promise<string | undefined> {
    return this.at(() => this.q.previousJob.get(pipeline, pipeline, job) as string | undefined);
  }
  async *iterateDatumInputs(pipeline: string, job: string): AsyncIterable<Pick<DatumRecord, 'id' | 'inputs'>> {
    for (let after = -1; ; ) {
      const page = await this.at(() => this.q.inputsPage.all(pipeline, job, after, DATUM_PAGE) as { id: string; seq: number; inputs: string }[]);
      for (const r of page) yield { id: r.id, inputs: JSON.parse(r.inputs) as DatumFile[] };
      if (page.length < DATUM_PAGE) return;
      after = page[page.length - 1]!.seq;
    }
  }
  datumOutcomes(pipeline: string, job: string): Promise<DatumOutcome[]> {
    return this.at(() => this.q.results.all(pipeline, job) as DatumOutcome[]);
  }
  datumBytes(pipeline: string, job: string): Promise<{ downloadBytes: number; uploadBytes: number }> {
    return this.at(() => this.q.sums.get(pipeline, job) as { downloadBytes: number; uploadBytes: number });
  }
  firstFailedDatum(pipeline: string, job: string): Promise<string | undefined> {
    return this.at(() => this.q.firstFailed.get(pipeline, job) as string | undefined);
  }
  hasDatums(pipeline: string): Promise<boolean> {
    return this.at(() => this.q.anyDatum.get(pipeline) !== undefined);
  }
  priorResults(pipeline: string, wanted: readonly { id: string; hash: string }[]): Promise<Map<string, DatumRecord>> {
    return this.at(() => {
      const out = new Map<string, DatumRecord>();
      for (const w of wanted) {
        const r = this.q.datumResult.get(pipeline, w.id, w.hash) as DatumRow | undefined;
        if (r) out.set(w.id, datumOf(r));
      }
      return out;
    });
  }
  claimDatums(pipeline: string, job: string, runner: string, leaseMs: number, limit: number): Promise<DatumRecord[]> {
    return this.together(() => {
      const now = Date.now();
      const rows = this.q.claimDatums.all({ runner, lease: now + leaseMs, now, pipeline, job, limit }) as DatumRow[];
      for (const r of rows) this.q.openAttempt.run(pipeline, job, r.id, r.attempts, runner, now);
      return rows.sort((a, b) => a.seq - b.seq).map(datumOf);
    });
  }
  finishDatums(results: readonly DatumResult[]): Promise<void> {
    return this.together(() => {
      for (const r of results) this.q.finishDatum.run(r);
    });
  }
  addAttempt(pipeline: string, job: string, id: string, runner: string): Promise<void> {
    return this.together(() => {
      const n = this.q.addAttempt.get(pipeline, job, id) as number | undefined;
      if (n !== undefined) this.q.openAttempt.run(pipeline, job, id, n, runner, Date.now());
    });
  }
  restartDatums(pipeline: string, job: string, ids: readonly string[]): Promise<string[]> {
    return this.together(() => {
      const now = Date.now();
      return ids.filter((id) => {
        if (this.q.restartDatum.run(pipeline, job, id).changes === 0) return false;
        this.q.returnAttempt.run({ now, pipeline, job, id });
        return true;
      });
    });
  }
  finishAttempts(rows: readonly DatumAttempt[]): Promise<void> {
    return this.together(() => {
      for (const r of rows) this.q.finishAttempt.run(r);
    });
  }
  attemptsOf(pipeline: string, job: string, datum?: string): Promise<DatumAttempt[]> {
    return this.at(() => (datum === undefined ? this.q.attempts.all(pipeline, job) : this.q.datumAttempts.all(pipeline, job, datum)) as DatumAttempt[]);
  }
  releaseClaims(pipeline: string, job: string, runner: string): Promise<number> {
    return this.together(() => {
      this.q.returnAttempts.run(Date.now(), pipeline, job, runner, pipeline, job, runner);
      return this.q.releaseClaims.run(pipeline, job, runner).changes;
    });
  }
  renewDatumLeases(pipeline: string, job: string, runner: string, leaseUntil: number): Promise<Set<string>> {
    return this.at(() => new Set(this.q.renewDatums.all(leaseUntil, pipeline, job, runner) as string[]));
  }
  datumStates(pipeline: string, job: string): Promise<Record<DatumState, number>> {
    return this.at(() => {
      const out: Record<DatumState, number> = { pending: 0, running: 0, success: 0, skipped: 0, failed: 0, recovered: 0 };
      for (const r of this.q.countStates.all(pipeline, job) as { state: DatumState; n: number }[]) out[r.state] = r.n;
      return out;
    });
  }
  lastCronTick(pipeline: string, input: string): Promise<number | undefined> {
    return this.at(() => this.q.cronTick.get(pipeline, input) as number | undefined);
  }
  setLastCronTick(pipeline: string, input: string, tick: number): Promise<void> {
    return this.at(() => {
      this.q.setCronTick.run(pipeline, input, tick);
    });
  }
  keepCronTicks(pipeline: string, inputs: readonly string[]): Promise<void> {
    return this.together(() => {
      for (const i of this.q.cronInputs.all(pipeline) as string[]) if (!inputs.includes(i)) this.q.deleteCronTick.run(pipeline, i);
    });
  }
  allDatumOutputs(): Promise<NodeId[]> {
    return this.at(() => this.q.outputs.all() as NodeId[]);
  }
}
