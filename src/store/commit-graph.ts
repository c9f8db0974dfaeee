// Repos, branches, commits and provenance rows. The only module with SQL about the commit graph;
// rules (who may write where, what a ref means) live in the services that call it.
import { guardSqlite, type Db } from './meta-db.js';
import type { NodeId } from './hash.js';
import type { CommitOrigin } from './types.js';

export interface RepoRow {
  name: string;
  type: string;
  description: string;
  created: number;
}

export interface BranchRow {
  repo: string;
  name: string;
  head: string;
  created: number;
}

export interface CommitRow {
  repo: string;
  id: string;
  seq: number;
  branch: string | null;
  parent: string | null;
  origin: CommitOrigin;
  description: string;
  started: number;
  finishing: number | null;
  finished: number | null;
  root: NodeId | null;
  size: number;
  files: number;
  error: string | null;
}

export interface ProvenanceRow {
  from_repo: string;
  from_commit: string;
  from_branch: string | null;
}

const COMMIT_COLS = 'repo, id, seq, branch, parent, origin, description, started, finishing, finished, root, size, files, error';

/**
 * The commit graph's contract: repos, branches, commits, provenance. Implemented on SQLite by
 * SqliteCommitGraph; a network database implements it again. Writes are made only inside a unit
 * of work (StoreCore.unitOfWork) and land together with the others of that unit or not at all;
 * reads outside one see what the last finished unit left. `iterate*` methods stream; every other
 * method is one query, and so one round trip for a network implementation.
 */
export interface CommitGraph {
  getRepo(name: string): RepoRow | undefined;
  listRepos(): RepoRow[];
  insertRepo(r: RepoRow): void;
  setRepoType(name: string, type: RepoRow['type']): void;
  setRepoDescription(name: string, description: string): void;
  /** Remove a repo with all its branches, commits and provenance rows. */
  deleteRepo(name: string): void;
  getBranch(repo: string, name: string): BranchRow | undefined;
  listBranches(repo: string): BranchRow[];
  allBranches(): BranchRow[];
  branchesAt(repo: string, head: string): BranchRow[];
  setBranch(repo: string, name: string, head: string, created: number): void;
  /**
   * Compare-and-set: point an existing branch at `newHead` only if its head is still
   * `expectedHead` (null: a branch without a head). False, and nothing changed, when it moved.
   */
  moveBranch(repo: string, name: string, expectedHead: string | null, newHead: string): boolean;
  deleteBranch(repo: string, name: string): void;
  branchProvenance(repo: string, branch: string): { repo: string; branch: string }[];
  /** Branches that declare `repo@branch` as direct provenance. */
  directSubvenance(repo: string, branch: string): { repo: string; branch: string }[];
  /** Branches in other repos that depend on any branch of `repo`. */
  repoSubvenance(repo: string): { repo: string; branch: string }[];
  setBranchProvenance(repo: string, branch: string, from: readonly { repo: string; branch: string }[]): void;
  getCommit(repo: string, id: string): CommitRow | undefined;
  commitsById(id: string): CommitRow[];
  /** Every commit of a repo, newest first. Iterated, never loaded whole. */
  iterateRepoCommits(repo: string): Generator<CommitRow>;
  iterateAllCommits(): Generator<CommitRow>;
  children(repo: string, id: string): string[];
  nextSeq(repo: string): number;
  insertCommit(c: CommitRow): void;
  setCommitRoot(repo: string, id: string, root: NodeId, size: number, files: number): void;
  finishCommit(repo: string, id: string, at: number, description: string): void;
  /** Mark a commit as failed (pipeline outputs of failed or killed jobs). */
  setCommitError(repo: string, id: string, error: string): void;
  setParent(repo: string, id: string, parent: string | null): void;
  deleteCommit(repo: string, id: string): void;
  commitSets(limit: number): { id: string; commits: number; finished: number; failed: number; created: number; modified: number }[];
  commitProvenance(repo: string, id: string): ProvenanceRow[];
  addCommitProvenance(repo: string, id: string, from: ProvenanceRow): void;
  commitSubvenance(repo: string, id: string): { repo: string; id: string }[];
  /** Every distinct commit root: the starting points of gc's mark phase. */
  allRoots(): NodeId[];
}

