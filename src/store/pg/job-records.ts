// JobRecords on PostgreSQL: the same queries as job-records.ts. Where SQLite orders by rowid,
// jobs.seq (insertion order) stands in; datums are addressed by their key.
import { hostname } from 'node:os';
import type { NodeId } from '../hash.js';
import type { DatumRow, DatumState, JobRow, JobState, PipelineRow } from '../job-records.js';
import type { AsyncJobRecords } from './async-contract.js';
import { PAGE, pages, type Binding } from './binding.js';
import { DATUM, DATUM_RESULT, JOB, LIVE_JOB, PIPELINE, type DatumBytes, type DatumEnd, type JobCounts, type NewDatum } from './rows.js';

type Owner = { id: string; pid: number; host: string; until: number };
type LiveJob = Pick<JobRow, 'pipeline' | 'id' | 'state' | 'created' | 'started' | 'finished'>;

const OPEN_STATES = "('JOB_CREATED', 'JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING')";

export class PgJobRecords implements AsyncJobRecords {
  constructor(private readonly b: Binding) {}

  private async rows(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    return (await this.b.db.query(sql, params)).rows as Record<string, unknown>[];
  }
  private async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.b.db.query(sql, params)).rowCount ?? 0;
  }

  /** Become the store's background runner unless a live one exists. */
  async claimRunner(id: string, alive: (owner: { pid: number; host: string; until: number }) => boolean): Promise<boolean> {
    return this.b.atomically(async (db) => {
      const r = await db.query<{ value: string }>("SELECT value FROM settings WHERE key = 'runner' FOR UPDATE");
      const row = r.rows[0]?.value;
      if (row) {
        const owner = JSON.parse(row) as Owner;
        if (owner.id !== id && alive(owner)) return false;
      }
      const value = JSON.stringify({ id, pid: process.pid, host: hostname(), until: Date.now() + 60_000 });
      await db.query("INSERT INTO settings (key, value) VALUES ('runner', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [value]);
      return true;
    });
  }
  async runnerOwner(): Promise<Owner | undefined> {
    const r = await this.b.db.query<{ value: string }>("SELECT value FROM settings WHERE key = 'runner'");
    return r.rows[0] ? (JSON.parse(r.rows[0].value) as Owner) : undefined;
  }
  async releaseRunner(id: string): Promise<void> {
    await this.run("DELETE FROM settings WHERE key = 'runner' AND (value::json)->>'id' = $1", [id]);
  }

  async getPipeline(name: string): Promise<PipelineRow | undefined> {
    const [r] = await this.rows(`SELECT ${PIPELINE.select} FROM pipelines WHERE name = $1`, [name]);
    return r && PIPELINE.from(r);
  }
  async listPipelines(): Promise<PipelineRow[]> {
    return (await this.rows(`SELECT ${PIPELINE.select} FROM pipelines ORDER BY created DESC, name`)).map(PIPELINE.from);
  }
  async pipelineOwning(repo: string, branch: string): Promise<PipelineRow | undefined> {
    const [r] = await this.rows(`SELECT ${PIPELINE.select} FROM pipelines WHERE name = $1 AND output_branch = $2`, [repo, branch]);
    return r && PIPELINE.from(r);
  }
  async insertPipeline(p: PipelineRow): Promise<void> {
    await this.run('INSERT INTO pipelines (name, version, spec, raw, salt, output_branch, stopped, created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', PIPELINE.values(p));
  }
  async updatePipeline(p: Omit<PipelineRow, 'stopped' | 'created'>): Promise<void> {
    await this.run('UPDATE pipelines SET version = $2, spec = $3, raw = $4, salt = $5, output_branch = $6, updated = $7 WHERE name = $1', PIPELINE.updateValues(p));
  }
  async setStopped(name: string, stopped: boolean): Promise<void> {
    await this.run('UPDATE pipelines SET stopped = $1, updated = $2 WHERE name = $3', [stopped ? 1 : 0, Date.now(), name]);
  }
  async deletePipeline(name: string): Promise<void> {
    await this.run(
      `WITH t AS (DELETE FROM cron_ticks WHERE pipeline = $1), d AS (DELETE FROM datums WHERE pipeline = $1), j AS (DELETE FROM jobs WHERE pipeline = $1)
       DELETE FROM pipelines WHERE name = $1`,
      [name],
    );
  }

  async getJob(pipeline: string, id: string): Promise<JobRow | undefined> {
    const [r] = await this.rows(`SELECT ${JOB.select} FROM jobs WHERE pipeline = $1 AND id = $2`, [pipeline, id]);
    return r && JOB.from(r);
  }
  async jobsOf(pipeline: string): Promise<JobRow[]> {
    return (await this.rows(`SELECT ${JOB.select} FROM jobs WHERE pipeline = $1 ORDER BY created DESC, seq DESC`, [pipeline])).map(JOB.from);
  }
  async jobsById(id: string): Promise<JobRow[]> {
    return (await this.rows(`SELECT ${JOB.select} FROM jobs WHERE id = $1 ORDER BY pipeline`, [id])).map(JOB.from);
  }
  async allJobs(): Promise<JobRow[]> {
    return (await this.rows(`SELECT ${JOB.select} FROM jobs ORDER BY created DESC, seq DESC`)).map(JOB.from);
  }
  async openJobs(): Promise<JobRow[]> {
    return (await this.rows(`SELECT ${JOB.select} FROM jobs WHERE state IN ${OPEN_STATES} ORDER BY created, seq`)).map(JOB.from);
  }
  async liveJobs(endedSince: number): Promise<LiveJob[]> {
    return (await this.rows(`SELECT ${LIVE_JOB.select} FROM jobs WHERE state IN ${OPEN_STATES} OR finished >= $1 ORDER BY created, seq`, [endedSince])).map(LIVE_JOB.from);
  }
  async importJob(j: Omit<JobRow, 'runner' | 'lease_until'>): Promise<void> {
    await this.run(
      `INSERT INTO jobs (pipeline, id, version, salt, state, reason, created, started, finished, processed, skipped, failed, recovered, total, download_bytes, upload_bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING`,
      JOB.importValues(j),
    );
  }
  async insertJob(pipeline: string, id: string, version: number, salt: string): Promise<void> {
    await this.run("INSERT INTO jobs (pipeline, id, version, salt, state, created) VALUES ($1, $2, $3, $4, 'JOB_CREATED', $5)", [pipeline, id, version, salt, Date.now()]);
  }
  async setJobState(pipeline: string, id: string, state: JobState, reason: string | null, finished: number | null): Promise<void> {
    await this.run('UPDATE jobs SET state = $1, reason = $2, finished = $3 WHERE pipeline = $4 AND id = $5', [state, reason, finished, pipeline, id]);
  }
  async startJob(pipeline: string, id: string, total: number, runner: string, leaseUntil: number): Promise<void> {
    await this.run("UPDATE jobs SET state = 'JOB_RUNNING', started = COALESCE(started, $1), total = $2, runner = $3, lease_until = $4 WHERE pipeline = $5 AND id = $6", [
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
    await this.run('UPDATE jobs SET processed = $3, skipped = $4, failed = $5, recovered = $6, download_bytes = $7, upload_bytes = $8 WHERE pipeline = $1 AND id = $2', JOB.countValues(c));
  }
  async deleteJob(pipeline: string, id: string): Promise<void> {
    await this.run('WITH d AS (DELETE FROM datums WHERE pipeline = $1 AND job = $2) DELETE FROM jobs WHERE pipeline = $1 AND id = $2', [pipeline, id]);
  }
  async lastSuccessfulJob(pipeline: string, exceptJob: string): Promise<JobRow | undefined> {
    const [r] = await this.rows(`SELECT ${JOB.select} FROM jobs WHERE pipeline = $1 AND state = 'JOB_SUCCESS' AND id <> $2 ORDER BY finished DESC, seq DESC LIMIT 1`, [pipeline, exceptJob]);
    return r && JOB.from(r);
  }

  async insertDatum(d: NewDatum): Promise<void> {
    await this.run('INSERT INTO datums (pipeline, job, id, seq, hash, state, inputs, output, started, finished) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', DATUM.insertValues(d));
  }
  async getDatum(pipeline: string, job: string, id: string): Promise<DatumRow | undefined> {
    const [r] = await this.rows(`SELECT ${DATUM.select} FROM datums WHERE pipeline = $1 AND job = $2 AND id = $3`, [pipeline, job, id]);
    return r && DATUM.from(r);
  }
  async datumsOf(pipeline: string, job: string): Promise<DatumRow[]> {
    return (await this.rows(`SELECT ${DATUM.select} FROM datums WHERE pipeline = $1 AND job = $2 ORDER BY seq`, [pipeline, job])).map(DATUM.from);
  }
  async previousJob(pipeline: string, job: string): Promise<string | undefined> {
    const r = await this.b.db.query<{ id: string }>(
      'SELECT id FROM jobs WHERE pipeline = $1 AND started IS NOT NULL AND seq < (SELECT seq FROM jobs WHERE pipeline = $1 AND id = $2) ORDER BY seq DESC LIMIT 1',
      [pipeline, job],
    );
    return r.rows[0]?.id;
  }
  /** A job's datums with their input files, in plan order, a page at a time. */
  datumInputs(pipeline: string, job: string): AsyncIterable<Pick<DatumRow, 'id' | 'inputs'>> {
    type R = { id: string; inputs: string; seq: number };
    const all = pages<R>(async (last) => {
      const r = last
        ? await this.b.db.query<R>(`SELECT id, inputs, seq FROM datums WHERE pipeline = $1 AND job = $2 AND (seq, id) > ($3, $4) ORDER BY seq, id LIMIT ${PAGE}`, [pipeline, job, last.seq, last.id])
        : await this.b.db.query<R>(`SELECT id, inputs, seq FROM datums WHERE pipeline = $1 AND job = $2 ORDER BY seq, id LIMIT ${PAGE}`, [pipeline, job]);
      return r.rows;
    }, PAGE);
    return (async function* () {
      for await (const r of all) yield { id: r.id, inputs: r.inputs };
    })();
  }
  async datumResults(pipeline: string, job: string): Promise<Pick<DatumRow, 'id' | 'hash' | 'state' | 'output'>[]> {
    return (await this.rows(`SELECT ${DATUM_RESULT.select} FROM datums WHERE pipeline = $1 AND job = $2`, [pipeline, job])).map(DATUM_RESULT.from);
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
  async datumResult(pipeline: string, id: string, hash: string): Promise<DatumRow | undefined> {
    const [r] = await this.rows(`SELECT ${DATUM.select} FROM datums WHERE pipeline = $1 AND id = $2 AND hash = $3 AND state IN ('success', 'skipped') ORDER BY finished DESC LIMIT 1`, [
      pipeline,
      id,
      hash,
    ]);
    return r && DATUM.from(r);
  }
  /** Expired claims first, then pending datums in plan order: one statement per batch. */
  async claimDatums(pipeline: string, job: string, runner: string, leaseMs: number, limit: number): Promise<DatumRow[]> {
    const now = Date.now();
    const rows = await this.rows(
      `WITH picked AS (
         (SELECT id FROM datums WHERE pipeline = $1 AND job = $2 AND state = 'running' AND lease_until < $3)
         UNION ALL
         (SELECT id FROM datums WHERE pipeline = $1 AND job = $2 AND state = 'pending' ORDER BY seq LIMIT $4)
         LIMIT $4)
       UPDATE datums d SET state = 'running', claimed_by = $5, lease_until = $6, started = $3, attempts = attempts + 1
       FROM picked WHERE d.pipeline = $1 AND d.job = $2 AND d.id = picked.id
       RETURNING ${DATUM.select.split(', ').map((c) => `d.${c}`).join(', ')}`,
      [pipeline, job, now, limit, runner, now + leaseMs],
    );
    return rows.map(DATUM.from).sort((a, b) => a.seq - b.seq);
  }
  async finishDatum(d: DatumEnd): Promise<void> {
    await this.run(
      `UPDATE datums SET state = $4, output = $5, finished = $6, error = $7, claimed_by = NULL, lease_until = NULL, download_bytes = $8, upload_bytes = $9
       WHERE pipeline = $1 AND job = $2 AND id = $3 AND state = 'running'`,
      DATUM.finishValues(d),
    );
  }
  async addAttempt(pipeline: string, job: string, id: string): Promise<void> {
    await this.run('UPDATE datums SET attempts = attempts + 1 WHERE pipeline = $1 AND job = $2 AND id = $3', [pipeline, job, id]);
  }
  async restartDatums(pipeline: string, job: string, ids: readonly string[]): Promise<string[]> {
    const r = await this.b.db.query<{ id: string }>(
      "UPDATE datums SET state = 'pending', claimed_by = NULL, lease_until = NULL, started = NULL WHERE pipeline = $1 AND job = $2 AND id = ANY($3::text[]) AND state = 'running' RETURNING id",
      [pipeline, job, ids],
    );
    const restarted = new Set(r.rows.map((x) => x.id));
    return ids.filter((id) => restarted.has(id));
  }
  async releaseClaims(pipeline: string, job: string, runner: string): Promise<number> {
    return this.run("UPDATE datums SET state = 'pending', claimed_by = NULL, lease_until = NULL, started = NULL WHERE pipeline = $1 AND job = $2 AND state = 'running' AND claimed_by = $3", [
      pipeline,
      job,
      runner,
    ]);
  }
  async datumsClaimedBy(pipeline: string, job: string, runner: string): Promise<Set<string>> {
    const r = await this.b.db.query<{ id: string }>("SELECT id FROM datums WHERE pipeline = $1 AND job = $2 AND state = 'running' AND claimed_by = $3", [pipeline, job, runner]);
    return new Set(r.rows.map((x) => x.id));
  }
  async renewDatumLeases(pipeline: string, job: string, runner: string, leaseUntil: number): Promise<void> {
    await this.run("UPDATE datums SET lease_until = $1 WHERE pipeline = $2 AND job = $3 AND state = 'running' AND claimed_by = $4", [leaseUntil, pipeline, job, runner]);
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
