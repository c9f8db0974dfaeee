// Project commands (tusk.yaml, tusk.lock, git hooks): each opens the project's store through the
// composition root, runs one project operation on it and closes it.
import { findProject, tryFindProject, type Project } from '../project/config.js';
import { runHook as runProjectHook } from '../project/hook-runner.js';
import { installHooks as install, uninstallHooks as uninstall } from '../project/hooks.js';
import { checkoutTargets, worktreeStatus } from '../project/status.js';
import { updateLock } from '../project/sync.js';
import { verifyLock, type VerifyOptions } from '../project/verify.js';
import { openProjectStore, openProjectTusk, openTusk, type Tusk } from './tusk.js';

/** Run `fn` with the project at or above `cwd` (if any) and its store, closing the store after. */
async function withProjectStore<T>(cwd: string, fn: (tusk: Tusk, project: Project | undefined) => Promise<T> | T, opts: { readonly?: boolean } = {}): Promise<T> {
  const project = tryFindProject(cwd);
  const tusk = await (project ? openProjectTusk(project, opts) : openTusk({ cwd, readonly: opts.readonly }));
  try {
    return await fn(tusk, project);
  } finally {
    await tusk.close();
  }
}

/** `tusk lock`: sync tracked directories and pipelines into the store, run them, write tusk.lock. */
export async function lock(opts: { cwd?: string; wait?: boolean } = {}) {
  const project = findProject(opts.cwd);
  const store = await openProjectStore(project);
  try {
    const { watch: _watch, ...result } = await updateLock(store, project, { wait: opts.wait ?? project.config.wait });
    return result;
  } finally {
    await store.close();
  }
}

/** Compare local directories with commits. */
export function status(cwd: string, opts: { ref?: string; dir?: string }) {
  return withProjectStore(cwd, (tusk, project) => worktreeStatus(tusk.forProject().reads, project, { ...opts, cwd }));
}

/** Materialize commits into local directories. */
export function checkout(cwd: string, opts: { ref?: string; dir?: string; force?: boolean }) {
  return withProjectStore(cwd, (tusk, project) => checkoutTargets(tusk.forProject().reads, project, { ...opts, cwd }));
}

/** Re-run the locked pipelines and compare their outputs with the lock. */
export function verify(cwd: string, opts: Omit<VerifyOptions, 'cwd'>) {
  return withProjectStore(cwd, (tusk, project) => verifyLock(tusk.forVerify(), project, { ...opts, cwd }));
}

/** What one git hook does for the project at or above the working directory. */
export function runHook(hook: string) {
  return runProjectHook(hook, { open: openProjectStore });
}

export function installHooks(opts: { hooks?: readonly string[] } = {}) {
  return install(findProject(), opts);
}

export function uninstallHooks(opts: { hooks?: readonly string[] } = {}) {
  return uninstall(findProject(), opts);
}

export { KNOWN_HOOKS } from '../project/hooks.js';
export { VerifyFailedError } from '../project/verify.js';
