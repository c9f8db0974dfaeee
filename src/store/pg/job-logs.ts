// The job logs of a team store: rows of `job_logs` in the shared database, so that `tusk logs` on
// any machine reads what the runners of every machine wrote. One INSERT per batch, which notifies
// `tusk_log` when it commits; read a page at a time by `seq`.
import { batchedAppender, type JobLogs, type LogCursor, type StoredLogLine } from '../job-logs.js';
import type { Queryable } from './binding.js';
import { pgFailure, type PgTarget } from './connection.js';
import { LOG_CHANNEL } from './watch.js';

/** Lines one read returns at most. */
const LOG_PAGE = 1000;
/** Advisory lock class of a job's log (the other key is a hash of the job's name): 'logs'. */
const LOG_LOCK_CLASS = 0x6c6f6773;

/**
 * One batch, one statement. The batch's writer first takes the job's advisory lock (held until
 * the statement's transaction commits), and only then are `seq` values drawn: two runners
 * writing one job take turns, so a job's lines commit in `seq` order, and a reader that has read
 * up to some `seq` can never later find a smaller one committed (it would skip it). The NOTIFY is
 * delivered when the rows are there to read.
 */
const APPEND = `
  WITH turn AS (SELECT pg_advisory_xact_lock(${LOG_LOCK_CLASS}, hashtext($1::text || '@' || $2::text))),
  added AS (
    INSERT INTO job_logs (pipeline, job, ts, datum, stream, message)
    SELECT $1, $2, l.ts, l.datum, l.stream, l.message
    FROM turn, unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS l(ts, datum, stream, message)
  )
  SELECT pg_notify('${LOG_CHANNEL}', $7) FROM turn`;

/** The job logs kept in the database `db` (the store's pool) names. */
export function pgJobLogs(db: Queryable, target: PgTarget): JobLogs {
  const failure = (err: unknown): never => {
    throw pgFailure(err, target) ?? err;
  };
  return {
    appender(pipeline, job) {
      const payload = JSON.stringify({ pipeline, job });
      return batchedAppender(async (lines) => {
        const cols = [lines.map((l) => l.ts), lines.map((l) => l.datum), lines.map((l) => l.stream), lines.map((l) => l.message)];
        await db.query(APPEND, [pipeline, job, ...cols, payload]).catch(failure);
      });
    },
    cursor: (pipeline, job) => new LogRows(db, pipeline, job, failure),
    // the rows went with the pipeline's records (PgJobRecords.deletePipeline), in its unit
    removePipeline: async () => {},
  };
}

/** A job's rows read forward by `seq`. */
class LogRows implements LogCursor {
  private after = 0;

  constructor(
    private readonly db: Queryable,
    private readonly pipeline: string,
    private readonly job: string,
    private readonly failure: (err: unknown) => never,
  ) {}

  async read(): Promise<{ lines: StoredLogLine[]; more: boolean }> {
    const r = await this.db
      .query<StoredLogLine & { seq: string }>('SELECT seq, ts, datum, stream, message FROM job_logs WHERE pipeline = $1 AND job = $2 AND seq > $3 ORDER BY seq LIMIT $4', [
        this.pipeline,
        this.job,
        this.after,
        LOG_PAGE,
      ])
      .catch(this.failure);
    const last = r.rows.at(-1);
    if (last) this.after = Number(last.seq);
    return { lines: r.rows.map((l) => ({ ts: l.ts, datum: l.datum, stream: l.stream, message: l.message })), more: r.rows.length === LOG_PAGE };
  }

  close(): void {}
}
