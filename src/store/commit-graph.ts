// Repos, branches, commits and provenance as records. The only module with SQL about the commit
// graph; rules (who may write where, what a ref means) live in the services that call it.
import { pagedRows } from './paged-scan.js';
import { whenSettled } from './unit-of-work.js';
import { guardSqlite, type Db } from './meta-db.js';
import type { NodeId } from './hash.js';
import type { CommitOrigin } from './types.js';

export interface RepoRecord {
  name: string;
  type: string;
  description: string;
  created: number;
}

export interface BranchRecord {
  repo: string;
  name: string;
  head: string;
  created: number;
}

export interface CommitRecord {
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

/** One upstream commit a commit was made from. */
export interface ProvenanceRecord {
  fromRepo: string;
  fromCommit: string;
  /** the branch the upstream commit was the head of, when it was recorded through one */
  fromBranch: string | null;
}

/** A branch named with its repo: declared branch provenance and its reverse. */
export type RepoBranch = { repo: string; branch: string };

export type CommitSet = { id: string; commits: number; finished: number; failed: number; created: number; modified: number };

/** A commit named by its repo and id. */
export type CommitKey = { repo: string; id: string };

/** One declared branch provenance: `repo@branch` is computed from `fromRepo@fromBranch`. */
export interface BranchProvenanceEdge {
  repo: string;
  branch: string;
  fromRepo: string;
  fromBranch: string;
}

/** A reference to a commit the store lacks: a branch's head, a commit's parent, or a commit's provenance. */
export interface DanglingRef {
  kind: 'head' | 'parent' | 'provenance';
  repo: string;
  /** the branch (head) or the commit (parent, provenance) that holds the reference */
  name: string;
  /** the commit missing */
  targetRepo: string;
  target: string;
}

/** What `list commit` shows of a commit besides its record. */
export interface CommitLinks {
  children: string[];
  provenance: ProvenanceRecord[];
}

/**
 * The commit graph's contract: repos, branches, commits, provenance, as records. Implemented on
 * SQLite by SqliteCommitGraph and on PostgreSQL by PgCommitGraph, so every method is asynchronous
 * and one round trip: batch-shaped methods take or return many records at once, `iterate*`
 * methods stream in pages. Writes are made only inside a unit of work (StoreCore.unitOfWork) and
 * land together with the others of that unit or not at all; reads outside one see what the last
 * finished unit left.
 */
export interface CommitGraph {
  getRepo(name: string): Promise<RepoRecord | undefined>;
  listRepos(): Promise<RepoRecord[]>;
  insertRepo(r: RepoRecord): Promise<void>;
  setRepoType(name: string, type: RepoRecord['type']): Promise<void>;
  setRepoDescription(name: string, description: string): Promise<void>;
  /** Remove a repo with all its branches, commits and provenance. */
  deleteRepo(name: string): Promise<void>;
  getBranch(repo: string, name: string): Promise<BranchRecord | undefined>;
  listBranches(repo: string): Promise<BranchRecord[]>;
  /** Every branch of the store, by repo, and in a repo as listBranches orders them. */
  allBranches(): Promise<BranchRecord[]>;
  branchesAt(repo: string, head: string): Promise<BranchRecord[]>;
  setBranch(repo: string, name: string, head: string, created: number): Promise<void>;
  /**
   * Compare-and-set: point an existing branch at `newHead` only if its head is still
   * `expectedHead` (null: a branch without a head). False, and nothing changed, when it moved.
   */
  moveBranch(repo: string, name: string, expectedHead: string | null, newHead: string): Promise<boolean>;
  deleteBranch(repo: string, name: string): Promise<void>;
  branchProvenance(repo: string, branch: string): Promise<RepoBranch[]>;
  /** Branches that declare `repo@branch` as direct provenance. */
  directSubvenance(repo: string, branch: string): Promise<RepoBranch[]>;
  /** Branches in other repos that depend on any branch of `repo`. */
  repoSubvenance(repo: string): Promise<RepoBranch[]>;
  setBranchProvenance(repo: string, branch: string, from: readonly RepoBranch[]): Promise<void>;
  /** Every declared branch provenance of the store, at once: walks of it across branches are made in memory. */
  allBranchProvenance(): Promise<BranchProvenanceEdge[]>;
  getCommit(repo: string, id: string): Promise<CommitRecord | undefined>;
  commitsById(id: string): Promise<CommitRecord[]>;
  /** Many commits at once, in the order of `keys`; undefined for one the store lacks. */
  getCommits(keys: readonly CommitKey[]): Promise<(CommitRecord | undefined)[]>;
  /**
   * `id` and its ancestors along parent links, newest first, `limit` at most: the caller asks
   * again from the last one's parent for more. Shorter than `limit` where the chain ends: at a
   * first commit, or at a parent the store lacks. Empty when `id` itself is missing.
   */
  commitChain(repo: string, id: string, limit: number): Promise<CommitRecord[]>;
  /** Every commit of a repo, newest first, a page at a time. */
  iterateRepoCommits(repo: string): AsyncIterable<CommitRecord>;
  /** Every commit of the store, by repo and id, a page at a time. */
  iterateAllCommits(): AsyncIterable<CommitRecord>;
  children(repo: string, id: string): Promise<string[]>;
  /** Children and provenance of many commits of one repo at once, keyed by commit id. */
  commitLinks(repo: string, ids: readonly string[]): Promise<Map<string, CommitLinks>>;
  nextSeq(repo: string): Promise<number>;
  insertCommit(c: CommitRecord): Promise<void>;
  setCommitRoot(repo: string, id: string, root: NodeId, size: number, files: number): Promise<void>;
  finishCommit(repo: string, id: string, at: number, description: string): Promise<void>;
  /** Mark a commit as failed (pipeline outputs of failed or killed jobs). */
  setCommitError(repo: string, id: string, error: string): Promise<void>;
  setParent(repo: string, id: string, parent: string | null): Promise<void>;
  deleteCommit(repo: string, id: string): Promise<void>;
  /** Commit sets, newest first: at most `limit` of them, or every one when it is undefined. */
  commitSets(limit?: number): Promise<CommitSet[]>;
  commitProvenance(repo: string, id: string): Promise<ProvenanceRecord[]>;
  /** Record upstream commits of a commit, all at once; one already recorded is kept as it is. */
  addCommitProvenance(repo: string, id: string, from: readonly ProvenanceRecord[]): Promise<void>;
  commitSubvenance(repo: string, id: string): Promise<{ repo: string; id: string }[]>;
  /** Every distinct commit root: the starting points of gc's mark phase. */
  allRoots(): Promise<NodeId[]>;
  /**
   * Every branch head, commit parent and commit provenance (of a commit the store has) that names
   * a commit the store lacks, ordered by kind, repo, name, target repo, target (fsck).
   */
  danglingRefs(): Promise<DanglingRef[]>;
}

// Columns ↔ records, one entry per table. repos, branches and commits name their columns as the
// records name their fields, so a row is the record; commit_provenance prefixes its columns.
const COMMIT_COLS = 'repo, id, seq, branch, parent, origin, description, started, finishing, finished, root, size, files, error';
interface ProvenanceRow {
  from_repo: string;
  from_commit: string;
  from_branch: string | null;
}
const provenanceOf = (r: ProvenanceRow): ProvenanceRecord => ({ fromRepo: r.from_repo, fromCommit: r.from_commit, fromBranch: r.from_branch });

const COMMIT_COLS_OF_C = COMMIT_COLS.split(', ')
  .map((c) => `c.${c}`)
  .join(', ');

/** The references to missing commits, one statement for the three kinds (both backends run it as it is). */
export const DANGLING_REFS_SQL = `
  SELECT 'head' AS kind, b.repo AS repo, b.name AS name, b.repo AS target_repo, b.head AS target FROM branches b
   WHERE NOT EXISTS (SELECT 1 FROM commits c WHERE c.repo = b.repo AND c.id = b.head)
  UNION ALL
  SELECT 'parent', k.repo, k.id, k.repo, k.parent FROM commits k
   WHERE k.parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM commits c WHERE c.repo = k.repo AND c.id = k.parent)
  UNION ALL
  SELECT 'provenance', p.repo, p.commit_id, p.from_repo, p.from_commit FROM commit_provenance p
   WHERE EXISTS (SELECT 1 FROM commits k WHERE k.repo = p.repo AND k.id = p.commit_id)
     AND NOT EXISTS (SELECT 1 FROM commits c WHERE c.repo = p.from_repo AND c.id = p.from_commit)
  ORDER BY 1, 2, 3, 4, 5`;

/** Rows a commit iteration reads per query: bounded memory, and no cursor held open across an await. */
const COMMIT_PAGE = 1000;

/**
 * CommitGraph on SQLite: prepared statements over its tables, each method an async wrapper. A
 * method called outside a unit of work first waits for the unit in flight on the connection
 * (`settled`), so that it never sees half of one.
 */
export class SqliteCommitGraph implements CommitGraph {
  private readonly q;

