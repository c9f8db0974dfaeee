// Push: send the commits of local branches that a remote lacks, with their provenance, the tree
// pages and content lists they need (one bundle per branch) and the chunks no remote index names
// (new packs), then move each remote branch by an update record (refs.ts).
import { recordBases, type Store } from '../store/store.js';
import type { OnProgress } from '../store/types.js';
import { DivergedError, NonFastForwardError } from './errors.js';
import { bundleKey, encodeBundle, sha256 } from './layout.js';
import type { RequestCounts } from './object-store.js';
import { PackBuilder } from './pack-builder.js';
import { readBranch, writeUpdate, type BranchState } from './refs.js';
import { ensureRemote, openSession, parseTarget, readTracking, saveTracking } from './session.js';

/** One branch in a push; `--json` prints a list of them. */
export interface PushedBranch {
  repo: string;
  branch: string;
  status: 'pushed' | 'up-to-date' | 'would push';
  /** the remote head before (null: the branch is new there) */
  from: string | null;
  to: string;
  commits: number;
  forced: boolean;
}

export interface PushResult {
  remote: string;
  url: string;
  dryRun: boolean;
  branches: PushedBranch[];
  /** chunks, packs and bytes of pack data sent (or that would be) */
  chunks: number;
  /** absent for a team store remote: the receiving store packs the chunks its own way */
  packs?: number;
  bytes: number;
  /** object store requests made; absent for a team store remote */
  requests?: RequestCounts;
}

export interface PushOptions {
  targets?: readonly string[];
  force?: boolean;
  dryRun?: boolean;
  onProgress?: OnProgress;
}

/** The local branches named by `targets` (REPO or REPO@BRANCH), all of them when none are. */
export async function localBranches(store: Store, targets: readonly string[] | undefined): Promise<{ repo: string; branch: string }[]> {
  const out: { repo: string; branch: string }[] = [];
  const picks = targets && targets.length > 0 ? targets.map(parseTarget) : (await store.listRepos()).map((r) => ({ repo: r.name, branch: undefined }));
  for (const t of picks) {
    if (t.branch !== undefined) out.push({ repo: t.repo, branch: t.branch });
    else for (const b of await store.listBranches(t.repo)) out.push({ repo: t.repo, branch: b.name });
  }
  return out;
}

