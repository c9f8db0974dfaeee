// Job logs: reading them in time order, and following them while runners append. A job's log is
// kept by the store (StoreHandle.logs: a file per job on a local store, rows of the database on a
// team store), appended to by its runners in batches (at most ~200 ms late). Nothing here holds a
// whole log: each job's is read forward a page at a time, so memory depends on line length and on
// how many jobs overlap in time, never on how much a job logged.
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { InvalidArgumentError } from '../errors.js';
import type { JobState, JobSummary } from '../store/job-records.js';
import { cleanPath } from '../store/paths.js';
import { TERMINAL_JOB_STATES, type LogCursor, type StoredLogLine, type StoreHandle } from '../store/store-handle.js';
import type { DatumFile } from './datums.js';
import { requireJob, requirePipeline } from './pipeline-service.js';

/** One stored log line, with the job it belongs to. */
export interface LogLine {
  ts: string;
  pipeline: string;
  job: string;
  datum: string;
  stream: 'stdout' | 'stderr' | 'system';
  message: string;
}

/** One `--inputs` term: an input file's path, or the hex content hash of an input file. */
export type InputTerm = { path: string } | { hash: string };

/** Which lines to read. `job` needs `pipeline`; neither means every pipeline. */
export interface LogFilter {
  pipeline?: string;
  job?: string;
  /** a datum id or a prefix of one */
  datum?: string;
  /** include the runner's own lines (`beginning to run user code`, retries, timeouts) */
  includeSystem?: boolean;
  /** only datums whose input files match every term, as pachctl's `--inputs` */
  inputs?: readonly InputTerm[];
}

/** Pages one poll reads of one job's log at most; a follower that is behind polls again at once. */
const POLL_PAGES = 4;
/** How often a follower looks for appended lines and new jobs on a store that cannot notify. */
export const FOLLOW_POLL_MS = 200;
/**
 * A job's log is complete once the job has ended and the log has not grown for this long. The
 * runner that ends a job flushes its own lines first, but another runner sharing the job, or one
 * whose datums a stop is killing, can flush its last batch (≤ 200 ms late) after the state changed.
 */
const DRAIN_QUIET_MS = 1000;

const CONTENT_HASH_RE = /^[0-9a-f]{64}$/i;

/**
 * Parse `--inputs`: comma-separated absolute paths (`/dir/file.txt`, matched against the datums'
 * input files) and 64-character hex content hashes (as `inspect file --json` and `list datum
 * --json` give them). Anything else is a usage error; a well-formed value that matches nothing
 * simply selects no lines, as in pachctl.
 */
export function parseInputTerms(value: string, what = '--inputs'): InputTerm[] {
  const terms: InputTerm[] = [];
  for (const raw of value.split(',')) {
    const v = raw.trim();
    if (v.startsWith('/')) terms.push({ path: cleanPath(v) });
    else if (CONTENT_HASH_RE.test(v)) terms.push({ hash: v.toLowerCase() });
    else
      throw new InvalidArgumentError(
        `invalid ${what} value "${v}": expected an absolute path (/dir/file.txt) or a 64-character hex content hash`,
        'give input file paths as `tusk list datum PIPELINE@JOB` prints them, comma-separated; hashes as `tusk inspect file --json` prints them',
      );
  }
  return terms;
}

/** Whether every term names one of a datum's input files (by path or content hash), as pachctl matches them. */
export function inputsMatch(files: readonly DatumFile[], terms: readonly InputTerm[]): boolean {
  return terms.every((t) => files.some((f) => ('path' in t ? f.path === t.path : f.hash === t.hash)));
}

/** Check the filter's pipeline and job exist (they are named by the user); NotFoundError otherwise. */
async function checkScope(s: StoreHandle, filter: LogFilter): Promise<void> {
  if (filter.job !== undefined) await requireJob(s, filter.pipeline ?? '', filter.job);
  else if (filter.pipeline !== undefined) await requirePipeline(s, filter.pipeline);
}

/** The stored lines of the scope's jobs, merged in time order, with what the filter needs read first. */
async function storedLines(s: StoreHandle, filter: LogFilter, lines: LineFilter): Promise<{ sources: Source[]; merged: AsyncIterable<LogLine> }> {
  await checkScope(s, filter);
  const jobs = await scopeJobs(s, filter);
  for (const j of jobs) await lines.prepare(j);
  const sources = jobs.map((j) => new Source(j, s.logs.cursor(j.pipeline, j.id), lines));
  return { sources, merged: mergeByTime(sources) };
}

