// The handle the store gives the pipeline engine and the project layer: the metadata contracts,
// the unit of work, and one thin method per thing those layers do with trees, contents, commits
// and files. It hides what only the store may touch (the db, the packs, the page store), so that
// code above it cannot write a page or a chunk except through a store rule. Each method delegates
// to the module that owns the rule; none holds logic of its own.
import type { CommitRef, FileRef } from './address.js';
import type { ChunkIndex } from './chunk-index.js';
import type { CommitGraph } from './commit-graph.js';
import * as commits from './commit-service.js';
import { isContentPrefix } from './content-prefix.js';
import { lookUpContents, readContent, readFrom, writeContent, type Known, type ReadContext, type ReadOptions } from './content-io.js';
import type { FileCache } from './file-cache.js';
import { getFile, writeLocalTree, type GetOptions } from './file-service.js';
import { applyPathEdits, globTree, lookupPath, walkFiles, walkTree, type PathEdit } from './file-tree.js';
import type { ContentId, NodeId } from './hash.js';
import { cachedInputFile } from './input-cache.js';
import { anyRemoteBacked, ensureContents, type ContentWant } from './lazy-fetch.js';
import type { JobLogs } from './job-logs.js';
import type { JobRecords, PipelineRecord } from './job-records.js';
import type { StoreCore, UnitTx } from './store-core.js';
import { withStagedPages } from './page-store.js';
import { diffEntries, entryPages } from './tree.js';

// What the engine names besides the handle: pure helpers and the types of what its methods take
// and return. Re-exported here so that no layer above imports the module that holds them.
export { iso, commitLabel } from './commit-service.js';
export { isOwnerAlive } from './chunk-index.js';
export { commitAncestry } from './commit-graph.js';
export { pausePoint } from './crash-points.js';
export { INPUT_CACHE_DIR, inputCacheLimit, noteCached, trimIfGrown } from './input-cache.js';
export { TERMINAL_JOB_STATES } from './job-records.js';
export type { AppendedOutput } from './file-service.js';
export type { UnitTx } from './store-core.js';
export type { ChangeFeed } from './change-feed.js';
export type { LogAppender, LogCursor, StoredLogLine } from './job-logs.js';
export type { ContentWant } from './lazy-fetch.js';
export type { Known } from './content-io.js';
export type { FileCache } from './file-cache.js';
export type { PathEdit, PathEntry } from './file-tree.js';
export type { LinkTarget } from './local-tree.js';
export type { Entry, EntryChange } from './tree.js';

/** The tree reads datum planning needs (a StoreHandle has them). */
export type TreeReader = Pick<StoreHandle, 'globTree' | 'diffEntries'>;

export class StoreHandle {
  readonly #core: StoreCore;

  constructor(core: StoreCore) {
    this.#core = core;
  }

  /** the `.tusk` directory */
  get path(): string {
    return this.#core.path;
  }
  get readonly(): boolean {
    return this.#core.readonly;
  }

  /**
   * Why the store's metadata is no longer there to read (the store deleted, its database file
   * unreadable or no longer a database), or undefined. An open database keeps answering from the
   * files it holds open, or from its cache, after they are deleted or overwritten: a process that
   * runs for long (a worker) asks this to find out.
   */
  metadataFault(): string | undefined {
    return this.#core.metadataFault();
  }
  /** What names this store to a child process (its TUSK_STORE): StoreCore.location. */
  get location(): string {
    return this.#core.location;
  }
  get graph(): CommitGraph {
    return this.#core.graph;
  }
  get jobs(): JobRecords {
    return this.#core.jobs;
  }
  get index(): ChunkIndex {
    return this.#core.index;
  }
  /** Wake-ups for a waiter (StoreCore.changes); close the feed when the wait ends. */
  changes(signal?: AbortSignal) {
    return this.#core.changes(signal);
  }
  /** Job logs (StoreCore.logs): appended by runners, read by `tusk logs`. */
  get logs(): JobLogs {
    return this.#core.logs;
  }
  /** All of `fn`'s metadata writes land, or none does (StoreCore.unitOfWork). */
  unitOfWork<T>(fn: (tx: UnitTx) => Promise<T>): Promise<T> {
    return this.#core.unitOfWork(fn);
  }

