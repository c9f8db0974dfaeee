// Remotes as a service: the store's remotes (its .tusk/remotes.json), push, fetch, pull and a
// remote's fsck, on the store this Tusk opened. Clone makes a store, so it is a function of its own.
// A remote is an object store (s3://, file://: src/remote's protocol) or a team store
// (postgres://…): then commits go straight from one store into the other (store-transfer.ts).
import { InvalidArgumentError } from '../errors.js';
import { addRemote, checkRemoteUrl, findRemote, isStoreRemoteUrl, listRemotes, removeRemote, type RemoteConfig, type RemoteOptions } from '../remote/config.js';
import { cloneRemote, fetchRemote, type CloneResult, type FetchedBranch, type FetchOptions, type FetchResult } from '../remote/fetch.js';
import { fsckRemote, type RemoteFsckReport } from '../remote/fsck.js';
import { gcRemote, type RemoteGcReport } from '../remote/gc.js';
import { push, type PushOptions, type PushResult } from '../remote/push.js';
import { transferBranches, type BranchTransfer } from '../remote/store-transfer.js';
import type { Store } from '../store/store.js';
import { clientDirFor, readTeamDir, sameDatabase } from '../store/team-dir.js';
import type { OnProgress } from '../store/types.js';
import { JobTrigger } from './job-trigger.js';

export type { CloneResult, FetchResult, PushResult, RemoteConfig, RemoteFsckReport, RemoteGcReport, RemoteOptions };

export class RemoteService {
  constructor(
    private readonly store: Store,
    private readonly jobs: JobTrigger,
  ) {}

  add(name: string, url: string, opts: RemoteOptions = {}): RemoteConfig {
    return addRemote(this.store.path, name, url, opts);
  }

  list(): RemoteConfig[] {
    return listRemotes(this.store.path);
  }

  remove(name: string): RemoteConfig {
    return removeRemote(this.store.path, name);
  }

  /**
   * `push|fetch|pull [REMOTE] [REPO[@BRANCH]...]`: the first word is a remote when the store has
   * one by that name (as git reads `git push origin main`), otherwise every word is a target.
   */
  splitArgs(words: readonly string[]): { remote: string | undefined; targets: string[] } {
    const [first, ...rest] = words;
    if (first === undefined) return { remote: undefined, targets: [] };
    return this.list().some((r) => r.name === first) ? { remote: first, targets: rest } : { remote: undefined, targets: [...words] };
  }

  /** Push; into a team store, the branches it moved start the jobs they feed there. */
  async push(remote: string | undefined, opts: PushOptions = {}): Promise<PushResult> {
    const cfg = findRemote(this.store.path, remote);
    if (!isStoreRemoteUrl(cfg.url)) return push(this.store, remote, opts);
    this.refuseSelf(cfg);
    return withTeamStore(cfg.url, false, async (target) => {
      const t = await transferBranches(this.store, target, { targets: opts.targets, move: true, force: opts.force, dryRun: opts.dryRun, direction: 'push', remote: cfg.name, onProgress: opts.onProgress });
      if (!opts.dryRun) await new JobTrigger(target.handle).afterWrite();
      const dry = opts.dryRun === true;
      return {
        remote: cfg.name,
        url: cfg.url,
        dryRun: dry,
        branches: t.branches.map((b) => ({
          repo: b.repo,
          branch: b.branch,
          status: b.state === 'up-to-date' ? 'up-to-date' : dry ? 'would push' : 'pushed',
          from: b.receiver,
          to: b.sender,
          commits: b.commits,
          forced: b.state === 'forced',
        })),
        chunks: t.chunks,
        bytes: t.bytes,
      };
    });
  }

  /** Fetch (or, with `pull`, fetch and fast-forward): moved branches start the jobs they feed. */
  async fetch(remote: string | undefined, opts: FetchOptions = {}): Promise<FetchResult> {
    const cfg = findRemote(this.store.path, remote);
    const r = isStoreRemoteUrl(cfg.url) ? await fetchFromStore(this.store, cfg, opts) : await fetchRemote(this.store, remote, opts);
    if (opts.pull && !opts.dryRun) await this.jobs.afterWrite();
    return r;
  }

