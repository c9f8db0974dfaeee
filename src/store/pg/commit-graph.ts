// CommitGraph on PostgreSQL: the same queries as commit-graph.ts, one statement per method.
// Moving a branch and finishing a commit also send a NOTIFY (watch.ts), delivered at commit.
import { DANGLING_REFS_SQL, type BranchProvenanceEdge, type BranchRecord, type CommitGraph, type CommitKey, type CommitLinks, type CommitRecord, type CommitSet, type DanglingRef, type ProvenanceRecord, type RepoBranch, type RepoRecord } from '../commit-graph.js';
import type { NodeId } from '../hash.js';
import { PAGE, type Binding } from './binding.js';
import { pagedRows } from '../paged-scan.js';
import { BRANCH, COMMIT, COMMIT_SET, PROVENANCE, REPO } from './rows.js';
import { BRANCH_CHANNEL, COMMIT_CHANNEL, notifyFrom } from './watch.js';

const COMMIT_OF_C = COMMIT.columns.map((c) => `c.${c}`).join(', ');

const BRANCH_PAYLOAD = "json_build_object('repo', repo, 'branch', name, 'head', head)";

export class PgCommitGraph implements CommitGraph {
  constructor(private readonly b: Binding) {}

  private async rows(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    return (await this.b.db.query(sql, params)).rows as Record<string, unknown>[];
  }

  async getRepo(name: string): Promise<RepoRecord | undefined> {
    const [r] = await this.rows(`SELECT ${REPO.select} FROM repos WHERE name = $1`, [name]);
    return r && REPO.from(r);
  }
  async listRepos(): Promise<RepoRecord[]> {
    return (await this.rows(`SELECT ${REPO.select} FROM repos ORDER BY created DESC, name`)).map(REPO.from);
  }
  async insertRepo(r: RepoRecord): Promise<void> {
    await this.b.db.query(`INSERT INTO repos (${REPO.select}) VALUES ($1, $2, $3, $4)`, REPO.values(r));
  }
  async setRepoType(name: string, type: string): Promise<void> {
    await this.b.db.query('UPDATE repos SET type = $1 WHERE name = $2', [type, name]);
  }
  async setRepoDescription(name: string, description: string): Promise<void> {
    await this.b.db.query('UPDATE repos SET description = $1 WHERE name = $2', [description, name]);
  }
  /** One statement: the provenance rows, branches and commits go first, then the repo (foreign keys). */
  async deleteRepo(name: string): Promise<void> {
    await this.b.db.query(
      `WITH bp AS (DELETE FROM branch_provenance WHERE repo = $1 OR from_repo = $1),
            cp AS (DELETE FROM commit_provenance WHERE repo = $1 OR from_repo = $1),
            b AS (DELETE FROM branches WHERE repo = $1),
            c AS (DELETE FROM commits WHERE repo = $1)
       DELETE FROM repos WHERE name = $1`,
      [name],
    );
  }

