// The two implementations of the metadata contracts that the contract tests run against: SQLite
// and PostgreSQL. Every contract answers asynchronously on both.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach } from 'vitest';
import { SqliteChunkIndex } from '../../../src/store/chunk-index.js';
import { SqliteCommitGraph, type CommitRecord } from '../../../src/store/commit-graph.js';
import { SqliteJobRecords } from '../../../src/store/job-records.js';
import { openDb } from '../../../src/store/meta-db.js';
import { SqliteRemoteChunks } from '../../../src/store/remote-chunks.js';
import { SqliteUnits } from '../../../src/store/unit-of-work.js';
import type { AsyncMetadata, AsyncMetadataStore } from '../../../src/store/pg/async-contract.js';
import { PgMetadata } from '../../../src/store/pg/metadata.js';
import type { RetryOptions } from '../../../src/store/pg/transaction.js';
import { tempDir } from '../../helpers.js';
import { usePostgres } from '../../helpers/postgres.js';

export interface Backend {
  name: string;
  /** why this backend's suite is skipped here */
  skip: string | undefined;
  /** a fresh, empty store, closed after the test (`retry` applies where units are retried: PostgreSQL) */
  open(retry?: RetryOptions): Promise<AsyncMetadataStore>;
}

/** SQLite's contracts as an AsyncMetadataStore: the store's own units of work on one connection. */
function sqliteStore(file: string): AsyncMetadataStore {
  const db = openDb(file, { readonly: false, create: true });
  const units = new SqliteUnits(db);
  const meta: AsyncMetadata = {
    graph: new SqliteCommitGraph(db, () => units.settled()),
    index: new SqliteChunkIndex(db, () => units.settled()),
    // outside a unit, their calls wait for the unit in flight, as in the store
    jobs: new SqliteJobRecords(db, () => units.settled()),
    remoteChunks: new SqliteRemoteChunks(db, () => units.settled()),
  };
  return {
    ...meta,
    unitOfWork: <T>(fn: (tx: AsyncMetadata) => Promise<T>): Promise<T> => units.run(() => fn(meta)),
    close: async () => {
      db.close();
    },
  };
}

/** Both backends for a test file: SQLite in a temp dir, PostgreSQL in a fresh database of the file's server. */
export function contractBackends(): Backend[] {
  const pgServer = usePostgres();
  const opened: AsyncMetadataStore[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  let template: Promise<string> | undefined;
  return [
    {
      name: 'SQLite',
      skip: undefined,
      open: async () => {
        const dir = tempDir();
        dirs.push(dir);
        const s = sqliteStore(path.join(dir, 'meta.db'));
        opened.push(s);
        return s;
      },
    },
    {
      name: 'PostgreSQL',
      skip: pgServer.missing,
      open: async (retry?: RetryOptions) => {
        // the schema is made once per file; each test gets a copy of it
        template ??= (async () => {
          const url = await pgServer.freshDatabase();
          await (await PgMetadata.open({ url })).close();
          return url;
        })();
        const s = await PgMetadata.open({ url: await pgServer.freshDatabase(await template), max: 10 }, retry);
        opened.push(s);
        return s;
      },
    },
  ];
}

export const id32 = (): Buffer => randomBytes(32);
export const hex = (): string => randomBytes(16).toString('hex');

export function commit(repo: string, id: string, seq: number, parent: string | null, extra: Partial<CommitRecord> = {}): CommitRecord {
  return { repo, id, seq, branch: 'master', parent, origin: 'USER', description: '', started: 1000 + seq, finishing: null, finished: null, root: null, size: 0, files: 0, error: null, ...extra };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