  // Trees: read by page id, written only as a set of path edits. Walks give a page's worth of
  // entries at a time: loop over each batch, wait once per batch.
  lookupPath(root: NodeId, path: string) {
    return lookupPath(this.#core.reader, root, path);
  }
  walkTree(dir: NodeId, prefix: string, opts?: { maxDepth?: number }) {
    return walkTree(this.#core.reader, dir, prefix, opts);
  }
  walkFiles(root: NodeId, path: string) {
    return walkFiles(this.#core.reader, root, path);
  }
  globTree(root: NodeId, pattern: string) {
    return globTree(this.#core.reader, root, pattern);
  }
  entryPages(root: NodeId, after?: string) {
    return entryPages(this.#core.reader, root, after);
  }
  diffEntries(oldRoot: NodeId | null, newRoot: NodeId | null) {
    return diffEntries(this.#core.reader, oldRoot, newRoot);
  }
  /** The tree `root` with `edits` applied; its pages are written in the caller's unit of work. */
  applyPathEdits(root: NodeId | null, edits: readonly PathEdit[]) {
    return withStagedPages(this.#core, (pages) => applyPathEdits(pages, root, edits));
  }

  // Contents: verified reads; `ctx` names the file a read error is about.
  readContent(id: ContentId, ctx: ReadContext, offset?: number, opts?: ReadOptions) {
    return readContent(this.#core.index, this.#core.packs, id, ctx, offset, opts);
  }
  readFrom(id: ContentId, ctx: ReadContext, offset: number) {
    return readFrom(this.#core.index, this.#core.packs, id, ctx, offset);
  }
  /** Write content `id` to the descriptor `fd` at `offset`; returns the bytes written. */
  writeContent(id: ContentId, ctx: ReadContext, fd: number, offset?: number, onBytes?: (n: number) => void, known?: Known) {
    return writeContent(this.#core.index, this.#core.packs, id, ctx, fd, offset, onBytes, known);
  }
  /** The records of many contents and where their chunks lie: a few lookups for the lot. */
  lookUpContents(ids: readonly ContentId[]) {
    return lookUpContents(this.#core.index, ids);
  }
  isContentPrefix(before: ContentId, after: ContentId, ctx: ReadContext) {
    return isContentPrefix(this.#core.index, this.#core.packs, before, after, ctx);
  }
  /** Where the datum input cache keeps its copy of content `hex`. */
  cachedInputFile(hex: string) {
    return cachedInputFile(this.#core.path, hex);
  }

  // Lazy clones (lazy-fetch.ts): bytes a pull left on a remote are fetched before a read needs them.
  /** Whether any chunk is left on a remote: one query, so a store that is no lazy clone pays nothing more. */
  anyRemoteBacked() {
    return anyRemoteBacked(this.#core);
  }
  /** Fetch, verify and cache the remote-backed chunks these contents need. */
  ensureContents(wants: readonly ContentWant[]) {
    return ensureContents(this.#core, wants);
  }

  // Commits: the rules of commit-service.ts; writes go inside the caller's unit of work.
  requireRepo(repo: string) {
    return commits.requireRepo(this.#core, repo);
  }
  resolveCommit(ref: CommitRef) {
    return commits.resolveCommit(this.#core, ref);
  }
  emptyRoot() {
    return commits.emptyRoot(this.#core);
  }
  insertCommit(init: Parameters<typeof commits.insertCommit>[1]) {
    return commits.insertCommit(this.#core, init);
  }
  createJobCommit(pipeline: PipelineRecord, branch: string, setId: string) {
    return commits.createJobCommit(this.#core, pipeline, branch, setId);
  }
  propagate(repo: string, branch: string, setId: string) {
    return commits.propagate(this.#core, repo, branch, setId);
  }
  rootTotals(root: NodeId) {
    return commits.rootTotals(this.#core, root);
  }

  // Files.
  getFile(ref: FileRef, opts: GetOptions) {
    return getFile(this.#core, ref, opts);
  }
  /** Store a local directory as a standalone tree (a datum's output): file-service.ts. */
  writeLocalTree(dir: string, opts: Parameters<typeof writeLocalTree>[2]) {
    return writeLocalTree(this.#core, dir, opts);
  }

  /** The local file cache (a path and its stat → its content id) that status and checkout use. */
  fileCache(): FileCache {
    return this.#core.localCache.fileCache();
  }
  /** Run `fn`'s writes to the file cache in one transaction of their own. */
  inFileCacheTransaction(fn: () => void): void {
    this.#core.localCache.inTransaction(fn);
  }
}