  async getBranch(repo: string, name: string): Promise<BranchRecord | undefined> {
    const [r] = await this.rows(`SELECT ${BRANCH.select} FROM branches WHERE repo = $1 AND name = $2`, [repo, name]);
    return r && BRANCH.from(r);
  }
  async listBranches(repo: string): Promise<BranchRecord[]> {
    return (await this.rows(`SELECT ${BRANCH.select} FROM branches WHERE repo = $1 ORDER BY created DESC, name`, [repo])).map(BRANCH.from);
  }
  async allBranches(): Promise<BranchRecord[]> {
    return (await this.rows(`SELECT ${BRANCH.select} FROM branches ORDER BY repo, created DESC, name`)).map(BRANCH.from);
  }
  async branchesAt(repo: string, head: string): Promise<BranchRecord[]> {
    return (await this.rows(`SELECT ${BRANCH.select} FROM branches WHERE repo = $1 AND head = $2`, [repo, head])).map(BRANCH.from);
  }
  async setBranch(repo: string, name: string, head: string, created: number): Promise<void> {
    await this.b.db.query(
      `WITH u AS (INSERT INTO branches (repo, name, head, created) VALUES ($1, $2, $3, $4)
                  ON CONFLICT (repo, name) DO UPDATE SET head = excluded.head RETURNING repo, name, head)
       ${notifyFrom(BRANCH_CHANNEL, BRANCH_PAYLOAD, 'u')}`,
      [repo, name, head, created],
    );
  }
  /** Compare-and-set: point the branch at newHead only if it still points at expectedHead. */
  async moveBranch(repo: string, name: string, expectedHead: string | null, newHead: string): Promise<boolean> {
    const { rowCount } = await this.b.db.query(
      `WITH u AS (UPDATE branches SET head = $4 WHERE repo = $1 AND name = $2 AND head IS NOT DISTINCT FROM $3 RETURNING repo, name, head)
       ${notifyFrom(BRANCH_CHANNEL, BRANCH_PAYLOAD, 'u')}`,
      [repo, name, expectedHead, newHead],
    );
    return (rowCount ?? 0) > 0;
  }
  async deleteBranch(repo: string, name: string): Promise<void> {
    await this.b.db.query('WITH p AS (DELETE FROM branch_provenance WHERE repo = $1 AND branch = $2) DELETE FROM branches WHERE repo = $1 AND name = $2', [repo, name]);
  }
  async branchProvenance(repo: string, branch: string): Promise<RepoBranch[]> {
    return (await this.b.db.query<RepoBranch>('SELECT from_repo AS repo, from_branch AS branch FROM branch_provenance WHERE repo = $1 AND branch = $2 ORDER BY 1, 2', [repo, branch])).rows;
  }
  async directSubvenance(repo: string, branch: string): Promise<RepoBranch[]> {
    return (await this.b.db.query<RepoBranch>('SELECT repo, branch FROM branch_provenance WHERE from_repo = $1 AND from_branch = $2 ORDER BY 1, 2', [repo, branch])).rows;
  }
  async repoSubvenance(repo: string): Promise<RepoBranch[]> {
    return (await this.b.db.query<RepoBranch>('SELECT DISTINCT repo, branch FROM branch_provenance WHERE from_repo = $1 AND repo <> $1', [repo])).rows;
  }
  /** One statement: add the new rows, drop the old ones not among them (both see the same snapshot). */
  async setBranchProvenance(repo: string, branch: string, from: readonly RepoBranch[]): Promise<void> {
    await this.b.db.query(
      `WITH f AS (SELECT * FROM unnest($3::text[], $4::text[]) AS f(r, b)),
            ins AS (INSERT INTO branch_provenance (repo, branch, from_repo, from_branch) SELECT $1, $2, r, b FROM f ON CONFLICT DO NOTHING)
       DELETE FROM branch_provenance WHERE repo = $1 AND branch = $2 AND (from_repo, from_branch) NOT IN (SELECT r, b FROM f)`,
      [repo, branch, from.map((f) => f.repo), from.map((f) => f.branch)],
    );
  }

  async allBranchProvenance(): Promise<BranchProvenanceEdge[]> {
    return (
      await this.b.db.query<BranchProvenanceEdge>('SELECT repo, branch, from_repo AS "fromRepo", from_branch AS "fromBranch" FROM branch_provenance ORDER BY 1, 2, 3, 4')
    ).rows;
  }

