// `tusk worker` through the built CLI: workers as real processes sharing a job with each other
// and with `tusk run`, their log lines, SIGTERM, and a store that goes away under them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withStoreDir } from '../cli/cli-helpers.js';
import { datumsOf, NO_RUNNER, setUpPipeline, startWorker, waitUntil } from './worker-helpers.js';

const COPY = 'cp /pfs/in/* /pfs/out/';

describe('tusk worker', () => {
  it('two workers and `tusk run` share one job: every datum once, each log line naming its worker', () =>
    withStoreDir(async (s) => {
      const job = await setUpPipeline(s, 60, `sleep 0.02; ${COPY}`);
      const a = startWorker(s.dir, ['--concurrency', '1', '--exit-when-idle', '0.5']);
      const b = startWorker(s.dir, ['--concurrency', '1', '--exit-when-idle', '0.5', '--json']);
      const run = await s.tusk(['run', '--parallelism', '1', '--json'], { env: NO_RUNNER });
      expect(run.code, JSON.stringify(run.stderr)).toBe(0);
      const [ra, rb] = await Promise.all([a.done, b.done]);
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      const idA = /^worker (\S+) started$/m.exec(ra.stderr)![1]!;
      expect(idA).toMatch(/^[^:\s]+:\d+:[0-9a-f]{8}$/);
      expect(idA.split(':')[1]).toBe(String(a.pid));
      const linesA = ra.stderr.split('\n').filter((l) => l.includes(` ${idA} up@${job} `));
      const jsonB = rb.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { worker: string; event?: string; pipeline?: string; job?: string; datum?: string; outcome?: string });
      const doneB = jsonB.filter((e) => e.event === undefined);
      expect(doneB.every((e) => e.worker === jsonB[0]!.worker && e.pipeline === 'up' && e.job === job && e.outcome === 'success')).toBe(true);
      expect(JSON.parse(rb.stdout)).toMatchObject({ worker: jsonB[0]!.worker, datums: doneB.length, ended: 'idle' });
      // the job ended once, with every output
      const [j] = await s.json<{ state: string; dataProcessed?: number }[]>(['list', 'job', '-p', 'up'], { env: NO_RUNNER });
      expect(j!.state).toBe('JOB_SUCCESS');
      const files = await s.json<{ path: string }[]>(['list', 'file', 'up@master:/'], { env: NO_RUNNER });
      expect(files.map((f) => f.path)).toEqual(Array.from({ length: 60 }, (_, i) => `/f${String(i).padStart(5, '0')}`));
      const datums = await datumsOf(s, 'up', job);
      expect(datums.every((d) => d.state === 'success' && d.attempts === 1)).toBe(true);
      // `list datum` names the worker of each datum's last attempt: the one whose log has the datum
      const idB = jsonB[0]!.worker;
      for (const e of doneB) expect(datums.find((d) => d.id === e.datum)!.worker).toBe(idB);
      for (const l of linesA) expect(datums.find((d) => d.id.startsWith(l.split(' ')[3]!))!.worker).toBe(idA);
      const table = (await s.tusk(['list', 'datum', `up@${job}`], { env: NO_RUNNER })).stdout.split('\n');
      expect(table[0]).toMatch(/^ID +FILES +STATUS +TIME +WORKER$/);
      const byB = doneB[0]!.datum!;
      expect(table.find((l) => l.startsWith(byB))).toMatch(new RegExp(` ${idB}$`));
      // `inspect datum` lists every attempt, with its worker and outcome
      const inspected = await s.json<{ attemptLog: { attempt: number; worker: string; outcome: string; finished: string | null }[] }>(['inspect', 'datum', `up@${job}`, byB], { env: NO_RUNNER });
      expect(inspected.attemptLog).toEqual([expect.objectContaining({ attempt: 1, worker: idB, outcome: 'success', finished: expect.any(String) })]);
      const text = (await s.tusk(['inspect', 'datum', `up@${job}`, byB], { env: NO_RUNNER })).stdout;
      expect(text).toMatch(new RegExp(`Attempt log:\\n +ATTEMPT +WORKER +STARTED +TIME +OUTCOME +ERROR\\n +1 +${idB} +\\S+ +.+ +success`));
      // each datum was run by exactly one of them (the runner took the rest)
      const ranByWorkers = [...linesA.map((l) => l.split(' ')[3]!), ...doneB.map((e) => e.datum!.slice(0, 12))];
      expect(new Set(ranByWorkers).size).toBe(ranByWorkers.length);
      expect(ranByWorkers.length).toBeLessThanOrEqual(60);
    }), 60_000);

  it('SIGTERM gives the datums it holds back to the queue and exits 0', () =>
    withStoreDir(async (s) => {
      const job = await setUpPipeline(s, 3, `sleep 60; ${COPY}`);
      const w = startWorker(s.dir, ['--concurrency', '2']);
      // claimed datums are `running` in the store: those two lanes run, and those queued behind them
      await waitUntil('datums claimed', () => datumsOf(s, 'up', job), (ds) => ds.length === 3 && ds.every((d) => d.state === 'running'));
      w.kill('SIGTERM');
      const r = await w.done;
      expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0, stderr: expect.stringMatching(/ returned /) });
      const after = await datumsOf(s, 'up', job);
      expect(after.map((d) => d.state)).toEqual(['pending', 'pending', 'pending']);
      // each attempt the worker made ends `returned`
      const id = /^worker (\S+) started$/m.exec(r.stderr)![1]!;
      for (const d of after) {
        const { attemptLog } = await s.json<{ attemptLog: { worker: string; outcome: string }[] }>(['inspect', 'datum', `up@${job}`, d.id], { env: NO_RUNNER });
        expect(attemptLog).toEqual([expect.objectContaining({ worker: id, outcome: 'returned' })]);
      }
      // the job is still open, for the next worker
      const [j] = await s.json<{ state: string }[]>(['list', 'job', '-p', 'up'], { env: NO_RUNNER });
      expect(j!.state).toBe('JOB_RUNNING');
    }), 60_000);

  it('a worker whose store is deleted exits 1 naming the store', () =>
    withStoreDir(async (s) => {
      const job = await setUpPipeline(s, 2, `sleep 60; ${COPY}`);
      const w = startWorker(s.dir, ['--concurrency', '1', '--json']);
      await waitUntil('a datum running', () => datumsOf(s, 'up', job), (ds) => ds.some((d) => d.state === 'running'));
      const store = fs.realpathSync(path.join(s.dir, '.tusk'));
      fs.rmSync(store, { recursive: true, force: true });
      const r = await w.done;
      expect(r.code, r.stderr).toBe(1);
      const err = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      expect(err.error.code).toBe('E_STORE_LOST');
      expect(err.error.message).toContain(store);
      expect(err.error.message).toContain('deleted');
    }), 60_000);
});