export async function push(store: Store, remoteName: string | undefined, opts: PushOptions = {}): Promise<PushResult> {
  const s = openSession(store, remoteName);
  const { os, index } = s;
  try {
    if (!opts.dryRun) await ensureRemote(os, true);
    const tracking = readTracking(s.dir);
    const targets = await localBranches(store, opts.targets);
    await index.load();

    // 1. what each branch would send; every check before anything is written
    const plans: { state: BranchState; local: string; remote: string | null; set: Awaited<ReturnType<Store['exportCommits']>>['set']; chunks: Buffer[] }[] = [];
    const branches: PushedBranch[] = [];
    const knownByRepo = new Map<string, Set<string>>();
    const ancestry = async (repo: string, head: string, into: Set<string>) => {
      for await (const c of store.ancestorIds(repo, head)) {
        if (into.has(c)) break;
        into.add(c);
      }
    };
    const known = async (repo: string): Promise<Set<string>> => {
      let set = knownByRepo.get(repo);
      if (!set) {
        set = new Set();
        for (const [key, head] of Object.entries(tracking)) if (key.startsWith(`${repo}@`) && (await store.hasCommit(repo, head))) await ancestry(repo, head, set);
        knownByRepo.set(repo, set);
      }
      return set;
    };
    for (const t of targets) {
      const local = await store.branchHead(t.repo, t.branch);
      const state = await readBranch(os, s.updates, t.repo, t.branch);
      if (state.diverged && !opts.force) throw new DivergedError({ repo: t.repo, branch: t.branch, heads: state.diverged.tips.map((x) => x.head) });
      const remote = state.tipBody?.head ?? null;
      const entry: PushedBranch = { repo: t.repo, branch: t.branch, status: 'up-to-date', from: remote, to: local, commits: 0, forced: false };
      branches.push(entry);
      if (remote === local && !state.diverged) continue;
      const fastForward = remote === null || ((await store.hasCommit(t.repo, remote)) && (await store.isAncestor(t.repo, remote, local)));
      if (!fastForward && !opts.force) {
        throw new NonFastForwardError(
          `remote ${t.repo}@${t.branch} is at ${remote}, which is not behind the local head ${local}`,
          'pull first (`tusk pull`), then push again; or `tusk push --force` to replace the remote branch',
          { repo: t.repo, branch: t.branch, local, remote },
        );
      }
      entry.forced = !fastForward || state.diverged !== undefined;
      const remoteKnown = new Set<string>();
      if (remote !== null && (await store.hasCommit(t.repo, remote))) await ancestry(t.repo, remote, remoteKnown);
      const root = remote !== null && (await store.hasCommit(t.repo, remote)) ? await store.commitRoot(t.repo, remote) : null;
      const exp = await store.exportCommits([{ repo: t.repo, id: local }], async (repo, id) => (repo === t.repo ? remoteKnown.has(id) : (await known(repo)).has(id)), root ? [root] : []);
      entry.commits = exp.set.commits.filter((c) => c.repo === t.repo).length;
      entry.status = opts.dryRun ? 'would push' : 'pushed';
      plans.push({ state, local, remote, set: exp.set, chunks: exp.chunks.filter((c) => !index.has(c)) });
    }

    // 2. the chunks no remote index names, once each, into new packs
    const sent = new Set<string>();
    const missing: Buffer[] = [];
    for (const p of plans) for (const c of p.chunks) if (!sent.has(c.toString('latin1'))) (sent.add(c.toString('latin1')), missing.push(c));
    let bytes = 0;
    const builder = new PackBuilder(os, index, (n) => {
      bytes += n;
      opts.onProgress?.({ phase: 'write', unit: 'bytes', done: bytes });
    });
    // A chunk stored as a delta goes up as it is stored, small, with the bases it is a delta
    // against that no remote index names (a base no pushed commit reaches, e.g. an earlier
    // version overwritten in the same open commit): a delta on the remote always has its bases.
    const records = async function* (): AsyncGenerator<{ id: Buffer; record: Buffer }> {
      for (let batch = missing; batch.length > 0; ) {
        const next: Buffer[] = [];
        for await (const r of store.readChunkRecords(batch)) {
          for (const b of recordBases(r.record)) {
            const k = b.toString('latin1');
            if (!sent.has(k) && !index.has(b)) (sent.add(k), next.push(b));
          }
          yield r;
        }
        batch = next;
      }
    };
    let chunks = 0;
    if (opts.dryRun) {
      for await (const { record } of records()) (bytes += record.length, chunks++);
      return { remote: s.config.name, url: s.config.url, dryRun: true, branches, chunks, packs: 0, bytes, requests: os.requests };
    }
    for await (const { id, record } of records()) await builder.add(id, record);
    await builder.finish();

    // 3. per branch: its bundle, then the update record that makes it visible
    for (const p of plans) {
      const bundle = encodeBundle(p.set);
      const sha = sha256(bundle);
      await os.put(bundleKey(sha), bundle);
      await writeUpdate(os, p.state, { head: p.local, previous: p.remote, bundles: [sha], force: opts.force === true, local: p.local });
      tracking[`${p.state.repo}@${p.state.branch}`] = p.local;
      saveTracking(s.dir, tracking);
    }
    return { remote: s.config.name, url: s.config.url, dryRun: false, branches, chunks: builder.chunks, packs: builder.packs, bytes: builder.bytes, requests: os.requests };
  } finally {
    os.close();
  }
}
