// Opening a store: finding `.tusk/`, the metadata db, pack storage and the shared readers that
// every service uses. The services (repo-, commit-, file-service, maintenance) take a StoreCore.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, IoError, NotFoundError } from '../errors.js';
import { pollingFeed, type ChangeFeed } from './change-feed.js';
import { SqliteChunkIndex, type ChunkIndex } from './chunk-index.js';
import { SqliteCommitGraph, type CommitGraph } from './commit-graph.js';
import { jobLogFiles } from './job-log-files.js';
import type { JobLogs } from './job-logs.js';
import { SqliteJobRecords, type JobRecords } from './job-records.js';
import type { RemoteChunkSource } from './remote-source.js';
import { compactDb, dbFileFault, openDb, withManyUnits, type Db } from './meta-db.js';
import { describePackLocation, PACK_LOCATION_FILE, readPackLocation, samePackLocation, writePackLocation, type PackLocation } from './pack-location.js';
import { LocalCache } from './local-cache.js';
import { SqliteRemoteChunks, type RemoteChunkIndex } from './remote-chunks.js';
import { LocalPackStorage } from './pack-storage.js';
import type { Packs } from './packs.js';
import { PageReader, type PageStore } from './page-store.js';
import { SqliteUnits } from './unit-of-work.js';
import { clientDirFor, isDatabaseUrl, TEAM_FILE } from './team-dir.js';

export const STORE_DIR = '.tusk';
export const DB_FILE = 'meta.db';
export const PACKS_DIR = 'packs';

export interface StoreCore {
  /** the `.tusk` directory (a team store's: this machine's client directory) */
  readonly path: string;
  /**
   * What names this store to a child process (its TUSK_STORE): the `.tusk` directory, or a team
   * store's database URL as it was given (its credentials travel only in the child's environment).
   */
  readonly location: string;
  readonly graph: CommitGraph;
  readonly index: ChunkIndex;
  readonly jobs: JobRecords;
  /** remote-backed chunks of lazy clones and the cache of those fetched (remote-chunks.ts) */
  readonly remoteChunks: RemoteChunkIndex;
  readonly packs: Packs;
  /** this machine's own cache (local-cache.ts): on a local store, tables of meta.db; on a team store, a SQLite file of the client directory */
  readonly localCache: LocalCache;
  readonly pages: PageStore;
  readonly reader: PageReader;
  readonly readonly: boolean;
  /** Where remote-backed chunks (lazy clones) are fetched from; set by whoever opens the store with its remotes (src/app). */
  remoteSource?: RemoteChunkSource;
  /**
   * Run `fn` as one unit of work: every metadata write it makes lands, or none does. Code outside
   * src/store groups its writes with this, never by opening a transaction on a table module.
   *
   * The body may run more than once: a network database retries it after a serialization
   * conflict. So it has no effect outside the metadata (no file writes, no counters or lists of
   * the caller's that outlive an attempt), and hands what it found back as its result.
   *
   * A unit started inside a unit joins it. On SQLite a unit is BEGIN IMMEDIATE … COMMIT on the
   * store's connection, held by one async flow at a time (an in-process mutex); the contracts'
   * reads outside it wait for the mutex, so they never see half of a unit.
   */
  unitOfWork<T>(fn: (tx: UnitTx) => Promise<T>): Promise<T>;
  /**
   * Within src/store only: record rows in the middle of a write (an ingest checkpoint) as one
   * unit now. false (nothing done) while another flow's unit is in flight: the caller keeps the
   * rows for its next checkpoint or its commit.
   */
  unitNow(fn: () => Promise<void>): Promise<boolean>;
  /**
   * Run `fn`, a write of many units (a tree put in checkpoints), letting the metadata backend do
   * its upkeep once at the end instead of after each unit (SQLite: one WAL checkpoint).
   */
  manyUnits<T>(fn: () => Promise<T>): Promise<T>;
  /** After gc deleted rows: give the metadata's freed space back where the backend keeps it in files (SQLite). */
  compact(): void;
  /**
   * Why the metadata is no longer there to read, or undefined: a long-running process (a worker)
   * asks, since an open database keeps answering from what it holds open after it is deleted.
   */
  metadataFault(): string | undefined;
  /**
   * Wake-ups for a waiter (change-feed.ts), open once the feed is: a change committed after this
   * resolves wakes it. SQLite cannot notify: its feed waits the caller's poll interval. A team
   * store's listens on PostgreSQL notifications over a connection of its own. Close it when the
   * wait ends; aborting `signal` closes it too.
   */
  changes(signal?: AbortSignal): Promise<ChangeFeed>;
  /** Job logs (job-logs.ts): files of the store's directory, or rows of a team store's database. */
  readonly logs: JobLogs;
  /** Close the metadata (and the local cache), not the packs: closeCore closes both. A team store's connections end in the background (whenClosed). */
  closeMetadata(): void;
  /** Resolves once what closeMetadata began is done: at once on SQLite, once a team store's connections have ended. */
  whenClosed(): Promise<void>;
}

/** A store whose metadata is the SQLite file meta.db in its directory. */
export interface LocalCore extends StoreCore {
  readonly db: Db;
}

/** The metadata contracts bound to one unit of work. */
export interface UnitTx {
  readonly graph: CommitGraph;
  readonly index: ChunkIndex;
  readonly jobs: JobRecords;
  readonly remoteChunks: RemoteChunkIndex;
}