  constructor(
    readonly db: Db,
    private readonly settled: () => Promise<void> | undefined = () => undefined,
  ) {
    this.q = {
      repo: db.prepare('SELECT name, type, description, created FROM repos WHERE name = ?'),
      repos: db.prepare('SELECT name, type, description, created FROM repos ORDER BY created DESC, name'),
      insertRepo: db.prepare('INSERT INTO repos (name, type, description, created) VALUES (?, ?, ?, ?)'),
      setRepoDescription: db.prepare('UPDATE repos SET description = ? WHERE name = ?'),
      setRepoType: db.prepare('UPDATE repos SET type = ? WHERE name = ?'),
      deleteRepo: db.prepare('DELETE FROM repos WHERE name = ?'),
      branch: db.prepare('SELECT repo, name, head, created FROM branches WHERE repo = ? AND name = ?'),
      branches: db.prepare('SELECT repo, name, head, created FROM branches WHERE repo = ? ORDER BY created DESC, name'),
      allBranches: db.prepare('SELECT repo, name, head, created FROM branches ORDER BY repo, created DESC, name'),
      upsertBranch: db.prepare(
        'INSERT INTO branches (repo, name, head, created) VALUES (?, ?, ?, ?) ON CONFLICT (repo, name) DO UPDATE SET head = excluded.head',
      ),
      moveBranch: db.prepare('UPDATE branches SET head = ? WHERE repo = ? AND name = ? AND head IS ?'),
      deleteBranch: db.prepare('DELETE FROM branches WHERE repo = ? AND name = ?'),
      deleteBranches: db.prepare('DELETE FROM branches WHERE repo = ?'),
      branchesAt: db.prepare('SELECT repo, name, head, created FROM branches WHERE repo = ? AND head = ?'),
      commit: db.prepare(`SELECT ${COMMIT_COLS} FROM commits WHERE repo = ? AND id = ?`),
      commitsById: db.prepare(`SELECT ${COMMIT_COLS} FROM commits WHERE id = ? ORDER BY repo`),
      // many commits at once: the keys come as one JSON array of [repo, id] pairs
      commitsByKey: db.prepare(`SELECT j.key AS i, ${COMMIT_COLS_OF_C} FROM json_each(?) j JOIN commits c ON c.repo = json_extract(j.value, '$[0]') AND c.id = json_extract(j.value, '$[1]')`),
      // the parent links walked in the database; `n` bounds the walk even on a damaged (cyclic) history
      commitChain: db.prepare(
        // the rows travel in the walk itself: a join back to commits afterwards scanned the whole repo
        `WITH RECURSIVE chain(n, ${COMMIT_COLS}) AS (
           SELECT 1, ${COMMIT_COLS} FROM commits WHERE repo = @repo AND id = @id
           UNION ALL
           SELECT chain.n + 1, ${COMMIT_COLS_OF_C} FROM chain JOIN commits c ON c.repo = chain.repo AND c.id = chain.parent WHERE chain.n < @limit)
         SELECT ${COMMIT_COLS} FROM chain ORDER BY n`,
      ),
      repoCommitsFirst: db.prepare(`SELECT ${COMMIT_COLS} FROM commits WHERE repo = ? ORDER BY seq DESC, id DESC LIMIT ?`),
      // `seq <= ?` bounds the walk of commits_by_seq; the row value breaks ties between equal seqs
      repoCommitsAfter: db.prepare(`SELECT ${COMMIT_COLS} FROM commits WHERE repo = @repo AND seq <= @seq AND (seq, id) < (@seq, @id) ORDER BY seq DESC, id DESC LIMIT @limit`),
      allCommitsFirst: db.prepare(`SELECT ${COMMIT_COLS} FROM commits ORDER BY repo, id LIMIT ?`),
      allCommitsAfter: db.prepare(`SELECT ${COMMIT_COLS} FROM commits WHERE (repo, id) > (?, ?) ORDER BY repo, id LIMIT ?`),
      children: db.prepare('SELECT id FROM commits WHERE repo = ? AND parent = ? ORDER BY seq').pluck(),
      // many commits at once: the ids come as one JSON array, so a batch is one statement
      childrenOf: db.prepare('SELECT parent, id FROM commits WHERE repo = ? AND parent IN (SELECT value FROM json_each(?)) ORDER BY parent, seq'),
      provenanceOf: db.prepare(
        'SELECT commit_id, from_repo, from_commit, from_branch FROM commit_provenance WHERE repo = ? AND commit_id IN (SELECT value FROM json_each(?)) ORDER BY commit_id, from_repo, from_commit',
      ),
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
      allBranchProv: db.prepare('SELECT repo, branch, from_repo AS fromRepo, from_branch AS fromBranch FROM branch_provenance ORDER BY 1, 2, 3, 4'),
      dangling: db.prepare(DANGLING_REFS_SQL),
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

  /** Run `f` once no unit of another flow is open on the connection. */
  private at<T>(f: () => T): Promise<T> {
    return whenSettled(this.settled, f);
  }

  /** Run `f`'s statements together: their own transaction, or a savepoint in the unit in flight. */
  private together<T>(f: () => T): Promise<T> {
    return this.at(() => guardSqlite(() => this.db.transaction(f).immediate()));
  }

  getRepo(name: string): Promise<RepoRecord | undefined> {
    return this.at(() => this.q.repo.get(name) as RepoRecord | undefined);
  }
  listRepos(): Promise<RepoRecord[]> {
    return this.at(() => this.q.repos.all() as RepoRecord[]);
  }
  insertRepo(r: RepoRecord): Promise<void> {
    return this.at(() => {
      this.q.insertRepo.run(r.name, r.type, r.description, r.created);
    });
  }
  setRepoType(name: string, type: RepoRecord['type']): Promise<void> {
    return this.at(() => {
      this.q.setRepoType.run(type, name);
    });
  }
  setRepoDescription(name: string, description: string): Promise<void> {
    return this.at(() => {
      this.q.setRepoDescription.run(description, name);
    });
  }
  deleteRepo(name: string): Promise<void> {
    return this.together(() => {
      this.q.clearRepoProv.run(name, name);
      this.q.clearRepoCommitProv.run(name, name);
      this.q.deleteBranches.run(name);
      this.q.deleteCommits.run(name);
      this.q.deleteRepo.run(name);
    });
  }

  getBranch(repo: string, name: string): Promise<BranchRecord | undefined> {
    return this.at(() => this.q.branch.get(repo, name) as BranchRecord | undefined);
  }
  listBranches(repo: string): Promise<BranchRecord[]> {
    return this.at(() => this.q.branches.all(repo) as BranchRecord[]);
  }
  allBranches(): Promise<BranchRecord[]> {
    return this.at(() => this.q.allBranches.all() as BranchRecord[]);
  }
  branchesAt(repo: string, head: string): Promise<BranchRecord[]> {
    return this.at(() => this.q.branchesAt.all(repo, head) as BranchRecord[]);
  }
  setBranch(repo: string, name: string, head: string, created: number): Promise<void> {
    return this.at(() => {
      this.q.upsertBranch.run(repo, name, head, created);
    });
  }
  moveBranch(repo: string, name: string, expectedHead: string | null, newHead: string): Promise<boolean> {
    return this.at(() => this.q.moveBranch.run(newHead, repo, name, expectedHead).changes > 0);
  }
  deleteBranch(repo: string, name: string): Promise<void> {
    return this.together(() => {
      this.q.clearBranchProv.run(repo, name);
      this.q.deleteBranch.run(repo, name);
    });
  }
  branchProvenance(repo: string, branch: string): Promise<RepoBranch[]> {
    return this.at(() => this.q.branchProv.all(repo, branch) as RepoBranch[]);
  }
  directSubvenance(repo: string, branch: string): Promise<RepoBranch[]> {
    return this.at(() => this.q.branchSubv.all(repo, branch) as RepoBranch[]);
  }
  repoSubvenance(repo: string): Promise<RepoBranch[]> {
    return this.at(() => this.q.repoSubv.all(repo, repo) as RepoBranch[]);
  }
  setBranchProvenance(repo: string, branch: string, from: readonly RepoBranch[]): Promise<void> {
    return this.together(() => {
      this.q.clearBranchProv.run(repo, branch);
      for (const f of from) this.q.addBranchProv.run(repo, branch, f.repo, f.branch);
    });
  }

  allBranchProvenance(): Promise<BranchProvenanceEdge[]> {
    return this.at(() => this.q.allBranchProv.all() as BranchProvenanceEdge[]);
  }

  getCommit(repo: string, id: string): Promise<CommitRecord | undefined> {
    return this.at(() => this.q.commit.get(repo, id) as CommitRecord | undefined);
  }
  getCommits(keys: readonly CommitKey[]): Promise<(CommitRecord | undefined)[]> {
    return this.at(() => {
      const out: (CommitRecord | undefined)[] = new Array(keys.length).fill(undefined);
      if (keys.length === 0) return out;
      for (const { i, ...c } of this.q.commitsByKey.all(JSON.stringify(keys.map((k) => [k.repo, k.id]))) as (CommitRecord & { i: number })[]) out[i] = c;
      return out;
    });
  }
  commitChain(repo: string, id: string, limit: number): Promise<CommitRecord[]> {
    return this.at(() => this.q.commitChain.all({ repo, id, limit }) as CommitRecord[]);
  }
  commitsById(id: string): Promise<CommitRecord[]> {
    return this.at(() => this.q.commitsById.all(id) as CommitRecord[]);
  }
  iterateRepoCommits(repo: string): AsyncIterable<CommitRecord> {
    return pagedRows(
      (last) => this.at(() => (last ? this.q.repoCommitsAfter.all({ repo, seq: last.seq, id: last.id, limit: COMMIT_PAGE }) : this.q.repoCommitsFirst.all(repo, COMMIT_PAGE)) as CommitRecord[]),
      COMMIT_PAGE,
    );
  }
  iterateAllCommits(): AsyncIterable<CommitRecord> {
    return pagedRows((last) => this.at(() => (last ? this.q.allCommitsAfter.all(last.repo, last.id, COMMIT_PAGE) : this.q.allCommitsFirst.all(COMMIT_PAGE)) as CommitRecord[]), COMMIT_PAGE);
  }
  children(repo: string, id: string): Promise<string[]> {
    return this.at(() => this.q.children.all(repo, id) as string[]);
  }
  commitLinks(repo: string, ids: readonly string[]): Promise<Map<string, CommitLinks>> {
    return this.at(() => {
      const out = new Map<string, CommitLinks>(ids.map((id) => [id, { children: [], provenance: [] }]));
      if (ids.length === 0) return out;
      const list = JSON.stringify(ids);
      for (const k of this.q.childrenOf.all(repo, list) as { parent: string; id: string }[]) out.get(k.parent)?.children.push(k.id);
      for (const p of this.q.provenanceOf.all(repo, list) as (ProvenanceRow & { commit_id: string })[]) out.get(p.commit_id)?.provenance.push(provenanceOf(p));
      return out;
    });
  }
  nextSeq(repo: string): Promise<number> {
    return this.at(() => this.q.nextSeq.get(repo) as number);
  }
  insertCommit(c: CommitRecord): Promise<void> {
    return this.at(() => {
      this.q.insertCommit.run(c);
    });
  }
  setCommitRoot(repo: string, id: string, root: NodeId, size: number, files: number): Promise<void> {
    return this.at(() => {
      this.q.setRoot.run(root, size, files, repo, id);
    });
  }
  finishCommit(repo: string, id: string, at: number, description: string): Promise<void> {
    return this.at(() => {
      this.q.finish.run(at, at, description, repo, id);
    });
  }
  setCommitError(repo: string, id: string, error: string): Promise<void> {
    return this.at(() => {
      this.q.setError.run(error, repo, id);
    });
  }
  setParent(repo: string, id: string, parent: string | null): Promise<void> {
    return this.at(() => {
      this.q.setParent.run(parent, repo, id);
    });
  }
  deleteCommit(repo: string, id: string): Promise<void> {
    return this.together(() => {
      this.q.clearCommitProv.run(repo, id, repo, id);
      this.q.deleteCommit.run(repo, id);
    });
  }
  commitSets(limit?: number): Promise<CommitSet[]> {
    // SQLite's LIMIT -1 is no limit
    return this.at(() => this.q.commitSets.all(limit ?? -1) as CommitSet[]);
  }
  commitProvenance(repo: string, id: string): Promise<ProvenanceRecord[]> {
    return this.at(() => (this.q.commitProv.all(repo, id) as ProvenanceRow[]).map(provenanceOf));
  }
  addCommitProvenance(repo: string, id: string, from: readonly ProvenanceRecord[]): Promise<void> {
    return this.together(() => {
      for (const f of from) this.q.addCommitProv.run(repo, id, f.fromRepo, f.fromCommit, f.fromBranch);
    });
  }
  commitSubvenance(repo: string, id: string): Promise<{ repo: string; id: string }[]> {
    return this.at(() => this.q.commitSubv.all(repo, id) as { repo: string; id: string }[]);
  }
  allRoots(): Promise<NodeId[]> {
    return this.at(() => this.q.roots.all() as NodeId[]);
  }
  danglingRefs(): Promise<DanglingRef[]> {
    return this.at(() =>
      (this.q.dangling.all() as { kind: DanglingRef['kind']; repo: string; name: string; target_repo: string; target: string }[]).map((r) => ({
        kind: r.kind,
        repo: r.repo,
        name: r.name,
        targetRepo: r.target_repo,
        target: r.target,
      })),
    );
  }
}

/**
 * `id` and its ancestors in `repo`, newest first, ending at a first commit or at a parent the
 * store lacks. Read a stretch of the chain per query, each stretch longer than the last: a walk
 * that stops early reads little, and a history of thousands is a few queries.
 */
export async function* commitAncestry(graph: Pick<CommitGraph, 'commitChain'>, repo: string, id: string): AsyncGenerator<CommitRecord> {
  for (let next: string | null = id, limit = 128; next !== null; limit = Math.min(limit * 4, 8192)) {
    const stretch = await graph.commitChain(repo, next, limit);
    yield* stretch;
    if (stretch.length < limit) return;
    next = stretch[stretch.length - 1]!.parent;
  }
}