/** Stored lines of the filter's scope, oldest first, read as the caller consumes them. */
export async function* streamLogs(s: StoreHandle, filter: LogFilter): AsyncGenerator<LogLine> {
  yield* (await storedLines(s, filter, new LineFilter(s, filter))).merged;
}

/** Stored lines of the filter's scope, oldest first, as one array (the `--json` document, the console). */
export async function readLogs(s: StoreHandle, filter: LogFilter): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of (await storedLines(s, filter, new LineFilter(s, filter))).merged) out.push(l);
  return out;
}

/** Lines handed to a printer at a time; between batches the event loop runs, so Ctrl-C is heard. */
const BATCH_LINES = 256;

/** Stored lines of the filter's scope, oldest first, a batch at a time (`logs`, `logs --json`: printed as read). */
export async function* logBatches(s: StoreHandle, filter: LogFilter): AsyncGenerator<LogLine[]> {
  const batch: LogLine[] = [];
  for await (const l of (await storedLines(s, filter, new LineFilter(s, filter))).merged) {
    batch.push(l);
    if (batch.length >= BATCH_LINES) yield batch.splice(0);
  }
  if (batch.length > 0) yield batch;
}

async function printMerged(lines: AsyncIterable<LogLine>, onLines: (lines: LogLine[]) => void, signal?: AbortSignal): Promise<void> {
  const batch: LogLine[] = [];
  for await (const l of lines) {
    batch.push(l);
    if (batch.length < BATCH_LINES) continue;
    onLines(batch.splice(0));
    await yieldToEvents();
    if (signal?.aborted) return;
  }
  if (batch.length > 0) onLines(batch);
}

export interface FollowOptions {
  /** stops following (the command aborts it on SIGINT/SIGTERM) */
  signal: AbortSignal;
  /** receives lines in batches, oldest first within a batch */
  onLines(lines: LogLine[]): void;
  pollMs?: number;
}

/**
 * Print what is stored, then the lines appended from then on, including those of jobs that start
 * meanwhile. Following one job returns once it has ended and its log is drained; otherwise it
 * returns when `signal` aborts. Between two looks it waits on the store's change feed: a poll
 * interval on a local store, a notification (a batch of lines written, a job's state changed) on
 * a team store.
 */
export async function followLogs(s: StoreHandle, filter: LogFilter, opts: FollowOptions): Promise<void> {
  const startedAt = Date.now();
  const lines = new LineFilter(s, filter);
  const { sources, merged } = await storedLines(s, filter, lines);
  // what is stored comes in time order, however much there is
  await printMerged(merged, opts.onLines, opts.signal);
  // from here on, only jobs that are running or ended lately can still grow
  const tail = new LogTail(s, filter, { lines, endedSince: startedAt - DRAIN_QUIET_MS });
  for (const src of sources) tail.adopt(src.job, src.log, startedAt);
  // aborting the signal closes the feed, which ends its wait at once
  const feed = await s.changes(opts.signal);
  try {
    while (!opts.signal.aborted) {
      const { lines: fresh, more, recheckMs } = await tail.poll();
      if (fresh.length > 0) opts.onLines(fresh);
      if (filter.job !== undefined && tail.isDrained(filter.pipeline!, filter.job)) return;
      // behind (a log grew by more than one poll reads): go on at once, but let signals in
      if (more) await yieldToEvents();
      else await feed.next(opts.pollMs ?? FOLLOW_POLL_MS, recheckMs);
    }
  } finally {
    tail.close();
    await feed.close();
  }
}

// ─── the jobs of a scope ─────────────────────────────────────────────────────────────────────

type JobRef = JobSummary;

/** Every job of the scope, oldest first within a pipeline. */
async function scopeJobs(s: StoreHandle, filter: LogFilter): Promise<JobRef[]> {
  if (filter.job !== undefined) {
    const j = await s.jobs.getJob(filter.pipeline!, filter.job);
    return j ? [j] : [];
  }
  const pipelines = filter.pipeline !== undefined ? [filter.pipeline] : (await s.jobs.listPipelines()).map((p) => p.name);
  const out: JobRef[] = [];
  for (const p of pipelines) out.push(...(await s.jobs.jobsOf(p)).reverse());
  return out;
}

function isTerminal(state: string): boolean {
  return TERMINAL_JOB_STATES.includes(state as JobState);
}

