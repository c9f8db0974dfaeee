// Repos and branches, with Pachyderm's rules for provenance and deletion.
import { AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { validateName, type CommitRef } from './address.js';
import type { BranchProvenanceEdge, BranchRecord, CommitRecord, RepoRecord } from './commit-graph.js';
import { DEFAULT_BRANCH, insertCommit, iso, recordBranchProvenance, requireRepo, resolveCommit } from './commit-service.js';
import type { StoreCore } from './store-core.js';
import type { BranchInfo, BranchRef, RepoInfo } from './types.js';

async function toRepoInfo(s: StoreCore, name: string): Promise<RepoInfo> {
  const r = (await s.graph.getRepo(name))!;
  const master = await s.graph.getBranch(name, DEFAULT_BRANCH);
  const head = master ? await s.graph.getCommit(name, master.head) : undefined;
  return repoInfo(r, await s.graph.listBranches(name), head);
}

/** Many repos as toRepoInfo shows each: their branches and master heads read for all of them at once. */
async function toRepoInfos(s: StoreCore, repos: readonly RepoRecord[]): Promise<RepoInfo[]> {
  const branches = new Map<string, BranchRecord[]>(repos.map((r) => [r.name, []]));
  for (const b of await s.graph.allBranches()) branches.get(b.repo)?.push(b);
  const masters = repos.map((r) => branches.get(r.name)!.find((b) => b.name === DEFAULT_BRANCH));
  const heads = await s.graph.getCommits(masters.filter((b) => b !== undefined).map((b) => ({ repo: b.repo, id: b.head })));
  let next = 0;
  return repos.map((r, i) => repoInfo(r, branches.get(r.name)!, masters[i] ? heads[next++] : undefined));
}

function repoInfo(r: RepoRecord, branches: readonly BranchRecord[], head: CommitRecord | undefined): RepoInfo {
  return {
    name: r.name,
    type: r.type,
    description: r.description,
    created: iso(r.created),
    sizeBytes: head?.size ?? 0,
    branches: branches.map((b) => b.name),
  };
}

export async function createRepo(s: StoreCore, name: string, opts: { description?: string; type?: string } = {}): Promise<RepoInfo> {
  validateName('repo', name);
  await s.unitOfWork(async () => {
    if (await s.graph.getRepo(name)) throw new AlreadyExistsError(`repo ${name} already exists`, 'pick another name, or `tusk update repo` to change its description');
    await s.graph.insertRepo({ name, type: opts.type ?? 'user', description: opts.description ?? '', created: Date.now() });
  });
  return toRepoInfo(s, name);
}

/** Create the repo or change its description. */
export async function updateRepo(s: StoreCore, name: string, opts: { description: string }): Promise<RepoInfo> {
  validateName('repo', name);
  await s.unitOfWork(async () => {
    if (await s.graph.getRepo(name)) await s.graph.setRepoDescription(name, opts.description);
    else await s.graph.insertRepo({ name, type: 'user', description: opts.description, created: Date.now() });
  });
  return toRepoInfo(s, name);
}

export async function listRepos(s: StoreCore, opts: { all?: boolean; type?: string } = {}): Promise<RepoInfo[]> {
  const shown = (await s.graph.listRepos()).filter((r) => (opts.type ? r.type === opts.type : opts.all || r.type === 'user' || r.type === 'output'));
  return toRepoInfos(s, shown);
}

export async function inspectRepo(s: StoreCore, name: string): Promise<RepoInfo> {
  await requireRepo(s, name);
  return toRepoInfo(s, name);
}

/** Delete a repo and its history. Refused when other repos' branches depend on it, unless forced. */
export async function deleteRepo(s: StoreCore, name: string, opts: { force?: boolean } = {}): Promise<{ repo: string }> {
  await s.unitOfWork(async () => {
    await requireRepo(s, name);
    const repo = (await s.graph.getRepo(name))!;
    if (repo.type === 'output' && !opts.force)
      throw new ConflictError('cannot delete a repo associated with a pipeline - delete the pipeline instead', `run \`tusk delete pipeline ${name}\``);
    const deps = await s.graph.repoSubvenance(name);
    if (deps.length > 0 && !opts.force)
      throw new ConflictError(
        `cannot delete repo ${name}: branches [${deps.map((d) => `${d.repo}@${d.branch}`).join(', ')}] have it as provenance`,
        'delete those branches first, or pass --force',
      );
    await s.graph.deleteRepo(name);
  });
  return { repo: name };
}

/**
 * Delete several repos in one transaction. Provenance between repos of the set does not count;
 * dependents outside it refuse the whole deletion unless forced. Pipeline output repos are
 * refused (delete the pipelines first) unless forced.
 */
export async function deleteRepos(s: StoreCore, names: readonly string[], opts: { force?: boolean } = {}): Promise<{ deleted: string[] }> {
  await s.unitOfWork(async () => {
    const set = new Set(names);
    for (const name of names) {
      await requireRepo(s, name);
      const repo = (await s.graph.getRepo(name))!;
      if (repo.type === 'output' && !opts.force)
        throw new ConflictError('cannot delete a repo associated with a pipeline - delete the pipeline instead', `run \`tusk delete pipeline ${name}\``);
      const outside = (await s.graph.repoSubvenance(name)).filter((d) => !set.has(d.repo));
      if (outside.length > 0 && !opts.force)
        throw new ConflictError(
          `cannot delete repo ${name}: branches [${outside.map((d) => `${d.repo}@${d.branch}`).join(', ')}] have it as provenance`,
          'delete those branches first, or pass --force',
        );
    }
    for (const name of names) await s.graph.deleteRepo(name);
  });
  return { deleted: [...names] };
}

async function toBranchInfo(s: StoreCore, b: BranchRecord, graph?: ProvenanceGraph): Promise<BranchInfo> {
  const g = graph ?? (await ProvenanceGraph.load(s));
  return {
    repo: b.repo,
    name: b.name,
    head: b.head,
    created: iso(b.created),
    provenance: g.up(b.repo, b.name).map((p) => `${p.repo}@${p.branch}`),
    subvenance: (await closure({ repo: b.repo, branch: b.name }, async (r, x) => g.down(r, x))).map((p) => `${p.repo}@${p.branch}`),
  };
}

/** The store's declared branch provenance, both ways, from one read of all of it. */
class ProvenanceGraph {
  private readonly upOf = new Map<string, BranchRef[]>();
  private readonly downOf = new Map<string, BranchRef[]>();

  private constructor(edges: readonly BranchProvenanceEdge[]) {
    // the edges come sorted by branch, then upstream branch: each list is in the order the single reads give
    for (const e of edges) {
      push(this.upOf, `${e.repo}@${e.branch}`, { repo: e.fromRepo, branch: e.fromBranch });
      push(this.downOf, `${e.fromRepo}@${e.fromBranch}`, { repo: e.repo, branch: e.branch });
    }
  }

  static async load(s: StoreCore): Promise<ProvenanceGraph> {
    return new ProvenanceGraph(await s.graph.allBranchProvenance());
  }

  /** The branches repo@branch is computed from (branchProvenance). */
  up(repo: string, branch: string): BranchRef[] {
    return this.upOf.get(`${repo}@${branch}`) ?? [];
  }

  /** The branches computed from repo@branch (directSubvenance). */
  down(repo: string, branch: string): BranchRef[] {
    return this.downOf.get(`${repo}@${branch}`) ?? [];
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** Branches reachable from repo@branch by `step`, transitively, each once, in breadth-first order. */
async function closure(start: BranchRef, step: (repo: string, branch: string) => Promise<BranchRef[]>): Promise<BranchRef[]> {
  const out: BranchRef[] = [];
  const seen = new Set<string>();
  const queue = await step(start.repo, start.branch);
  while (queue.length > 0) {
    const d = queue.shift()!;
    const key = `${d.repo}@${d.branch}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
    queue.push(...(await step(d.repo, d.branch)));
  }
  return out;
}

/** Every branch repo@branch depends on, transitively. */
function provenanceOf(s: StoreCore, repo: string, branch: string): Promise<BranchRef[]> {
  return closure({ repo, branch }, (r, b) => s.graph.branchProvenance(r, b));
}

/**
 * Create or update a branch. A new branch without --head gets an empty finished commit (a branch
 * always has a head); --head moves the pointer without copying data; new provenance makes a new
 * AUTO commit tied to the upstream heads.
 */
export async function createBranch(s: StoreCore, repo: string, branch: string, opts: { head?: CommitRef; provenance?: BranchRef[] } = {}): Promise<BranchInfo> {
  validateName('branch', branch);
  const row = await s.unitOfWork(async () => {
    await requireRepo(s, repo);
    const existing = await s.graph.getBranch(repo, branch);
    const prov = opts.provenance ?? [];
    for (const p of prov) {
      await requireRepo(s, p.repo);
      if (!(await s.graph.getBranch(p.repo, p.branch))) throw new NotFoundError('branch', `${p.repo}@${p.branch}`, `branch "${p.branch}" not found in repo ${p.repo}`);
      if (p.repo === repo) throw new InvalidArgumentError(`repo ${repo} cannot be in the provenance of its own branch`, 'provenance must come from other repos');
      if ((await provenanceOf(s, p.repo, p.branch)).some((q) => q.repo === repo && q.branch === branch))
        throw new InvalidArgumentError(`provenance loop, branch ${repo}@${branch} cannot be provenant on itself`, 'remove the provenance that closes the loop');
    }
    let head = existing ? (await s.graph.getCommit(repo, existing.head))! : null;
    if (opts.head) {
      const target = await resolveCommit(s, { ...opts.head, repo: opts.head.repo || repo });
      if (target.repo !== repo) throw new InvalidArgumentError(`head commit ${target.repo}@${target.id} is in another repo`, `pick a commit of ${repo}`);
      head = target;
    }
    const now = Date.now();
    if (prov.length > 0) await s.graph.setBranchProvenance(repo, branch, prov);
    if (!head || prov.length > 0) {
      const c = await insertCommit(s, { repo, branch, parent: head, origin: 'AUTO', finished: true });
      await recordBranchProvenance(s, c);
      head = c;
    }
    await s.graph.setBranch(repo, branch, head.id, existing?.created ?? now);
    return (await s.graph.getBranch(repo, branch))!;
  });
  return toBranchInfo(s, row);
}

export async function listBranches(s: StoreCore, repo: string): Promise<BranchInfo[]> {
  await requireRepo(s, repo);
  const g = await ProvenanceGraph.load(s);
  const out: BranchInfo[] = [];
  for (const b of await s.graph.listBranches(repo)) out.push(await toBranchInfo(s, b, g));
  return out;
}

export async function inspectBranch(s: StoreCore, repo: string, branch: string): Promise<BranchInfo> {
  await requireRepo(s, repo);
  const b = await s.graph.getBranch(repo, branch);
  if (!b) throw new NotFoundError('branch', `${repo}@${branch}`, `branch ${repo}@${branch} not found`);
  return toBranchInfo(s, b);
}

/** Delete a branch (its commits stay). Refused while other branches depend on it, unless forced. */
export async function deleteBranch(s: StoreCore, repo: string, branch: string, opts: { force?: boolean } = {}): Promise<{ repo: string; branch: string }> {
  await s.unitOfWork(async () => {
    await requireRepo(s, repo);
    if (!(await s.graph.getBranch(repo, branch))) throw new NotFoundError('branch', `${repo}@${branch}`, `branch ${repo}@${branch} not found`);
    const subv = await s.graph.directSubvenance(repo, branch);
    if (subv.length > 0 && !opts.force)
      throw new ConflictError(
        `branch ${repo}@${branch} has [${subv.map((d) => `${d.repo}@${d.branch}`).join(', ')}] as subvenance, deleting it would break those branches`,
        'delete those branches first, or pass --force',
      );
    for (const d of subv) await s.graph.setBranchProvenance(d.repo, d.branch, (await s.graph.branchProvenance(d.repo, d.branch)).filter((p) => !(p.repo === repo && p.branch === branch)));
    await s.graph.deleteBranch(repo, branch);
  });
  return { repo, branch };
}
