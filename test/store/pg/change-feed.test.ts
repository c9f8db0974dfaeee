// The change feed a waiter sleeps on: on PostgreSQL, one LISTEN connection woken by the
// notifications the job and datum writes (and log batches) now send, closed when the wait ends,
// failing with E_IO naming the database when its connection is lost; on SQLite, the poll interval.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { IoError } from '../../../src/errors.js';
import { pollingFeed } from '../../../src/store/change-feed.js';
import type { NewDatum } from '../../../src/store/job-records.js';
import { pgFailure } from '../../../src/store/pg/connection.js';
import { PgMetadata } from '../../../src/store/pg/metadata.js';
import { JOB_CHANNEL, LOG_CHANNEL, listenForChanges, watch } from '../../../src/store/pg/watch.js';
import { usePostgres } from '../../helpers/postgres.js';

const HOUR = 3_600_000;

describe('the polling feed (a store that cannot notify)', () => {
  it('wakes after the poll interval or the limit, and at once once closed or aborted', async () => {
    const abort = new AbortController();
    const feed = pollingFeed(abort.signal);
    await feed.next(1);
    await feed.next(HOUR, 1);
    const pending = feed.next(HOUR);
    abort.abort();
    await pending;
    await feed.next(HOUR);
    await feed.close();
  });
});

describe('a connection lost under a statement', () => {
  it('is E_IO naming the database, whether the server ended the session or the socket closed', () => {
    const target = { url: 'postgres://tusk:hunter2@db.example:5432/meta' };
    for (const err of [Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), new Error('Connection terminated unexpectedly')]) {
      const mapped = pgFailure(err, target);
      expect(mapped).toBeInstanceOf(IoError);
      expect(mapped!.message).toBe(`lost the connection to the metadata database postgres://tusk:***@db.example:5432/meta: ${err.message}`);
    }
  });
});

const server = usePostgres();
const skip = server.missing !== undefined;

const datum = (i: number): NewDatum => ({ pipeline: 'p', job: 'j', id: `d${i}`, seq: i, hash: `h${i}`, state: 'pending', inputs: [], output: null, started: null, finished: null });

describe.skipIf(skip)(`the change feed on PostgreSQL${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  const metas: PgMetadata[] = [];
  afterEach(async () => {
    for (const m of metas.splice(0)) await m.close();
  });
  const open = async () => {
    const url = await server.freshDatabase();
    const m = await PgMetadata.open({ url });
    metas.push(m);
    await m.unitOfWork(({ jobs }) => jobs.insertPipeline({ name: 'p', version: 1, spec: {}, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 1, updated: 1 }));
    return { url, m };
  };

  it('every write of a job or of its datums notifies the job once its unit commits; a log batch notifies too', async () => {
    const { url, m } = await open();
    const jobEvents = (await watch<{ pipeline: string; job: string }>({ url }, JOB_CHANNEL))[Symbol.asyncIterator]();
    const expectJob = async (what: string) => expect((await jobEvents.next()).value, what).toEqual({ pipeline: 'p', job: 'j' });
    await m.unitOfWork(({ jobs }) => jobs.insertJob('p', 'j', 1, 's'));
    await expectJob('insertJob');
    await m.unitOfWork(async ({ jobs }) => {
      await jobs.startJob('p', 'j', 3, 'r', Date.now() + HOUR);
      await jobs.insertDatums([0, 1, 2].map(datum));
    });
    await expectJob('startJob');
    expect((await m.jobs.claimDatums('p', 'j', 'r', HOUR, 3)).length).toBe(3);
    await m.jobs.finishDatums([{ pipeline: 'p', job: 'j', id: 'd0', seq: 0, runner: 'r', state: 'success', output: null, finished: 5, error: null, downloadBytes: 0, uploadBytes: 0 }]);
    await expectJob('finishDatums');
    expect(await m.jobs.restartDatums('p', 'j', ['d1'])).toEqual(['d1']);
    await expectJob('restartDatums');
    // a runner that stops gives its datums back: waiting workers wake to take them
    expect(await m.jobs.releaseClaims('p', 'j', 'r')).toBe(1);
    await expectJob('releaseClaims');
    // a restart that restarts nothing changes nothing, and says nothing: the next event is the counts'
    expect(await m.jobs.restartDatums('p', 'j', ['d0'])).toEqual([]);
    await m.jobs.setCounts({ pipeline: 'p', id: 'j', processed: 1, skipped: 0, failed: 0, recovered: 0, downloadBytes: 0, uploadBytes: 0 });
    await expectJob('setCounts');
    await m.jobs.setJobState('p', 'j', 'JOB_SUCCESS', null, 9);
    await expectJob('setJobState');
    await m.jobs.deleteJob('p', 'j');
    await expectJob('deleteJob');

    const logEvents = (await watch<{ pipeline: string; job: string }>({ url }, LOG_CHANNEL))[Symbol.asyncIterator]();
    // a batch of lines is written, and notified, as one statement
    const log = m.logs.appender('p', 'j');
    log.append({ ts: new Date().toISOString(), datum: 'd0', stream: 'stdout', message: 'hello' });
    await log.close();
    expect((await logEvents.next()).value).toEqual({ pipeline: 'p', job: 'j' });
    await jobEvents.return?.();
    await logEvents.return?.();
  });

  it('next() wakes on a change committed while it waits, or before it was called, long before its safety interval', async () => {
    const { url, m } = await open();
    const feed = await listenForChanges({ url }, undefined, { safetyMs: HOUR });
    // a wait of an hour that a committed job write ends (the test would time out otherwise)
    const waiting = feed.next(10);
    await m.unitOfWork(({ jobs }) => jobs.insertJob('p', 'j', 1, 's'));
    await waiting;
    // what committed between two waits is not lost: the next wait returns at once
    await m.jobs.setJobState('p', 'j', 'JOB_RUNNING', null, null);
    await feed.next(10);
    // a branch move and a finished commit wake it as well
    await m.unitOfWork(async ({ graph }) => {
      await graph.insertRepo({ name: 'r', type: 'user', description: '', created: 1 });
      await graph.setBranch('r', 'master', 'c1', 1);
    });
    await feed.next(10);
    // the caller's limit ends a quiet wait
    await feed.next(10, 1);
    await feed.close();
    // closed: no connection left, and a wait returns at once
    await feed.next(10);
    await waitFor(async () => (await listeners(url)) === 0);
  });

  it('aborting the signal ends a wait and closes the connection', async () => {
    const { url } = await open();
    const abort = new AbortController();
    const feed = await listenForChanges({ url }, abort.signal, { safetyMs: HOUR });
    expect(await listeners(url)).toBe(1);
    const waiting = feed.next(10);
    abort.abort();
    await waiting;
    await waitFor(async () => (await listeners(url)) === 0);
  });

  it('a lost connection ends the wait with E_IO naming the database, not a hang', async () => {
    const { url } = await open();
    const feed = await listenForChanges({ url }, undefined, { safetyMs: HOUR });
    const waiting = feed.next(10).catch((e: unknown) => e);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'");
    } finally {
      await admin.end();
    }
    const err = await waiting;
    expect(err).toBeInstanceOf(IoError);
    expect((err as IoError).code).toBe('E_IO');
    expect((err as IoError).message).toContain(new URL(url).pathname.slice(1));
    await feed.close();
  });
});

/** How many connections to the database listen for changes. */
async function listeners(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'")).rows[0].n);
  } finally {
    await c.end();
  }
}

/** Poll `ok` until it holds (the server notices a closed connection a moment after the client). */
async function waitFor(ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met within 5 s');
}
