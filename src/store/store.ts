// The store façade: one object per open store, the only entry point commands use. Each method
// delegates to the service that owns the rule; this file holds no logic of its own.
import type { CommitRef, FileRef } from './address.js';
import * as commits from './commit-service.js';
import * as files from './file-service.js';
import * as maintenance from './maintenance.js';
import * as profiles from './profile-cache.js';
import { streamFile } from './file-stream.js';
import * as repos from './repo-service.js';
import * as transfer from './transfer.js';
import { closeCore, existingStore, findStore, initStore, isStoreDir, openCore, PACKS_DIR, type LocalCore, type StoreCore } from './store-core.js';
import type { Packs } from './packs.js';
import { StoreHandle } from './store-handle.js';
import { ensureContents, type ContentWant } from './lazy-fetch.js';
import type { RemoteChunkSource } from './remote-source.js';
import type { BranchRef, CommitOrigin, OnProgress, PutSource } from './types.js';

export { existingStore, initStore, findStore, isStoreDir, PACKS_DIR };
export type { PackLocation } from './pack-location.js';
export { readPackLocation } from './pack-location.js';
export type { BranchMove, CommitRecord, TransferImport, TransferSet } from './transfer.js';
export { contentIdsOfPages, decodeDeltaRecord, deltaOfRecord, pageLinks, recordBases, verifyChunkRecord } from './transfer.js';
export type { DeltaRecord } from './transfer.js';
export type { ContentWant, LazyFetch } from './lazy-fetch.js';
export type { RemoteChunkSource } from './remote-source.js';
// reads outside the store (a datum's inputs, a checkout) fetch what a lazy clone lacks first
export { anyRemoteBacked, ensureContents, lazyCacheLimit } from './lazy-fetch.js';
export type { ChunkId, ContentId } from './hash.js';
export { toFileInfo } from './file-service.js';

/** Open the store named by TUSK_STORE or found above `cwd`. */
export function openStore(opts: { cwd?: string; path?: string; readonly?: boolean; packs?: Packs } = {}): Store<LocalCore> {
  return new Store(openCore(opts.path ?? findStore(opts.cwd), { readonly: opts.readonly, packs: opts.packs }));
}

/** A store whose metadata is its own meta.db (what openStore opens). */
export type LocalStore = Store<LocalCore>;

/** `C`: the core it was opened on: any (a team store's too), or a local store's LocalCore, whose meta.db tests reach. */
export class Store<C extends StoreCore = StoreCore> {
  #handle: StoreHandle | undefined;

  constructor(readonly core: C) {}

