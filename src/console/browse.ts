// Paged reads for the console. A page of a 100,000-entry directory must not cost a walk of all
// of it, so directories are paged with the store's lazy listing (iterateFiles from a name: O(depth)
// page reads), and histories by following parents from a cursor commit.
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { formatCommitRef, parseCommitRef, parseFileRef, type CommitRef, type FileRef } from '../store/address.js';
import { hasGlobChars } from '../store/glob.js';
import { joinPath } from '../store/paths.js';
import type { CommitInfo, DiffEntry, FileInfo } from '../store/types.js';
import type { CommitDetail, CommitPage, DiffChange, DiffResult, DirPage } from './api-types.js';
import type { ConsoleData } from './services.js';

/** Commit address from URL parts, checked exactly as the CLI checks `repo@ref`. */
export function commitRefOf(repo: string, ref: string | undefined): CommitRef {
  return parseCommitRef(`${repo}@${ref ?? 'master'}`);
}

/**
 * File address from URL parts, through the CLI's own parser: `..` and `.` elements are refused,
 * never resolved. Globs are refused too: the console names one path at a time.
 */
export function fileRefOf(repo: string, ref: string | undefined, path: string | undefined): FileRef {
  const p = path ?? '/';
  if (hasGlobChars(p)) throw new InvalidArgumentError(`path ${JSON.stringify(p.slice(0, 200))} holds glob characters`, 'the console opens one path at a time; use `tusk glob file` for patterns');
  return parseFileRef(`${formatCommitRef(commitRefOf(repo, ref))}:${p.startsWith('/') ? p : `/${p}`}`);
}

/** The entry `name` directly in `dir`, if there is one; a name that is not one plain path element names none. */
async function entryNamed(store: ConsoleData, dir: FileInfo, name: string): Promise<FileInfo | undefined> {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || hasGlobChars(name)) return undefined;
  try {
    return await store.inspectFile({ repo: dir.repo, commit: dir.commit, path: joinPath(dir.path, name) });
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof InvalidArgumentError) return undefined;
    throw err;
  }
}

/**
 * One page of a directory, in name order: entries after `after` (exclusive), or from `from`
 * (inclusive, for "go to name"). A file path answers with the file itself.
 */
export async function listDirectoryPage(store: ConsoleData, ref: FileRef, opts: { after?: string; from?: string; limit: number }): Promise<DirPage> {
  const dir = await store.inspectFile(ref);
  if (dir.type === 'file') return { kind: 'file', file: dir };
  const total = await store.countEntries(dir);
  const entries: FileInfo[] = [];
  let after = opts.after;
  if (after === undefined && opts.from !== undefined) {
    const exact = await entryNamed(store, dir, opts.from);
    if (exact) entries.push(exact);
    after = opts.from;
  }
  let more = false;
  // the listing's own lazy walk: leaf pages read here stay out of the server's page cache
  walk: for await (const batch of await store.iterateFiles({ repo: dir.repo, commit: dir.commit, path: dir.path }, { after })) for (const f of batch) {
    if (entries.length >= opts.limit) {
      more = true;
      break walk;
    }
    entries.push(f);
  }
  const last = entries[entries.length - 1];
  return { kind: 'dir', dir, total, entries, next: more && last ? last.path.slice(last.path.lastIndexOf('/') + 1) : null };
}

/**
 * A page of history, newest first. On a branch the cursor is the last commit shown and the next
 * page starts at its parent; for a whole repo (no branch) it is an offset.
 */
export async function listCommitPage(store: ConsoleData, opts: { repo: string; branch?: string; cursor?: string; limit: number }): Promise<CommitPage> {
  const { repo, limit } = opts;
  if (opts.branch === undefined) {
    await store.inspectRepo(repo);
    const offset = opts.cursor === undefined ? 0 : Number(opts.cursor);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`cursor ${JSON.stringify(opts.cursor)} is not an offset`);
    const rows = await store.listCommits({ repo, number: offset + limit + 1 });
    return { commits: rows.slice(offset, offset + limit), next: rows.length > offset + limit ? String(offset + limit) : null };
  }
  let cur: CommitInfo | null;
  if (opts.cursor === undefined) cur = await store.inspectCommit(commitRefOf(repo, opts.branch));
  else {
    const from = await store.inspectCommit(commitRefOf(repo, opts.cursor));
    cur = from.parent ? await store.inspectCommit({ repo, commit: from.parent }) : null;
  }
  const commits: CommitInfo[] = [];
  while (cur && commits.length < limit) {
    commits.push(cur);
    cur = cur.parent ? await store.inspectCommit({ repo, commit: cur.parent }) : null;
  }
  return { commits, next: cur ? commits[commits.length - 1]!.id : null };
}

// How far back each downstream branch is searched for commits made from this one.
const DOWNSTREAM_SCAN = 100;

/** A commit with its neighbours: its commit set, what it came from and what was made from it. */
export async function commitDetail(store: ConsoleData, ref: CommitRef): Promise<CommitDetail> {
  const commit = await store.inspectCommit(ref);
  const set = await store.listCommits({ commitSet: commit.id, all: true });
  const fromThis = (c: CommitInfo) => c.provenance.some((p) => p.repo === commit.repo && p.commit === commit.id);
  const downstream = new Map<string, CommitInfo>();
  for (const c of set) if (c.repo !== commit.repo && fromThis(c)) downstream.set(`${c.repo}@${c.id}`, c);
  // A job over several inputs gets the id of the input commit that triggered it; its other inputs'
  // commits find it by provenance in the branches downstream of theirs.
  const branches = await store.listBranches(commit.repo);
  if (commit.branch) {
    const branch = branches.find((b) => b.name === commit.branch);
    for (const sub of branch?.subvenance ?? []) {
      const at = sub.indexOf('@');
      const [repo, name] = [sub.slice(0, at), sub.slice(at + 1)];
      for (const c of await store.listCommits({ repo, branch: name, number: DOWNSTREAM_SCAN })) if (fromThis(c)) downstream.set(`${c.repo}@${c.id}`, c);
    }
  }
  const heads = branches
    .filter((b) => b.head === commit.id)
    .map((b) => b.name);
  return { commit, heads, set, upstream: commit.provenance, downstream: [...downstream.values()] };
}

/** Changed files between two commits, old and new versions of one path paired as "modified". */
export async function diffCommits(store: ConsoleData, newRef: FileRef, oldRef: FileRef | undefined, opts: { limit: number }): Promise<DiffResult> {
  const newCommit = await store.inspectCommit(newRef);
  const oldCommit = oldRef ? await store.inspectCommit(oldRef) : newCommit.parent ? await store.inspectCommit({ repo: newCommit.repo, commit: newCommit.parent }) : null;
  const entries = await store.diffFiles(newRef, oldRef);
  const byPath = new Map<string, { old?: DiffEntry; new?: DiffEntry }>();
  for (const e of entries) {
    const slot = byPath.get(e.path) ?? {};
    if (e.op === '+') slot.new = e;
    else slot.old = e;
    byPath.set(e.path, slot);
  }
  const changes: DiffChange[] = [...byPath]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, { old, new: nu }]) => ({
      path,
      status: old && nu ? 'modified' : nu ? 'added' : 'removed',
      type: (nu ?? old)!.type,
      oldSize: old?.sizeBytes ?? null,
      newSize: nu?.sizeBytes ?? null,
      oldHash: old?.hash ?? null,
      newHash: nu?.hash ?? null,
    }));
  return { newCommit, oldCommit, path: newRef.path ?? '/', total: changes.length, changes: changes.slice(0, opts.limit), truncated: changes.length > opts.limit };
}
