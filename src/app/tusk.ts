// The composition root: the one place that opens a store and builds the services on it. Commands
// get everything they use from a Tusk (or, for project commands, from src/app/project.ts); only
// this folder and src/store itself see the store's internals.
import { registerMlChecks, registerMlTransforms } from '../ml/register.js';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import type { Project } from '../project/config.js';
import type { ProjectStore, VerifyEngine } from '../project/ports.js';
import type { RemoteOptions } from '../remote/config.js';
import { projectReads } from './project-reads.js';
import { verifyEngine } from './verify-engine.js';
import { existingStore, findStore, initStore, isStoreDir, openStore, PACKS_DIR, readPackLocation, type Store } from '../store/store.js';
import type { StoreCore } from '../store/store-core.js';
import { clientDirFor, isDatabaseUrl, readTeamDir, withoutPassword } from '../store/team-dir.js';
import type { TeamOpen } from './team-store.js';
import type { StoreHandle } from '../store/store-handle.js';
import { CacheService } from './caches.js';
import { LazySource } from '../remote/lazy-source.js';
import { DataService } from './data-service.js';
import { JobTrigger } from './job-trigger.js';
import { ModelService } from './models.js';
import { bucketPacks, checkPacksAt, packCacheOf, probePacks, type PacksAt } from './pack-backends.js';
import { PipelineService } from './pipelines.js';
import { RemoteService } from './remotes.js';

// Any command may run jobs (writes start them), so ML transforms must be known to the runner, and
// every way of creating a pipeline runs the ML check. Registering loads no ML code: TensorFlow.js
// and the check's modules load only when an ML datum runs or an ML spec is created.
registerMlTransforms();
registerMlChecks();

export interface OpenOptions {
  /** look for the store from here (default: the working directory); TUSK_STORE wins */
  cwd?: string;
  /** the store's `.tusk` directory, not searched for */
  path?: string;
  /** open without taking the write lock: for commands that never write */
  readonly?: boolean;
  /** keep packs in an object store behind a local cache instead of the store's `packs/` directory */
  packs?: PacksAt;
  /** a team store's database (postgres://…), opened with this machine's client directory for it; TUSK_STORE's loses */
  url?: string;
}

/** An open store and the services on it. */
export class Tusk {
  readonly data: DataService;
  readonly pipelines: PipelineService;
  readonly models: ModelService;
  readonly remotes: RemoteService;
  readonly caches: CacheService;
  readonly #store: Store<StoreCore>;
  readonly #handle: StoreHandle;
  readonly #jobs: JobTrigger;
  readonly #source: LazySource;