/** The store in `DIR/.tusk`, if one is there, and where its packs are (undefined: its own `packs/`). */
export function existingStore(dir: string): { path: string; packs: PackLocation | undefined } | undefined {
  const root = path.resolve(dir, STORE_DIR);
  if (!isStoreDir(root)) return undefined;
  return { path: root, packs: readPackLocation(root) };
}

/**
 * Make `DIR/.tusk` (idempotent), its packs in its own `packs/` directory or at `opts.packs`. A store
 * already there keeps its packs where they are: asking for another place is an error naming both.
 * The location is recorded before the metadata db, whose presence is what makes a store: a crash
 * in between leaves no store, and the next init starts over.
 */
export function initStore(dir: string, opts: { packs?: PackLocation } = {}): { path: string; created: boolean; packs?: PackLocation } {
  const root = path.resolve(dir, STORE_DIR);
  const existing = existingStore(dir);
  if (existing) {
    if (opts.packs && !(existing.packs && samePackLocation(existing.packs, opts.packs))) {
      const have = existing.packs ? describePackLocation(existing.packs) : path.join(root, PACKS_DIR);
      throw new InvalidArgumentError(
        `the store at ${root} keeps its packs in ${have}, not in ${describePackLocation(opts.packs)}`,
        "a store's packs stay where it was made: drop --packs, or make a new store elsewhere with `tusk init DIR --packs URL`",
      );
    }
    return { path: root, created: false, ...(existing.packs ? { packs: existing.packs } : {}) };
  }
  try {
    fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
    if (opts.packs) writePackLocation(root, opts.packs);
    else {
      // left by an init that stopped before its metadata db: this one keeps its packs here
      fs.rmSync(path.join(root, PACK_LOCATION_FILE), { force: true });
      fs.mkdirSync(path.join(root, PACKS_DIR), { recursive: true });
    }
  } catch (err) {
    throw new IoError(`cannot create a store in ${path.resolve(dir)}: ${(err as Error).message}`, 'choose a writable directory', { cause: err });
  }
  const db = openDb(path.join(root, DB_FILE), { readonly: false, create: true });
  db.close();
  return { path: root, created: true, ...(opts.packs ? { packs: opts.packs } : {}) };
}

/** Whether `dir` is a store's `.tusk` directory: its metadata db, or a team store's file naming its database, makes one. */
export function isStoreDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, DB_FILE)) || fs.existsSync(path.join(dir, TEAM_FILE));
}

/** The store named by TUSK_STORE, or the nearest `.tusk/` above `cwd`. */
export function findStore(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  const named = env.TUSK_STORE;
  // a team store's database: this machine's client directory for it (made when it is opened)
  if (named && isDatabaseUrl(named)) return clientDirFor(named, env);
  if (named) {
    const p = path.resolve(cwd, named);
    // TUSK_STORE may name the project directory or the .tusk directory itself
    for (const candidate of [p, path.join(p, STORE_DIR)]) if (isStoreDir(candidate)) return candidate;
    throw new NotFoundError('store', p, `no tusk store at ${p} (from TUSK_STORE)`, `run \`tusk init ${named}\` or point TUSK_STORE at an existing store`);
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, STORE_DIR);
    if (isStoreDir(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new NotFoundError('store', cwd, `no tusk store found in ${path.resolve(cwd)} or any parent directory`, 'run `tusk init` to create one here, or set TUSK_STORE');
}

/** Open the store's metadata and packs: the local `packs/` directory unless another backend is given. */
export function openCore(storePath: string, opts: { readonly?: boolean; packs?: Packs } = {}): LocalCore {
  const readonly = opts.readonly ?? false;
  // a store whose packs are elsewhere, opened without a backend for them, would read and write an empty `packs/`
  const located = opts.packs ? undefined : readPackLocation(storePath);
  if (located)
    throw new InvalidArgumentError(`the store at ${storePath} keeps its packs in ${describePackLocation(located)}, and was opened without them`, 'open it through the tusk CLI or openTusk, which reach them');
  const db = openDb(path.join(storePath, DB_FILE), { readonly, create: false });
  const units = new SqliteUnits(db);
  const graph = new SqliteCommitGraph(db, () => units.settled());
  const index = new SqliteChunkIndex(db, () => units.settled());
  // pages are only written inside the unit that commits the tree using them (StagedPages.flush)
  const pages: PageStore = index;
  const jobs = new SqliteJobRecords(db, () => units.settled());
  const remoteChunks = new SqliteRemoteChunks(db, () => units.settled());
  // on SQLite the unit's statements run on the store's one connection: the same objects serve it
  const tx: UnitTx = { graph, index, jobs, remoteChunks };
  return {
    path: storePath,
    location: storePath,
    db,
    graph,
    index,
    jobs,
    remoteChunks,
    packs: opts.packs ?? new LocalPackStorage(path.join(storePath, PACKS_DIR)),
    localCache: new LocalCache(db),
    pages,
    reader: new PageReader(pages),
    readonly,
    unitOfWork: (fn) => units.run(() => fn(tx)),
    unitNow: (fn) => units.runNow(fn),
    manyUnits: (fn) => withManyUnits(db, fn),
    compact: () => compactDb(db),
    changes: async (signal) => pollingFeed(signal),
    logs: jobLogFiles(storePath),
    metadataFault: () => (fs.existsSync(storePath) ? dbFileFault(path.join(storePath, DB_FILE)) : 'the store was deleted'),
    closeMetadata: () => {
      if (db.open) db.close();
    },
    whenClosed: () => Promise.resolve(),
  };
}

export function closeCore(core: StoreCore): void {
  core.packs.close();
  core.closeMetadata();
}
