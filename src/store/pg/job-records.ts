// JobRecords on PostgreSQL: the same queries as SqliteJobRecords (job-records.ts), the reference
// for every method's semantics. Where SQLite orders by rowid, jobs.seq (insertion order) stands in;
// datums are addressed by their key. Batch methods send one statement over arrays (unnest).
import { hostname } from 'node:os';
import type { NodeId } from '../hash.js';
import type {
  DatumAttempt,
  DatumOutcome,
  DatumRecord,
  DatumResult,
  DatumState,
  JobCounts,
  JobRecord,
  JobRecords,
  JobState,
  JobSummary,
  NewDatum,
  PipelineRecord,
  RunnerLease,
} from '../job-records.js';
import { PAGE, type Binding } from './binding.js';
import { pagedRows } from '../paged-scan.js';
import { ATTEMPT, DATUM, DATUM_INPUTS, DATUM_OUTCOME, JOB, LIVE_JOB, PIPELINE, type DatumBytes } from './rows.js';
import { JOB_CHANNEL, notifyFrom } from './watch.js';

const OPEN_STATES = "('JOB_CREATED', 'JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING')";

/**
 * The statement that writes jobs or datums (a CTE `u` returning `pipeline` and `job`), sending one
 * JOB_CHANNEL notification per job it changed: waiters (watch.ts) wake when its unit commits.
 */
function notifyingJobs(ctes: string): string {
  return `WITH ${ctes} ${notifyFrom(JOB_CHANNEL, "json_build_object('pipeline', pipeline, 'job', job)", '(SELECT DISTINCT pipeline, job FROM u) AS changed')}`;
}

export class PgJobRecords implements JobRecords {
  constructor(private readonly b: Binding) {}

