// `tusk status` and `tusk checkout` targets: an explicit REPO@REF[:/path] with a local directory,
// or, in a project with no argument, every tracked directory against the commit tusk.lock pins.
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { parseFileRef } from '../store/address.js';
import type { CommitRecord } from '../store/commit-graph.js';
import { cleanPath } from '../store/paths.js';
import { trackedDir, type Project } from './config.js';
import type { ProjectReads } from './ports.js';
import { branchKey, readLock } from './lock.js';
import { checkoutDir, compareDir, type CheckoutResult, type WorktreeChange } from './worktree.js';

export interface StatusTarget {
  repo: string;
  branch: string | null;
  commit: string;
  /** directory in the commit */
  path: string;
  /** local directory */
  dir: string;
  /** the tracked path (tusk.yaml) this is, if any */
  tracked: string | null;
  /** the local directory exists */
  exists: boolean;
  clean: boolean;
  changes: WorktreeChange[];
  /** local files looked at, and how many of them had to be read (the rest came from the cache) */
  scanned: number;
  hashed: number;
}

export interface StatusResult {
  clean: boolean;
  targets: StatusTarget[];
}

export interface CheckoutAllResult {
  checkouts: CheckoutResult[];
}

interface Target {
  commit: CommitRecord;
  repoPath: string;
  dir: string;
  tracked: string | null;
}

/** What to compare: the given ref (and directory), or every tracked directory at its locked commit. */
async function targets(s: ProjectReads, project: Project | undefined, opts: { ref?: string; dir?: string; cwd: string }): Promise<Target[]> {
  if (opts.ref !== undefined) {
    const ref = parseFileRef(opts.ref);
    const commit = await s.resolveCommit(ref);
    const repoPath = cleanPath(ref.path ?? '/');
    const track = project?.config.track.find((t) => t.repo === commit.repo && t.branch === (ref.branch ?? commit.branch ?? 'master'));
    // default directory: the tracked one for this branch, else ./<repo> (or ./<last path element>), as git clone does
    const dir =
      opts.dir !== undefined
        ? path.resolve(opts.cwd, opts.dir)
        : track && repoPath === '/'
          ? trackedDir(project!, track)
          : path.resolve(opts.cwd, repoPath === '/' ? commit.repo : path.posix.basename(repoPath));
    return [{ commit, repoPath, dir, tracked: track && repoPath === '/' && opts.dir === undefined ? track.path : null }];
  }
  if (!project) throw new InvalidArgumentError('name a commit (REPO@REF[:/path]), or run inside a project (a directory with tusk.yaml)', 'e.g. tusk status images@master -d ./images');
  if (opts.dir !== undefined) throw new InvalidArgumentError('a directory needs a commit to compare with', 'e.g. tusk status images@master -d ./images');
  const lock = readLock(project.lockPath);
  const out: Target[] = [];
  for (const t of project.config.track) {
    const pinned = lock?.inputs[branchKey(t.repo, t.branch)]?.commit;
    if (!(await s.graph.getRepo(t.repo))) continue;
    const id = pinned ?? (await s.graph.getBranch(t.repo, t.branch))?.head;
    const commit = id ? await s.graph.getCommit(t.repo, id) : undefined;
    if (!commit) continue;
    out.push({ commit, repoPath: '/', dir: trackedDir(project, t), tracked: t.path });
  }
  return out;
}

/** Compare local directories with commits. */
export async function worktreeStatus(s: ProjectReads, project: Project | undefined, opts: { ref?: string; dir?: string; cwd: string }): Promise<StatusResult> {
  const out: StatusTarget[] = [];
  for (const t of await targets(s, project, opts)) {
    const cmp = await compareDir(s, t.dir, t.commit, t.repoPath);
    out.push({
      repo: t.commit.repo,
      branch: t.commit.branch,
      commit: t.commit.id,
      path: t.repoPath,
      dir: t.dir,
      tracked: t.tracked,
      exists: cmp.exists,
      clean: cmp.changes.length === 0,
      changes: cmp.changes,
      scanned: cmp.scanned,
      hashed: cmp.hashed,
    });
  }
  return { clean: out.every((t) => t.clean), targets: out };
}

/** Materialize commits into local directories (every tracked directory at its locked commit when no ref is given). */
export async function checkoutTargets(s: ProjectReads, project: Project | undefined, opts: { ref?: string; dir?: string; cwd: string; force?: boolean }): Promise<CheckoutAllResult> {
  const checkouts: CheckoutResult[] = [];
  for (const t of await targets(s, project, opts)) checkouts.push(await checkoutDir(s, t.commit, t.repoPath, t.dir, { force: opts.force }));
  return { checkouts };
}
