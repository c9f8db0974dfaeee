// Repos, branches, commits and files as commands and the console use them: the store's façade,
// plus the pipeline rule that a write feeding a pipeline starts its jobs. Reads delegate; each
// write that can create jobs ends with the job trigger, so no caller runs (or forgets) it.
import { formatCommitRef, type CommitRef, type FileRef } from '../store/address.js';
import type { NodeId } from '../store/hash.js';
import type { Store } from '../store/store.js';
import type { StoreCore } from '../store/store-core.js';
import { refOf } from '../store/tree.js';
import type { BranchRef, CommitOrigin, FileInfo, OnProgress, PutSource } from '../store/types.js';
import { done } from '../ui/messages.js';
import type { JobTrigger } from './job-trigger.js';

type PutOptions = NonNullable<Parameters<Store['putFiles']>[2]>;
type GetOptions = Parameters<Store['getFile']>[1];

/** `wait`: run the jobs the write started here, and fail (exit 7) when one of them failed. */
export interface WaitOption {
  wait?: boolean;
}

export class DataService {
  constructor(
    private readonly store: Store,
    private readonly core: StoreCore,
    private readonly jobs: JobTrigger,
  ) {}

  /** the store's `.tusk` directory */
  get path(): string {
    return this.store.path;
  }

  createRepo(name: string, opts?: { description?: string }) {
    return this.store.createRepo(name, opts);
  }
  updateRepo(name: string, opts: { description: string }) {
    return this.store.updateRepo(name, opts);
  }
  listRepos(opts?: { all?: boolean; type?: string }) {
    return this.store.listRepos(opts);
  }
  inspectRepo(name: string) {
    return this.store.inspectRepo(name);
  }
  deleteRepo(name: string, opts?: { force?: boolean }) {
    return this.store.deleteRepo(name, opts);
  }
  deleteRepos(names: readonly string[], opts?: { force?: boolean }) {
    return this.store.deleteRepos(names, opts);
  }
  /** Delete every user repo, all or none (provenance among them does not block). */
  async deleteUserRepos(opts?: { force?: boolean }) {
    return this.store.deleteRepos((await this.store.listRepos({ type: 'user' })).map((r) => r.name), opts);
  }

  /** Moving a head that pipelines read starts their jobs. */
  async createBranch(repo: string, branch: string, opts?: { head?: CommitRef; provenance?: BranchRef[] }) {
    const info = await this.store.createBranch(repo, branch, opts);
    await this.jobs.afterWrite();
    return info;
  }
  listBranches(repo: string) {
    return this.store.listBranches(repo);
  }
  inspectBranch(repo: string, branch: string) {
    return this.store.inspectBranch(repo, branch);
  }
  deleteBranch(repo: string, branch: string, opts?: { force?: boolean }) {
    return this.store.deleteBranch(repo, branch, opts);
  }

  startCommit(repo: string, branch: string, opts?: { parent?: CommitRef; description?: string; time?: number }) {
    return this.store.startCommit(repo, branch, opts);
  }
  /** A finished commit triggers the pipelines reading its branch. */
  async finishCommit(ref: CommitRef, opts: { description?: string; force?: boolean } & WaitOption = {}) {
    const { wait, ...finish } = opts;
    const commit = await this.store.finishCommit(ref, finish);
    await this.jobs.afterWrite({ wait, commitSet: commit.id });
    return commit;
  }
  inspectCommit(ref: CommitRef) {
    return this.store.inspectCommit(ref);
  }
  listCommits(opts: { repo?: string; branch?: string; commitSet?: string; number?: number; all?: boolean; origin?: CommitOrigin; from?: string }) {
    return this.store.listCommits(opts);
  }
  listCommitSets(opts?: { number?: number }) {
    return this.store.listCommitSets(opts);
  }
  waitCommit(ref: CommitRef, opts?: { timeoutMs?: number }) {
    return this.store.waitCommit(ref, opts);
  }
  async deleteCommit(ref: CommitRef) {
    const result = await this.store.deleteCommit(ref);
    await this.jobs.afterWrite();
    return result;
  }
  async squashCommit(ref: CommitRef) {
    const result = await this.store.squashCommit(ref);
    await this.jobs.afterWrite();
    return result;
  }

  /** Put files; the commit it finishes triggers the pipelines reading the branch. */
  async putFiles(target: CommitRef, sources: PutSource[], opts: PutOptions & WaitOption = {}) {
    const { wait, ...put } = opts;
    const result = await this.store.putFiles(target, sources, put);
    const into = formatCommitRef({ repo: result.repo, branch: result.branch ?? undefined, commit: result.commit });
    await this.jobs.afterWrite({ wait, commitSet: result.commit, written: done.putWritten(into) });
    return result;
  }
  getFile(ref: FileRef, opts: GetOptions) {
    return this.store.getFile(ref, opts);
  }
  listFiles(ref: FileRef) {
    return this.store.listFiles(ref);
  }
  /** Files under a directory in name order, read lazily: after `after` (exclusive) when given. */
  iterateFiles(ref: FileRef, opts?: { after?: string }) {
    return this.store.iterateFiles(ref, opts);
  }
  /** How many entries a directory (as inspectFile gave it) holds, read from its root page (no walk). */
  async countEntries(dir: FileInfo): Promise<number> {
    return (await refOf(this.core.reader, Buffer.from(dir.hash, 'hex') as NodeId)).entries;
  }
  globFiles(ref: FileRef) {
    return this.store.globFiles(ref);
  }
  inspectFile(ref: FileRef) {
    return this.store.inspectFile(ref);
  }
  diffFiles(newRef: FileRef, oldRef?: FileRef, opts?: { shallow?: boolean }) {
    return this.store.diffFiles(newRef, oldRef, opts);
  }
  async copyFile(src: FileRef, dst: FileRef, opts?: { append?: boolean }) {
    const commit = await this.store.copyFile(src, dst, opts);
    await this.jobs.afterWrite();
    return commit;
  }
  async deleteFiles(ref: FileRef, opts?: { recursive?: boolean }) {
    const commit = await this.store.deleteFiles(ref, opts);
    await this.jobs.afterWrite();
    return commit;
  }
  streamFile(ref: FileRef) {
    return this.store.streamFile(ref);
  }

  fsck(opts?: { verifyData?: boolean; onProgress?: OnProgress }) {
    return this.store.fsck(opts);
  }
  gc(opts?: { waitMs?: number; dryRun?: boolean }) {
    return this.store.gc(opts);
  }
}
