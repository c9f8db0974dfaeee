// A runner's lease renewal and its next claim run at once on PostgreSQL (the watch and a lane,
// each on a connection of the pool). The renewal answers with the datums it found held when it
// began; a batch claimed while it ran is not in that answer, and must not be taken for datums
// restarted elsewhere: a lane would skip them (still claimed by this runner, they waited for the
// lease to run out), and a datum stopped as restarted just after it ended was given back in the
// same batch as its end (the same attempt twice in one statement, which failed the job).
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DatumClaims } from '../../src/pipeline/datum-claims.js';
import type { JobRecord, NewDatum } from '../../src/store/job-records.js';
import { PgMetadata } from '../../src/store/pg/metadata.js';
import type { StoreHandle } from '../../src/store/store-handle.js';
import { usePostgres } from '../helpers/postgres.js';

const pgServer = usePostgres();
const newDatum = (i: number): NewDatum => ({ pipeline: 'p', job: 'j', id: `d${String(i).padStart(3, '0')}`, seq: i, hash: `h${i}`, state: 'pending', inputs: [], output: null, started: null, finished: null });

describe.skipIf(pgServer.missing !== undefined)(`a lease renewal beside a claim on PostgreSQL${pgServer.missing ? ` (skipped: ${pgServer.missing})` : ''}`, () => {
  it('a batch claimed while the renewal ran is not taken for restarted datums; a queued datum restarted before it is', async () => {
    const url = await pgServer.freshDatabase();
    const m = await PgMetadata.open({ url });
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    // outside a transaction: pg_stat_activity is read once per transaction
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    try {
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.insertPipeline({ name: 'p', version: 1, spec: {}, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 1, updated: 1 });
        await jobs.insertJob('p', 'j', 1, 's');
        await jobs.insertDatums(Array.from({ length: 100 }, (_, i) => newDatum(i)));
      });
      const job = (await m.jobs.getJob('p', 'j')) as JobRecord;
      // the store's own job records, on the pool: all DatumClaims uses of a store
      const claims = new DatumClaims({ jobs: m.jobs } as unknown as StoreHandle, job, 'r1');
      // the first batch (16), every datum of it handed to a lane
      const firstBatch = [];
      for (let i = 0; i < 16; i++) firstBatch.push((await claims.next())!.id);
      expect(firstBatch[15]).toBe('d015');

      // the renewal waits on a row lock held elsewhere, its snapshot taken (the batch's leases
      // nearly out: a renewal writes only leases past half their span)
      await watcher.query("UPDATE datums SET lease_until = $1 WHERE pipeline = 'p' AND job = 'j' AND state = 'running'", [Date.now() + 1_000]);
      await blocker.query('BEGIN');
      await blocker.query("SELECT id FROM datums WHERE pipeline = 'p' AND job = 'j' AND id = 'd000' FOR UPDATE");
      const renewing = claims.renew();
      for (;;) {
        const waiting = await watcher.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE datums%SET lease_until%'");
        if (waiting.rowCount) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      // meanwhile a lane claims the next batch
      expect((await claims.next())!.id).toBe('d016');
      await blocker.query('COMMIT');
      const ours = await renewing;
      // the renewal's answer: the batch held when it began, not the one claimed after
      expect(ours.has('d015')).toBe(true);
      expect(ours.has('d016')).toBe(false);
      // the rest of that batch, queued while the renewal ran: still this runner's, none restarted
      const d017 = (await claims.next())!;
      expect(d017.id).toBe('d017');
      expect(claims.takeRestarted(d017)).toBe(false);
      expect((await claims.renew()).has('d017')).toBe(true);

      // a queued datum taken from this runner (`restart datum`) before a renewal is one it skips
      await m.jobs.restartDatums('p', 'j', ['d018']);
      expect((await claims.renew()).has('d018')).toBe(false);
      const d018 = (await claims.next())!;
      expect(d018.id).toBe('d018');
      expect(claims.takeRestarted(d018)).toBe(true);
    } finally {
      await blocker.end();
      await watcher.end();
      await m.close();
    }
  }, 60_000);
});
