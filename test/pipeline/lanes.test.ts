// A job's lanes end together: when one lane fails (here the caller's datum callback throws), the
// others stop their datums, which go back to the queue, and the runner returns only once every
// lane has ended. None runs on after its runner has left the job.
import { afterEach, describe, expect, it } from 'vitest';
import { registerTransform, runPendingJobs } from '../../src/pipeline/job-runner.js';
import { createPipelines } from '../../src/pipeline/pipeline-service.js';
import type { DatumContext, TransformResult } from '../../src/pipeline/transform.js';
import { streamOf, tempStore } from '../helpers.js';

/** Datums of `lanes-` pipelines that were still running when they ended, by datum id. */
const ended = new Set<string>();
const started = new Set<string>();

registerTransform((spec) =>
  spec.name.startsWith('lanes-')
    ? {
        protectsInputs: true,
        async run(ctx: DatumContext): Promise<TransformResult> {
          started.add(ctx.datumId);
          // f0 ends at once; every other datum runs until it is stopped
          if (ctx.env.in === '/pfs/in/f0') return { ok: true, exitCode: 0, signal: null, timedOut: false };
          if (!ctx.signal.aborted) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
          ended.add(ctx.datumId);
          return { ok: false, exitCode: null, signal: 'SIGKILL', timedOut: false, reason: 'stopped' };
        },
      }
    : undefined,
);

describe('the lanes of a job', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('stop together when one fails: the runner returns with no datum still running, and gives them back', async () => {
    const env = tempStore();
    cleanups.push(env.cleanup);
    const { store, dir } = env;
    const s = store.handle;
    await store.createRepo('in');
    await store.putFiles({ repo: 'in', branch: 'master' }, [0, 1].map((i) => ({ kind: 'stream' as const, stream: streamOf(`${i}`), repoPath: `/f${i}` })));
    await createPipelines(s, JSON.stringify({ pipeline: { name: 'lanes-stop' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['true'] }, parallelism_spec: { constant: 2 } }), { baseDir: dir });

    await runPendingJobs(s, {
      runner: 'r1',
      onDatum: () => {
        throw new Error('the caller failed');
      },
    });
    const [job] = await s.jobs.jobsOf('lanes-stop');
    expect(job!.state).toBe('JOB_FAILURE');
    expect(job!.reason).toContain('the caller failed');
    const datums = await s.jobs.datumsOf('lanes-stop', job!.id);
    const f0 = datums.find((d) => d.inputs[0]!.path === '/f0')!;
    const f1 = datums.find((d) => d.inputs[0]!.path === '/f1')!;
    // every datum that began (but the quick one) had ended by the time the runner returned
    expect(started.has(f0.id)).toBe(true);
    expect([...started].filter((d) => d !== f0.id && !ended.has(d))).toEqual([]);
    // f1 was stopped and given back, not left claimed by a runner that has gone
    expect(f1.state).toBe('pending');
    expect(f1.claimedBy).toBeNull();
    const attempts = await s.jobs.attemptsOf('lanes-stop', job!.id, f1.id);
    expect(attempts.map((a) => [a.worker, a.outcome])).toEqual([['r1', 'returned']]);

  });
  it('stop when a lease renewal fails: the pass ends with its error, its datums stopped and given back, without waiting for them to end', async () => {
    const env = tempStore();
    cleanups.push(env.cleanup);
    const { store, dir } = env;
    const s = store.handle;
    await store.createRepo('in');
    await store.putFiles({ repo: 'in', branch: 'master' }, [1, 2].map((i) => ({ kind: 'stream' as const, stream: streamOf(`${i}`), repoPath: `/f${i}` })));
    await createPipelines(s, JSON.stringify({ pipeline: { name: 'lanes-renewal' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['true'] }, parallelism_spec: { constant: 2 } }), { baseDir: dir });
    // both datums run until stopped; the first renewal fails (a database gone, a deadlock given up on)
    const jobs = s.jobs;
    const renew = jobs.renewDatumLeases.bind(jobs);
    let renewals = 0;
    jobs.renewDatumLeases = async (...args) => {
      if (++renewals === 1) throw new Error('the renewal failed');
      return renew(...args);
    };
    try {
      // without the watch's failure ending the pass, its datums would run on unrenewed (here: forever)
      await runPendingJobs(s, { runner: 'r1' });
    } finally {
      jobs.renewDatumLeases = renew;
    }
    const [job] = await s.jobs.jobsOf('lanes-renewal');
    expect(job!.state).toBe('JOB_FAILURE');
    expect(job!.reason).toContain('the renewal failed');
    const datums = await s.jobs.datumsOf('lanes-renewal', job!.id);
    expect(datums.map((d) => started.has(d.id) && ended.has(d.id))).toEqual([true, true]);
    expect(datums.map((d) => d.claimedBy)).toEqual([null, null]);
  }, 30_000);
});
