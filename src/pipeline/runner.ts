// Who runs jobs. Commands never wait for a job unless asked: after a write that created jobs they
// make sure a background runner exists (a detached `tusk run --daemon`, one per store, found by
// its lease). `--wait`, `tusk run` and TUSK_RUNNER=foreground run them in the calling process
// instead, which is what CI and tests want. The background runner also keeps the time for cron
// inputs: it stays alive while any running pipeline has one.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { isOwnerAlive, TERMINAL_JOB_STATES, type StoreHandle } from '../store/store-handle.js';
import { hasCronPipelines, runCronTimer } from './cron-ticker.js';
import { untilLeaseEnds } from './datum-claims.js';
import { requireJobsSucceeded } from './job-outcome.js';
import { runPendingJobs } from './job-runner.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'run.js');

export async function hasOpenJobs(s: StoreHandle): Promise<boolean> {
  return (await s.jobs.openJobs()).length > 0;
}

/** Run every runnable job here and now; returns the number of jobs that reached an end. */
export async function runForeground(s: StoreHandle, opts: { parallelism?: number } = {}): Promise<number> {
  const runner = `fg-${process.pid}-${randomBytes(4).toString('hex')}`;
  return runPendingJobs(s, { runner, parallelism: opts.parallelism });
}

/** Whether a background runner (`tusk run --daemon`) holds the store's runner lease. */
export async function isRunnerAlive(s: StoreHandle): Promise<boolean> {
  const o = await s.jobs.runnerOwner();
  return o !== undefined && isOwnerAlive(o.pid, o.host, o.until);
}

/**
 * Wait until `isDone()` holds. Whenever no background runner is alive, runnable jobs are run here,
 * so a wait never depends on a runner that is not there. `runHere: false` (default under
 * TUSK_RUNNER=none) only waits. Between two looks it waits on the store's change feed: on a
 * local store a poll interval (backing off to 250 ms), on a team store a notification (or the
 * feed's safety interval). Returns false when `timeoutMs` passed first; the timeout is checked
 * between runs, not inside one.
 */
export async function runUntil(s: StoreHandle, isDone: () => Promise<boolean>, opts: { timeoutMs?: number; runHere?: boolean } = {}): Promise<boolean> {
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  const runHere = opts.runHere ?? process.env.TUSK_RUNNER !== 'none';
  // opened before the first look: whatever commits after that wakes the wait
  const feed = await s.changes();
  try {
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      if (await isDone()) return true;
      if (runHere && !(await isRunnerAlive(s)) && (await runForeground(s)) > 0) {
        delay = 10;
        continue;
      }
      if (await isDone()) return true;
      if (Date.now() > deadline) return false;
      await feed.next(delay, deadline - Date.now());
    }
  } finally {
    await feed.close();
  }
}

/** Whether every job of the commit set has ended (true when the set has no jobs). */
export async function isCommitSetDone(s: StoreHandle, id: string): Promise<boolean> {
  return (await s.jobs.jobsById(id)).every((j) => TERMINAL_JOB_STATES.includes(j.state));
}

/**
 * After a write: run jobs in the foreground when asked (TUSK_RUNNER=foreground or `wait`),
 * otherwise make sure a background runner is alive. With `wait` and the `commitSet`(s) the write
 * created, returns only when every job of that set (downstream ones included) has ended, and
 * throws JobFailedError (naming `written`, what did succeed) when one of them did not succeed. Cron
 * pipelines need a background runner even when no job is open (it fires their ticks), except
 * under TUSK_RUNNER=foreground or none, where nothing runs in the background.
 */
export async function afterWrite(s: StoreHandle, opts: { wait?: boolean; commitSet?: string | readonly string[]; written?: string } = {}): Promise<void> {
  const mode = process.env.TUSK_RUNNER;
  const open = await hasOpenJobs(s);
  const here = open && (opts.wait || mode === 'foreground');
  const sets = opts.commitSet === undefined ? [] : typeof opts.commitSet === 'string' ? [opts.commitSet] : opts.commitSet;
  if (here) {
    if (sets.length === 0) await runForeground(s);
    else await runUntil(s, async () => (await Promise.all(sets.map((set) => isCommitSetDone(s, set)))).every(Boolean), { runHere: true });
  }
  if (mode !== 'foreground' && mode !== 'none' && ((open && !here) || (await hasCronPipelines(s)))) await startBackgroundRunner(s);
  // a wait that ends on a failed job is a failed command, or scripts would build on missing output
  if (opts.wait) await requireJobsSucceeded(s, (await Promise.all(sets.map((set) => s.jobs.jobsById(set)))).flat(), opts.written);
}

/** Spawn `tusk run --daemon` unless a live runner holds the store's lease. */
async function startBackgroundRunner(s: StoreHandle): Promise<void> {
  const probe = `probe-${process.pid}`;
  // a live runner will pick the new jobs up on its next poll
  if (!(await s.jobs.claimRunner(probe, (o) => isOwnerAlive(o.pid, o.host, o.until)))) return;
  await s.jobs.releaseRunner(probe);
  const child = spawn(process.execPath, [BIN, 'run', '--daemon'], { detached: true, stdio: 'ignore', env: { ...process.env, TUSK_STORE: s.location } });
  child.unref();
}

/** How often the background runner looks for new jobs on a store that cannot notify. */
const DAEMON_POLL_MS = 200;

/**
 * The background runner's loop: run jobs until there has been nothing to do for `idleMs` and no
 * running pipeline has a cron input. Cron ticks are fired by a timer beside the job loop, so a
 * long job does not hold them back (their jobs queue up behind it, as in Pachyderm). Between two
 * passes it sleeps on the store's change feed: a poll interval on a local store, until a
 * notification (or a datum's lease running out, or the feed's safety interval, which also renews
 * the runner's lease in time) on a team store.
 */
export async function runDaemon(s: StoreHandle, opts: { idleMs?: number } = {}): Promise<void> {
  const id = `daemon-${process.pid}-${randomBytes(4).toString('hex')}`;
  if (!(await s.jobs.claimRunner(id, (o) => isOwnerAlive(o.pid, o.host, o.until)))) return;
  const idleMs = opts.idleMs ?? 3000;
  const timer = new AbortController();
  const ticking = runCronTimer(s, timer.signal);
  let idleSince = Date.now();
  // opened before the first look: a job created after that wakes the runner
  const feed = await s.changes(timer.signal);
  try {
    // a store deleted under the runner (a removed project, a test's temp dir) has nothing left to run
    while (fs.existsSync(s.path)) {
      await s.jobs.claimRunner(id, () => false); // renew the lease
      const ran = await runPendingJobs(s, { runner: id });
      if (ran > 0) idleSince = Date.now();
      else if (Date.now() - idleSince >= idleMs && !(await hasCronPipelines(s))) break;
      else {
        // idle, it looks again when its idle time is up (to end, unless a cron pipeline keeps it)
        const idleLeft = idleSince + idleMs - Date.now();
        await feed.next(DAEMON_POLL_MS, Math.min(idleLeft > 0 ? idleLeft : Infinity, await untilLeaseEnds(s, DAEMON_POLL_MS)));
      }
    }
  } finally {
    await feed.close();
    timer.abort();
    await ticking;
    await s.jobs.releaseRunner(id);
  }
}