/** CommitGraph on SQLite: prepared statements over its tables. */
export class SqliteCommitGraph implements CommitGraph {
  private readonly q;

  constructor(readonly db: Db) {
    this.q = {
      repo: db.prepare('SELECT name, type, description, created FROM repos WHERE name = ?'),
      repos: db.prepare('SELECT name, type, description, created FROM repos ORDER BY created DESC, name'),
      insertRepo: db.prepare('INSERT INTO repos (name, type, description, created) VALUES (?, ?, ?, ?)'),
      setRepoDescription: db.prepare('UPDATE repos SET description = ? WHERE name = ?'),
      setRepoType: db.prepare('UPDATE repos SET type = ? WHERE name = ?'),
      deleteRepo: db.prepare('DELETE FROM repos WHERE name = ?'),
      branch: db.prepare('SELECT repo, name, head, created FROM branches WHERE repo = ? AND name = ?'),
      branches: db.prepare('SELECT repo, name, head, created FROM branches WHERE repo = ? ORDER BY created DESC, name'),
      allBranches: db.prepare('SELECT repo, name, head, created FROM branches'),
      upsertBranch: db.prepare(
        'INSERT INTO branches (repo, name, head, created) VALUES (?, ?, ?, ?) ON CONFLICT (repo, name) DO UPDATE SET head = excluded.head',
      ),
      moveBranch: db.prepare('UPDATE branches SET head = ? WHERE repo = ? AND name = ? AND head IS ?'),
      deleteBranch: db.prepare('DELETE FROM branches WHERE repo = ? AND name = ?'),
      deleteBranches: db.prepare('DELETE FROM branches WHERE repo = ?'),
      branchesAt: db.prepare('SELECT repo, name, head, created FROM branches WHERE repo = ? AND head = ?'),
      commit: db.prepare(`SELECT ${COMMIT_COLS} FROM commits WHERE repo = ? AND id = ?`),
      commitsById: db.prepare(`SELECT ${COMMIT_COLS} FROM commits WHERE id = ? ORDER BY repo`),
      commitsOfRepo: db.prepare(`SELECT ${COMMIT_COLS} FROM commits WHERE repo = ? ORDER BY seq DESC`),
      allCommits: db.prepare(`SELECT ${COMMIT_COLS} FROM commits`),
      children: db.prepare('SELECT id FROM commits WHERE repo = ? AND parent = ? ORDER BY seq').pluck(),
      nextSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 FROM commits WHERE repo = ?').pluck(),
      insertCommit: db.prepare(
        `INSERT INTO commits (${COMMIT_COLS}) VALUES (@repo, @id, @seq, @branch, @parent, @origin, @description, @started, @finishing, @finished, @root, @size, @files, @error)`,
      ),
      setRoot: db.prepare('UPDATE commits SET root = ?, size = ?, files = ? WHERE repo = ? AND id = ?'),
      finish: db.prepare('UPDATE commits SET finishing = COALESCE(finishing, ?), finished = ?, description = ? WHERE repo = ? AND id = ?'),
      setError: db.prepare('UPDATE commits SET error = ? WHERE repo = ? AND id = ?'),
      setParent: db.prepare('UPDATE commits SET parent = ? WHERE repo = ? AND id = ?'),
      deleteCommit: db.prepare('DELETE FROM commits WHERE repo = ? AND id = ?'),
      deleteCommits: db.prepare('DELETE FROM commits WHERE repo = ?'),
      commitSets: db.prepare(
        `SELECT id, COUNT(*) AS commits, SUM(finished IS NOT NULL) AS finished, SUM(error IS NOT NULL) AS failed,
                MIN(started) AS created, MAX(COALESCE(finished, started)) AS modified
         FROM commits GROUP BY id ORDER BY MIN(started) DESC LIMIT ?`,
      ),
      branchProv: db.prepare('SELECT from_repo AS repo, from_branch AS branch FROM branch_provenance WHERE repo = ? AND branch = ? ORDER BY 1, 2'),
      branchSubv: db.prepare('SELECT repo, branch FROM branch_provenance WHERE from_repo = ? AND from_branch = ? ORDER BY 1, 2'),
      repoSubv: db.prepare('SELECT DISTINCT repo, branch FROM branch_provenance WHERE from_repo = ? AND repo <> ?'),
      addBranchProv: db.prepare('INSERT OR IGNORE INTO branch_provenance (repo, branch, from_repo, from_branch) VALUES (?, ?, ?, ?)'),
      clearBranchProv: db.prepare('DELETE FROM branch_provenance WHERE repo = ? AND branch = ?'),
      clearRepoProv: db.prepare('DELETE FROM branch_provenance WHERE repo = ? OR from_repo = ?'),
      commitProv: db.prepare('SELECT from_repo, from_commit, from_branch FROM commit_provenance WHERE repo = ? AND commit_id = ? ORDER BY 1, 2'),
      addCommitProv: db.prepare('INSERT OR IGNORE INTO commit_provenance (repo, commit_id, from_repo, from_commit, from_branch) VALUES (?, ?, ?, ?, ?)'),
      commitSubv: db.prepare('SELECT repo, commit_id AS id FROM commit_provenance WHERE from_repo = ? AND from_commit = ?'),
      clearCommitProv: db.prepare('DELETE FROM commit_provenance WHERE (repo = ? AND commit_id = ?) OR (from_repo = ? AND from_commit = ?)'),
      clearRepoCommitProv: db.prepare('DELETE FROM commit_provenance WHERE repo = ? OR from_repo = ?'),
      roots: db.prepare('SELECT DISTINCT root FROM commits WHERE root IS NOT NULL').pluck(),
    };
  }

