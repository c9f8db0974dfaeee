// Datum claims and leases in a real meta.db: what one runner renews, and what another may retake.
import { describe, expect, it } from 'vitest';
import { tempStores } from '../helpers.js';

const store = tempStores();
const jobs = () => store().core.jobs;

function addJob(j: ReturnType<typeof jobs>, pipeline: string, job: string, datums: number) {
  j.insertJob(pipeline, job, 1, 'salt');
  for (let i = 0; i < datums; i++) j.insertDatum({ pipeline, job, id: `${job}-d${i}`, seq: i, hash: `h${i}`, state: 'pending', inputs: '[]', output: null, started: null, finished: null });
}

describe('datum leases', () => {
  it('a runner renews the leases of its running datums in the job it names, and no others', async () => {
    const j = jobs();
    addJob(j, 'p', 'job1', 3);
    addJob(j, 'p', 'job2', 2);
    const lease = 1_000;
    expect(j.claimDatums('p', 'job1', 'runner-a', lease, 2).map((d) => d.id)).toEqual(['job1-d0', 'job1-d1']);
    expect(j.claimDatums('p', 'job2', 'runner-a', lease, 1).map((d) => d.id)).toEqual(['job2-d0']);
    expect(j.claimDatums('p', 'job1', 'runner-b', lease, 1).map((d) => d.id)).toEqual(['job1-d2']);
    const until = Date.now() + 3_600_000;
    j.renewDatumLeases('p', 'job1', 'runner-a', until);
    const leaseOf = (job: string, id: string) => j.getDatum('p', job, id)!.lease_until;
    expect(leaseOf('job1', 'job1-d0')).toBe(until);
    expect(leaseOf('job1', 'job1-d1')).toBe(until);
    expect(leaseOf('job1', 'job1-d2')).not.toBe(until); // runner-b's
    expect(leaseOf('job2', 'job2-d0')).not.toBe(until); // another job's
    // once the short leases run out, another runner retakes exactly the datums nobody renewed
    const retaken = () => j.claimDatums('p', 'job1', 'runner-c', lease, 10).map((d) => d.id);
    await new Promise((r) => setTimeout(r, lease + 50));
    expect(retaken()).toEqual(['job1-d2']);
  });
});
