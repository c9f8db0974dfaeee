// Commits: resolving refs, starting, finishing (with provenance propagation), listing, waiting,
// dropping and squashing. Every state change is one transaction.
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { CommitRef } from './address.js';
import { validateName } from './address.js';
import type { CommitRow } from './commit-graph.js';
import { crashPoint } from './crash-points.js';
import type { PipelineRecord } from './job-records.js';
import { newCommitId, type NodeId } from './hash.js';
import type { StoreCore } from './store-core.js';
import { refOf, writeEmptyPage } from './tree.js';
import type { CommitInfo, CommitOrigin, CommitSetInfo } from './types.js';

export const DEFAULT_BRANCH = 'master';

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** `repo@branch=id` as Pachyderm prints commits in messages. */
export function commitLabel(c: Pick<CommitRow, 'repo' | 'branch' | 'id'>): string {
  return `${c.repo}@${c.branch ?? ''}=${c.id}`;
}

export function requireRepo(s: StoreCore, repo: string): void {
  validateName('repo', repo);
  if (!s.graph.getRepo(repo)) throw new NotFoundError('repo', repo, `repo ${repo} not found`);
}

/** The commit a ref names. Repo must exist; a bare repo means its master head. */
export function resolveCommit(s: StoreCore, ref: CommitRef): CommitRow {
  requireRepo(s, ref.repo);
  let c: CommitRow | undefined;
  if (ref.commit) {
    c = s.graph.getCommit(ref.repo, ref.commit);
    // echo the ref as given: `repo@id`, or `repo@branch=id` when a branch was named
    if (!c) throw new NotFoundError('commit', ref.commit, `commit ${ref.repo}@${ref.branch ? `${ref.branch}=` : ''}${ref.commit} not found`);
  } else {
    const branch = ref.branch ?? DEFAULT_BRANCH;
    const b = s.graph.getBranch(ref.repo, branch);
    if (!b) throw new NotFoundError('branch', `${ref.repo}@${branch}`, `branch "${branch}" not found in repo ${ref.repo}`);
    c = s.graph.getCommit(ref.repo, b.head)!;
  }
  if (ref.ancestry) c = applyAncestry(s, c, ref.ancestry.op, ref.ancestry.n);
  return c;
}

function applyAncestry(s: StoreCore, c: CommitRow, op: '^' | '.', n: number): CommitRow {
  if (op === '^') {
    let cur = c;
    for (let i = 0; i < n; i++) {
      if (!cur.parent) throw new NotFoundError('commit', c.id, `commit ${commitLabel(c)} has only ${i} ancestor${i === 1 ? '' : 's'}, not ${n}`);
      cur = s.graph.getCommit(c.repo, cur.parent)!;
    }
    return cur;
  }
  // .N counts from the first commit of the history that ends at c
  const chain: CommitRow[] = [];
  for (let cur: CommitRow | undefined = c; cur; cur = cur.parent ? s.graph.getCommit(c.repo, cur.parent) : undefined) chain.push(cur);
  const hit = chain[chain.length - n];
  if (!hit) throw new NotFoundError('commit', c.id, `branch history of ${commitLabel(c)} has ${chain.length} commits, so .${n} does not exist`);
  return hit;
}

export function toCommitInfo(s: StoreCore, c: CommitRow): CommitInfo {
  return {
    repo: c.repo,
    id: c.id,
    branch: c.branch,
    parent: c.parent,
    children: s.graph.children(c.repo, c.id),
    origin: c.origin,
    description: c.description,
    started: iso(c.started),
    finishing: iso(c.finishing),
    finished: iso(c.finished),
    sizeBytes: c.size,
    files: c.files,
    provenance: s.graph.commitProvenance(c.repo, c.id).map((p) => ({ repo: p.from_repo, branch: p.from_branch, commit: p.from_commit })),
    error: c.error,
  };
}

/** Root page id of an empty tree (written on first use, in the caller's transaction). */
export function emptyRoot(s: StoreCore): NodeId {
  return writeEmptyPage(s.pages).id;
}