  private async rows(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    return (await this.b.db.query(sql, params)).rows as Record<string, unknown>[];
  }
  private async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.b.db.query(sql, params)).rowCount ?? 0;
  }

  async claimRunner(id: string, alive: (owner: RunnerLease) => boolean): Promise<boolean> {
    return this.b.atomically(async (db) => {
      const r = await db.query<{ value: string }>("SELECT value FROM settings WHERE key = 'runner' FOR UPDATE");
      const row = r.rows[0]?.value;
      if (row) {
        const owner = JSON.parse(row) as RunnerLease;
        if (owner.id !== id && alive(owner)) return false;
      }
      const value = JSON.stringify({ id, pid: process.pid, host: hostname(), until: Date.now() + 60_000 });
      await db.query("INSERT INTO settings (key, value) VALUES ('runner', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [value]);
      return true;
    });
  }
  async runnerOwner(): Promise<RunnerLease | undefined> {
    const r = await this.b.db.query<{ value: string }>("SELECT value FROM settings WHERE key = 'runner'");
    return r.rows[0] ? (JSON.parse(r.rows[0].value) as RunnerLease) : undefined;
  }
  async releaseRunner(id: string): Promise<void> {
    await this.run("DELETE FROM settings WHERE key = 'runner' AND (value::json)->>'id' = $1", [id]);
  }

  async getPipeline(name: string): Promise<PipelineRecord | undefined> {
    const [r] = await this.rows(`SELECT ${PIPELINE.select} FROM pipelines WHERE name = $1`, [name]);
    return r && PIPELINE.from(r);
  }
  async listPipelines(): Promise<PipelineRecord[]> {
    return (await this.rows(`SELECT ${PIPELINE.select} FROM pipelines ORDER BY created DESC, name`)).map(PIPELINE.from);
  }
  async pipelineOwning(repo: string, branch: string): Promise<PipelineRecord | undefined> {
    const [r] = await this.rows(`SELECT ${PIPELINE.select} FROM pipelines WHERE name = $1 AND output_branch = $2`, [repo, branch]);
    return r && PIPELINE.from(r);
  }
  async insertPipeline(p: PipelineRecord): Promise<void> {
    await this.run('INSERT INTO pipelines (name, version, spec, raw, salt, output_branch, stopped, created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', PIPELINE.values(p));
  }
  async updatePipeline(p: Omit<PipelineRecord, 'stopped' | 'created'>): Promise<void> {
    await this.run('UPDATE pipelines SET version = $2, spec = $3, raw = $4, salt = $5, output_branch = $6, updated = $7 WHERE name = $1', PIPELINE.updateValues(p));
  }
  async setStopped(name: string, stopped: boolean): Promise<void> {
    await this.run('UPDATE pipelines SET stopped = $1, updated = $2 WHERE name = $3', [stopped ? 1 : 0, Date.now(), name]);
  }
  async deletePipeline(name: string): Promise<void> {
    await this.run(
      `WITH t AS (DELETE FROM cron_ticks WHERE pipeline = $1), a AS (DELETE FROM datum_attempts WHERE pipeline = $1), d AS (DELETE FROM datums WHERE pipeline = $1),
         j AS (DELETE FROM jobs WHERE pipeline = $1), l AS (DELETE FROM job_logs WHERE pipeline = $1)
       DELETE FROM pipelines WHERE name = $1`,
      [name],
    );
  }

  async getJob(pipeline: string, id: string): Promise<JobRecord | undefined> {
    const [r] = await this.rows(`SELECT ${JOB.select} FROM jobs WHERE pipeline = $1 AND id = $2`, [pipeline, id]);
    return r && JOB.from(r);
  }
  async jobsOf(pipeline: string): Promise<JobRecord[]> {
    return (await this.rows(`SELECT ${JOB.select} FROM jobs WHERE pipeline = $1 ORDER BY created DESC, seq DESC`, [pipeline])).map(JOB.from);
  }
  async jobsById(id: string): Promise<JobRecord[]> {
    return (await this.rows(`SELECT ${JOB.select} FROM jobs WHERE id = $1 ORDER BY pipeline`, [id])).map(JOB.from);
  }
  async allJobs(): Promise<JobRecord[]> {
    return (await this.rows(`SELECT ${JOB.select} FROM jobs ORDER BY created DESC, seq DESC`)).map(JOB.from);
  }
  async openJobs(): Promise<JobRecord[]> {
    return (await this.rows(`SELECT ${JOB.select} FROM jobs WHERE state IN ${OPEN_STATES} ORDER BY created, seq`)).map(JOB.from);
  }
  async nextLeaseEnd(): Promise<number | undefined> {
    const r = await this.b.db.query<{ until: string | null }>(
      `SELECT min(d.lease_until) AS until FROM jobs j JOIN datums d ON d.pipeline = j.pipeline AND d.job = j.id AND d.state = 'running'
       WHERE j.state IN ('JOB_CREATED', 'JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING')`,
    );
    const until = r.rows[0]?.until;
    return until == null ? undefined : Number(until);
  }
  async liveJobs(endedSince: number): Promise<JobSummary[]> {
    return (await this.rows(`SELECT ${LIVE_JOB.select} FROM jobs WHERE state IN ${OPEN_STATES} OR finished >= $1 ORDER BY created, seq`, [endedSince])).map(LIVE_JOB.from);
  }
  async importJob(j: Omit<JobRecord, 'runner' | 'leaseUntil'>): Promise<void> {
    await this.run(
      notifyingJobs(`u AS (INSERT INTO jobs (pipeline, id, version, salt, state, reason, created, started, finished, processed, skipped, failed, recovered, total, download_bytes, upload_bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING RETURNING pipeline, id AS job)`),
      JOB.importValues(j),
    );
  }
  async insertJob(pipeline: string, id: string, version: number, salt: string): Promise<void> {
    await this.run(notifyingJobs("u AS (INSERT INTO jobs (pipeline, id, version, salt, state, created) VALUES ($1, $2, $3, $4, 'JOB_CREATED', $5) RETURNING pipeline, id AS job)"), [
      pipeline,
      id,
      version,
      salt,
      Date.now(),
    ]);
  }
  async setJobState(pipeline: string, id: string, state: JobState, reason: string | null, finished: number | null): Promise<void> {
    await this.run(notifyingJobs('u AS (UPDATE jobs SET state = $1, reason = $2, finished = $3 WHERE pipeline = $4 AND id = $5 RETURNING pipeline, id AS job)'), [state, reason, finished, pipeline, id]);
  }
  async startJob(pipeline: string, id: string, total: number, runner: string, leaseUntil: number): Promise<void> {
    await this.run(notifyingJobs("u AS (UPDATE jobs SET state = 'JOB_RUNNING', started = COALESCE(started, $1), total = $2, runner = $3, lease_until = $4 WHERE pipeline = $5 AND id = $6 RETURNING pipeline, id AS job)"), [
      Date.now(),
      total,
      runner,
      leaseUntil,
      pipeline,
      id,
    ]);
  }
  async leaseJob(pipeline: string, id: string, runner: string | null, leaseUntil: number | null): Promise<void> {
    await this.run('UPDATE jobs SET runner = $1, lease_until = $2 WHERE pipeline = $3 AND id = $4', [runner, leaseUntil, pipeline, id]);
  }
  async setCounts(c: JobCounts): Promise<void> {
    await this.run(
      notifyingJobs('u AS (UPDATE jobs SET processed = $3, skipped = $4, failed = $5, recovered = $6, download_bytes = $7, upload_bytes = $8 WHERE pipeline = $1 AND id = $2 RETURNING pipeline, id AS job)'),
      JOB.countValues(c),
    );
  }
  async deleteJob(pipeline: string, id: string): Promise<void> {
    await this.run(
      notifyingJobs(
        'a AS (DELETE FROM datum_attempts WHERE pipeline = $1 AND job = $2), d AS (DELETE FROM datums WHERE pipeline = $1 AND job = $2), l AS (DELETE FROM job_logs WHERE pipeline = $1 AND job = $2), u AS (DELETE FROM jobs WHERE pipeline = $1 AND id = $2 RETURNING pipeline, id AS job)'),
      [pipeline, id],
    );
  }
  async lastSuccessfulJob(pipeline: string, exceptJob: string): Promise<JobRecord | undefined> {
    const [r] = await this.rows(`SELECT ${JOB.select} FROM jobs WHERE pipeline = $1 AND state = 'JOB_SUCCESS' AND id <> $2 ORDER BY finished DESC NULLS LAST, seq DESC LIMIT 1`, [pipeline, exceptJob]);
    return r && JOB.from(r);
  }

  async insertDatums(ds: readonly NewDatum[]): Promise<void> {
    if (ds.length === 0) return;
    await this.run(
      `INSERT INTO datums (pipeline, job, id, seq, hash, state, inputs, output, started, finished)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bigint[], $10::bigint[])`,
      DATUM.insertArrays(ds),
    );
  }
  async getDatum(pipeline: string, job: string, id: string): Promise<DatumRecord | undefined> {
    const [r] = await this.rows(`SELECT ${DATUM.select} FROM datums WHERE pipeline = $1 AND job = $2 AND id = $3`, [pipeline, job, id]);
    return r && DATUM.from(r);
  }
  async datumsOf(pipeline: string, job: string): Promise<DatumRecord[]> {
    return (await this.rows(`SELECT ${DATUM.select} FROM datums WHERE pipeline = $1 AND job = $2 ORDER BY seq`, [pipeline, job])).map(DATUM.from);
  }
  async previousJob(pipeline: string, job: string): Promise<string | undefined> {
    const r = await this.b.db.query<{ id: string }>(
      'SELECT id FROM jobs WHERE pipeline = $1 AND started IS NOT NULL AND seq < (SELECT seq FROM jobs WHERE pipeline = $1 AND id = $2) ORDER BY seq DESC LIMIT 1',
      [pipeline, job],
    );
    return r.rows[0]?.id;
  }
  iterateDatumInputs(pipeline: string, job: string): AsyncIterable<Pick<DatumRecord, 'id' | 'inputs'>> {
    type R = Record<string, unknown> & { seq: number; id: string };
    const all = pagedRows<R>(async (last) => {
      const r = last
        ? await this.b.db.query<R>(`SELECT ${DATUM_INPUTS.select}, seq FROM datums WHERE pipeline = $1 AND job = $2 AND (seq, id) > ($3, $4) ORDER BY seq, id LIMIT ${PAGE}`, [
            pipeline,
            job,
            last.seq,
            last.id,
          ])
        : await this.b.db.query<R>(`SELECT ${DATUM_INPUTS.select}, seq FROM datums WHERE pipeline = $1 AND job = $2 ORDER BY seq, id LIMIT ${PAGE}`, [pipeline, job]);
      return r.rows;
    }, PAGE);
    return (async function* () {
      for await (const r of all) yield DATUM_INPUTS.from(r);
    })();
  }
  async datumOutcomes(pipeline: string, job: string): Promise<DatumOutcome[]> {
    return (await this.rows(`SELECT ${DATUM_OUTCOME.select} FROM datums WHERE pipeline = $1 AND job = $2`, [pipeline, job])).map(DATUM_OUTCOME.from);
  }
  async datumBytes(pipeline: string, job: string): Promise<DatumBytes> {
    const [r] = await this.rows(
      "SELECT COALESCE(SUM(download_bytes), 0) AS download_bytes, COALESCE(SUM(upload_bytes), 0) AS upload_bytes FROM datums WHERE pipeline = $1 AND job = $2 AND state <> 'skipped'",
      [pipeline, job],
    );
    return DATUM.bytes(r!);
  }
  async firstFailedDatum(pipeline: string, job: string): Promise<string | undefined> {
    return (await this.b.db.query<{ id: string }>("SELECT id FROM datums WHERE pipeline = $1 AND job = $2 AND state = 'failed' ORDER BY seq LIMIT 1", [pipeline, job])).rows[0]?.id;
  }
  async hasDatums(pipeline: string): Promise<boolean> {
    return (await this.run('SELECT 1 FROM datums WHERE pipeline = $1 LIMIT 1', [pipeline])) > 0;
  }
  /**
   * The newest successful result of each wanted identity, all in one statement. Successful rows
   * only: a skipped row carries one of theirs, and only they are in datums_by_hash (schema 6).
   */
  async priorResults(pipeline: string, wanted: readonly { id: string; hash: string }[]): Promise<Map<string, DatumRecord>> {
    const out = new Map<string, DatumRecord>();
    if (wanted.length === 0) return out;
    const rows = await this.rows(
      `SELECT DISTINCT ON (d.id, d.hash) ${DATUM.select.split(', ').map((c) => `d.${c}`).join(', ')}
       FROM unnest($2::text[], $3::text[]) AS w(id, hash)
       JOIN datums d ON d.pipeline = $1 AND d.id = w.id AND d.hash = w.hash AND d.state = 'success'
       ORDER BY d.id, d.hash, d.finished DESC NULLS LAST`,
      [pipeline, wanted.map((w) => w.id), wanted.map((w) => w.hash)],
    );
    const found = new Map(rows.map((r) => [`${r.id as string}\0${r.hash as string}`, r]));
    // in the order asked, so that an id asked twice keeps its last hash's answer, as on SQLite
    for (const w of wanted) {
      const r = found.get(`${w.id}\0${w.hash}`);
      if (r) out.set(w.id, DATUM.from(r));
    }
    return out;
  }
  /**
   * Expired claims first, then pending datums in plan order: one statement per batch. Many
   * runners claim from one job at once, so the pick locks its rows `FOR UPDATE SKIP LOCKED`: a
   * claimer passes over the rows another is taking instead of waiting on them, and (at READ
   * COMMITTED) re-reads a row committed meanwhile, dropping it if it is no longer claimable. The
   * update checks the state again: a row it names is taken only while pending or expired. It finds
   * the rows it locked by their ctid (stable while locked): a TID scan, whatever the planner knows;
   * joined on the key instead, a planner without statistics on a fresh job's rows scanned all of
   * them per claim. Outside
   * a unit (as runners claim) the claim is a statement of its own, at READ COMMITTED, which the
   * locks make correct; inside a unit, at SERIALIZABLE, a row another claim committed after the
   * unit's snapshot is a conflict, and the unit is retried.
   */
  async claimDatums(pipeline: string, job: string, runner: string, leaseMs: number, limit: number): Promise<DatumRecord[]> {
    const now = Date.now();
    const rows = await this.rows(
      `WITH expired AS (
         SELECT ctid FROM datums WHERE pipeline = $1 AND job = $2 AND state = 'running' AND lease_until < $3
         ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED),
       pending AS (
         SELECT ctid FROM datums WHERE pipeline = $1 AND job = $2 AND state = 'pending'
         ORDER BY seq LIMIT GREATEST($4 - (SELECT COUNT(*) FROM expired), 0) FOR UPDATE SKIP LOCKED),
       claimed AS (
         UPDATE datums d SET state = 'running', claimed_by = $5, lease_until = $6, started = $3, attempts = attempts + 1
         WHERE d.ctid = ANY(ARRAY(SELECT ctid FROM expired UNION ALL SELECT ctid FROM pending))
           AND (d.state = 'pending' OR (d.state = 'running' AND d.lease_until < $3))
         RETURNING ${DATUM.select.split(', ').map((c) => `d.${c}`).join(', ')}),
       opened AS (
         INSERT INTO datum_attempts (pipeline, job, datum, attempt, worker, started)
         SELECT $1, $2, id, attempts, $5, $3 FROM claimed
         ON CONFLICT (pipeline, job, datum, attempt) DO UPDATE SET worker = excluded.worker, started = excluded.started, finished = NULL, outcome = NULL, error = NULL)
       SELECT * FROM claimed`,
      [pipeline, job, now, limit, runner, now + leaseMs],
    );
    return rows.map(DATUM.from).sort((a, b) => a.seq - b.seq);
  }
  async finishDatums(results: readonly DatumResult[]): Promise<void> {
    // a datum listed twice: its first result lands, as one by one (the second finds it no longer running)
    const seen = new Set<string>();
    const first = results.filter((r) => {
      const key = `${r.pipeline}\0${r.job}\0${r.id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (first.length === 0) return;
    // Each result's row is looked up on its own (a LATERAL with LIMIT is not flattened into a
    // join) and updated by its ctid, as the claim does. Joined on the key instead, a planner whose
    // statistics predate the job took the job for a few rows and scanned its running rows once per
    // result. The lookup names the row in the terms of every index on the table — its key, and its
    // state and seq (datums_by_state) — because the planner's estimate for a key taken from an
    // unnest is a row or so through any of them, and its pick among them is a coin toss: by the key
    // alone, datums_by_state was picked in a 10,000-datum job, matched only (pipeline, job), and
    // read the whole job for each result (62–99 ms a statement). Now either index that can serve
    // it finds the row's own entries: the key's, or the running (pipeline, job, seq)'s
    // (datums_by_hash holds successful rows only since schema 6).
    await this.run(
      notifyingJobs(`u AS (UPDATE datums d SET state = r.state, output = r.output, finished = r.finished, error = r.error, claimed_by = NULL, lease_until = NULL,
         download_bytes = r.download_bytes, upload_bytes = r.upload_bytes
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bigint[], $7::text[], $8::bigint[], $9::bigint[], $10::text[])
         AS r(pipeline, job, id, state, output, finished, error, download_bytes, upload_bytes, runner)
       WHERE d.ctid = ANY(ARRAY(
            SELECT x.ctid FROM unnest($1::text[], $2::text[], $3::text[], $11::bigint[]) AS k(pipeline, job, id, seq)
            CROSS JOIN LATERAL (SELECT ctid FROM datums WHERE pipeline = k.pipeline AND job = k.job AND state = 'running' AND seq = k.seq AND id = k.id LIMIT 1) x))
         AND d.pipeline = r.pipeline AND d.job = r.job AND d.id = r.id AND d.state = 'running' AND d.claimed_by = r.runner
       RETURNING d.pipeline, d.job)`),
      DATUM.finishArrays(first),
    );
  }
  async addAttempt(pipeline: string, job: string, id: string, runner: string): Promise<void> {
    await this.run(
      `WITH counted AS (UPDATE datums SET attempts = attempts + 1 WHERE pipeline = $1 AND job = $2 AND id = $3 RETURNING attempts)
       INSERT INTO datum_attempts (pipeline, job, datum, attempt, worker, started)
       SELECT $1, $2, $3, attempts, $4::text, $5::bigint FROM counted
       ON CONFLICT (pipeline, job, datum, attempt) DO NOTHING`,
      [pipeline, job, id, runner, Date.now()],
    );
  }
  async restartDatums(pipeline: string, job: string, ids: readonly string[]): Promise<string[]> {
    const r = await this.b.db.query<{ id: string }>(
      `WITH restarted AS (
         UPDATE datums SET state = 'pending', claimed_by = NULL, lease_until = NULL, started = NULL
         WHERE pipeline = $1 AND job = $2 AND id = ANY($3::text[]) AND state = 'running' RETURNING id, attempts),
       returned AS (
         UPDATE datum_attempts a SET finished = $4, outcome = 'returned'
         FROM restarted WHERE a.pipeline = $1 AND a.job = $2 AND a.datum = restarted.id AND a.attempt = restarted.attempts AND a.finished IS NULL),
       notified AS (SELECT pg_notify('${JOB_CHANNEL}', json_build_object('pipeline', $1::text, 'job', $2::text)::text) WHERE EXISTS (SELECT 1 FROM restarted))
       SELECT id FROM restarted LEFT JOIN notified ON true`,
      [pipeline, job, ids, Date.now()],
    );
    const restarted = new Set(r.rows.map((x) => x.id));
    // in the order asked, each once
    return ids.filter((id) => restarted.delete(id));
  }
  async finishAttempts(rows: readonly DatumAttempt[]): Promise<void> {
    // an attempt listed twice (a datum given back by a runner just after it ended): its first end
    // lands, as one by one; one statement cannot upsert a row twice
    const seen = new Set<string>();
    const first = rows.filter((r) => {
      const key = `${r.pipeline}\0${r.job}\0${r.datum}\0${r.attempt}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (first.length === 0) return;
    await this.run(
      `INSERT INTO datum_attempts (${ATTEMPT.select})
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[])
       ON CONFLICT (pipeline, job, datum, attempt) DO UPDATE SET worker = excluded.worker, started = excluded.started, finished = excluded.finished, outcome = excluded.outcome, error = excluded.error
       WHERE datum_attempts.finished IS NULL`,
      ATTEMPT.arrays(first),
    );
  }
  async attemptsOf(pipeline: string, job: string, datum?: string): Promise<DatumAttempt[]> {
    const rows =
      datum === undefined
        ? await this.rows(`SELECT ${ATTEMPT.select} FROM datum_attempts WHERE pipeline = $1 AND job = $2 ORDER BY datum, attempt`, [pipeline, job])
        : await this.rows(`SELECT ${ATTEMPT.select} FROM datum_attempts WHERE pipeline = $1 AND job = $2 AND datum = $3 ORDER BY attempt`, [pipeline, job, datum]);
    return rows.map(ATTEMPT.from);
  }
  async releaseClaims(pipeline: string, job: string, runner: string): Promise<number> {
    // one statement: the attempt rows end `returned` with the claims they belonged to
    return this.run(
      `WITH released AS (
         UPDATE datums SET state = 'pending', claimed_by = NULL, lease_until = NULL, started = NULL
         WHERE pipeline = $1 AND job = $2 AND state = 'running' AND claimed_by = $3 RETURNING id),
       returned AS (
         UPDATE datum_attempts a SET finished = $4, outcome = 'returned'
         FROM released WHERE a.pipeline = $1 AND a.job = $2 AND a.datum = released.id AND a.worker = $3 AND a.finished IS NULL),
       notified AS (SELECT pg_notify('${JOB_CHANNEL}', json_build_object('pipeline', $1::text, 'job', $2::text)::text) WHERE EXISTS (SELECT 1 FROM released))
       SELECT id FROM released LEFT JOIN notified ON true`,
      [pipeline, job, runner, Date.now()],
    );
  }
  /**
   * Only the leases due (ending before `dueBefore`) are written: a row rewritten at each renewal
   * (4 a second per runner, up to 256 rows) left dead versions in the table and its indexes, and
   * the scan of a job's running datums slowed with them, until renewals cost the server more than
   * the datums' own statements. A lease not yet due is reported held as the statement's snapshot
   * sees it (a restart committed meanwhile is seen at the next renewal). Run again when it is a
   * deadlock's victim: the runner's own result write locks the same rows, in its own order.
   */
  async renewDatumLeases(pipeline: string, job: string, runner: string, leaseUntil: number, dueBefore = Number.MAX_SAFE_INTEGER, held?: readonly string[]): Promise<Set<string>> {
    if (held?.length === 0) return new Set();
    // By the ids the runner names, looked up by the primary key: the job's running rows are
    // otherwise found through an index that keeps an entry for every datum that ran and ended
    // until a vacuum, a scan that grew with the job. The update matches rows by key, not by ctid:
    // outside a unit a row updated meanwhile (a datum's attempt counted) is rechecked in its new
    // version, which a ctid would no longer name.
    const which = held ? 'id = ANY($6::text[])' : "state = 'running'";
    const r = await this.b.again((db) =>
      db.query<{ id: string }>(
        `WITH held AS (SELECT id, lease_until FROM datums WHERE pipeline = $2 AND job = $3 AND ${which} AND state = 'running' AND claimed_by = $4),
         renewed AS (
           UPDATE datums d SET lease_until = $1 FROM held h
           WHERE (h.lease_until IS NULL OR h.lease_until < $5) AND d.pipeline = $2 AND d.job = $3 AND d.${which} AND d.id = h.id AND d.state = 'running' AND d.claimed_by = $4
           RETURNING d.id)
         SELECT id FROM held WHERE lease_until >= $5 UNION ALL SELECT id FROM renewed`,
        held ? [leaseUntil, pipeline, job, runner, dueBefore, held] : [leaseUntil, pipeline, job, runner, dueBefore],
      ),
    );
    return new Set(r.rows.map((x) => x.id));
  }
  async datumStates(pipeline: string, job: string): Promise<Record<DatumState, number>> {
    const out: Record<DatumState, number> = { pending: 0, running: 0, success: 0, skipped: 0, failed: 0, recovered: 0 };
    const r = await this.b.db.query<{ state: DatumState; n: number }>('SELECT state, COUNT(*) AS n FROM datums WHERE pipeline = $1 AND job = $2 GROUP BY state', [pipeline, job]);
    for (const x of r.rows) out[x.state] = x.n;
    return out;
  }
  async lastCronTick(pipeline: string, input: string): Promise<number | undefined> {
    return (await this.b.db.query<{ last_tick: number }>('SELECT last_tick FROM cron_ticks WHERE pipeline = $1 AND input = $2', [pipeline, input])).rows[0]?.last_tick;
  }
  async setLastCronTick(pipeline: string, input: string, tick: number): Promise<void> {
    await this.run('INSERT INTO cron_ticks (pipeline, input, last_tick) VALUES ($1, $2, $3) ON CONFLICT (pipeline, input) DO UPDATE SET last_tick = excluded.last_tick', [pipeline, input, tick]);
  }
  async keepCronTicks(pipeline: string, inputs: readonly string[]): Promise<void> {
    await this.run('DELETE FROM cron_ticks WHERE pipeline = $1 AND NOT (input = ANY($2::text[]))', [pipeline, inputs]);
  }
  async allDatumOutputs(): Promise<NodeId[]> {
    return (await this.b.db.query<{ output: NodeId }>('SELECT DISTINCT output FROM datums WHERE output IS NOT NULL')).rows.map((r) => r.output);
  }
}
