// Opening a store: finding `.tusk/`, the metadata db, pack storage and the shared readers that
// every service uses. The services (repo-, commit-, file-service, maintenance) take a StoreCore.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError, NotFoundError } from '../errors.js';
import { SqliteChunkIndex, type ChunkIndex } from './chunk-index.js';
import { SqliteCommitGraph, type CommitGraph } from './commit-graph.js';
import { SqliteJobRecords, type JobRecords } from './job-records.js';
import type { RemoteChunkSource } from './remote-source.js';
import { openDb, type Db } from './meta-db.js';
import { LocalPackStorage } from './pack-storage.js';
import type { Packs } from './packs.js';
import { PageReader, type PageStore } from './page-store.js';
import { SqliteUnits } from './unit-of-work.js';

export const STORE_DIR = '.tusk';
export const DB_FILE = 'meta.db';
export const PACKS_DIR = 'packs';

export interface StoreCore {
  /** the `.tusk` directory */
  readonly path: string;
  readonly db: Db;
  readonly graph: CommitGraph;
  readonly index: ChunkIndex;
  readonly jobs: JobRecords;
  readonly packs: Packs;
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
   * store's connection, held by one async flow at a time (an in-process mutex); commit-graph and
   * job-record reads outside it wait for the mutex, so they never see half of a unit.
   */
  unitOfWork<T>(fn: (tx: UnitTx) => Promise<T>): Promise<T>;
  /**
   * Within src/store only: record rows in the middle of a write (an ingest checkpoint) as one
   * unit now. false (nothing done) while another flow's unit is in flight: the caller keeps the
   * rows for its next checkpoint or its commit.
   */
  unitNow(fn: () => Promise<void>): Promise<boolean>;
}

/** The metadata contracts bound to one unit of work. */
export interface UnitTx {
  readonly graph: CommitGraph;
  readonly index: ChunkIndex;
  readonly jobs: JobRecords;
}

/** Make `DIR/.tusk` (idempotent). */
export function initStore(dir: string): { path: string; created: boolean } {
  const root = path.resolve(dir, STORE_DIR);
  const created = !fs.existsSync(path.join(root, DB_FILE));
  try {
    fs.mkdirSync(path.join(root, PACKS_DIR), { recursive: true });
    fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
  } catch (err) {
    throw new IoError(`cannot create a store in ${path.resolve(dir)}: ${(err as Error).message}`, 'choose a writable directory', { cause: err });
  }
  const db = openDb(path.join(root, DB_FILE), { readonly: false, create: true });
  db.close();
  return { path: root, created };
}

/** The store named by TUSK_STORE, or the nearest `.tusk/` above `cwd`. */
export function findStore(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  const named = env.TUSK_STORE;
  if (named) {
    const p = path.resolve(cwd, named);
    // TUSK_STORE may name the project directory or the .tusk directory itself
    for (const candidate of [p, path.join(p, STORE_DIR)]) if (fs.existsSync(path.join(candidate, DB_FILE))) return candidate;
    throw new NotFoundError('store', p, `no tusk store at ${p} (from TUSK_STORE)`, `run \`tusk init ${named}\` or point TUSK_STORE at an existing store`);
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, STORE_DIR);
    if (fs.existsSync(path.join(candidate, DB_FILE))) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new NotFoundError('store', cwd, `no tusk store found in ${path.resolve(cwd)} or any parent directory`, 'run `tusk init` to create one here, or set TUSK_STORE');
}

/** Open the store's metadata and packs: the local `packs/` directory unless another backend is given. */
export function openCore(storePath: string, opts: { readonly?: boolean; packs?: Packs } = {}): StoreCore {
  const readonly = opts.readonly ?? false;
  const db = openDb(path.join(storePath, DB_FILE), { readonly, create: false });
  const units = new SqliteUnits(db);
  const graph = new SqliteCommitGraph(db, () => units.settled());
  const index = new SqliteChunkIndex(db, () => units.settled());
  // pages are only written inside the unit that commits the tree using them (StagedPages.flush)
  const pages: PageStore = index;
  const jobs = new SqliteJobRecords(db, () => units.settled());
  // on SQLite the unit's statements run on the store's one connection: the same objects serve it
  const tx: UnitTx = { graph, index, jobs };
  return {
    path: storePath,
    db,
    graph,
    index,
    jobs,
    packs: opts.packs ?? new LocalPackStorage(path.join(storePath, PACKS_DIR)),
    pages,
    reader: new PageReader(pages),
    readonly,
    unitOfWork: (fn) => units.run(() => fn(tx)),
    unitNow: (fn) => units.runNow(fn),
  };
}

export function closeCore(core: StoreCore): void {
  core.packs.close();
  if (core.db.open) core.db.close();
}
