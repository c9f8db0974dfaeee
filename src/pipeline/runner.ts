// Who runs jobs. Commands never wait for a job unless asked: after a write that created jobs they
// make sure a background runner exists (a detached `tusk run --daemon`, one per store, found by
// its lease). `--wait`, `tusk run` and TUSK_RUNNER=foreground run them in the calling process
// instead, which is what CI and tests want.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { isOwnerAlive } from '../store/chunk-index.js';
import type { StoreCore } from '../store/store-core.js';
import { runPendingJobs } from './job-runner.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'run.js');

export function hasOpenJobs(s: StoreCore): boolean {
  return s.jobs.openJobs().length > 0;
}

/** Run every runnable job here and now; returns the number of jobs that reached an end. */
export async function runForeground(s: StoreCore, opts: { parallelism?: number } = {}): Promise<number> {
  const runner = `fg-${process.pid}-${randomBytes(4).toString('hex')}`;
  return runPendingJobs(s, { runner, parallelism: opts.parallelism });
}

/**
 * After a write: run jobs in the foreground when asked (TUSK_RUNNER=foreground or `wait`),
 * otherwise make sure a background runner is alive.
 */
export async function afterWrite(s: StoreCore, opts: { wait?: boolean } = {}): Promise<void> {
  if (!hasOpenJobs(s)) return;
  if (opts.wait || process.env.TUSK_RUNNER === 'foreground') {
    await runForeground(s);
    return;
  }
  if (process.env.TUSK_RUNNER === 'none') return;
  const probe = `probe-${process.pid}`;
  // a live runner will pick the new jobs up on its next poll
  if (!s.jobs.claimRunner(probe, (o) => isOwnerAlive(o.pid, o.host, o.until))) return;
  s.jobs.releaseRunner(probe);
  const child = spawn(process.execPath, [BIN, 'run', '--daemon'], { detached: true, stdio: 'ignore', env: { ...process.env, TUSK_STORE: s.path } });
  child.unref();
}

/** The background runner's loop: run jobs until there has been nothing to do for `idleMs`. */
export async function runDaemon(s: StoreCore, opts: { idleMs?: number } = {}): Promise<void> {
  const id = `daemon-${process.pid}-${randomBytes(4).toString('hex')}`;
  if (!s.jobs.claimRunner(id, (o) => isOwnerAlive(o.pid, o.host, o.until))) return;
  const idleMs = opts.idleMs ?? 3000;
  let idleSince = Date.now();
  try {
    while (Date.now() - idleSince < idleMs) {
      s.jobs.claimRunner(id, () => false); // renew the lease
      const ran = await runPendingJobs(s, { runner: id });
      if (ran > 0) idleSince = Date.now();
      else await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    s.jobs.releaseRunner(id);
  }
}