  /** `packsAt`: where the store's packs are (a bucket's URL or the `packs/` directory), `metadata` a team store's database, for `cache info` */
  constructor(store: Store<StoreCore>, packsAt: string, metadata?: string) {
    this.#store = store;
    this.#handle = store.handle;
    this.#jobs = new JobTrigger(store.handle);
    this.data = new DataService(store, store.core, this.#jobs);
    this.pipelines = new PipelineService(store.handle, store, this.#jobs);
    this.models = new ModelService(store);
    this.remotes = new RemoteService(store, this.#jobs);
    this.caches = new CacheService(store.path, packCacheOf(store.path), packsAt, metadata);
    // reads of a lazy clone fetch the bytes its pulls left on a remote
    this.#source = new LazySource(store);
    store.setRemoteSource(this.#source);
  }

  /** the store's `.tusk` directory */
  get path(): string {
    return this.#store.path;
  }

  /** What the project layer works with (src/project/ports.ts). */
  forProject(): ProjectStore {
    return {
      reads: projectReads(this.#handle),
      data: this.data,
      syncPipelines: (text, opts) => this.pipelines.sync(text, opts),
      batch: (fn, opts) => this.#jobs.batch(fn, opts),
      close: () => this.close(),
    };
  }

  /** What `tusk verify` works with (src/project/ports.ts): the records it compares and the engine it re-runs pipelines on. */
  forVerify(): VerifyEngine {
    return verifyEngine(this.#handle);
  }

  /** Closes the store; a team store's connections end asynchronously (await it where the process goes on). */
  close(): Promise<void> {
    this.#source.close();
    this.#store.close();
    return this.#store.core.whenClosed();
  }
}

/**
 * Open the store named by TUSK_STORE or found above `cwd` (or at `path`), with its services: its
 * packs where `tusk init --packs` recorded them (or at `opts.packs`), else in its own `packs/`. A
 * team store (TUSK_STORE naming its database, or a client directory made by `tusk init
 * --metadata`) is connected to and its schema checked; a local store opens as it always has.
 */
export async function openTusk(opts: OpenOptions = {}): Promise<Tusk> {
  const named = opts.url ?? (opts.path === undefined ? process.env.TUSK_STORE : undefined);
  if (named !== undefined && isDatabaseUrl(named)) return openTeamTusk({ dir: clientDirFor(named), url: named, readonly: opts.readonly });
  const at = opts.path ?? findStore(opts.cwd);
  const team = readTeamDir(at);
  if (team) return openTeamTusk({ dir: at, url: team.url, readonly: opts.readonly });
  return openLocalTusk(at, opts);
}

// team-store.js (and the PostgreSQL driver under it) is loaded only when a team store is opened
// or made: a command on a local store starts without it
async function openTeamTusk(opts: TeamOpen): Promise<Tusk> {
  const { openTeam } = await import('./team-store.js');
  const { store, packs } = await openTeam(opts);
  return new Tusk(store, packs.url, withoutPassword(opts.url));
}

/** A store whose metadata is its own meta.db: opened synchronously, as before team stores. */
export function openLocalTusk(at: string, opts: OpenOptions = {}): Tusk {
  const packs = opts.packs ?? readPackLocation(at);
  const backend = packs ? bucketPacks(at, packs) : undefined;
  let store: Store;
  try {
    store = openStore({ path: at, readonly: opts.readonly, packs: backend });
  } catch (err) {
    // a store that cannot be opened (locked, newer, unreadable) leaves no bucket client behind
    backend?.close();
    throw err;
  }
  return new Tusk(store, packs?.url ?? path.join(at, PACKS_DIR));
}

/**
 * `packs`: the bucket or directory the store keeps its packs in, absent when they are in its own
 * `packs/`; `metadata`: a team store's database, without its password.
 */
export type InitResult = { path: string; created: boolean; packs?: string; metadata?: string };

/**
 * Make a store in `dir` (idempotent), its packs at `opts.packs` when given: the bucket or directory
 * is checked writable first, and nothing is made when it is not. A store already there keeps its
 * packs where they are (another `--packs` is an error naming both).
 */
export async function initTusk(dir: string, opts: { packs?: string; metadata?: string } & RemoteOptions = {}): Promise<InitResult> {
  const { packs, metadata, ...reach } = opts;
  if (packs === undefined && Object.values(reach).some((v) => v !== undefined))
    throw new InvalidArgumentError('--endpoint, --region, --path-style and --checksums say how to reach --packs, which is not given', 'add --packs s3://BUCKET/PREFIX, or drop them');
  const packsAt = packs === undefined ? undefined : { url: packs, ...reach };
  if (metadata !== undefined) {
    const local = existingStore(dir);
    if (local && !readTeamDir(local.path))
      throw new InvalidArgumentError(`${local.path} is a store of its own (meta.db), not a client directory of a team store`, 'choose another directory for the team store, e.g. `tusk init DIR --metadata URL`');
    const { initTeam } = await import('./team-store.js');
    return initTeam(path.resolve(dir, '.tusk'), metadata, packsAt);
  }
  // TUSK_STORE naming a database: the team store there, this machine's client directory its own
  const named = process.env.TUSK_STORE;
  if (named !== undefined && isDatabaseUrl(named)) {
    const { initTeam } = await import('./team-store.js');
    return initTeam(clientDirFor(named), named, packsAt);
  }
  const want = packs === undefined ? undefined : checkPacksAt({ url: packs, ...reach });
  if (want && !existingStore(dir)) await probePacks(want);
  const made = initStore(dir, { packs: want });
  return { path: made.path, created: made.created, ...(made.packs ? { packs: made.packs.url } : {}) };
}

/** The store a project uses: `store:` from tusk.yaml, else TUSK_STORE, else a `.tusk` above the project. */
export function projectStorePath(project: Project, env: NodeJS.ProcessEnv = process.env): string {
  if (project.config.store !== undefined) {
    const p = path.resolve(project.root, project.config.store);
    for (const candidate of [p, path.join(p, '.tusk')]) if (isStoreDir(candidate)) return candidate;
    throw new NotFoundError('store', p, `no tusk store at ${p} (store: in ${path.basename(project.configPath)})`, `run \`tusk init ${path.dirname(p)}\`, or restore the store there (see docs/ci.md)`);
  }
  return findStore(project.root, env);
}

/** A project's store: `store:` from tusk.yaml (a path, or a team store's postgres:// URL), else TUSK_STORE, else a `.tusk` above it. */
export function openProjectTusk(project: Project, opts: { readonly?: boolean } = {}): Promise<Tusk> {
  const named = project.config.store;
  if (named !== undefined && isDatabaseUrl(named)) return openTusk({ url: named, readonly: opts.readonly });
  return openTusk({ path: projectStorePath(project), readonly: opts.readonly });
}

/** Open a project's store for the project layer. */
export async function openProjectStore(project: Project, opts: { readonly?: boolean } = {}): Promise<ProjectStore> {
  return (await openProjectTusk(project, opts)).forProject();
}

export { initStore };