  async getCommit(repo: string, id: string): Promise<CommitRecord | undefined> {
    const [r] = await this.rows(`SELECT ${COMMIT.select} FROM commits WHERE repo = $1 AND id = $2`, [repo, id]);
    return r && COMMIT.from(r);
  }
  async commitsById(id: string): Promise<CommitRecord[]> {
    return (await this.rows(`SELECT ${COMMIT.select} FROM commits WHERE id = $1 ORDER BY repo`, [id])).map(COMMIT.from);
  }
  /** One statement for all the keys: the pairs travel as two arrays, and each row says which key it answers. */
  async getCommits(keys: readonly CommitKey[]): Promise<(CommitRecord | undefined)[]> {
    const out: (CommitRecord | undefined)[] = new Array(keys.length).fill(undefined);
    if (keys.length === 0) return out;
    const rows = await this.rows(
      `SELECT k.i, ${COMMIT_OF_C} FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(repo, id, i) JOIN commits c ON c.repo = k.repo AND c.id = k.id`,
      [keys.map((k) => k.repo), keys.map((k) => k.id)],
    );
    for (const r of rows) out[Number(r.i) - 1] = COMMIT.from(r);
    return out;
  }
  /** The parent links walked in the database, the rows carried along; `n` bounds the walk even on a damaged (cyclic) history. */
  async commitChain(repo: string, id: string, limit: number): Promise<CommitRecord[]> {
    const rows = await this.rows(
      `WITH RECURSIVE chain(n, ${COMMIT.select}) AS (
         SELECT 1, ${COMMIT.select} FROM commits WHERE repo = $1 AND id = $2
         UNION ALL
         SELECT chain.n + 1, ${COMMIT_OF_C} FROM chain JOIN commits c ON c.repo = chain.repo AND c.id = chain.parent WHERE chain.n < $3)
       SELECT ${COMMIT.select} FROM chain ORDER BY n`,
      [repo, id, limit],
    );
    return rows.map(COMMIT.from);
  }
  /** Every commit of a repo, newest first, a page at a time. */
  iterateRepoCommits(repo: string): AsyncIterable<CommitRecord> {
    return pagedRows<CommitRecord>(async (last) => {
      const rows = last
        ? await this.rows(`SELECT ${COMMIT.select} FROM commits WHERE repo = $1 AND (seq, id) < ($2, $3) ORDER BY seq DESC, id DESC LIMIT ${PAGE}`, [repo, last.seq, last.id])
        : await this.rows(`SELECT ${COMMIT.select} FROM commits WHERE repo = $1 ORDER BY seq DESC, id DESC LIMIT ${PAGE}`, [repo]);
      return rows.map(COMMIT.from);
    }, PAGE);
  }
  iterateAllCommits(): AsyncIterable<CommitRecord> {
    return pagedRows<CommitRecord>(async (last) => {
      const rows = last
        ? await this.rows(`SELECT ${COMMIT.select} FROM commits WHERE (repo, id) > ($1, $2) ORDER BY repo, id LIMIT ${PAGE}`, [last.repo, last.id])
        : await this.rows(`SELECT ${COMMIT.select} FROM commits ORDER BY repo, id LIMIT ${PAGE}`);
      return rows.map(COMMIT.from);
    }, PAGE);
  }
  async children(repo: string, id: string): Promise<string[]> {
    return (await this.b.db.query<{ id: string }>('SELECT id FROM commits WHERE repo = $1 AND parent = $2 ORDER BY seq', [repo, id])).rows.map((r) => r.id);
  }
  /** Two statements, not two per commit: the children and the provenance of every commit named. */
  async commitLinks(repo: string, ids: readonly string[]): Promise<Map<string, CommitLinks>> {
    const out = new Map<string, CommitLinks>(ids.map((id) => [id, { children: [], provenance: [] }]));
    if (ids.length === 0) return out;
    const kids = await this.b.db.query<{ parent: string; id: string }>('SELECT parent, id FROM commits WHERE repo = $1 AND parent = ANY($2::text[]) ORDER BY parent, seq', [repo, ids]);
    for (const k of kids.rows) out.get(k.parent)?.children.push(k.id);
    const prov = await this.rows(`SELECT commit_id, ${PROVENANCE.select} FROM commit_provenance WHERE repo = $1 AND commit_id = ANY($2::text[]) ORDER BY commit_id, 2, 3`, [repo, ids]);
    for (const p of prov) out.get(p.commit_id as string)?.provenance.push(PROVENANCE.from(p));
    return out;
  }
  async nextSeq(repo: string): Promise<number> {
    return (await this.b.db.query<{ n: number }>('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM commits WHERE repo = $1', [repo])).rows[0]!.n;
  }
  async insertCommit(c: CommitRecord): Promise<void> {
    await this.b.db.query(`INSERT INTO commits (${COMMIT.columns.join(', ')}) VALUES (${COMMIT.columns.map((_, i) => `$${i + 1}`).join(', ')})`, COMMIT.values(c));
  }
  async setCommitRoot(repo: string, id: string, root: NodeId, size: number, files: number): Promise<void> {
    await this.b.db.query('UPDATE commits SET root = $1, size = $2, files = $3 WHERE repo = $4 AND id = $5', [root, size, files, repo, id]);
  }
  async finishCommit(repo: string, id: string, at: number, description: string): Promise<void> {
    await this.b.db.query(
      `WITH u AS (UPDATE commits SET finishing = COALESCE(finishing, $1), finished = $1, description = $2 WHERE repo = $3 AND id = $4 RETURNING repo, id)
       ${notifyFrom(COMMIT_CHANNEL, "json_build_object('repo', repo, 'id', id)", 'u')}`,
      [at, description, repo, id],
    );
  }
  async setCommitError(repo: string, id: string, error: string): Promise<void> {
    await this.b.db.query('UPDATE commits SET error = $1 WHERE repo = $2 AND id = $3', [error, repo, id]);
  }
  async setParent(repo: string, id: string, parent: string | null): Promise<void> {
    await this.b.db.query('UPDATE commits SET parent = $1 WHERE repo = $2 AND id = $3', [parent, repo, id]);
  }
  async deleteCommit(repo: string, id: string): Promise<void> {
    await this.b.db.query(
      `WITH p AS (DELETE FROM commit_provenance WHERE (repo = $1 AND commit_id = $2) OR (from_repo = $1 AND from_commit = $2))
       DELETE FROM commits WHERE repo = $1 AND id = $2`,
      [repo, id],
    );
  }
  async commitSets(limit?: number): Promise<CommitSet[]> {
    return (
      await this.rows(
        `SELECT ${COMMIT_SET.select}, COUNT(*) AS commits, COUNT(finished) AS finished, COUNT(error) AS failed,
                MIN(started) AS created, MAX(COALESCE(finished, started)) AS modified
         FROM commits GROUP BY id ORDER BY MIN(started) DESC LIMIT $1`,
        // PostgreSQL's LIMIT NULL is no limit (a negative one is an error)
        [limit ?? null],
      )
    ).map(COMMIT_SET.from);
  }
  async commitProvenance(repo: string, id: string): Promise<ProvenanceRecord[]> {
    return (await this.rows(`SELECT ${PROVENANCE.select} FROM commit_provenance WHERE repo = $1 AND commit_id = $2 ORDER BY 1, 2`, [repo, id])).map(PROVENANCE.from);
  }
  async addCommitProvenance(repo: string, id: string, from: readonly ProvenanceRecord[]): Promise<void> {
    if (from.length === 0) return;
    await this.b.db.query(
      `INSERT INTO commit_provenance (repo, commit_id, ${PROVENANCE.select})
       SELECT $1, $2, r, c, b FROM unnest($3::text[], $4::text[], $5::text[]) AS f(r, c, b) ON CONFLICT DO NOTHING`,
      [repo, id, from.map((f) => f.fromRepo), from.map((f) => f.fromCommit), from.map((f) => f.fromBranch)],
    );
  }
  async commitSubvenance(repo: string, id: string): Promise<{ repo: string; id: string }[]> {
    return (await this.b.db.query<{ repo: string; id: string }>('SELECT repo, commit_id AS id FROM commit_provenance WHERE from_repo = $1 AND from_commit = $2', [repo, id])).rows;
  }
  async allRoots(): Promise<NodeId[]> {
    return (await this.b.db.query<{ root: NodeId }>('SELECT DISTINCT root FROM commits WHERE root IS NOT NULL')).rows.map((r) => r.root);
  }
  async danglingRefs(): Promise<DanglingRef[]> {
    return (await this.rows(DANGLING_REFS_SQL)).map((r) => ({ kind: r.kind as DanglingRef['kind'], repo: r.repo as string, name: r.name as string, targetRepo: r.target_repo as string, target: r.target as string }));
  }
}
