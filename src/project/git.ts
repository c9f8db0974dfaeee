// The few git calls tusk makes: where the hooks live, staging the lock, reading a lock at a ref.
// Always through the `git` binary, so core.hooksPath, worktrees and GIT_INDEX_FILE (set while a
// hook runs) mean what they mean to git.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, IoError } from '../errors.js';

function git(cwd: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; status?: number };
    if (e.code === 'ENOENT') throw new IoError('git is not installed (or not on PATH)', 'install git; tusk hooks are git hooks', { cause: err });
    const stderr = (e.stderr ?? '').trim().split('\n')[0] ?? '';
    if (/not a git repository/i.test(stderr)) throw new InvalidArgumentError(`${cwd} is not inside a git repository`, 'run `git init` first, or run tusk from inside the git work tree');
    throw new IoError(`git ${args.join(' ')} failed: ${stderr || e.message}`, undefined, { cause: err });
  }
}

/** The directory git runs hooks from (honours core.hooksPath). */
export function hooksDir(cwd: string): string {
  return path.resolve(cwd, git(cwd, ['rev-parse', '--git-path', 'hooks']).trim());
}

export function gitTopLevel(cwd: string): string {
  return git(cwd, ['rev-parse', '--show-toplevel']).trim();
}

/** Stage a file (the lock, from pre-commit: the commit being made then includes it). */
export function gitAdd(cwd: string, file: string): void {
  git(cwd, ['add', '--', file]);
}

/** A file's text at a revision, or undefined when the revision or the file does not exist. */
export function gitShow(cwd: string, rev: string, file: string): string | undefined {
  const top = gitTopLevel(cwd);
  const rel = path.relative(top, path.resolve(cwd, file)).split(path.sep).join('/');
  try {
    return execFileSync('git', ['show', `${rev}:${rel}`], { cwd: top, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
  } catch {
    return undefined;
  }
}

/** Whether `rev` names a commit in the repository around `cwd`. */
export function hasGitRevision(cwd: string, rev: string): boolean {
  try {
    git(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
    return true;
  } catch (err) {
    if (err instanceof IoError && !/not installed/.test(err.message)) return false;
    throw err;
  }
}

/**
 * Whether the index git is committing (GIT_INDEX_FILE while a hook runs) differs from HEAD. No
 * HEAD yet (a first commit) counts as a difference: git has something to commit then.
 */
export function hasStagedChanges(cwd: string): boolean {
  const r = spawnSync('git', ['diff-index', '--cached', '--quiet', 'HEAD', '--'], { cwd, stdio: 'ignore' });
  return r.status !== 0;
}

/**
 * The command line of the `git commit` that runs this hook (the hook script execs tusk, so git is
 * the parent), shell-quoted; undefined where the OS does not say (no /proc) or the parent is not git.
 */
export function parentGitCommand(): string | undefined {
  let argv: string[];
  try {
    // NUL-terminated arguments: the last split piece is the empty string after the final NUL
    argv = fs.readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
  if (argv.length === 0 || path.basename(argv[0]!) !== 'git' || !argv.includes('commit')) return undefined;
  return ['git', ...argv.slice(1)].map(shellQuote).join(' ');
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
}
