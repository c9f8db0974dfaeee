// The PostgreSQL metadata store: a pool, the schema brought up to date, and the contracts
// bound to the pool (outside a unit of work) or to one transaction's client (inside one).
import type pg from 'pg';
import type { ChunkIndex } from '../chunk-index.js';
import type { CommitGraph } from '../commit-graph.js';
import type { JobLogs } from '../job-logs.js';
import type { JobRecords } from '../job-records.js';
import type { RemoteChunkIndex } from '../remote-chunks.js';
import type { AsyncMetadata, AsyncMetadataStore } from './async-contract.js';
import type { Binding } from './binding.js';
import { PgChunkIndex } from './chunk-index.js';
import { PgCommitGraph } from './commit-graph.js';
import { openPool, type PgTarget } from './connection.js';
import { pgJobLogs } from './job-logs.js';
import { PgJobRecords } from './job-records.js';
import { PgRemoteChunks } from './remote-chunks.js';
import { migrate } from './schema.js';
import { retryStatement, withTransaction, type RetryOptions } from './transaction.js';

function bind(b: Binding): AsyncMetadata {
  return { graph: new PgCommitGraph(b), index: new PgChunkIndex(b), jobs: new PgJobRecords(b), remoteChunks: new PgRemoteChunks(b) };
}

export class PgMetadata implements AsyncMetadataStore {
  readonly graph: CommitGraph;
  readonly index: ChunkIndex;
  readonly jobs: JobRecords;
  readonly remoteChunks: RemoteChunkIndex;
  /** job logs, on the pool: a batch of lines is a statement of its own, never part of a unit */
  readonly logs: JobLogs;

  private constructor(
    readonly pool: pg.Pool,
    readonly target: PgTarget,
    private readonly retry: RetryOptions,
  ) {
    ({ graph: this.graph, index: this.index, jobs: this.jobs, remoteChunks: this.remoteChunks } = bind({ db: pool, atomically: (fn) => withTransaction(pool, fn, target, retry), again: (fn) => retryStatement(() => fn(pool), retry) }));
    this.logs = pgJobLogs(pool, target);
  }

  /** Connect to the target and migrate its schema (see schema.ts). */
  static async open(target: PgTarget, retry: RetryOptions = {}): Promise<PgMetadata> {
    const pool = openPool(target);
    try {
      await migrate(pool, target);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PgMetadata(pool, target, retry);
  }

  unitOfWork<T>(fn: (tx: AsyncMetadata) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, (client) => fn(bind({ db: client, atomically: (inner) => inner(client), again: (inner) => inner(client) })), this.target, this.retry);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
