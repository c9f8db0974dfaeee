// The store core of a team store: metadata in a PostgreSQL database many machines share
// (PgMetadata), packs in a bucket, and this machine's file cache in its client directory.
//
// A unit of work is one PostgreSQL transaction (retried on serialization conflicts). The store
// modules call the core's own contracts (`s.graph`, `s.index`, …) inside units, as they may on
// SQLite, where everything on the store's one connection while a unit is open is part of it. Here
// the core's contracts follow the calling flow instead: inside a unit they are the unit's
// (bound to its transaction), outside one the pool's. Without that, a call inside a unit would run
// on another connection, outside the transaction, and wait on the rows the unit itself holds.
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChunkIndex } from './chunk-index.js';
import type { CommitGraph } from './commit-graph.js';
import type { JobRecords } from './job-records.js';
import { LocalCache } from './local-cache.js';
import { openCacheDb } from './meta-db.js';
import type { Packs } from './packs.js';
import { PageReader, type PageStore } from './page-store.js';
import { pgFailure, type PgTarget } from './pg/connection.js';
import { listenForChanges } from './pg/watch.js';
import type { PgMetadata } from './pg/metadata.js';
import type { RemoteChunkIndex } from './remote-chunks.js';
import type { StoreCore, UnitTx } from './store-core.js';
import { CACHE_DB_FILE } from './team-dir.js';

/** Leaves a walk asks for in one statement (PageReader's readAhead; a local store's reads are function calls). */
export const TEAM_READ_AHEAD = 32;

export interface TeamCoreOptions {
  /** this machine's client directory */
  path: string;
  /** the database URL as given (StoreCore.location) */
  location: string;
  meta: PgMetadata;
  packs: Packs;
  readonly?: boolean;
}

/**
 * `outside`'s methods, answered by the calling unit's contract when there is one. A failure to
 * reach the database (a server gone mid-command, a login refused) becomes the tusk error a user
 * can act on, as it does inside a unit (transaction.ts); a serialization failure stays as it is,
 * for the unit to retry.
 */
function followUnit<T extends object>(outside: T, units: AsyncLocalStorage<UnitTx>, pick: (tx: UnitTx) => T, where: PgTarget): T {
  const failure = (err: unknown): never => {
    throw pgFailure(err, where) ?? err;
  };
  return new Proxy(outside, {
    get(target, key) {
      const tx = units.getStore();
      const obj = tx ? pick(tx) : target;
      const v: unknown = Reflect.get(obj, key, obj);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const r: unknown = v.apply(obj, args);
        return r instanceof Promise ? r.catch(failure) : r;
      };
    },
  });
}

export function openTeamCore(opts: TeamCoreOptions): StoreCore {
  const { meta } = opts;
  const units = new AsyncLocalStorage<UnitTx>();
  const graph: CommitGraph = followUnit(meta.graph, units, (tx) => tx.graph, meta.target);
  const index: ChunkIndex = followUnit(meta.index, units, (tx) => tx.index, meta.target);
  const jobs: JobRecords = followUnit(meta.jobs, units, (tx) => tx.jobs, meta.target);
  const remoteChunks: RemoteChunkIndex = followUnit(meta.remoteChunks, units, (tx) => tx.remoteChunks, meta.target);
  const pages: PageStore = index;
  const cacheDb = openCacheDb(path.join(opts.path, CACHE_DB_FILE));
  const unitOfWork = <T>(fn: (tx: UnitTx) => Promise<T>): Promise<T> => {
    // a unit started inside a unit joins it, as on SQLite
    const open = units.getStore();
    if (open) return fn(open);
    return meta.unitOfWork((m) => {
      const tx: UnitTx = { graph: m.graph, index: m.index, jobs: m.jobs, remoteChunks: m.remoteChunks };
      return units.run(tx, () => fn(tx));
    });
  };
  let ended: Promise<void> | undefined;
  return {
    path: opts.path,
    location: opts.location,
    graph,
    index,
    jobs,
    remoteChunks,
    packs: opts.packs,
    localCache: new LocalCache(cacheDb),
    pages,
    // each page asked of the server is a round trip: a walk asks for a level-1 page's leaves
    // this many at a time (a rerun's walk of 10,000 inputs read its 171 pages one statement each)
    reader: new PageReader(pages, { readAhead: TEAM_READ_AHEAD }),
    readonly: opts.readonly ?? false,
    unitOfWork,
    // no single writer to wait for: a checkpoint is a unit of its own, now
    unitNow: async (fn) => {
      await unitOfWork(() => fn());
      return true;
    },
    // PostgreSQL has no per-unit upkeep to put off
    manyUnits: (fn) => fn(),
    // the server reclaims its own space (autovacuum)
    compact: () => {},
    changes: (signal) => listenForChanges(meta.target, signal),
    logs: meta.logs,
    // The database's loss (dropped, unreachable, refusing logins) shows as the errors of the
    // statements themselves (E_IO, E_LOCKED, E_INVALID): only this machine's directory can be
    // looked at without a round trip.
    metadataFault: () => (fs.existsSync(opts.path) ? undefined : `this machine's client directory ${opts.path} was deleted`),
    closeMetadata: () => {
      if (cacheDb.open) cacheDb.close();
      // a pool that cannot end cleanly (a server gone) has nothing left to lose
      ended ??= meta.close().catch(() => {});
    },
    whenClosed: () => ended ?? Promise.resolve(),
  };
}
