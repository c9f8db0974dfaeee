// Live updates as server-sent events. SQLite cannot notify, and jobs run in other processes (the
// runner), so each stream polls the pipeline service and sends only what changed: job states and
// counters, and log lines not sent yet.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspectJob, listJobs, readLogs, type JobInfo, type LogLine } from '../pipeline/pipeline-service.js';
import { TERMINAL_JOB_STATES, type JobState } from '../store/job-records.js';
import type { Store } from '../store/store.js';
import type { ConsoleEvent } from './api-types.js';
import { BASE_HEADERS } from './http.js';

/** How many of the newest jobs the all-pipelines stream watches. */
const WATCHED_JOBS = 100;
const KEEPALIVE_MS = 15_000;

export interface EventScope {
  pipeline?: string;
  job?: string;
}

function fingerprint(jobs: JobInfo[]): string {
  return jobs.map((j) => `${j.pipeline}@${j.id}:${j.state}:${j.processed}:${j.skipped}:${j.failed}:${j.recovered}:${j.total}`).join('|');
}

/**
 * Stream events for one scope until the client disconnects: `jobs` (the watched jobs, whenever
 * any of them changed) and, for a job, `logs` (new lines, per datum in the order written).
 * The caller has checked that the scope exists.
 */
export function streamEvents(store: Store, scope: EventScope, req: IncomingMessage, res: ServerResponse, opts: { pollMs: number }): void {
  res.writeHead(200, {
    ...BASE_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  const send = (e: ConsoleEvent) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  let lastJobs = '';
  // lines already sent, per datum: a datum's log only grows, but datums interleave in time
  const sentPerDatum = new Map<string, number>();
  let logsDone = false;

  const poll = () => {
    try {
      const jobs = scope.job && scope.pipeline ? [inspectJob(store.core, scope.pipeline, scope.job)] : listJobs(store.core, { pipeline: scope.pipeline, number: WATCHED_JOBS });
      const fp = fingerprint(jobs);
      const changed = fp !== lastJobs;
      if (changed) {
        lastJobs = fp;
        send({ type: 'jobs', jobs });
      }
      if (scope.job && scope.pipeline && (changed || !logsDone)) {
        const lines = readLogs(store.core, { pipeline: scope.pipeline, job: scope.job, includeSystem: true });
        const fresh: LogLine[] = [];
        const seen = new Map<string, number>();
        for (const l of lines) {
          const n = (seen.get(l.datum) ?? 0) + 1;
          seen.set(l.datum, n);
          if (n > (sentPerDatum.get(l.datum) ?? 0)) fresh.push(l);
        }
        for (const [d, n] of seen) sentPerDatum.set(d, n);
        if (fresh.length > 0) send({ type: 'logs', lines: fresh });
        // once the job has ended its logs are complete: stop re-reading them
        logsDone = jobs.every((j) => TERMINAL_JOB_STATES.includes(j.state as JobState));
      }
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
      stop();
      res.end();
    }
  };
  const timer = setInterval(poll, opts.pollMs);
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  const stop = () => {
    clearInterval(timer);
    clearInterval(keepalive);
  };
  req.on('close', stop);
  res.on('close', stop);
  poll();
}
