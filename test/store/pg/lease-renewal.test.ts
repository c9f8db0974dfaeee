// A runner renews the leases of its datums (one UPDATE over its rows) while, on another
// connection, its own result write updates some of the same rows in another order: PostgreSQL may
// end either statement as a deadlock's victim. The result write is a unit, run again; the renewal
// must be run again too, not fail the job ("runner error: deadlock detected").
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewDatum } from '../../../src/store/job-records.js';
import { PgMetadata } from '../../../src/store/pg/metadata.js';
import { usePostgres } from '../../helpers/postgres.js';

const server = usePostgres();
const skip = server.missing !== undefined;
const opened: { end(): Promise<void> }[] = [];
afterAll(async () => {
  for (const c of opened.splice(0)) await c.end();
});

const newDatum = (i: number): NewDatum => ({ pipeline: 'p', job: 'j', id: `d${i}`, seq: i, hash: `h${i}`, state: 'pending', inputs: [], output: null, started: null, finished: null });

/** A fresh database with pipeline p, its job j and datums d0…d(n-1), opened as a runner opens it. */
async function jobOf(n: number, onRetry?: (attempt: number, code: string) => void): Promise<{ url: string; m: PgMetadata }> {
  const url = await server.freshDatabase();
  const m = await PgMetadata.open({ url }, onRetry ? { onRetry } : undefined);
  opened.push({ end: () => m.close() });
  await m.unitOfWork(async ({ jobs }) => {
    await jobs.insertPipeline({ name: 'p', version: 1, spec: {}, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 1, updated: 1 });
    await jobs.insertJob('p', 'j', 1, 's');
    await jobs.insertDatums(Array.from({ length: n }, (_, i) => newDatum(i)));
  });
  return { url, m };
}

