// Live updates as server-sent events. Each stream reads the pipeline service and sends only what
// changed: job states and counters, and the log lines appended since the last read. Between two
// reads it waits on the store's change feed: a poll interval on a local store (SQLite cannot
// notify, and jobs run in other processes), a notification on a team store.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JobInfo } from '../pipeline/pipeline-service.js';
import type { ChangeFeed } from '../store/store-handle.js';
import type { ConsoleEvent } from './api-types.js';
import { BASE_HEADERS } from './http.js';
import type { ConsolePipelines } from './services.js';

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
 * any of them changed) and, for a job, `logs` (new lines, in the order written).
 * The caller has checked that the scope exists.
 */
export function streamEvents(pipelines: ConsolePipelines, scope: EventScope, req: IncomingMessage, res: ServerResponse, opts: { pollMs: number }): void {
  res.writeHead(200, {
    ...BASE_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  const send = (e: ConsoleEvent) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  let lastJobs = '';
  // a job's log is read on from where the last poll stopped; the first poll sends what is stored
  const tail = scope.job && scope.pipeline ? pipelines.tailLogs({ pipeline: scope.pipeline, job: scope.job, includeSystem: true }, { endedSince: 0 }) : undefined;

  const poll = async (): Promise<number | undefined> => {
    const jobs = scope.job && scope.pipeline ? [await pipelines.inspectJob(scope.pipeline, scope.job)] : await pipelines.listJobs({ pipeline: scope.pipeline, number: WATCHED_JOBS });
    const fp = fingerprint(jobs);
    if (fp !== lastJobs) {
      lastJobs = fp;
      send({ type: 'jobs', jobs });
    }
    // once the job has ended and its log is drained, the tail reads nothing more
    if (!tail || tail.isDrained(scope.pipeline!, scope.job!)) return undefined;
    for (;;) {
      const r = await tail.poll();
      if (r.lines.length > 0) send({ type: 'logs', lines: r.lines });
      if (!r.more) return r.recheckMs;
    }
  };
  const ended = new AbortController();
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  const stop = () => {
    ended.abort();
    clearInterval(keepalive);
  };
  req.on('close', stop);
  res.on('close', stop);
  // one read at a time: a slow one is never overlapped by the next
  void (async () => {
    let feed: ChangeFeed | undefined;
    try {
      feed = await pipelines.changes(ended.signal);
      while (!ended.signal.aborted) await feed.next(opts.pollMs, await poll());
    } catch (err) {
      if (!ended.signal.aborted) send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
      stop();
      res.end();
    } finally {
      tail?.close();
      await feed?.close();
    }
  })();
}