  /** What the pipeline engine and the project layer work with (store-handle.ts). */
  get handle(): StoreHandle {
    return (this.#handle ??= new StoreHandle(this.core));
  }

  get path(): string {
    return this.core.path;
  }

  /** A team store's connections end in the background: `core.whenClosed()` says when. */
  close(): void {
    closeCore(this.core);
  }

  createRepo(name: string, opts?: { description?: string }) {
    return repos.createRepo(this.core, name, opts);
  }
  updateRepo(name: string, opts: { description: string }) {
    return repos.updateRepo(this.core, name, opts);
  }
  listRepos(opts?: { all?: boolean; type?: string }) {
    return repos.listRepos(this.core, opts);
  }
  inspectRepo(name: string) {
    return repos.inspectRepo(this.core, name);
  }
  deleteRepo(name: string, opts?: { force?: boolean }) {
    return repos.deleteRepo(this.core, name, opts);
  }
  deleteRepos(names: readonly string[], opts?: { force?: boolean }) {
    return repos.deleteRepos(this.core, names, opts);
  }

  createBranch(repo: string, branch: string, opts?: { head?: CommitRef; provenance?: BranchRef[] }) {
    return repos.createBranch(this.core, repo, branch, opts);
  }
  listBranches(repo: string) {
    return repos.listBranches(this.core, repo);
  }
  inspectBranch(repo: string, branch: string) {
    return repos.inspectBranch(this.core, repo, branch);
  }
  deleteBranch(repo: string, branch: string, opts?: { force?: boolean }) {
    return repos.deleteBranch(this.core, repo, branch, opts);
  }

  startCommit(repo: string, branch: string, opts?: { parent?: CommitRef; description?: string; time?: number }) {
    return commits.startCommit(this.core, repo, branch, opts);
  }
  finishCommit(ref: CommitRef, opts?: { description?: string; force?: boolean }) {
    return commits.finishCommit(this.core, ref, opts);
  }
  async inspectCommit(ref: CommitRef) {
    return commits.toCommitInfo(this.core, await commits.resolveCommit(this.core, ref));
  }
  listCommits(opts: { repo?: string; branch?: string; commitSet?: string; number?: number; all?: boolean; origin?: CommitOrigin; from?: string }) {
    return commits.listCommits(this.core, opts);
  }
  listCommitSets(opts?: { number?: number }) {
    return commits.listCommitSets(this.core, opts);
  }
  waitCommit(ref: CommitRef, opts?: { timeoutMs?: number }) {
    return commits.waitCommit(this.core, ref, opts);
  }
  deleteCommit(ref: CommitRef) {
    return commits.deleteCommit(this.core, ref);
  }
  squashCommit(ref: CommitRef) {
    return commits.squashCommit(this.core, ref);
  }

  putFiles(target: CommitRef, sources: PutSource[], opts?: files.PutOptions) {
    return files.putFiles(this.core, target, sources, opts);
  }
  getFile(ref: FileRef, opts: files.GetOptions) {
    return files.getFile(this.core, ref, opts);
  }
  listFiles(ref: FileRef) {
    return files.listFiles(this.core, ref);
  }
  iterateFiles(ref: FileRef, opts?: { after?: string }) {
    return files.iterateFiles(this.core, ref, opts);
  }
  globFiles(ref: FileRef) {
    return files.globFiles(this.core, ref);
  }
  inspectFile(ref: FileRef) {
    return files.inspectFile(this.core, ref);
  }
  diffFiles(newRef: FileRef, oldRef?: FileRef, opts?: { shallow?: boolean }) {
    return files.diffFiles(this.core, newRef, oldRef, opts);
  }
  copyFile(src: FileRef, dst: FileRef, opts?: { append?: boolean }) {
    return files.copyFile(this.core, src, dst, opts);
  }
  deleteFiles(ref: FileRef, opts?: { recursive?: boolean }) {
    return files.deleteFiles(this.core, ref, opts);
  }
  streamFile(ref: FileRef) {
    return streamFile(this.core, ref);
  }
  loadProfile(contentHex: string, version: number) {
    return profiles.loadProfile(this.core, contentHex, version);
  }
  saveProfile(contentHex: string, version: number, data: string) {
    return profiles.saveProfile(this.core, contentHex, version, data);
  }

  fsck(opts?: { verifyData?: boolean; onProgress?: OnProgress }) {
    return maintenance.fsck(this.core, opts);
  }
  gc(opts?: { waitMs?: number; dryRun?: boolean }) {
    return maintenance.gc(this.core, opts);
  }

  // Remote transfers (src/remote): what the remote lacks goes out, what arrives is verified and
  // recorded in one transaction. transfer.ts says what each promises.
  branchHead(repo: string, branch: string) {
    return transfer.branchHead(this.core, repo, branch);
  }
  hasCommit(repo: string, id: string) {
    return transfer.hasCommit(this.core, repo, id);
  }
  hasCommits(keys: readonly { repo: string; id: string }[]) {
    return transfer.hasCommits(this.core, keys);
  }
  isAncestor(repo: string, ancestor: string, id: string) {
    return transfer.isAncestor(this.core, repo, ancestor, id);
  }
  /** `id` and its ancestors, newest first, read a stretch of history per query. */
  ancestorIds(repo: string, id: string) {
    return transfer.ancestorIds(this.core, repo, id);
  }
  commitRoot(repo: string, id: string) {
    return transfer.commitRoot(this.core, repo, id);
  }
  exportCommits(heads: readonly { repo: string; id: string }[], isKnown: (repo: string, id: string) => boolean | Promise<boolean>, knownRoots: readonly string[]) {
    return transfer.exportCommits(this.core, heads, isKnown, knownRoots);
  }
  readChunkRecords(ids: readonly Buffer[], opts: { whole?: boolean } = {}) {
    return transfer.readChunkRecords(this.core, ids, opts);
  }
  openImport() {
    return transfer.TransferImport.open(this.core);
  }

  // Lazy clones (remote-chunks.ts, lazy-fetch.ts): chunks left on a remote until read.
  /** Fetch remote-backed chunks through `source` when a read needs them. */
  setRemoteSource(source: RemoteChunkSource) {
    this.core.remoteSource = source;
  }
  /** The chunks of `remote` this store lacks on purpose (a full pull fetches them). */
  remoteBacked(remote: string) {
    return this.core.remoteChunks.absentOf(remote);
  }
  /** Per remote, the chunks left there: absent here, or cached. */
  remoteChunkCounts() {
    return this.core.remoteChunks.counts();
  }
  /** Fetch, verify and cache the remote-backed chunks these files need before they are read. */
  ensureContents(wants: readonly ContentWant[]) {
    return ensureContents(this.core, wants);
  }
}