  /** One BEGIN IMMEDIATE transaction; disk full, read-only and busy stores fail as TuskErrors. */
  transaction<T>(fn: () => T): T {
    return guardSqlite(() => this.db.transaction(fn).immediate());
  }

  getRepo(name: string): RepoRow | undefined {
    return this.q.repo.get(name) as RepoRow | undefined;
  }
  listRepos(): RepoRow[] {
    return this.q.repos.all() as RepoRow[];
  }
  insertRepo(r: RepoRow): void {
    this.q.insertRepo.run(r.name, r.type, r.description, r.created);
  }
  setRepoType(name: string, type: RepoRow['type']): void {
    this.q.setRepoType.run(type, name);
  }
  setRepoDescription(name: string, description: string): void {
    this.q.setRepoDescription.run(description, name);
  }
  /** Remove a repo with all its branches, commits and provenance rows. */
  deleteRepo(name: string): void {
    this.q.clearRepoProv.run(name, name);
    this.q.clearRepoCommitProv.run(name, name);
    this.q.deleteBranches.run(name);
    this.q.deleteCommits.run(name);
    this.q.deleteRepo.run(name);
  }

  getBranch(repo: string, name: string): BranchRow | undefined {
    return this.q.branch.get(repo, name) as BranchRow | undefined;
  }
  listBranches(repo: string): BranchRow[] {
    return this.q.branches.all(repo) as BranchRow[];
  }
  allBranches(): BranchRow[] {
    return this.q.allBranches.all() as BranchRow[];
  }
  branchesAt(repo: string, head: string): BranchRow[] {
    return this.q.branchesAt.all(repo, head) as BranchRow[];
  }
  setBranch(repo: string, name: string, head: string, created: number): void {
    this.q.upsertBranch.run(repo, name, head, created);
  }
  moveBranch(repo: string, name: string, expectedHead: string | null, newHead: string): boolean {
    return this.q.moveBranch.run(newHead, repo, name, expectedHead).changes > 0;
  }
  deleteBranch(repo: string, name: string): void {
    this.q.clearBranchProv.run(repo, name);
    this.q.deleteBranch.run(repo, name);
  }
  branchProvenance(repo: string, branch: string): { repo: string; branch: string }[] {
    return this.q.branchProv.all(repo, branch) as { repo: string; branch: string }[];
  }
  /** Branches that declare `repo@branch` as direct provenance. */
  directSubvenance(repo: string, branch: string): { repo: string; branch: string }[] {
    return this.q.branchSubv.all(repo, branch) as { repo: string; branch: string }[];
  }
  /** Branches in other repos that depend on any branch of `repo`. */
  repoSubvenance(repo: string): { repo: string; branch: string }[] {
    return this.q.repoSubv.all(repo, repo) as { repo: string; branch: string }[];
  }
  setBranchProvenance(repo: string, branch: string, from: readonly { repo: string; branch: string }[]): void {
    this.q.clearBranchProv.run(repo, branch);
    for (const f of from) this.q.addBranchProv.run(repo, branch, f.repo, f.branch);
  }