/** Resolves once a lease renewal waits for a row lock (seen from another session). */
async function renewalWaits(watcher: pg.Client): Promise<void> {
  for (;;) {
    const r = await watcher.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE datums%SET lease_until%'");
    if (r.rowCount) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.skipIf(skip)(`a lease renewal on PostgreSQL${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  it("that is a deadlock's victim is run again, and renews every lease", async () => {
    const retried: string[] = [];
    const { url, m } = await jobOf(2, (_, code) => retried.push(code));
    expect((await m.jobs.claimDatums('p', 'j', 'r1', 60_000, 2)).map((d) => d.id)).toEqual(['d0', 'd1']);

    const writer = new pg.Client({ connectionString: url });
    const watcher = new pg.Client({ connectionString: url });
    await writer.connect();
    await watcher.connect();
    opened.push(writer, watcher);
    // the rows in both orders: in one of them the renewal holds the row the writer asks for second
    let writerVictim = 0;
    for (const [first, second] of [
      ['d0', 'd1'],
      ['d1', 'd0'],
    ]) {
      const touch = (id: string) => writer.query("UPDATE datums SET error = NULL WHERE pipeline = 'p' AND job = 'j' AND id = $1", [id]);
      // leases nearly out: the renewal writes both rows
      await writer.query("UPDATE datums SET lease_until = $1 WHERE pipeline = 'p' AND job = 'j'", [Date.now() + 1_000]);
      await writer.query('BEGIN');
      await touch(first!);
      const renewal = m.jobs.renewDatumLeases('p', 'j', 'r1', Date.now() + 60_000, Date.now() + 30_000).then(
        (ids) => ({ ids }),
        (err: unknown) => ({ err }),
      );
      await renewalWaits(watcher);
      const second_ = await touch(second!).then(
        () => 'done',
        (err: { code?: string }) => err.code,
      );
      if (second_ === '40P01') writerVictim++;
      await writer.query(second_ === 'done' ? 'COMMIT' : 'ROLLBACK');
      const r = await renewal;
      expect('err' in r ? String((r as { err: unknown }).err) : 'renewed').toBe('renewed');
      expect([...(r as { ids: Set<string> }).ids].sort()).toEqual(['d0', 'd1']);
    }
    // the deadlock did happen: the renewal was its victim (and ran again), or the writer was
    expect(retried.filter((c) => c === '40P01').length + writerVictim).toBeGreaterThanOrEqual(1);
    const leases = await watcher.query("SELECT id, lease_until > $1::bigint AS renewed FROM datums WHERE pipeline = 'p' AND job = 'j' ORDER BY id", [Date.now() + 30_000]);
    expect(leases.rows).toEqual([
      { id: 'd0', renewed: true },
      { id: 'd1', renewed: true },
    ]);
  });

  it('writes only the leases that are due, and reports every datum the runner holds', async () => {
    const { url, m } = await jobOf(3);
    await m.jobs.claimDatums('p', 'j', 'r1', 60_000, 2);
    await m.jobs.claimDatums('p', 'j', 'r2', 60_000, 1);
    const look = new pg.Client({ connectionString: url });
    await look.connect();
    opened.push(look);
    const rows = async () => (await look.query("SELECT id, xmin::text AS version, lease_until::bigint AS lease FROM datums WHERE pipeline = 'p' AND job = 'j' ORDER BY id")).rows as { id: string; version: string; lease: string }[];

    const before = await rows();
    // a renewal well within the leases: nothing is written, both datums are still r1's
    expect([...(await m.jobs.renewDatumLeases('p', 'j', 'r1', Date.now() + 60_000, Date.now() + 30_000))].sort()).toEqual(['d0', 'd1']);
    expect(await rows()).toEqual(before);

    // d0's lease is nearly out: it alone is written, to the new end
    await look.query("UPDATE datums SET lease_until = $1 WHERE pipeline = 'p' AND job = 'j' AND id = 'd0'", [Date.now() + 1_000]);
    const mid = await rows();
    const until = Date.now() + 60_000;
    expect([...(await m.jobs.renewDatumLeases('p', 'j', 'r1', until, until - 30_000))].sort()).toEqual(['d0', 'd1']);
    const after = await rows();
    expect(Number(after[0]!.lease)).toBe(until);
    expect(after.slice(1)).toEqual(mid.slice(1));

    // a datum restarted (sent back to the queue) is no longer reported held
    await look.query("UPDATE datums SET state = 'pending', claimed_by = NULL, lease_until = NULL WHERE pipeline = 'p' AND job = 'j' AND id = 'd1'");
    expect([...(await m.jobs.renewDatumLeases('p', 'j', 'r1', Date.now() + 60_000, Date.now() + 30_000))]).toEqual(['d0']);
  });
  it('given the ids the runner holds, renews and answers for those only', async () => {
    const { url, m } = await jobOf(6);
    // r1 holds d0-d3 (d3 left over from an earlier pass it no longer knows of), r2 holds d4
    await m.jobs.claimDatums('p', 'j', 'r1', 60_000, 4);
    await m.jobs.claimDatums('p', 'j', 'r2', 60_000, 1);
    const look = new pg.Client({ connectionString: url });
    await look.connect();
    opened.push(look);
    await look.query("UPDATE datums SET lease_until = 1 WHERE pipeline = 'p' AND job = 'j'");
    // d1 was restarted elsewhere; d4 is another runner's; d5 was never claimed
    await look.query("UPDATE datums SET state = 'pending', claimed_by = NULL, lease_until = NULL WHERE pipeline = 'p' AND job = 'j' AND id = 'd1'");
    const until = Date.now() + 60_000;
    expect([...(await m.jobs.renewDatumLeases('p', 'j', 'r1', until, until - 30_000, ['d0', 'd1', 'd2', 'd4', 'd5']))].sort()).toEqual(['d0', 'd2']);
    const leases = Object.fromEntries((await look.query("SELECT id, lease_until::bigint AS lease FROM datums WHERE pipeline = 'p' AND job = 'j'")).rows.map((r: { id: string; lease: string | null }) => [r.id, r.lease === null ? null : Number(r.lease)]));
    // only the named datums this runner holds were renewed: d3 runs out, and another runner may take it over
    expect(leases).toEqual({ d0: until, d1: null, d2: until, d3: 1, d4: 1, d5: 1 });
    expect([...(await m.jobs.renewDatumLeases('p', 'j', 'r1', until, until - 30_000, []))]).toEqual([]);
  });
});