/** Insert a new commit row on top of `parent` (null = first), sharing its tree. Call inside a transaction. */
export function insertCommit(
  s: StoreCore,
  init: { repo: string; branch: string | null; parent: CommitRow | null; origin: CommitOrigin; description?: string; id?: string; finished?: boolean; started?: number },
): CommitRow {
  const now = Date.now();
  const root = init.parent?.root ?? emptyRoot(s);
  const row: CommitRow = {
    repo: init.repo,
    id: init.id ?? newCommitId(),
    seq: s.graph.nextSeq(init.repo),
    branch: init.branch,
    parent: init.parent?.id ?? null,
    origin: init.origin,
    description: init.description ?? '',
    started: init.started ?? now,
    finishing: init.finished ? now : null,
    finished: init.finished ? now : null,
    root,
    size: init.parent?.size ?? 0,
    files: init.parent?.files ?? 0,
    error: null,
  };
  s.graph.insertCommit(row);
  return row;
}

/**
 * Open a USER commit on a branch (created if missing). `time` backdates its start, as git's
 * author date does: windowed pipelines file a commit by it (data that arrives late).
 */
export async function startCommit(s: StoreCore, repo: string, branch: string, opts: { parent?: CommitRef; description?: string; time?: number } = {}): Promise<CommitInfo> {
  validateName('branch', branch);
  if (opts.time !== undefined && !(Number.isSafeInteger(opts.time) && opts.time >= 0 && opts.time <= Date.now())) {
    const shown = Number.isFinite(opts.time) && Math.abs(opts.time) < 8.64e15 ? new Date(opts.time).toISOString() : String(opts.time);
    throw new InvalidArgumentError(`commit time ${shown} is not between 1970 and now`, 'give --time an RFC 3339 time in the past, e.g. 2026-12-01T09:00:00Z');
  }
  const row = await s.unitOfWork(async () => {
    requireRepo(s, repo);
    const b = s.graph.getBranch(repo, branch);
    if (s.graph.branchProvenance(repo, branch).length > 0) throw outputBranch(repo, branch);
    let parent: CommitRow | null = null;
    if (opts.parent) parent = resolveCommit(s, { ...opts.parent, repo: opts.parent.repo || repo });
    else if (b) parent = s.graph.getCommit(repo, b.head)!;
    if (parent && parent.repo !== repo) throw new InvalidArgumentError(`parent commit ${commitLabel(parent)} is in another repo`, `pick a parent in ${repo}`);
    if (parent && parent.finished === null) throw new ConflictError(`parent commit ${commitLabel(parent)} has not been finished`, `finish it first: tusk finish commit ${repo}@${parent.id}`);
    const c = insertCommit(s, { repo, branch, parent, origin: 'USER', description: opts.description, started: opts.time });
    s.graph.setBranch(repo, branch, c.id, Date.now());
    return c;
  });
  return toCommitInfo(s, row);
}

export function outputBranch(repo: string, branch: string): ConflictError {
  return new ConflictError(`cannot start a commit on an output branch: ${repo}@${branch}`, 'write to the input branches instead; this branch is computed from its provenance');
}

/** Finish an open commit and propagate to branches downstream of its branch. */
export async function finishCommit(s: StoreCore, ref: CommitRef, opts: { description?: string; force?: boolean } = {}): Promise<CommitInfo> {
  const row = await s.unitOfWork(async () => {
    const c = resolveCommit(s, ref);
    if (c.finished !== null) throw new ConflictError(`commit ${commitLabel(c)} has already finished`, 'start a new commit to make more changes');
    if (c.origin === 'AUTO' && s.graph.commitProvenance(c.repo, c.id).length > 0 && !opts.force)
      throw new ConflictError("cannot finish a pipeline output or meta commit, use 'stop job' instead", 'pass --force to finish it anyway');
    s.graph.finishCommit(c.repo, c.id, Date.now(), opts.description ?? c.description);
    if (c.branch && s.graph.getBranch(c.repo, c.branch)?.head === c.id) await propagate(s, c.repo, c.branch, c.id);
    crashPoint('in-finish-txn');
    return s.graph.getCommit(c.repo, c.id)!;
  });
  crashPoint('after-finish-txn');
  return toCommitInfo(s, row);
}

/**
 * After `repo@branch` moved to a finished commit, give every downstream branch a new AUTO commit
 * with the same id (the commit set), recording the upstream heads as its provenance. With no
 * pipeline owning the branch the new commit carries the parent's tree and is finished at once.
 * Call inside a transaction.
 */
