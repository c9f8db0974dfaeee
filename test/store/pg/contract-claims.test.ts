// Datum claims under many claimers, on SQLite and PostgreSQL alike: concurrent runners take
// disjoint datums without errors, expired leases are taken over once each, and a runner that lost
// its claim cannot record a result over the new owner's.
import { describe, expect, it } from 'vitest';
import type { DatumResult, NewDatum } from '../../../src/store/job-records.js';
import type { AsyncMetadataStore } from '../../../src/store/pg/async-contract.js';
import { contractBackends } from './backends.js';

const BACKENDS = contractBackends();

const DATUMS = 2000;
const CLAIMERS = 6;
// what a runner claims per write at first (src/pipeline/datum-claims.ts)
const BATCH = 16;

const newDatum = (i: number): NewDatum => ({ pipeline: 'p', job: 'j', id: `d${String(i).padStart(4, '0')}`, seq: i, hash: `h${i}`, state: 'pending', inputs: [], output: null, started: null, finished: null });
const result = (id: string, runner: string, extra: Partial<DatumResult> = {}): DatumResult => ({
  pipeline: 'p',
  job: 'j',
  id,
  seq: Number(id.slice(1)),
  runner,
  state: 'success',
  output: null,
  finished: 1,
  error: null,
  downloadBytes: 0,
  uploadBytes: 0,
  ...extra,
});

async function plan(m: AsyncMetadataStore, n: number): Promise<void> {
  await m.unitOfWork(async ({ jobs }) => {
    await jobs.insertPipeline({ name: 'p', version: 1, spec: {}, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 1, updated: 1 });
    await jobs.insertJob('p', 'j', 1, 's');
    await jobs.insertDatums(Array.from({ length: n }, (_, i) => newDatum(i)));
  });
}

type Claim = (m: AsyncMetadataStore, runner: string, leaseMs: number) => Promise<string[]>;
/**
 * As a runner claims (DatumClaims): a statement of its own, which claimers pass each other by
 * without a conflict; and inside a unit of work, whose SERIALIZABLE snapshot makes a row another
 * claim committed meanwhile a conflict, retried (on PostgreSQL), but never a double claim or an error.
 */
