// Job records in a real meta.db: datum claims and leases, the records the contract speaks in,
// and the unit of work they are written in.
import { describe, expect, it } from 'vitest';
import type { DatumFile, JobRecords } from '../../src/store/job-records.js';
import { tempStores } from '../helpers.js';

const store = tempStores();
const jobs = () => store().core.jobs;

function fileOf(n: number): DatumFile {
  return { name: 'in', repo: 'in', branch: 'master', commit: 'c'.repeat(32), path: `/f${n}`, type: 'file', hash: 'ab'.repeat(32), size: n };
}

async function addJob(j: JobRecords, pipeline: string, job: string, datums: number) {
  await j.insertJob(pipeline, job, 1, 'salt');
  await j.insertDatums(Array.from({ length: datums }, (_, i) => ({ pipeline, job, id: `${job}-d${i}`, seq: i, hash: `h${i}`, state: 'pending' as const, inputs: [fileOf(i)], output: null, started: null, finished: null })));
}

/** A promise and the function that resolves it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe('datum leases', () => {
  it('a runner renews the leases of its running datums in the job it names, and no others', async () => {
    const j = jobs();
    await addJob(j, 'p', 'job1', 3);
    await addJob(j, 'p', 'job2', 2);
    const lease = 1_000;
    expect((await j.claimDatums('p', 'job1', 'runner-a', lease, 2)).map((d) => d.id)).toEqual(['job1-d0', 'job1-d1']);
    expect((await j.claimDatums('p', 'job2', 'runner-a', lease, 1)).map((d) => d.id)).toEqual(['job2-d0']);
    expect((await j.claimDatums('p', 'job1', 'runner-b', lease, 1)).map((d) => d.id)).toEqual(['job1-d2']);
    const until = Date.now() + 3_600_000;
    // one call renews and says what the runner still holds
    expect([...(await j.renewDatumLeases('p', 'job1', 'runner-a', until))].sort()).toEqual(['job1-d0', 'job1-d1']);
    const leaseOf = async (job: string, id: string) => (await j.getDatum('p', job, id))!.leaseUntil;
    expect(await leaseOf('job1', 'job1-d0')).toBe(until);
    expect(await leaseOf('job1', 'job1-d1')).toBe(until);
    expect(await leaseOf('job1', 'job1-d2')).not.toBe(until); // runner-b's
    expect(await leaseOf('job2', 'job2-d0')).not.toBe(until); // another job's
    // once the short leases run out, another runner retakes exactly the datums nobody renewed
    const retaken = async () => (await j.claimDatums('p', 'job1', 'runner-c', lease, 10)).map((d) => d.id);
    await new Promise((r) => setTimeout(r, lease + 50));
    expect(await retaken()).toEqual(['job1-d2']);
  });
});

describe('records, not rows', () => {
  it('datums come back with their input files parsed and their fields in camelCase', async () => {
    const j = jobs();
    await addJob(j, 'p', 'job1', 2);
    const [d] = await j.claimDatums('p', 'job1', 'runner-a', 60_000, 1);
    expect(d!.inputs).toEqual([fileOf(0)]);
    expect(d!.claimedBy).toBe('runner-a');
    expect(d!.leaseUntil).toBeGreaterThan(Date.now());
    await j.finishDatums([{ pipeline: 'p', job: 'job1', id: d!.id, seq: d!.seq, runner: 'runner-a', state: 'success', output: null, finished: Date.now(), error: null, downloadBytes: 7, uploadBytes: 3 }]);
    expect(await j.datumBytes('p', 'job1')).toEqual({ downloadBytes: 7, uploadBytes: 3 });
    expect((await j.getDatum('p', 'job1', d!.id))!).toMatchObject({ state: 'success', claimedBy: null, leaseUntil: null, downloadBytes: 7, uploadBytes: 3 });
  });

  it('a pipeline keeps its decoded spec and output branch as values', async () => {
    const j = jobs();
    const spec = { name: 'p', input: { pfs: { repo: 'in', glob: '/*' } }, output_branch: 'out' };
    await j.insertPipeline({ name: 'p', version: 1, spec, raw: '{"name":"p"}', salt: 's', outputBranch: 'out', stopped: false, created: 1, updated: 1 });
    expect(await j.getPipeline('p')).toEqual({ name: 'p', version: 1, spec, raw: '{"name":"p"}', salt: 's', outputBranch: 'out', stopped: false, created: 1, updated: 1 });
    expect((await j.pipelineOwning('p', 'out'))?.name).toBe('p');
  });

  it("a job's datum inputs are read a page at a time, in plan order", async () => {
    const j = jobs();
    const n = 2_345; // more than two pages
    await j.insertJob('p', 'big', 1, 'salt');
    // inserted out of plan order: the order read is the plan's (seq), not the insertion's
    const order = Array.from({ length: n }, (_, i) => (i * 7919) % n);
    await j.insertDatums(order.map((seq) => ({ pipeline: 'p', job: 'big', id: `d${seq}`, seq, hash: 'h', state: 'pending' as const, inputs: [fileOf(seq)], output: null, started: null, finished: null })));
    const seen: number[] = [];
    for await (const d of j.iterateDatumInputs('p', 'big')) seen.push(d.inputs[0]!.size);
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('earlier results of many datums are asked for at once', async () => {
    const j = jobs();
    await addJob(j, 'p', 'old', 3);
    const claimed = await j.claimDatums('p', 'old', 'r', 60_000, 3);
    await j.finishDatums(claimed.map((d) => ({ pipeline: 'p', job: 'old', id: d.id, seq: d.seq, runner: 'r', state: d.id.endsWith('d1') ? 'failed' : 'success', output: null, finished: Date.now(), error: null, downloadBytes: 0, uploadBytes: 0 })));
    const found = await j.priorResults('p', [
      { id: 'old-d0', hash: 'h0' },
      { id: 'old-d1', hash: 'h1' }, // failed: nothing to reuse
      { id: 'old-d2', hash: 'other' }, // another hash: another datum
    ]);
    expect([...found.keys()]).toEqual(['old-d0']);
  });
});

describe('the unit of work', () => {
  it("lands all of a unit's writes, or none when its body throws", async () => {
    const s = store().core;
    await expect(
      s.unitOfWork(async (tx) => {
        await tx.jobs.insertJob('p', 'kept-out', 1, 'salt');
        await tx.jobs.setJobState('p', 'kept-out', 'JOB_RUNNING', null, null);
        throw new Error('the body failed');
      }),
    ).rejects.toThrow('the body failed');
    expect(await s.jobs.getJob('p', 'kept-out')).toBeUndefined();
    await s.unitOfWork(async (tx) => {
      await tx.jobs.insertJob('p', 'landed', 1, 'salt');
      await tx.jobs.setJobState('p', 'landed', 'JOB_RUNNING', null, null);
    });
    expect((await s.jobs.getJob('p', 'landed'))?.state).toBe('JOB_RUNNING');
  });

  it("a job's datums land all at once, in a unit too: a batch that fails part-way leaves none of its rows", async () => {
    const s = store().core;
    const row = (id: string, seq: number) => ({ pipeline: 'p', job: 'j', id, seq, hash: 'h', state: 'pending' as const, inputs: [fileOf(seq)], output: null, started: null, finished: null });
    await s.unitOfWork(async (tx) => {
      await tx.jobs.insertJob('p', 'j', 1, 'salt');
      await tx.jobs.insertDatums([row('kept', 0)]);
      // the third row repeats the first's id: the insert fails after two rows were written
      await expect(tx.jobs.insertDatums([row('a', 1), row('b', 2), row('a', 3)])).rejects.toThrow();
      // the unit goes on (its caller took the failure): what it commits holds none of that batch
    });
    expect((await s.jobs.datumsOf('p', 'j')).map((d) => d.id)).toEqual(['kept']);
    // outside a unit, the same
    await expect(s.jobs.insertDatums([row('c', 4), row('c', 5)])).rejects.toThrow();
    expect((await s.jobs.datumsOf('p', 'j')).map((d) => d.id)).toEqual(['kept']);
    await s.jobs.insertDatums([row('a', 1), row('b', 2)]);
    expect((await s.jobs.datumsOf('p', 'j')).map((d) => d.id)).toEqual(['kept', 'a', 'b']);
  });

  it('a read outside a unit waits for the unit in flight: it never sees half of one', async () => {
    const s = store().core;
    const midway = gate();
    const finish = gate();
    const unit = s.unitOfWork(async (tx) => {
      await tx.jobs.insertJob('p', 'half', 1, 'salt');
      midway.open();
      await finish.wait; // the other half is not written yet
      await tx.jobs.setJobState('p', 'half', 'JOB_SUCCESS', null, 1);
    });
    await midway.wait;
    let read: string | undefined = 'not yet';
    const reading = s.jobs.getJob('p', 'half').then((j) => (read = j?.state));
    // the read is queued behind the unit: it resolves only once the unit has committed
    await new Promise((r) => setImmediate(r));
    expect(read).toBe('not yet');
    finish.open();
    await unit;
    await reading;
    expect(read).toBe('JOB_SUCCESS');
  });

  it('a unit started inside a unit joins it: a failure of the outer one takes back the inner writes', async () => {
    const s = store().core;
    await expect(
      s.unitOfWork(async () => {
        await s.unitOfWork(async (tx) => tx.jobs.insertJob('p', 'inner', 1, 'salt'));
        // the inner unit's write is visible inside the outer one
        expect(await s.jobs.getJob('p', 'inner')).toBeDefined();
        throw new Error('outer failed');
      }),
    ).rejects.toThrow('outer failed');
    expect(await s.jobs.getJob('p', 'inner')).toBeUndefined();
  });

  it('units of concurrent flows run one after the other', async () => {
    const s = store().core;
    await s.jobs.insertJob('p', 'counter', 1, 'salt');
    // each unit reads the count and writes it back one higher, with an await in between: run
    // side by side on one connection they would lose updates
    const bump = () =>
      s.unitOfWork(async (tx) => {
        const j = (await tx.jobs.getJob('p', 'counter'))!;
        await new Promise((r) => setImmediate(r));
        await tx.jobs.setCounts({ pipeline: 'p', id: 'counter', processed: j.processed + 1, skipped: 0, failed: 0, recovered: 0, downloadBytes: 0, uploadBytes: 0 });
      });
    await Promise.all(Array.from({ length: 10 }, bump));
    expect((await s.jobs.getJob('p', 'counter'))!.processed).toBe(10);
  });
});