// ─── filtering ───────────────────────────────────────────────────────────────────────────────

/** Turns stored lines of a job into LogLines, keeping those the filter selects. */
class LineFilter {
  /** per job, the datums whose inputs match `--inputs` */
  private readonly matching = new Map<string, Set<string>>();

  constructor(
    private readonly s: StoreHandle,
    private readonly filter: LogFilter,
  ) {}

  select(job: JobRef, l: StoredLogLine): LogLine | undefined {
    const f = this.filter;
    if (l.stream === 'system' && !f.includeSystem) return undefined;
    if (f.datum !== undefined && !l.datum.startsWith(f.datum)) return undefined;
    if (f.inputs !== undefined && !this.datumsMatching(job).has(l.datum)) return undefined;
    return { ts: l.ts, pipeline: job.pipeline, job: job.id, datum: l.datum, stream: l.stream, message: l.message };
  }

  /** Forget a job's datum set once its log is done with. */
  forget(job: JobRef): void {
    this.matching.delete(`${job.pipeline}@${job.id}`);
  }

  /**
   * Read which datums of the job match `--inputs`, before its lines are selected. A job not yet
   * planned has no lines yet (its datums are planned before its first line): it is read again
   * once it has some.
   */
  async prepare(job: JobRef): Promise<void> {
    const key = `${job.pipeline}@${job.id}`;
    if (this.filter.inputs === undefined || this.matching.has(key) || job.state === 'JOB_CREATED') return;
    const set = new Set<string>();
    const terms = this.filter.inputs;
    for await (const d of this.s.jobs.iterateDatumInputs(job.pipeline, job.id)) if (inputsMatch(d.inputs, terms)) set.add(d.id);
    this.matching.set(key, set);
  }

  private datumsMatching(job: JobRef): Set<string> {
    return this.matching.get(`${job.pipeline}@${job.id}`) ?? new Set();
  }
}

// ─── stored lines in time order ──────────────────────────────────────────────────────────────

/** The selected lines of one job's log, buffered a page at a time. */
class Source {
  private pending: LogLine[] = [];
  private at = 0;
  /** no line of this job can be older than this: it logs only after it started */
  readonly since: string;

  constructor(
    readonly job: JobRef,
    readonly log: LogCursor,
    private readonly lines: LineFilter,
  ) {
    this.since = new Date(job.started ?? job.created).toISOString();
  }

  /** The oldest unread line, reading on when the buffer is used up; undefined at the end of the log. */
  async head(): Promise<LogLine | undefined> {
    while (this.at >= this.pending.length) {
      const r = await this.log.read();
      this.pending = [];
      this.at = 0;
      for (const stored of r.lines) {
        const l = this.lines.select(this.job, stored);
        if (l) this.pending.push(l);
      }
      if (this.pending.length === 0 && !r.more) return undefined;
    }
    return this.pending[this.at];
  }

  take(): void {
    this.at++;
  }
}

/**
 * Merge jobs' lines by time. Each job's log is in time order already; one is read only once the
 * merge reaches the time its job started, so the logs open at once are those of jobs that ran at
 * the same time, not every job of the pipeline.
 */
async function* mergeByTime(sources: Source[]): AsyncGenerator<LogLine> {
  const byStart = [...sources].sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : 0));
  const active: Source[] = [];
  let next = 0;
  for (;;) {
    let best: Source | undefined;
    let bestLine: LogLine | undefined;
    for (;;) {
      best = undefined;
      bestLine = undefined;
      for (const src of active) {
        const l = await src.head();
        // ties keep the order of the sources (oldest job first)
        if (l && (!bestLine || l.ts < bestLine.ts)) [best, bestLine] = [src, l];
      }
      const waiting = byStart[next];
      if (!waiting || (bestLine && waiting.since > bestLine.ts)) break;
      next++;
      if (await waiting.head()) active.push(waiting);
      else waiting.log.close();
    }
    if (!best || !bestLine) return;
    yield bestLine;
    best.take();
    if (!(await best.head())) {
      best.log.close();
      active.splice(active.indexOf(best), 1);
    }
  }
}

// ─── following ───────────────────────────────────────────────────────────────────────────────

interface Tracked {
  job: JobRef;
  log: LogCursor;
  /** when the log last grew (ms) */
  grewAt: number;
}

/**
 * The live end of a scope's logs: each poll returns the complete lines appended since the last
 * one, from every job that is running or ended lately (new jobs are picked up as they appear).
 * The console's live view uses it too.
 */
