// Commits: resolving refs, starting, finishing (with provenance propagation), listing, waiting,
// dropping and squashing. Every state change is one transaction.
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { CommitRef } from './address.js';
import { commitLabel, validateName } from './address.js';
import type { CommitLinks, CommitRecord, ProvenanceRecord } from './commit-graph.js';
import { crashPoint } from './crash-points.js';
import type { PipelineRecord } from './job-records.js';
import { newCommitId, type NodeId } from './hash.js';
import type { StoreCore } from './store-core.js';
import { emptyPage, refOf } from './tree.js';
import type { CommitInfo, CommitOrigin, CommitSetInfo } from './types.js';

export const DEFAULT_BRANCH = 'master';

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** `repo@branch=id` as Pachyderm prints commits in messages. */
export { commitLabel };

export async function requireRepo(s: StoreCore, repo: string): Promise<void> {
  validateName('repo', repo);
  if (!(await s.graph.getRepo(repo))) throw new NotFoundError('repo', repo, `repo ${repo} not found`);
}

/** The commit a ref names. Repo must exist; a bare repo means its master head. */
export async function resolveCommit(s: StoreCore, ref: CommitRef): Promise<CommitRecord> {
  await requireRepo(s, ref.repo);
  let c: CommitRecord | undefined;
  if (ref.commit) {
    c = await s.graph.getCommit(ref.repo, ref.commit);
    // echo the ref as given: `repo@id`, or `repo@branch=id` when a branch was named
    if (!c) throw new NotFoundError('commit', ref.commit, `commit ${ref.repo}@${ref.branch ? `${ref.branch}=` : ''}${ref.commit} not found`);
  } else {
    const branch = ref.branch ?? DEFAULT_BRANCH;
    const b = await s.graph.getBranch(ref.repo, branch);
    if (!b) throw new NotFoundError('branch', `${ref.repo}@${branch}`, `branch "${branch}" not found in repo ${ref.repo}`);
    c = (await s.graph.getCommit(ref.repo, b.head))!;
  }
  if (ref.ancestry) c = await applyAncestry(s, c, ref.ancestry.op, ref.ancestry.n);
  return c;
}

async function applyAncestry(s: StoreCore, c: CommitRecord, op: '^' | '.', n: number): Promise<CommitRecord> {
  if (op === '^') {
    let cur = c;
    for (let i = 0; i < n; i++) {
      if (!cur.parent) throw new NotFoundError('commit', c.id, `commit ${commitLabel(c)} has only ${i} ancestor${i === 1 ? '' : 's'}, not ${n}`);
      cur = (await s.graph.getCommit(c.repo, cur.parent))!;
    }
    return cur;
  }
  // .N counts from the first commit of the history that ends at c
  const chain: CommitRecord[] = [];
  for (let cur: CommitRecord | undefined = c; cur; cur = cur.parent ? await s.graph.getCommit(c.repo, cur.parent) : undefined) chain.push(cur);
  const hit = chain[chain.length - n];
  if (!hit) throw new NotFoundError('commit', c.id, `branch history of ${commitLabel(c)} has ${chain.length} commits, so .${n} does not exist`);
  return hit;
}

export async function toCommitInfo(s: StoreCore, c: CommitRecord): Promise<CommitInfo> {
  return (await toCommitInfos(s, [c]))[0]!;
}

/** Many commits of one repo as `list commit` shows them: their links read in one batch. */
export async function toCommitInfos(s: StoreCore, cs: readonly CommitRecord[]): Promise<CommitInfo[]> {
  const ids = new Map<string, string[]>();
  for (const c of cs) {
    const of = ids.get(c.repo);
    if (of) of.push(c.id);
    else ids.set(c.repo, [c.id]);
  }
  const links = new Map<string, Map<string, CommitLinks>>();
  for (const [repo, of] of ids) links.set(repo, await s.graph.commitLinks(repo, of));
  return cs.map((c) => commitInfo(c, links.get(c.repo)!.get(c.id)!));
}

