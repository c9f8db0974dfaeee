// What each git hook does once the fast path (hook-fast.ts) could not prove there is nothing to do.
//   pre-commit     sync tracked data and pipelines, write tusk.lock and stage it
//   post-checkout  the lock now pins other data: say so, or (checkout: auto) check it out
//   post-merge     the same as post-checkout
//   pre-push       warn when the lock names outputs that had not finished
import * as path from 'node:path';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { hookMsg } from '../ui/messages.js';
import { findProject, trackedDir, type Project } from './config.js';
import { gitAdd, hasStagedChanges, parentGitCommand } from './git.js';
import { findGitDir, isNoop, RACY_MS, readState, writeState } from './hook-state.js';
import { hashFileBytes } from './local-scan.js';
import { branchKey, readLock } from './lock.js';
import type { OpenProjectStore } from './ports.js';
import { updateLock, type LockUpdateResult } from './sync.js';
import { checkoutDir, type CheckoutResult } from './worktree.js';

export interface HookRunResult {
  hook: string;
  /** nothing had changed: the hook did nothing */
  noop: boolean;
  ms: number;
  /** pre-commit: what was synced and locked */
  update?: LockUpdateResult;
  /** post-checkout with checkout: auto */
  checkouts: CheckoutResult[];
  /** lines for the user (stderr) */
  notices: string[];
}

/** Run one hook for the project at or above `cwd`; `open` opens its store. */
export async function runHook(hook: string, opts: { cwd?: string; open: OpenProjectStore }): Promise<HookRunResult> {
  const started = Date.now();
  const project = findProject(opts.cwd ?? process.cwd());
  const gitDir = findGitDir(project.root);
  const result: HookRunResult = { hook, noop: false, ms: 0, checkouts: [], notices: [] };
  if (gitDir && isNoop(hook, gitDir)) {
    result.noop = true;
  } else if (hook === 'pre-commit') {
    result.update = await preCommit(opts.open, project, gitDir, result.notices);
  } else if (hook === 'post-checkout' || hook === 'post-merge') {
    await postCheckout(opts.open, project, gitDir, result);
  } else if (hook === 'pre-push') {
    await prePush(opts.open, project, result);
  } else {
    result.notices.push(`tusk has nothing to do in a ${hook} hook`);
  }
  result.ms = Date.now() - started;
  return result;
}

async function preCommit(open: OpenProjectStore, project: Project, gitDir: string | undefined, notices: string[]): Promise<LockUpdateResult> {
  const store = await open(project);
  try {
    // with wait: true a failed pipeline stops the commit, and the lock stays as it was
    const { watch, ...update } = await updateLock(store, project, { wait: project.config.wait, stopOnFailure: project.config.wait });
    // git decided what it would commit before this hook ran: when nothing else is staged (data in
    // git-ignored directories changed, nothing else), it stops with "nothing to commit" even
    // though the lock is now staged. Running the same command again commits the lock.
    const onlyLock = update.changed && !hasStagedChanges(project.root);
    gitAdd(project.root, project.lockPath);
    if (onlyLock) notices.push(hookMsg.onlyLockChanged(path.relative(project.root, project.lockPath), parentGitCommand()));
    if (gitDir) {
      const writtenAt = Date.now();
      writeState(gitDir, {
        writtenAt,
        configPath: project.configPath,
        config: hashFileBytes(project.configPath),
        lockPath: project.lockPath,
        lock: hashFileBytes(project.lockPath),
        complete: update.complete,
        racy: watch.some((w) => w.newest > writtenAt - RACY_MS),
        watch: watch.map((w) => ({ path: w.path, digest: w.digest })),
        tracked: Object.fromEntries(update.tracked.filter((t) => t.commit).map((t) => [t.path, t.commit!])),
      });
    }
    return update;
  } finally {
    await store.close();
  }
}

async function postCheckout(open: OpenProjectStore, project: Project, gitDir: string | undefined, result: HookRunResult): Promise<void> {
  const lock = readLock(project.lockPath);
  if (!lock) return;
  const before = gitDir ? readState(gitDir)?.tracked : undefined;
  const moved = project.config.track.filter((t) => {
    const li = lock.inputs[branchKey(t.repo, t.branch)];
    return li !== undefined && before?.[t.path] !== li.commit;
  });
  if (moved.length === 0) return;
  if (project.config.checkout !== 'auto') {
    for (const t of moved) result.notices.push(`tusk.lock pins ${t.repo}@${t.branch}=${lock.inputs[branchKey(t.repo, t.branch)]!.commit} for ${t.path}: run \`tusk checkout\` to update it`);
    return;
  }
  const store = await open(project);
  try {
    for (const t of moved) {
      const li = lock.inputs[branchKey(t.repo, t.branch)]!;
      const c = await store.reads.graph.getRepo(t.repo) ? await store.reads.graph.getCommit(t.repo, li.commit) : undefined;
      if (!c) {
        result.notices.push(`${t.path}: ${t.repo}@${li.commit} is not in the store; restore the store, then run \`tusk checkout\``);
        continue;
      }
      try {
        result.checkouts.push(await checkoutDir(store.reads, c, '/', trackedDir(project, t)));
      } catch (err) {
        // a checkout that would lose unsaved data, or write outside the project, is refused; the
        // git checkout itself stands
        if (!(err instanceof ConflictError || err instanceof InvalidArgumentError)) throw err;
        result.notices.push(`${t.path} not checked out: ${err.message}`);
      }
    }
  } finally {
    await store.close();
  }
}

async function prePush(open: OpenProjectStore, project: Project, result: HookRunResult): Promise<void> {
  const lock = readLock(project.lockPath);
  if (!lock) return;
  const running = Object.entries(lock.pipelines).filter(([, p]) => p.output.state === 'running');
  const failed = Object.entries(lock.pipelines).filter(([, p]) => p.output.state === 'failure');
  if (running.length === 0 && failed.length === 0) return;
  const store = await open(project, { readonly: true });
  try {
    for (const [name, p] of running) {
      const job = await store.reads.jobs.getJob(name, p.output.commit);
      const ended = job && store.reads.isFinished(job.state);
      result.notices.push(
        ended
          ? `${name}@${p.output.commit} finished after tusk.lock was written: run \`tusk lock\` and commit tusk.lock, or \`tusk verify\` in CI cannot check it`
          : `${name}@${p.output.commit} is still running: tusk.lock does not pin its output yet`,
      );
    }
    for (const [name, p] of failed) result.notices.push(`tusk.lock records that ${name} failed: ${p.output.error ?? 'failed'}`);
  } finally {
    await store.close();
  }
}