export class LogTail {
  private readonly tracked = new Map<string, Tracked>();
  /**
   * Jobs whose logs are complete. Never pruned: a job's `finished` can move (a failed egress ends
   * a successful job again), and reading such a log a second time would print it twice.
   */
  private readonly done = new Set<string>();
  private readonly lines: LineFilter;
  /**
   * Jobs that ended at or after this (ms) are still read: their last lines may be on the way.
   * The first poll uses the `endedSince` option (0: also jobs that ended long ago).
   */
  private since: number;

  constructor(
    private readonly s: StoreHandle,
    private readonly filter: LogFilter,
    opts: { lines?: LineFilter; endedSince?: number } = {},
  ) {
    this.lines = opts.lines ?? new LineFilter(s, filter);
    this.since = opts.endedSince ?? Date.now() - DRAIN_QUIET_MS;
  }

  /** Go on reading a job's log from where `log` stopped (after the stored lines were printed). */
  adopt(job: JobRef, log: LogCursor, now: number): void {
    const key = `${job.pipeline}@${job.id}`;
    // ended before the follow began: its log was complete when it was read
    if (isTerminal(job.state) && job.finished !== null && now - job.finished >= DRAIN_QUIET_MS) this.done.add(key);
    else this.tracked.set(key, { job, log, grewAt: now });
  }

  /** Whether a job's log is complete and read to its end. */
  isDrained(pipeline: string, job: string): boolean {
    return this.done.has(`${pipeline}@${job}`);
  }

  /**
   * Lines appended since the last poll, oldest first; `more` when a log has more than one poll
   * reads; `recheckMs`, when an ended job's log becomes complete by staying quiet: poll again
   * then, even if nothing else changed.
   */
  async poll(): Promise<{ lines: LogLine[]; more: boolean; recheckMs?: number }> {
    const now = Date.now();
    const live = await this.liveJobs();
    this.since = now - DRAIN_QUIET_MS;
    const liveKeys = new Set<string>();
    for (const j of live) {
      const key = `${j.pipeline}@${j.id}`;
      liveKeys.add(key);
      const t = this.tracked.get(key);
      if (t) t.job = j;
      else if (!this.done.has(key)) this.tracked.set(key, { job: j, log: this.s.logs.cursor(j.pipeline, j.id), grewAt: now });
    }
    const out: LogLine[] = [];
    let more = false;
    let quietAt = Infinity;
    for (const [key, t] of this.tracked) {
      let r: { lines: StoredLogLine[]; more: boolean } = { lines: [], more: true };
      for (let page = 0; page < POLL_PAGES && r.more; page++) {
        r = await t.log.read();
        if (r.lines.length > 0) {
          await this.lines.prepare(t.job);
          t.grewAt = now;
        }
        for (const stored of r.lines) {
          const l = this.lines.select(t.job, stored);
          if (l) out.push(l);
        }
      }
      more ||= r.more;
      // no longer returned by the query: it ended before `since`, or was deleted with its pipeline
      const ended = !liveKeys.has(key) || isTerminal(t.job.state);
      const endedAt = liveKeys.has(key) ? (t.job.finished ?? now) : 0;
      if (ended && !r.more && now - Math.max(endedAt, t.grewAt) >= DRAIN_QUIET_MS) {
        t.log.close();
        this.lines.forget(t.job);
        this.tracked.delete(key);
        this.done.add(key);
      } else if (ended) quietAt = Math.min(quietAt, Math.max(endedAt, t.grewAt) + DRAIN_QUIET_MS);
    }
    // lines of different jobs are in time order within each job's log only
    out.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    return quietAt === Infinity ? { lines: out, more } : { lines: out, more, recheckMs: Math.max(0, quietAt - Date.now()) };
  }

  /** Stop reading: give back every open descriptor. */
  close(): void {
    for (const t of this.tracked.values()) t.log.close();
  }

  private async liveJobs(): Promise<JobRef[]> {
    const f = this.filter;
    if (f.job !== undefined) {
      const j = await this.s.jobs.getJob(f.pipeline!, f.job);
      // an ended job counts as live while its last lines may still come
      return j && (!isTerminal(j.state) || (j.finished ?? 0) >= this.since) ? [j] : [];
    }
    const rows = await this.s.jobs.liveJobs(this.since);
    return f.pipeline === undefined ? rows : rows.filter((j) => j.pipeline === f.pipeline);
  }
}