export async function propagate(s: StoreCore, repo: string, branch: string, setId: string): Promise<void> {
  const seen = new Set<string>([`${repo}@${branch}`]);
  const queue = s.graph.directSubvenance(repo, branch);
  while (queue.length > 0) {
    const d = queue.shift()!;
    const key = `${d.repo}@${d.branch}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (s.graph.getCommit(d.repo, setId)) continue;
    const head = s.graph.getBranch(d.repo, d.branch);
    const parent = head ? s.graph.getCommit(d.repo, head.head)! : null;
    const pipeline = await s.jobs.pipelineOwning(d.repo, d.branch);
    if (pipeline) {
      // a pipeline's output: an open commit and a job; what lies further downstream follows
      // when the job finishes this commit
      if (pipeline.stopped) continue;
      await createJobCommit(s, pipeline, d.branch, setId);
      continue;
    }
    const c = insertCommit(s, { repo: d.repo, branch: d.branch, parent, origin: 'AUTO', id: setId, finished: true });
    recordBranchProvenance(s, c);
    s.graph.setBranch(d.repo, d.branch, c.id, Date.now());
    queue.push(...s.graph.directSubvenance(d.repo, d.branch));
  }
}

/**
 * Open an AUTO output commit with id `setId` on a pipeline's output branch, tied to the current
 * heads of its inputs, and the job that will fill it. Call inside a transaction.
 */
export async function createJobCommit(s: StoreCore, pipeline: Pick<PipelineRecord, 'name' | 'version' | 'salt'>, branch: string, setId: string): Promise<CommitRow> {
  const head = s.graph.getBranch(pipeline.name, branch);
  const parent = head ? s.graph.getCommit(pipeline.name, head.head)! : null;
  const c = insertCommit(s, { repo: pipeline.name, branch, parent, origin: 'AUTO', id: setId });
  recordBranchProvenance(s, c);
  s.graph.setBranch(pipeline.name, branch, c.id, Date.now());
  await s.jobs.insertJob(pipeline.name, c.id, pipeline.version, pipeline.salt);
  return c;
}

/** Tie a commit to the current heads of its branch's provenance branches. */
export function recordBranchProvenance(s: StoreCore, c: CommitRow): void {
  if (!c.branch) return;
  for (const p of s.graph.branchProvenance(c.repo, c.branch)) {
    const head = s.graph.getBranch(p.repo, p.branch);
    if (head) s.graph.addCommitProvenance(c.repo, c.id, { from_repo: p.repo, from_commit: head.head, from_branch: p.branch });
  }
}

export interface ListCommitsOptions {
  repo?: string;
  branch?: string;
  commitSet?: string;
  number?: number;
  all?: boolean;
  origin?: CommitOrigin;
  from?: string;
}

/** Commits newest first: a branch's history, a repo's commits, or one commit set. */
export function listCommits(s: StoreCore, o: ListCommitsOptions): CommitInfo[] {
  if (o.all && o.origin) throw new InvalidArgumentError('cannot specify both --all and --origin', 'use one of them');
  const keep = (c: CommitRow) => (o.origin ? c.origin === o.origin : o.all || c.origin !== 'ALIAS');
  const limit = o.number && o.number > 0 ? o.number : Infinity;
  const out: CommitInfo[] = [];
  if (o.commitSet) {
    const rows = s.graph.commitsById(o.commitSet);
    if (rows.length === 0) throw new NotFoundError('commit', o.commitSet, `no commits found for commitset ${o.commitSet}`);
    for (const c of rows) if (keep(c) && out.length < limit) out.push(toCommitInfo(s, c));
    return out;
  }
  if (!o.repo) throw new InvalidArgumentError('a repo or commit id is required', 'e.g. tusk list commit images@master');
  requireRepo(s, o.repo);
  let source: Iterable<CommitRow>;
  if (o.branch) {
    const head = resolveCommit(s, { repo: o.repo, branch: o.branch });
    source = (function* () {
      for (let c: CommitRow | undefined = head; c; c = c.parent ? s.graph.getCommit(o.repo!, c.parent) : undefined) yield c;
    })();
  } else source = s.graph.iterateRepoCommits(o.repo);
  for (const c of source) {
    if (o.from && c.id === o.from) break;
    if (!keep(c)) continue;
    out.push(toCommitInfo(s, c));
    if (out.length >= limit) break;
  }
  return out;
}

export function listCommitSets(s: StoreCore, opts: { number?: number } = {}): CommitSetInfo[] {
  const n = opts.number && opts.number > 0 ? opts.number : -1;
  return s.graph.commitSets(n).map((r) => ({ id: r.id, commits: r.commits, finished: r.finished, failed: r.failed, created: iso(r.created), modified: iso(r.modified) }));
}

/** Poll until the commit is finished (other processes finish it; SQLite has no notifications). */
export async function waitCommit(s: StoreCore, ref: CommitRef, opts: { timeoutMs?: number } = {}): Promise<CommitInfo> {
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let id: string | undefined;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const c: CommitRow = id ? s.graph.getCommit(ref.repo, id)! : resolveCommit(s, ref);
    id = c.id; // a branch may move while we wait: keep waiting for the commit it named first
    if (c.finished !== null) return toCommitInfo(s, c);
    if (Date.now() > deadline) throw new ConflictError(`commit ${commitLabel(c)} did not finish within ${opts.timeoutMs} ms`, 'finish it with `tusk finish commit`, or wait longer');
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** The commits of a set, given a ref to one of them or a bare id. */
function commitSetOf(s: StoreCore, ref: CommitRef): CommitRow[] {
  const id = ref.repo ? resolveCommit(s, ref).id : ref.commit;
  if (!id) throw new InvalidArgumentError('a commit id is required', 'e.g. tusk delete commit images@<id>');
  const rows = s.graph.commitsById(id);
  if (rows.length === 0) throw new NotFoundError('commit', id, `no commits found for commitset ${id}`);
  return rows;
}

/** Drop a commit set and its data (gc reclaims the bytes). Only commits without children. */
export async function deleteCommit(s: StoreCore, ref: CommitRef): Promise<{ deleted: CommitInfo[] }> {
  return s.unitOfWork(async () => {
    const rows = commitSetOf(s, ref);
    const ids = new Set(rows.map((r) => `${r.repo}@${r.id}`));
    for (const r of rows) {
      const kids = s.graph.children(r.repo, r.id).filter((k) => !ids.has(`${r.repo}@${k}`));
      if (kids.length > 0) throw new ConflictError(`cannot drop a commit that has children: ${commitLabel(r)}`, 'only the newest commits can be dropped; use `tusk squash commit` to remove older ones');
    }
    const infos = rows.map((r) => toCommitInfo(s, r));
    for (const r of rows) {
      for (const b of s.graph.branchesAt(r.repo, r.id)) {
        if (r.parent) s.graph.setBranch(r.repo, b.name, r.parent, b.created);
        else s.graph.deleteBranch(r.repo, b.name);
      }
      s.graph.deleteCommit(r.repo, r.id);
    }
    return { deleted: infos };
  });
}

/** Remove a commit set from history, keeping its data in its children. */
export async function squashCommit(s: StoreCore, ref: CommitRef): Promise<{ squashed: CommitInfo[] }> {
  return s.unitOfWork(async () => {
    const rows = commitSetOf(s, ref);
    for (const r of rows) {
      const kids = s.graph.children(r.repo, r.id);
      if (kids.length === 0)
        throw new ConflictError(`cannot squash a commit that has no children as that would cause data loss, use the drop operation instead: ${commitLabel(r)}`, 'use `tusk delete commit` to drop the newest commit');
      for (const k of kids) {
        const kid = s.graph.getCommit(r.repo, k)!;
        if (kid.finished === null) throw new ConflictError(`cannot squash ${commitLabel(r)}: its child ${commitLabel(kid)} is still open`, 'finish the child commit first');
      }
      const heads = s.graph.branchesAt(r.repo, r.id);
      if (heads.length > 0) throw new ConflictError(`cannot squash ${commitLabel(r)}: it is the head of branch ${r.repo}@${heads[0]!.name}`, 'move the branch first with `tusk create branch --head`');
    }
    const infos = rows.map((r) => toCommitInfo(s, r));
    for (const r of rows) {
      for (const k of s.graph.children(r.repo, r.id)) s.graph.setParent(r.repo, k, r.parent);
      s.graph.deleteCommit(r.repo, r.id);
    }
    return { squashed: infos };
  });
}

/** Size and file count of a tree root. */
export function rootTotals(s: StoreCore, root: NodeId): { size: number; files: number } {
  const ref = refOf(s.reader, root);
  return { size: ref.size, files: ref.files };
}