function commitInfo(c: CommitRecord, links: CommitLinks): CommitInfo {
  return {
    repo: c.repo,
    id: c.id,
    branch: c.branch,
    parent: c.parent,
    children: links.children,
    origin: c.origin,
    description: c.description,
    started: iso(c.started),
    finishing: iso(c.finishing),
    finished: iso(c.finished),
    sizeBytes: c.size,
    files: c.files,
    provenance: links.provenance.map((p) => ({ repo: p.fromRepo, branch: p.fromBranch, commit: p.fromCommit })),
    error: c.error,
  };
}

/** Root page id of an empty tree (written on first use, in the caller's transaction). */
export async function emptyRoot(s: StoreCore): Promise<NodeId> {
  const { ref, data } = emptyPage();
  await s.pages.putNodes([{ id: ref.id, data }]);
  return ref.id;
}

/** Insert a new commit row on top of `parent` (null = first), sharing its tree. Call inside a transaction. */
export async function insertCommit(
  s: StoreCore,
  init: { repo: string; branch: string | null; parent: CommitRecord | null; origin: CommitOrigin; description?: string; id?: string; finished?: boolean; started?: number },
): Promise<CommitRecord> {
  const now = Date.now();
  const root = init.parent?.root ?? (await emptyRoot(s));
  const row: CommitRecord = {
    repo: init.repo,
    id: init.id ?? newCommitId(),
    seq: await s.graph.nextSeq(init.repo),
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
  await s.graph.insertCommit(row);
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
    await requireRepo(s, repo);
    const b = await s.graph.getBranch(repo, branch);
    if ((await s.graph.branchProvenance(repo, branch)).length > 0) throw outputBranch(repo, branch);
    let parent: CommitRecord | null = null;
    if (opts.parent) parent = await resolveCommit(s, { ...opts.parent, repo: opts.parent.repo || repo });
    else if (b) parent = (await s.graph.getCommit(repo, b.head))!;
    if (parent && parent.repo !== repo) throw new InvalidArgumentError(`parent commit ${commitLabel(parent)} is in another repo`, `pick a parent in ${repo}`);
    if (parent && parent.finished === null) throw new ConflictError(`parent commit ${commitLabel(parent)} has not been finished`, `finish it first: tusk finish commit ${repo}@${parent.id}`);
    const c = await insertCommit(s, { repo, branch, parent, origin: 'USER', description: opts.description, started: opts.time });
    await s.graph.setBranch(repo, branch, c.id, Date.now());
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
    const c = await resolveCommit(s, ref);
    if (c.finished !== null) throw new ConflictError(`commit ${commitLabel(c)} has already finished`, 'start a new commit to make more changes');
    if (c.origin === 'AUTO' && (await s.graph.commitProvenance(c.repo, c.id)).length > 0 && !opts.force)
      throw new ConflictError("cannot finish a pipeline output or meta commit, use 'stop job' instead", 'pass --force to finish it anyway');
    await s.graph.finishCommit(c.repo, c.id, Date.now(), opts.description ?? c.description);
    if (c.branch && (await s.graph.getBranch(c.repo, c.branch))?.head === c.id) await propagate(s, c.repo, c.branch, c.id);
    crashPoint('in-finish-txn');
    return (await s.graph.getCommit(c.repo, c.id))!;
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
  const queue = await s.graph.directSubvenance(repo, branch);
  while (queue.length > 0) {
    const d = queue.shift()!;
    const key = `${d.repo}@${d.branch}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (await s.graph.getCommit(d.repo, setId)) continue;
    const head = await s.graph.getBranch(d.repo, d.branch);
    const parent = head ? (await s.graph.getCommit(d.repo, head.head))! : null;
    const pipeline = await s.jobs.pipelineOwning(d.repo, d.branch);
    if (pipeline) {
      // a pipeline's output: an open commit and a job; what lies further downstream follows
      // when the job finishes this commit
      if (pipeline.stopped) continue;
      await createJobCommit(s, pipeline, d.branch, setId);
      continue;
    }
    const c = await insertCommit(s, { repo: d.repo, branch: d.branch, parent, origin: 'AUTO', id: setId, finished: true });
    await recordBranchProvenance(s, c);
    await s.graph.setBranch(d.repo, d.branch, c.id, Date.now());
    queue.push(...(await s.graph.directSubvenance(d.repo, d.branch)));
  }
}

/**
 * Open an AUTO output commit with id `setId` on a pipeline's output branch, tied to the current
 * heads of its inputs, and the job that will fill it. Call inside a transaction.
 */
export async function createJobCommit(s: StoreCore, pipeline: Pick<PipelineRecord, 'name' | 'version' | 'salt'>, branch: string, setId: string): Promise<CommitRecord> {
  const head = await s.graph.getBranch(pipeline.name, branch);
  const parent = head ? (await s.graph.getCommit(pipeline.name, head.head))! : null;
  const c = await insertCommit(s, { repo: pipeline.name, branch, parent, origin: 'AUTO', id: setId });
  await recordBranchProvenance(s, c);
  await s.graph.setBranch(pipeline.name, branch, c.id, Date.now());
  await s.jobs.insertJob(pipeline.name, c.id, pipeline.version, pipeline.salt);
  return c;
}

/** Tie a commit to the current heads of its branch's provenance branches. */
export async function recordBranchProvenance(s: StoreCore, c: CommitRecord): Promise<void> {
  if (!c.branch) return;
  const from: ProvenanceRecord[] = [];
  for (const p of await s.graph.branchProvenance(c.repo, c.branch)) {
    const head = await s.graph.getBranch(p.repo, p.branch);
    if (head) from.push({ fromRepo: p.repo, fromCommit: head.head, fromBranch: p.branch });
  }
  await s.graph.addCommitProvenance(c.repo, c.id, from);
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
export async function listCommits(s: StoreCore, o: ListCommitsOptions): Promise<CommitInfo[]> {
  if (o.all && o.origin) throw new InvalidArgumentError('cannot specify both --all and --origin', 'use one of them');
  const keep = (c: CommitRecord) => (o.origin ? c.origin === o.origin : o.all || c.origin !== 'ALIAS');
  const limit = o.number && o.number > 0 ? o.number : Infinity;
  if (o.commitSet) {
    const rows = await s.graph.commitsById(o.commitSet);
    if (rows.length === 0) throw new NotFoundError('commit', o.commitSet, `no commits found for commitset ${o.commitSet}`);
    return toCommitInfos(s, rows.filter(keep).slice(0, limit));
  }
  if (!o.repo) throw new InvalidArgumentError('a repo or commit id is required', 'e.g. tusk list commit images@master');
  await requireRepo(s, o.repo);
  const repo = o.repo;
  let source: AsyncIterable<CommitRecord>;
  if (o.branch) {
    const head = await resolveCommit(s, { repo, branch: o.branch });
    source = (async function* () {
      for (let c: CommitRecord | undefined = head; c; c = c.parent ? await s.graph.getCommit(repo, c.parent) : undefined) yield c;
    })();
  } else source = s.graph.iterateRepoCommits(repo);
  // the commits' children and provenance are read a batch at a time, not two queries per commit
  const out: CommitInfo[] = [];
  let batch: CommitRecord[] = [];
  const flush = async () => {
    out.push(...(await toCommitInfos(s, batch)));
    batch = [];
  };
  let kept = 0;
  for await (const c of source) {
    if (o.from && c.id === o.from) break;
    if (!keep(c)) continue;
    batch.push(c);
    if (++kept >= limit) break;
    if (batch.length >= LINK_BATCH) await flush();
  }
  await flush();
  return out;
}

/** Commits whose links one query reads. */
const LINK_BATCH = 500;

export async function listCommitSets(s: StoreCore, opts: { number?: number } = {}): Promise<CommitSetInfo[]> {
  const n = opts.number && opts.number > 0 ? opts.number : undefined;
  return (await s.graph.commitSets(n)).map((r) => ({ id: r.id, commits: r.commits, finished: r.finished, failed: r.failed, created: iso(r.created), modified: iso(r.modified) }));
}

/** Poll until the commit is finished (other processes finish it; SQLite has no notifications). */
export async function waitCommit(s: StoreCore, ref: CommitRef, opts: { timeoutMs?: number } = {}): Promise<CommitInfo> {
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let id: string | undefined;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const c: CommitRecord = id ? (await s.graph.getCommit(ref.repo, id))! : await resolveCommit(s, ref);
    id = c.id; // a branch may move while we wait: keep waiting for the commit it named first
    if (c.finished !== null) return toCommitInfo(s, c);
    if (Date.now() > deadline) throw new ConflictError(`commit ${commitLabel(c)} did not finish within ${opts.timeoutMs} ms`, 'finish it with `tusk finish commit`, or wait longer');
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** The commits of a set, given a ref to one of them or a bare id. */
async function commitSetOf(s: StoreCore, ref: CommitRef): Promise<CommitRecord[]> {
  const id = ref.repo ? (await resolveCommit(s, ref)).id : ref.commit;
  if (!id) throw new InvalidArgumentError('a commit id is required', 'e.g. tusk delete commit images@<id>');
  const rows = await s.graph.commitsById(id);
  if (rows.length === 0) throw new NotFoundError('commit', id, `no commits found for commitset ${id}`);
  return rows;
}

/** Drop a commit set and its data (gc reclaims the bytes). Only commits without children. */
export async function deleteCommit(s: StoreCore, ref: CommitRef): Promise<{ deleted: CommitInfo[] }> {
  return s.unitOfWork(async () => {
    const rows = await commitSetOf(s, ref);
    const ids = new Set(rows.map((r) => `${r.repo}@${r.id}`));
    for (const r of rows) {
      const kids = (await s.graph.children(r.repo, r.id)).filter((k) => !ids.has(`${r.repo}@${k}`));
      if (kids.length > 0) throw new ConflictError(`cannot drop a commit that has children: ${commitLabel(r)}`, 'only the newest commits can be dropped; use `tusk squash commit` to remove older ones');
    }
    const infos = await toCommitInfos(s, rows);
    for (const r of rows) {
      for (const b of await s.graph.branchesAt(r.repo, r.id)) {
        if (r.parent) await s.graph.setBranch(r.repo, b.name, r.parent, b.created);
        else await s.graph.deleteBranch(r.repo, b.name);
      }
      await s.graph.deleteCommit(r.repo, r.id);
    }
    return { deleted: infos };
  });
}

/** Remove a commit set from history, keeping its data in its children. */
export async function squashCommit(s: StoreCore, ref: CommitRef): Promise<{ squashed: CommitInfo[] }> {
  return s.unitOfWork(async () => {
    const rows = await commitSetOf(s, ref);
    for (const r of rows) {
      const kids = await s.graph.children(r.repo, r.id);
      if (kids.length === 0)
        throw new ConflictError(`cannot squash a commit that has no children as that would cause data loss, use the drop operation instead: ${commitLabel(r)}`, 'use `tusk delete commit` to drop the newest commit');
      for (const k of kids) {
        const kid = (await s.graph.getCommit(r.repo, k))!;
        if (kid.finished === null) throw new ConflictError(`cannot squash ${commitLabel(r)}: its child ${commitLabel(kid)} is still open`, 'finish the child commit first');
      }
      const heads = await s.graph.branchesAt(r.repo, r.id);
      if (heads.length > 0) throw new ConflictError(`cannot squash ${commitLabel(r)}: it is the head of branch ${r.repo}@${heads[0]!.name}`, 'move the branch first with `tusk create branch --head`');
    }
    const infos = await toCommitInfos(s, rows);
    for (const r of rows) {
      for (const k of await s.graph.children(r.repo, r.id)) await s.graph.setParent(r.repo, k, r.parent);
      await s.graph.deleteCommit(r.repo, r.id);
    }
    return { squashed: infos };
  });
}

/** Size and file count of a tree root. */
export async function rootTotals(s: StoreCore, root: NodeId): Promise<{ size: number; files: number }> {
  const ref = await refOf(s.reader, root);
  return { size: ref.size, files: ref.files };
}
