// The PostgreSQL layer around the contracts: credentials kept out of messages, units retried on
// serialization conflicts (and given up on as E_CONFLICT), migrations, change notifications.
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ConflictError, FormatVersionError, InvalidArgumentError, IoError } from '../../../src/errors.js';
import type { ChunkId, ContentId } from '../../../src/store/hash.js';
import type { Binding } from '../../../src/store/pg/binding.js';
import { PgChunkIndex } from '../../../src/store/pg/chunk-index.js';
import { PgCommitGraph } from '../../../src/store/pg/commit-graph.js';
import { clientConfig, openPool, redact } from '../../../src/store/pg/connection.js';
import { PgMetadata } from '../../../src/store/pg/metadata.js';
import { migrate, PG_SCHEMA_VERSION, schemaVersion } from '../../../src/store/pg/schema.js';
import { recordTeamPacks, teamPacks } from '../../../src/store/pg/team-store.js';
import { ALONE_AFTER, withTransaction } from '../../../src/store/pg/transaction.js';
import { BRANCH_CHANNEL, COMMIT_CHANNEL, watch, type BranchMoved, type CommitFinished } from '../../../src/store/pg/watch.js';
import { usePostgres } from '../../helpers/postgres.js';

describe('credentials stay out of messages', () => {
  it('redacts the password of URLs and key=value strings, and nothing else', () => {
    expect(redact('postgres://tusk:s3cr%21t@db.example:5432/meta?sslmode=require')).toBe('postgres://tusk:***@db.example:5432/meta?sslmode=require');
    expect(redact('failed: postgresql://u:p@h/d and postgres://nopass@h/d')).toBe('failed: postgresql://u:***@h/d and postgres://nopass@h/d');
    expect(redact("host=h user=u password='a b' dbname=d")).toBe('host=h user=u password=*** dbname=d');
    expect(redact('postgres://h/d?password=hunter2&x=1')).toBe('postgres://h/d?password=***&x=1');
  });

  it('refuses a URL that is not postgres:// without quoting its password', () => {
    let err: unknown;
    try {
      clientConfig({ url: 'mysql://root:hunter2@h/d' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).not.toContain('hunter2');
    // a postgres URL that does not parse (a port that is not a number)
    expect(() => clientConfig({ url: 'postgres://root:hunter2@h:port/d' })).toThrow(InvalidArgumentError);
    expect(() => clientConfig({ url: 'postgres://root:hunter2@h:port/d' })).toThrow(/^not a valid PostgreSQL URL: postgres:\/\/root:\*\*\*@h:port\/d$/);
  });

  it('a server that cannot be reached is E_IO naming host and port, never the password', async () => {
    // a port nobody listens on: bound, then closed
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const err = await PgMetadata.open({ url: `postgres://tusk:hunter2@127.0.0.1:${port}/meta` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IoError);
    expect((err as IoError).message).toContain(`127.0.0.1:${port}`);
    expect(JSON.stringify({ m: (err as Error).message, h: (err as IoError).hint, s: (err as Error).stack })).not.toContain('hunter2');
  });
});

const server = usePostgres();
const pools: pg.Pool[] = [];
const metas: PgMetadata[] = [];
afterEach(async () => {
  for (const m of metas.splice(0)) await m.close();
  for (const p of pools.splice(0)) await p.end();
});

async function openMeta(): Promise<PgMetadata> {
  const m = await PgMetadata.open({ url: await server.freshDatabase() });
  metas.push(m);
  return m;
}

describe.skipIf(server.missing !== undefined)(`PostgreSQL metadata${server.missing ? ` (skipped: ${server.missing})` : ''}`, () => {
  it('two processes migrating one empty database at once: both succeed, the schema is made once', async () => {
    const url = await server.freshDatabase();
    const a = openPool({ url });
    const b = openPool({ url });
    pools.push(a, b);
    expect(await Promise.all([migrate(a, { url }), migrate(b, { url }), migrate(a, { url })])).toEqual([PG_SCHEMA_VERSION, PG_SCHEMA_VERSION, PG_SCHEMA_VERSION]);
    expect(await schemaVersion(a)).toBe(PG_SCHEMA_VERSION);
    expect((await a.query('SELECT count(*) AS n FROM tusk_schema')).rows[0].n).toBe(1);
    expect((await a.query("SELECT count(*) AS n FROM pg_tables WHERE tablename = 'commits'")).rows[0].n).toBe(1);
  });

  it('a database newer than this code is refused before anything is written', async () => {
    const url = await server.freshDatabase();
    const pool = openPool({ url });
    pools.push(pool);
    await migrate(pool, { url });
    await pool.query('UPDATE tusk_schema SET version = $1', [PG_SCHEMA_VERSION + 1]);
    const err = await PgMetadata.open({ url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatVersionError);
    expect((err as FormatVersionError).code).toBe('E_FORMAT');
    expect(await schemaVersion(pool)).toBe(PG_SCHEMA_VERSION + 1);
  });

  it('a database at schema version 2 is migrated: its rows stay, the lazy-clone tables arrive', async () => {
    const url = await server.freshDatabase();
    const pool = openPool({ url });
    pools.push(pool);
    expect(await migrate(pool, { url }, 2)).toBe(2);
    expect((await pool.query("SELECT count(*) AS n FROM pg_tables WHERE tablename IN ('remote_chunks', 'chunk_cache')")).rows[0].n).toBe(0);
    await pool.query("INSERT INTO packs (name, size, created) VALUES ('p', 0, 1)");
    const m = await PgMetadata.open({ url });
    metas.push(m);
    expect(await schemaVersion(pool)).toBe(PG_SCHEMA_VERSION);
    expect((await m.index.listPacks()).map((p) => p.name)).toEqual(['p']);
    const [pack] = await m.index.listPacks();
    await m.remoteChunks.addCachePacks([{ id: pack!.id, bytes: 10 }], 5);
    expect(await m.remoteChunks.cachePacks()).toEqual([{ id: pack!.id, name: 'p', bytes: 10 }]);
  });

  it('a database at schema version 3 is migrated to 4: its rows stay, the team store row is empty until a store is made', async () => {
    const url = await server.freshDatabase();
    const pool = openPool({ url });
    pools.push(pool);
    expect(await migrate(pool, { url }, 3)).toBe(3);
    expect((await pool.query("SELECT to_regclass('team_store') AS t")).rows[0].t).toBeNull();
    await pool.query("INSERT INTO repos (name, type, description, created) VALUES ('r', 'user', '', 1)");
    const m = await PgMetadata.open({ url });
    metas.push(m);
    expect(await schemaVersion(pool)).toBe(PG_SCHEMA_VERSION);
    expect((await m.graph.listRepos()).map((r) => r.name)).toEqual(['r']);
    expect(await teamPacks(pool)).toBeUndefined();
    const at = { url: 's3://b/p', endpoint: 'http://127.0.0.1:9', pathStyle: true };
    expect(await recordTeamPacks(pool, at)).toEqual(at);
    // the row is one: a second record keeps the first
    expect(await recordTeamPacks(pool, { url: 's3://other/p' })).toEqual(at);
    expect(await teamPacks(pool)).toEqual(at);
    await expect(pool.query("INSERT INTO team_store (one, packs, created) VALUES (false, '{}', 1)")).rejects.toThrow(/check/);
  });

  it('a database at schema version 4 is migrated to 5: its jobs stay, and their logs are kept in it from then on', async () => {
    const url = await server.freshDatabase();
    const pool = openPool({ url });
    pools.push(pool);
    expect(await migrate(pool, { url }, 4)).toBe(4);
    expect((await pool.query("SELECT to_regclass('job_logs') AS t")).rows[0].t).toBeNull();
    await pool.query("INSERT INTO jobs (pipeline, id, version, salt, state, created) VALUES ('p', 'j', 1, 's', 'JOB_RUNNING', 1)");
    const m = await PgMetadata.open({ url });
    metas.push(m);
    expect(await schemaVersion(pool)).toBe(PG_SCHEMA_VERSION);
    expect((await m.jobs.getJob('p', 'j'))?.state).toBe('JOB_RUNNING');
    const log = m.logs.appender('p', 'j');
    log.append({ ts: '2026-01-01T00:00:00.000Z', datum: 'd', stream: 'stdout', message: 'kept' });
    await log.close();
    expect((await m.logs.cursor('p', 'j').read()).lines).toEqual([{ ts: '2026-01-01T00:00:00.000Z', datum: 'd', stream: 'stdout', message: 'kept' }]);
  });

  it('a database at schema version 5 is migrated to 6: only successful rows stay in the identity index, and results are still found', async () => {
    const url = await server.freshDatabase();
    const pool = openPool({ url });
    pools.push(pool);
    expect(await migrate(pool, { url }, 5)).toBe(5);
    const insert = "INSERT INTO datums (pipeline, job, id, seq, hash, state, inputs, output, finished) VALUES ('p', $1, 'd', 0, 'h', $2, '[]', $3, $4)";
    await pool.query(insert, ['j1', 'success', Buffer.from('out1'), 5]);
    // a later job skipped the datum: its row carries the first one's output
    await pool.query(insert, ['j2', 'skipped', Buffer.from('out1'), 9]);
    const m = await PgMetadata.open({ url });
    metas.push(m);
    expect(await schemaVersion(pool)).toBe(PG_SCHEMA_VERSION);
    const def = (await pool.query("SELECT pg_get_indexdef('datums_by_hash'::regclass) AS d")).rows[0].d as string;
    expect(def).toMatch(/\(pipeline, id, hash\) WHERE \(state = 'success'::text\)$/);
    const found = await m.jobs.priorResults('p', [{ id: 'd', hash: 'h' }]);
    expect(found.get('d')).toMatchObject({ job: 'j1', state: 'success', output: Buffer.from('out1') });
    expect((await m.jobs.priorResults('p', [{ id: 'd', hash: 'other' }])).size).toBe(0);
  });

  it('two units that conflict: one is retried, and both effects land', async () => {
    const m = await openMeta();
    await m.unitOfWork(({ graph }) => graph.insertRepo({ name: 'r', type: 'user', description: '', created: 1 }));
    let runs = 0;
    let bothRead!: () => void;
    const barrier = new Promise<void>((r) => (bothRead = r));
    let readers = 0;
    const append = (word: string) =>
      m.unitOfWork(async ({ graph }) => {
        runs++;
        const before = (await graph.getRepo('r'))!.description;
        // the first time round, both units read before either writes: a read-write conflict
        if (++readers === 2) bothRead();
        if (readers <= 2) await barrier;
        await graph.setRepoDescription('r', `${before}${word}`);
      });
    await Promise.all([append('a'), append('b')]);
    expect(runs).toBe(3);
    expect(['ab', 'ba']).toContain((await m.graph.getRepo('r'))!.description);
  });

  it(`units that keep conflicting run alone after ${ALONE_AFTER} failed tries: none gives up, every effect lands`, async () => {
    const url = await server.freshDatabase();
    const pool = openPool({ url, max: 16 });
    pools.push(pool);
    await migrate(pool, { url });
    await pool.query("INSERT INTO repos (name, created, description) VALUES ('r', 1, '')");
    const UNITS = 12;
    const tries = ALONE_AFTER + 1;
    // every try of every unit reads the row, then waits until all the units running beside it have
    // read it too, then appends to it: with only optimistic retries each round lets one unit
    // through and the others fail again, so most would give up after `tries`
    let running = 0;
    let waiting: (() => void)[] = [];
    // a unit alone (or the last of a round to read, or to end) lets the round go on
    const roundDone = () => {
      if (waiting.length === 0 || waiting.length < running) return;
      for (const w of waiting) w();
      waiting = [];
    };
    const retried: number[] = [];
    const outcomes = await Promise.allSettled(
      Array.from({ length: UNITS }, (_, u) =>
        withTransaction(
          pool,
          async (client) => {
            running++;
            try {
              const before = (await client.query("SELECT description FROM repos WHERE name = 'r'")).rows[0].description as string;
              await new Promise<void>((r) => {
                waiting.push(r);
                roundDone();
              });
              await client.query("UPDATE repos SET description = $1 WHERE name = 'r'", [`${before},${u}`]);
            } finally {
              running--;
              roundDone();
            }
          },
          { url },
          { tries, baseDelayMs: 1, onRetry: (attempt) => retried.push(attempt) },
        ),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason))).toEqual([]);
    const final = (await pool.query("SELECT description FROM repos WHERE name = 'r'")).rows[0].description as string;
    // each unit appended its number once: nothing lost, nothing twice
    expect(final.split(',').slice(1).map(Number).sort((a, b) => a - b)).toEqual([...Array(UNITS).keys()]);
    // the conflicts did happen (how many units got as far as a turn alone depends on timing)
    expect(retried.length).toBeGreaterThan(0);
  });

  it('a unit that keeps conflicting fails with E_CONFLICT after its bounded tries, and leaves nothing', async () => {
    const url = await server.freshDatabase();
    const pool = openPool({ url });
    pools.push(pool);
    await migrate(pool, { url });
    await pool.query("INSERT INTO repos (name, created) VALUES ('r', 1)");
    let tries = 0;
    const retried: string[] = [];
    const err = await withTransaction(
      pool,
      async (client) => {
        tries++;
        await client.query("SELECT description FROM repos WHERE name = 'r'");
        // another connection changes the row and commits between our read and our write
        await pool.query("UPDATE repos SET description = description || 'x' WHERE name = 'r'");
        await client.query("UPDATE repos SET description = 'mine' WHERE name = 'r'");
      },
      { url },
      { tries: 3, baseDelayMs: 1, onRetry: (_, code) => retried.push(code) },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).code).toBe('E_CONFLICT');
    expect(tries).toBe(3);
    expect(retried).toEqual(['40001', '40001']);
    expect((await pool.query("SELECT description FROM repos WHERE name = 'r'")).rows[0].description).toBe('xxx');
  });

  it('a watcher wakes on a branch move when its unit commits, never for a unit rolled back', async () => {
    const url = await server.freshDatabase();
    const m = await PgMetadata.open({ url });
    metas.push(m);
    await m.unitOfWork(async ({ graph }) => {
      await graph.insertRepo({ name: 'r', type: 'user', description: '', created: 1 });
      await graph.setBranch('r', 'master', 'c1', 1);
    });
    const abort = new AbortController();
    // resolved: the LISTEN is in place, so every unit committed from here on is seen
    const watcher = await watch<BranchMoved>({ url }, BRANCH_CHANNEL, abort.signal);
    const events = watcher[Symbol.asyncIterator]();
    const first = events.next();
    await expect(
      m.unitOfWork(async ({ graph }) => {
        expect(await graph.moveBranch('r', 'master', 'c1', 'rolled-back')).toBe(true);
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');
    expect(await m.unitOfWork(({ graph }) => graph.moveBranch('r', 'master', 'c1', 'c2'))).toBe(true);
    expect((await first).value).toEqual({ repo: 'r', branch: 'master', head: 'c2' });
    await m.unitOfWork(({ graph }) => graph.setBranch('r', 'dev', 'c2', 2));
    expect((await events.next()).value).toEqual({ repo: 'r', branch: 'dev', head: 'c2' });
    abort.abort();
    expect((await events.next()).done).toBe(true);
  });

  it('a finished commit is announced on its own channel, once its unit commits', async () => {
    const url = await server.freshDatabase();
    const m = await PgMetadata.open({ url });
    metas.push(m);
    const watcher = await watch<CommitFinished>({ url }, COMMIT_CHANNEL);
    await m.unitOfWork(async ({ graph }) => {
      await graph.insertRepo({ name: 'r', type: 'user', description: '', created: 1 });
      await graph.insertCommit({ repo: 'r', id: 'c1', seq: 1, branch: 'master', parent: null, origin: 'USER', description: '', started: 1, finishing: null, finished: null, root: null, size: 0, files: 0, error: null });
      await graph.finishCommit('r', 'c1', 2, 'done');
    });
    for await (const e of watcher) {
      expect(e).toEqual({ repo: 'r', id: 'c1' });
      break;
    }
  });

  it('batch methods are one round trip each, whatever their size', async () => {
    const m = await openMeta();
    let queries = 0;
    const counted: Binding = {
      db: { query: ((...args: Parameters<pg.Pool['query']>) => (queries++, m.pool.query(...args))) as pg.Pool['query'] },
      atomically: (fn) => fn(counted.db),
      again: (fn) => fn(counted.db),
    };
    const index = new PgChunkIndex(counted);
    const graph = new PgCommitGraph(counted);
    const once = async (what: () => Promise<unknown>): Promise<number> => {
      queries = 0;
      await what();
      return queries;
    };
    const pack = await index.claimPack('w', 1 << 30);
    const ids = Array.from({ length: 2000 }, () => randomBytes(32) as ChunkId);
    expect(await once(() => index.putChunks(ids.map((id, i) => ({ id, pack: pack.id, offset: i, storedLen: 1, rawLen: 1, codec: 0 }))))).toBe(1);
    expect(await once(() => index.existingChunks(ids))).toBe(1);
    expect(await once(() => index.getChunks(ids))).toBe(1);
    const contents = Array.from({ length: 500 }, (_, i) => ({ id: randomBytes(32) as ContentId, size: 2, chunks: [ids[i]!, ids[i + 1]!], endState: Buffer.from('s') }));
    expect(await once(() => index.putContents(contents))).toBe(1);
    expect(await once(() => index.moveChunks(pack.id, pack.id, ids.map((id, i) => ({ id, offset: i + 1 }))))).toBe(1);
    expect(await once(() => graph.setBranchProvenance('out', 'master', Array.from({ length: 20 }, (_, i) => ({ repo: `r${i}`, branch: 'master' }))))).toBe(1);
    expect(await once(() => graph.deleteRepo('out'))).toBe(1);
    // the read path's batches: many contents (listed and one-chunk), and the chains under many deltas
    const sole = ids.slice(1500, 1510) as unknown as ContentId[];
    const missing = randomBytes(32) as ContentId;
    let records = new Map<string, { size: number; chunks: Buffer[] }>();
    expect(await once(async () => (records = await index.getContents([...contents.map((c) => c.id), ...sole, missing])))).toBe(1);
    expect(records.size).toBe(510);
    expect(records.get(contents[7]!.id.toString('latin1'))).toEqual({ id: contents[7]!.id, size: 2, chunks: [ids[7], ids[8]] });
    expect(records.get(sole[3]!.toString('latin1'))).toEqual({ id: sole[3], size: 1, chunks: [sole[3]] });
    expect(records.has(missing.toString('latin1'))).toBe(false);
    // chunk 1000 + i is a delta against 1100 + i, itself one against 1200 + i
    for (let i = 0; i < 50; i++) {
      await m.pool.query('INSERT INTO chunk_deltas (id, base, depth) VALUES ($1, $2, 2), ($2, $3, 1)', [ids[1000 + i], ids[1100 + i], ids[1200 + i]]);
    }
    let chains = new Map<string, unknown>();
    expect(await once(async () => (chains = await index.getChainChunks(ids.slice(1000, 1050))))).toBe(1);
    expect(new Set(chains.keys())).toEqual(new Set([...ids.slice(1100, 1150), ...ids.slice(1200, 1250)].map((b) => b.toString('latin1'))));
    expect(await index.getChainChunks([])).toEqual(new Map());
    expect((await m.index.existingChunks(ids)).size).toBe(2000);
    expect((await m.index.getContent(contents[7]!.id))?.chunks).toEqual([ids[7], ids[8]]);
    expect((await m.index.getChunk(ids[1999]!))?.offset).toBe(2000);
    expect((await m.graph.branchProvenance('out', 'master')).length).toBe(0);
  });

  it('a database that does not exist is E_INVALID naming it', async () => {
    const url = server.server().url('no_such_db');
    const err = await PgMetadata.open({ url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toContain('no_such_db');
  });
});