  getCommit(repo: string, id: string): CommitRow | undefined {
    return this.q.commit.get(repo, id) as CommitRow | undefined;
  }
  commitsById(id: string): CommitRow[] {
    return this.q.commitsById.all(id) as CommitRow[];
  }
  /** Every commit of a repo, newest first. Iterated, never loaded whole. */
  *iterateRepoCommits(repo: string): Generator<CommitRow> {
    yield* this.q.commitsOfRepo.iterate(repo) as IterableIterator<CommitRow>;
  }
  *iterateAllCommits(): Generator<CommitRow> {
    yield* this.q.allCommits.iterate() as IterableIterator<CommitRow>;
  }
  children(repo: string, id: string): string[] {
    return this.q.children.all(repo, id) as string[];
  }
  nextSeq(repo: string): number {
    return this.q.nextSeq.get(repo) as number;
  }
  insertCommit(c: CommitRow): void {
    this.q.insertCommit.run(c);
  }
  setCommitRoot(repo: string, id: string, root: NodeId, size: number, files: number): void {
    this.q.setRoot.run(root, size, files, repo, id);
  }
  finishCommit(repo: string, id: string, at: number, description: string): void {
    this.q.finish.run(at, at, description, repo, id);
  }
  /** Mark a commit as failed (pipeline outputs of failed or killed jobs). */
  setCommitError(repo: string, id: string, error: string): void {
    this.q.setError.run(error, repo, id);
  }
  setParent(repo: string, id: string, parent: string | null): void {
    this.q.setParent.run(parent, repo, id);
  }
  deleteCommit(repo: string, id: string): void {
    this.q.clearCommitProv.run(repo, id, repo, id);
    this.q.deleteCommit.run(repo, id);
  }
  commitSets(limit: number): { id: string; commits: number; finished: number; failed: number; created: number; modified: number }[] {
    return this.q.commitSets.all(limit) as { id: string; commits: number; finished: number; failed: number; created: number; modified: number }[];
  }
  commitProvenance(repo: string, id: string): ProvenanceRow[] {
    return this.q.commitProv.all(repo, id) as ProvenanceRow[];
  }
  addCommitProvenance(repo: string, id: string, from: ProvenanceRow): void {
    this.q.addCommitProv.run(repo, id, from.from_repo, from.from_commit, from.from_branch);
  }
  commitSubvenance(repo: string, id: string): { repo: string; id: string }[] {
    return this.q.commitSubv.all(repo, id) as { repo: string; id: string }[];
  }
  /** Every distinct commit root: the starting points of gc's mark phase. */
  allRoots(): NodeId[] {
    return this.q.roots.all() as NodeId[];
  }
}
