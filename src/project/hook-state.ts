// What the last successful pre-commit saw, kept in the git directory (`.git/tusk/state.json`), so
// that the next hook can prove nothing changed with one stat per tracked file and no store at
// all. Node builtins only: hook-fast.ts runs this before tusk's CLI is even loaded.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestPath, hashFileBytes } from './local-scan.js';

const STATE_VERSION = 1;

/**
 * A file modified this close to the moment its stat was recorded could change again within the
 * same mtime tick on a coarse-grained file system (git's "racy" rule): such a state is written,
 * but not trusted to short-cut the next hook.
 */
export const RACY_MS = 2000;

export interface HookState {
  version: number;
  /** when the state was written (ms since the epoch) */
  writtenAt: number;
  configPath: string;
  /** sha256 of the config file's bytes */
  config: string | null;
  lockPath: string;
  /** sha256 of the lock file as the hook left it */
  lock: string | null;
  /** every pipeline output in the lock had finished; otherwise the next hook must look again */
  complete: boolean;
  /** some watched file was modified within RACY_MS of the state: do not short-cut on it */
  racy: boolean;
  /** tracked directories, spec and code files: their stat digests when the lock was written */
  watch: { path: string; digest: string }[];
  /** track path → the input commit the lock pinned */
  tracked: Record<string, string>;
}

/** The git directory of the work tree at or above `dir` (`.git`, or where a `.git` file points). */
export function findGitDir(dir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  // git exports GIT_DIR to hooks relative to their working directory, not to `dir`
  if (env.GIT_DIR) return path.resolve(env.GIT_DIR);
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const dotGit = path.join(d, '.git');
    const st = fs.statSync(dotGit, { throwIfNoEntry: false });
    if (st?.isDirectory()) return dotGit;
    if (st?.isFile()) {
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(fs.readFileSync(dotGit, 'utf8'));
      if (m) return path.resolve(d, m[1]!);
    }
    if (path.dirname(d) === d) return undefined;
  }
}

export function statePath(gitDir: string): string {
  return path.join(gitDir, 'tusk', 'state.json');
}

export function readState(gitDir: string): HookState | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(statePath(gitDir), 'utf8')) as HookState;
    return s.version === STATE_VERSION ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Write atomically: a hook killed half-way must not leave a state that claims too much. */
export function writeState(gitDir: string, state: Omit<HookState, 'version'>): void {
  const file = statePath(gitDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ version: STATE_VERSION, ...state }, null, 1) + '\n');
  fs.renameSync(tmp, file);
}

export function clearState(gitDir: string): void {
  fs.rmSync(statePath(gitDir), { force: true });
}

export type HookName = 'pre-commit' | 'post-checkout' | 'post-merge' | 'pre-push';

/**
 * Whether `hook` has nothing to do, judged from the state alone. False means "look properly",
 * never "something is wrong": the full hook then decides.
 */
export function isNoop(hook: string, gitDir: string): boolean {
  const st = readState(gitDir);
  if (!st) return false;
  if (hashFileBytes(st.configPath) !== st.config) return false;
  if (hashFileBytes(st.lockPath) !== st.lock) return false;
  switch (hook) {
    case 'post-checkout':
    case 'post-merge':
      // the lock the work tree now has is the one the last pre-commit wrote
      return true;
    case 'pre-push':
      return st.complete;
    case 'pre-commit':
      if (!st.complete || st.racy) return false;
      for (const w of st.watch) if (digestPath(w.path).digest !== w.digest) return false;
      return true;
    default:
      return false;
  }
}