const CLAIM_FORMS: { form: string; claim: Claim; retried: boolean }[] = [
  { form: 'each claim a statement of its own', claim: async (m, runner, leaseMs) => (await m.jobs.claimDatums('p', 'j', runner, leaseMs, BATCH)).map((d) => d.id), retried: false },
  {
    form: 'each claim inside a unit of work',
    claim: async (m, runner, leaseMs) => (await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j', runner, leaseMs, BATCH))).map((d) => d.id),
    retried: true,
  },
];

/** `n` claimers at once, each claiming batches until none is left; what each took, in order. */
async function claimAll(m: AsyncMetadataStore, claim: Claim, n: number, leaseMs = 60_000): Promise<Map<string, string[]>> {
  const taken = new Map<string, string[]>();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const runner = `r${i}`;
      const mine: string[] = [];
      taken.set(runner, mine);
      for (;;) {
        const got = await claim(m, runner, leaseMs);
        if (got.length === 0) return;
        mine.push(...got);
      }
    }),
  );
  return taken;
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`datum claims under many claimers on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ''}`, () => {
    it('nextLeaseEnd: the first lease of a datum running in an open job, none once nothing runs or the job ended', async () => {
      const m = await backend.open();
      await plan(m, 3);
      expect(await m.jobs.nextLeaseEnd()).toBeUndefined();
      const before = Date.now();
      await m.jobs.claimDatums('p', 'j', 'a', 5_000, 1);
      await m.jobs.claimDatums('p', 'j', 'b', 60_000, 1);
      const end = await m.jobs.nextLeaseEnd();
      expect(end).toBeGreaterThanOrEqual(before + 5_000);
      expect(end).toBeLessThan(before + 60_000);
      await m.jobs.finishDatums([result('d0000', 'a')]);
      expect(await m.jobs.nextLeaseEnd()).toBeGreaterThanOrEqual(before + 60_000);
      // the datum b holds is not waited for once its job has ended
      await m.jobs.setJobState('p', 'j', 'JOB_KILLED', 'stopped', 2);
      expect(await m.jobs.nextLeaseEnd()).toBeUndefined();
    });

    for (const { form, claim, retried } of CLAIM_FORMS) {
      it(`${CLAIMERS} claimers over a job of ${DATUMS} datums, ${form}: each datum claimed once, no error${retried ? '' : ' nor conflict retried'}, finishing all leaves each done once`, async () => {
        const retries: string[] = [];
        const m = await backend.open({ onRetry: (_, code) => retries.push(code) });
        await plan(m, DATUMS);
        const taken = await claimAll(m, claim, CLAIMERS);
        const all = [...taken.values()].flat();
        expect(all.length).toBe(DATUMS);
        expect(new Set(all).size).toBe(DATUMS);
        // claimers took disjoint datums without being turned back: no serialization failure to retry
        if (!retried) expect(retries).toEqual([]);
        const datums = await m.jobs.datumsOf('p', 'j');
        expect(datums.filter((d) => d.state !== 'running' || d.attempts !== 1)).toEqual([]);
        for (const [runner, ids] of taken) expect(datums.filter((d) => d.claimedBy === runner).map((d) => d.id).sort()).toEqual([...ids].sort());

        // each finishes what it claimed, all at once
        await Promise.all(
          [...taken].map(([runner, ids]) =>
            m.unitOfWork(async ({ jobs }) => {
              await jobs.finishDatums(ids.map((id) => result(id, runner, { downloadBytes: 1 })));
              await jobs.finishAttempts(ids.map((id) => ({ pipeline: 'p', job: 'j', datum: id, attempt: 1, worker: runner, started: 1, finished: 2, outcome: 'success', error: null })));
            }),
          ),
        );
        expect(await m.jobs.datumStates('p', 'j')).toEqual({ pending: 0, running: 0, success: DATUMS, skipped: 0, failed: 0, recovered: 0 });
        expect(await m.jobs.datumBytes('p', 'j')).toEqual({ downloadBytes: DATUMS, uploadBytes: 0 });
        const attempts = await m.jobs.attemptsOf('p', 'j');
        expect(attempts.length).toBe(DATUMS);
        expect(attempts.filter((a) => a.attempt !== 1 || a.outcome !== 'success')).toEqual([]);
        expect(await claim(m, 'late', 60_000)).toEqual([]);
      });
    }

    it(`expired leases taken over by ${CLAIMERS} claimers at once: each datum retaken by exactly one`, async () => {
      const retries: string[] = [];
      const m = await backend.open({ onRetry: (_, code) => retries.push(code) });
      await plan(m, DATUMS);
      // a runner claimed every datum and went away: its leases have run out
      expect((await m.jobs.claimDatums('p', 'j', 'gone', -1, DATUMS)).length).toBe(DATUMS);
      const taken = await claimAll(m, CLAIM_FORMS[0]!.claim, CLAIMERS);
      const all = [...taken.values()].flat();
      expect(all.length).toBe(DATUMS);
      expect(new Set(all).size).toBe(DATUMS);
      expect(retries).toEqual([]);
      const datums = await m.jobs.datumsOf('p', 'j');
      expect(datums.filter((d) => d.state !== 'running' || d.attempts !== 2 || d.claimedBy === 'gone')).toEqual([]);
      // the runner that went away holds nothing now
      expect([...(await m.jobs.renewDatumLeases('p', 'j', 'gone', Date.now() + 60_000))]).toEqual([]);
    });

    it('a runner whose lease ran out: another takes its datums, and its late results do not overwrite the new owner’s', async () => {
      const m = await backend.open();
      await plan(m, 4);
      // A claims everything, then stops renewing: its leases run out
      expect((await m.jobs.claimDatums('p', 'j', 'A', -1, 4)).map((d) => d.id)).toEqual(['d0000', 'd0001', 'd0002', 'd0003']);
      expect((await m.jobs.claimDatums('p', 'j', 'B', 60_000, 4)).map((d) => [d.id, d.claimedBy, d.attempts])).toEqual([
        ['d0000', 'B', 2],
        ['d0001', 'B', 2],
        ['d0002', 'B', 2],
        ['d0003', 'B', 2],
      ]);
      // B finishes d0000; A, unaware, finishes d0000 after it and d0001 while B still runs it
      await m.unitOfWork(({ jobs }) => jobs.finishDatums([result('d0000', 'B', { finished: 10, downloadBytes: 5 })]));
      await m.unitOfWork(({ jobs }) =>
        jobs.finishDatums([result('d0000', 'A', { state: 'failed', error: 'late', finished: 11 }), result('d0001', 'A', { state: 'failed', error: 'late', finished: 12, downloadBytes: 99 })]),
      );
      expect(await m.jobs.getDatum('p', 'j', 'd0000')).toMatchObject({ state: 'success', finished: 10, error: null, downloadBytes: 5 });
      // d0001 is still B's, running: A's result did not land
      expect(await m.jobs.getDatum('p', 'j', 'd0001')).toMatchObject({ state: 'running', claimedBy: 'B', finished: null, error: null, downloadBytes: 0 });
      await m.unitOfWork(({ jobs }) => jobs.finishDatums([result('d0001', 'B', { finished: 20, downloadBytes: 6 })]));
      expect(await m.jobs.getDatum('p', 'j', 'd0001')).toMatchObject({ state: 'success', finished: 20, downloadBytes: 6, claimedBy: null });
      // A renews: it holds nothing, so it stops what it runs
      expect([...(await m.jobs.renewDatumLeases('p', 'j', 'A', Date.now() + 60_000))]).toEqual([]);
      // and A giving back its claims gives back nothing of B's
      expect(await m.jobs.releaseClaims('p', 'j', 'A')).toBe(0);
      expect(await m.jobs.datumStates('p', 'j')).toMatchObject({ running: 2, success: 2 });
    });
  });
}
