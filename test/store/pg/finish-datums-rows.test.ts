// Recording a batch of datum results on PostgreSQL reads the batch's rows, not the job's: a runner
// records a job of n datums in n / batch statements, so one that read every row of the job made
// the job's results cost O(n²). The rows a statement read are the server's own count for the
// transaction (pg_stat_get_xact_tuples_*), on a job planned a moment ago (the server's statistics know
// earlier jobs only, as a runner meets it). And whichever of the table's indexes the planner
// picks for a result's row — its estimates for a key taken from an array are a row or so through
// any of them — the lookup reads that row's own entries.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { DatumResult, NewDatum } from '../../../src/store/job-records.js';
import { PgJobRecords } from '../../../src/store/pg/job-records.js';
import { PgMetadata } from '../../../src/store/pg/metadata.js';
import { usePostgres } from '../../helpers/postgres.js';

const pgServer = usePostgres();
const DATUMS = 4000;
const BATCH = 16;

const newDatum = (i: number, job = 'j'): NewDatum => ({ pipeline: 'p', job, id: `d${String(i).padStart(5, '0')}`, seq: i, hash: `h${i}`, state: 'pending', inputs: [], output: null, started: null, finished: null });
const result = (id: string, runner: string): DatumResult => ({ pipeline: 'p', job: 'j', id, seq: Number(id.slice(1)), runner, state: 'success', output: null, finished: 2, error: null, downloadBytes: 1, uploadBytes: 0 });

describe.skipIf(pgServer.missing !== undefined)(`finishing a batch of datums on PostgreSQL${pgServer.missing ? ` (skipped: ${pgServer.missing})` : ''}`, () => {
  it(`reads the batch's ${BATCH} rows, not the ${DATUMS} of the job, and records only the claims the runner holds`, async () => {
    const url = await pgServer.freshDatabase();
    const m = await PgMetadata.open({ url });
    try {
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.insertPipeline({ name: 'p', version: 1, spec: {}, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 1, updated: 1 });
        await jobs.insertJob('p', 'j0', 1, 's');
        await jobs.insertDatums(Array.from({ length: DATUMS }, (_, i) => ({ ...newDatum(i, 'j0'), state: 'success' })));
      });
      // the server's statistics know the earlier job, not the one just planned: the planner
      // takes the new job for a few rows
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query('ANALYZE datums');
      await admin.end();
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.insertJob('p', 'j', 1, 's');
        await jobs.insertDatums(Array.from({ length: DATUMS }, (_, i) => newDatum(i)));
      });
      // most of the job running, as under a runner part-way through it
      const held = await m.jobs.claimDatums('p', 'j', 'r1', 60_000, DATUMS - 100);
      const other = await m.jobs.claimDatums('p', 'j', 'r2', 60_000, 10);
      expect(held.length).toBe(DATUMS - 100);

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query('BEGIN');
        const jobs = new PgJobRecords({ db: client, atomically: (fn) => fn(client), again: (fn) => fn(client) });
        // the batch: datums r1 holds, one r2 holds (not r1's to record) and one not claimed at all
        const batch = [...held.slice(2000, 2000 + BATCH - 2).map((d) => result(d.id, 'r1')), result(other[0]!.id, 'r1'), result(`d${String(DATUMS - 1).padStart(5, '0')}`, 'r1')];
        await jobs.finishDatums(batch);
        // the table's own scans and its indexes' (an index scan counts the rows it read there)
        const read = (
          await client.query<{ n: string }>(
            `SELECT sum(pg_stat_get_xact_tuples_returned(r) + pg_stat_get_xact_tuples_fetched(r)) AS n
               FROM (SELECT 'datums'::regclass::oid AS r UNION ALL SELECT indexrelid FROM pg_index WHERE indrelid = 'datums'::regclass) rels`,
          )
        ).rows[0]!;
        // a few reads per result (its key's index entry, its row, its row again by ctid): ~80 here;
        // joined on the key, the planner scanned the job's running rows once per result: 71,850
        expect(Number(read.n)).toBeLessThanOrEqual(8 * BATCH);
        await client.query('COMMIT');
      } finally {
        await client.end();
      }
      const states = await m.jobs.datumStates('p', 'j');
      expect(states.success).toBe(BATCH - 2);
      const byId = new Map((await m.jobs.datumOutcomes('p', 'j')).map((d) => [d.id, d.state]));
      expect(byId.get(other[0]!.id)).toBe('running');
      expect(byId.get(`d${String(DATUMS - 1).padStart(5, '0')}`)).toBe('pending');
    } finally {
      await m.close();
    }
  }, 60_000);

  // what each index alone leaves the lookup (the others dropped in a transaction rolled back):
  // a planner that picked datums_by_state for a lookup by key alone matched only (pipeline, job)
  // and read the whole job for each result, as a 10,000-datum job on the team store showed.
  // datums_by_hash holds successful rows only (schema 6): it cannot serve a lookup of running rows.
  const alone: Record<string, string[]> = {
    datums_by_state: ['ALTER TABLE datums DROP CONSTRAINT datums_pkey', 'DROP INDEX datums_by_hash'],
    datums_pkey: ['DROP INDEX datums_by_state', 'DROP INDEX datums_by_hash'],
  };
  for (const [index, drops] of Object.entries(alone)) {
    it(`reads the batch's rows when the planner looks them up through ${index}`, async () => {
      const url = await pgServer.freshDatabase();
      const m = await PgMetadata.open({ url });
      try {
        await m.unitOfWork(async ({ jobs }) => {
          await jobs.insertPipeline({ name: 'p', version: 1, spec: {}, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 1, updated: 1 });
          await jobs.insertJob('p', 'j', 1, 's');
          await jobs.insertDatums(Array.from({ length: DATUMS }, (_, i) => newDatum(i)));
        });
        const held = await m.jobs.claimDatums('p', 'j', 'r1', 60_000, DATUMS - 100);
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query('BEGIN');
          for (const sql of drops) await client.query(sql);
          // a scan of the table per result is no lookup at all: the index is what is asked about
          await client.query('SET LOCAL enable_seqscan = off');
          const jobs = new PgJobRecords({ db: client, atomically: (fn) => fn(client), again: (fn) => fn(client) });
          const batch = held.slice(2000, 2000 + BATCH).map((d) => result(d.id, 'r1'));
          await jobs.finishDatums(batch);
          const used = await client.query<{ rel: string; n: string }>(
            `SELECT r::regclass::text AS rel, pg_stat_get_xact_tuples_returned(r) + pg_stat_get_xact_tuples_fetched(r) AS n
               FROM (SELECT 'datums'::regclass::oid AS r UNION ALL SELECT indexrelid FROM pg_index WHERE indrelid = 'datums'::regclass) rels`,
          );
          expect(used.rows.map((x) => x.rel).sort()).toEqual(['datums', index]);
          const done = await client.query<{ n: string }>("SELECT count(*) AS n FROM datums WHERE pipeline = 'p' AND job = 'j' AND state = 'success'");
          expect(Number(done.rows[0]!.n)).toBe(BATCH);
          // a few reads per result; by the key alone through datums_by_state: the job's 4,000 rows per result
          expect(used.rows.reduce((a, x) => a + Number(x.n), 0)).toBeLessThanOrEqual(8 * BATCH);
          await client.query('ROLLBACK');
        } finally {
          await client.end();
        }
      } finally {
        await m.close();
      }
    }, 60_000);
  }
});
