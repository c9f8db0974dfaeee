// Remotes as a service: the store's remotes (its .tusk/remotes.json), push, fetch, pull and a
// remote's fsck, on the store this Tusk opened. Clone makes a store, so it is a function of its own.
import { addRemote, listRemotes, removeRemote, type RemoteConfig, type RemoteOptions } from '../remote/config.js';
import { cloneRemote, fetchRemote, type CloneResult, type FetchOptions, type FetchResult } from '../remote/fetch.js';
import { fsckRemote, type RemoteFsckReport } from '../remote/fsck.js';
import { gcRemote, type RemoteGcReport } from '../remote/gc.js';
import { push, type PushOptions, type PushResult } from '../remote/push.js';
import type { Store } from '../store/store.js';
import type { OnProgress } from '../store/types.js';
import type { JobTrigger } from './job-trigger.js';

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

  push(remote: string | undefined, opts: PushOptions = {}): Promise<PushResult> {
    return push(this.store, remote, opts);
  }

  /** Fetch (or, with `pull`, fetch and fast-forward): moved branches start the jobs they feed. */
  async fetch(remote: string | undefined, opts: FetchOptions = {}): Promise<FetchResult> {
    const r = await fetchRemote(this.store, remote, opts);
    if (opts.pull && !opts.dryRun) await this.jobs.afterWrite();
    return r;
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
  return cloneRemote(url, dir, opts);
}