  /** A store is not its own remote: the transfer would wait on itself. */
  private refuseSelf(cfg: RemoteConfig): void {
    const team = readTeamDir(this.store.path);
    if (team && sameDatabase(team.url, cfg.url)) throw new InvalidArgumentError(`remote ${cfg.name} is this store (${cfg.url})`, 'push to another store, or `tusk remote remove` it');
  }

  fsck(name: string | undefined, opts: { verifyData?: boolean } = {}): Promise<RemoteFsckReport> {
    return fsckRemote(this.store, name, opts);
  }

  /** `gc --remote`: list the packs no branch needs, or delete those an earlier run listed (two phases). */
  gc(name: string | undefined, opts: { graceS?: number } = {}): Promise<RemoteGcReport> {
    return gcRemote(this.store, name, opts);
  }
}

/** Make a new store at `dir` from the remote at `url`. */
export function cloneStore(url: string, dir: string, opts: RemoteOptions & { lazy?: boolean; onProgress?: OnProgress } = {}): Promise<CloneResult> {
  if (!isStoreRemoteUrl(url)) return cloneRemote(url, dir, opts);
  // checked before the new store is made: a URL with a password is refused, nothing made
  checkRemoteUrl(url);
  if (opts.lazy) throw lazyRefused();
  return cloneRemote(url, dir, opts, async (store) => {
    const cfg = findRemote(store.path, 'origin');
    return fetchFromStore(store, cfg, { pull: true, onProgress: opts.onProgress });
  });
}

function lazyRefused(): InvalidArgumentError {
  return new InvalidArgumentError('--lazy leaves file bytes on an object store remote; a team store remote sends them with its commits', 'drop --lazy (or clone the object store remote the team store pushes to)');
}

/** Open the team store in the database at `url` (this machine's client directory for it) for `fn`. */
async function withTeamStore<T>(url: string, readonly: boolean, fn: (store: Store) => Promise<T>): Promise<T> {
  // loaded only when a team store is reached: a local command starts without the PostgreSQL driver
  const { openTeam } = await import('./team-store.js');
  const { store } = await openTeam({ dir: clientDirFor(url), url, readonly });
  try {
    return await fn(store);
  } finally {
    store.close();
    await store.core.whenClosed();
  }
}

const FETCHED: Record<BranchTransfer['state'], FetchedBranch['status']> = { 'up-to-date': 'up-to-date', ahead: 'ahead', new: 'created', 'fast-forward': 'fast-forwarded', forced: 'fast-forwarded' };

/** Fetch or pull from a team store remote: its commits straight into `store`. */
async function fetchFromStore(store: Store, cfg: RemoteConfig, opts: FetchOptions): Promise<FetchResult> {
  if (opts.lazy) throw lazyRefused();
  const t = await withTeamStore(cfg.url, true, (source) =>
    transferBranches(source, store, { targets: opts.targets, move: opts.pull === true, dryRun: opts.dryRun, direction: 'pull', remote: cfg.name, onProgress: opts.onProgress }),
  );
  const dry = opts.dryRun === true;
  return {
    remote: cfg.name,
    url: cfg.url,
    dryRun: dry,
    branches: t.branches.map((b) => {
      let status = FETCHED[b.state];
      if (!opts.pull && status !== 'up-to-date' && status !== 'ahead') status = 'fetched';
      if (dry && status !== 'up-to-date' && status !== 'ahead') status = 'would fetch';
      return { repo: b.repo, branch: b.branch, remote: b.sender, local: b.receiver, status, commits: b.commits };
    }),
    commits: t.commits,
    chunks: t.chunks,
    bytes: t.bytes,
    remoteBacked: 0,
  };
}
