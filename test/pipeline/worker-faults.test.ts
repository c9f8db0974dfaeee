// Faults with workers as real processes of the built CLI: one killed mid-job (its datums are
// taken over when their lease runs out, every output lands once), a datum that always fails, a
// store that turns unreadable under a worker, a store another process keeps busy (waited for,
// within a bound), bad settings. Leases are short here through
// TUSK_DATUM_LEASE_MS; every wait is on state the store or the worker's log shows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withStoreDir } from '../cli/cli-helpers.js';
import { datumsOf, holdWriteLock, NO_RUNNER, setUpPipeline, startWorker, waitUntil } from './worker-helpers.js';

const LEASE = { TUSK_DATUM_LEASE_MS: '2000' };
type Attempt = { attempt: number; worker: string; outcome: string | null; finished: string | null; error: string | null };

/** Datum lines a worker logged (text mode): its id and the datum prefix of each. */
function ranBy(stderr: string): { worker: string; datums: string[] } {
  const worker = /^worker (\S+) started$/m.exec(stderr)?.[1] ?? '';
  const datums = stderr.split('\n').filter((l) => l.includes(` ${worker} `) && / success \d+ms$/.test(l)).map((l) => l.split(' ')[3]!);
  return { worker, datums };
}

describe('worker faults', () => {
  it('1,000 datums across 3 workers, one SIGKILLed mid-run: every output exactly once, its datums retaken', () =>
    withStoreDir(async (s) => {
      const N = 1000;
      const job = await setUpPipeline(s, N, 'f=$(ls /pfs/in); echo "out $(cat /pfs/in/$f)" > /pfs/out/$f');
      const args = ['--concurrency', '1', '--exit-when-idle', '1'];
      const victim = startWorker(s.dir, args, LEASE, 120_000);
      const others = [startWorker(s.dir, args, LEASE, 120_000), startWorker(s.dir, args, LEASE, 120_000)];
      // killed once it has finished some datums, so that it holds a claimed batch mid-run
      await waitUntil('the victim running datums', async () => ranBy(victim.stderr()).datums.length, (n) => n >= 20, 60_000);
      victim.kill('SIGKILL');
      const killed = await victim.done;
      expect(killed.code).toBe(137);
      const dead = ranBy(killed.stderr).worker;
      const results = await Promise.all(others.map((w) => w.done));
      for (const r of results) expect(r.code, r.stderr.slice(-2000)).toBe(0);

      const [j] = await s.json<{ state: string; dataProcessed: number; dataTotal: number }[]>(['list', 'job', '-p', 'up'], { env: NO_RUNNER });
      expect(j!.state).toBe('JOB_SUCCESS');
      // the output commit: each input's output once, with its own content
      const files = await s.json<{ path: string; size: number }[]>(['list', 'file', 'up@master:/'], { env: NO_RUNNER });
      expect(files.map((f) => f.path)).toEqual(Array.from({ length: N }, (_, i) => `/f${String(i).padStart(5, '0')}`));
      for (const i of [0, 1, 499, 998, 999]) {
        const got = await s.tusk(['get', 'file', `up@master:/f${String(i).padStart(5, '0')}`], { env: NO_RUNNER });
        expect(got.stdout).toBe(`out ${i}\n`);
      }
      // the datum records: all succeeded; those the victim held when it died were run again by another worker
      const datums = await datumsOf(s, 'up', job);
      expect(datums.length).toBe(N);
      expect(datums.every((d) => d.state === 'success')).toBe(true);
      const retaken = datums.filter((d) => d.attempts === 2);
      expect(retaken.length).toBeGreaterThan(0);
      expect(datums.every((d) => d.attempts <= 2)).toBe(true);
      const survivors = new Set(results.map((r) => ranBy(r.stderr).worker));
      const one = retaken[0]!;
      const log = (await s.json<{ attemptLog: Attempt[] }>(['inspect', 'datum', `up@${job}`, one.id], { env: NO_RUNNER })).attemptLog;
      expect(log.map((a) => [a.attempt, a.worker === dead ? 'dead' : survivors.has(a.worker) ? 'survivor' : a.worker, a.outcome])).toEqual([
        [1, 'dead', null],
        [2, 'survivor', 'success'],
      ]);
      // no datum was run to success by two workers: the logs' successes are disjoint and cover the rest
      const all = [ranBy(killed.stderr), ...results.map((r) => ranBy(r.stderr))].flatMap((r) => r.datums);
      expect(new Set(all).size).toBe(all.length);
      expect(all.length).toBeLessThanOrEqual(N);
    }), 180_000);

  it('a poisoned datum fails after datum_tries attempts and the job reports it; the others succeed', () =>
    withStoreDir(async (s) => {
      const job = await setUpPipeline(s, 6, 'f=$(ls /pfs/in); if [ "$f" = f00002 ]; then echo poisoned >&2; exit 3; fi; cp /pfs/in/$f /pfs/out/', { datum_tries: 3 });
      const ws = [startWorker(s.dir, ['--concurrency', '1', '--exit-when-idle', '0.5']), startWorker(s.dir, ['--concurrency', '1', '--exit-when-idle', '0.5'])];
      for (const r of await Promise.all(ws.map((w) => w.done))) expect(r.code, r.stderr).toBe(0);
      const [j] = await s.json<{ state: string; reason: string }[]>(['list', 'job', '-p', 'up'], { env: NO_RUNNER });
      const datums = await datumsOf(s, 'up', job);
      const bad = datums.find((d) => d.state === 'failed')!;
      expect(datums.filter((d) => d.state === 'success').length).toBe(5);
      expect(bad.attempts).toBe(3);
      const inspected = await s.json<{ job: string; state: string; reason: string | null }>(['inspect', 'job', `up@${job}`], { env: NO_RUNNER });
      expect(inspected.state).toBe('JOB_FAILURE');
      expect(inspected.reason).toBe(`datum ${bad.id} failed`);
      expect(j!.state).toBe('JOB_FAILURE');
      const log = (await s.json<{ attemptLog: Attempt[] }>(['inspect', 'datum', `up@${job}`, bad.id], { env: NO_RUNNER })).attemptLog;
      expect(log.map((a) => [a.attempt, a.outcome])).toEqual([
        [1, 'failed'],
        [2, 'failed'],
        [3, 'failed'],
      ]);
      expect(new Set(log.map((a) => a.worker)).size).toBe(1);
      expect(log.every((a) => a.finished !== null && /exit code 3|exit 3|status 3/.test(a.error ?? ''))).toBe(true);
    }), 60_000);

  it('a worker whose store turns unreadable exits 1 naming the store and the cause', () =>
    withStoreDir(async (s) => {
      const job = await setUpPipeline(s, 2, 'sleep 60; cp /pfs/in/* /pfs/out/');
      const w = startWorker(s.dir, ['--concurrency', '1', '--json']);
      await waitUntil('a datum running', () => datumsOf(s, 'up', job), (ds) => ds.some((d) => d.state === 'running'));
      const meta = path.join(fs.realpathSync(path.join(s.dir, '.tusk')), 'meta.db');
      // the metadata file's bytes turn to garbage under the open database
      for (const f of [meta, `${meta}-wal`]) if (fs.existsSync(f)) fs.writeFileSync(f, Buffer.alloc(fs.statSync(f).size, 0x5a));
      const r = await w.done;
      expect(r.code, r.stderr).toBe(1);
      const err = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
      expect(err.code).toBe('E_STORE_LOST');
      expect(err.message).toContain(path.dirname(meta));
      expect(err.message).toContain('is no longer a database');
    }), 90_000);

  it('a worker waits for a store another process keeps busy, then runs the job', () =>
    withStoreDir(async (s) => {
      const job = await setUpPipeline(s, 3, 'cp /pfs/in/* /pfs/out/');
      const lock = await holdWriteLock(s.dir);
      let w: ReturnType<typeof startWorker> | undefined;
      try {
        // SQLite gives up on the lock after 200 ms: the worker, not SQLite, does the waiting
        w = startWorker(s.dir, ['--concurrency', '1', '--exit-when-idle', '0.5', '--json'], { TUSK_BUSY_TIMEOUT_MS: '200' });
        const busy = await waitUntil('the worker finding the store busy', async () => w!.stderr(), (e) => e.includes('"event":"busy"'));
        expect(JSON.parse(busy.split('\n').find((l) => l.includes('"event":"busy"'))!)).toMatchObject({ event: 'busy', waitMs: 600_000 });
      } finally {
        await lock.release();
      }
      const r = await w.done;
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ datums: 3, succeeded: 3, ended: 'idle' });
      const [j] = await s.json<{ state: string }[]>(['list', 'job', '-p', 'up'], { env: NO_RUNNER });
      expect(j!.state).toBe('JOB_SUCCESS');
      expect((await datumsOf(s, 'up', job)).map((d) => [d.state, d.attempts])).toEqual([
        ['success', 1],
        ['success', 1],
        ['success', 1],
      ]);
    }), 60_000);

  it('a worker whose store stays busy past --busy-wait exits 6 (E_LOCKED) naming the store, and changes nothing', () =>
    withStoreDir(async (s) => {
      const job = await setUpPipeline(s, 2, 'cp /pfs/in/* /pfs/out/');
      const lock = await holdWriteLock(s.dir);
      let r: Awaited<ReturnType<typeof startWorker>['done']>;
      try {
        r = await startWorker(s.dir, ['--json', '--busy-wait', '1'], { TUSK_BUSY_TIMEOUT_MS: '200' }).done;
      } finally {
        await lock.release();
      }
      expect(r.code, r.stderr).toBe(6);
      const err = (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
      expect(err.code).toBe('E_LOCKED');
      expect(err.message).toMatch(/stayed busy for \d+ s/);
      expect(err.message).toContain(fs.realpathSync(path.join(s.dir, '.tusk')));
      expect(err.hint).toContain('--busy-wait');
      const [j] = await s.json<{ state: string }[]>(['list', 'job', '-p', 'up'], { env: NO_RUNNER });
      expect(j!.state).toBe('JOB_CREATED');
      expect(await datumsOf(s, 'up', job)).toEqual([]);
    }), 60_000);

  it('a bad --busy-wait or TUSK_BUSY_TIMEOUT_MS is refused before anything is claimed', () =>
    withStoreDir(async (s) => {
      const job = await setUpPipeline(s, 1, 'cp /pfs/in/* /pfs/out/');
      for (const [args, env, name] of [
        [['--json', '--busy-wait', 'soon'], {}, '--busy-wait'],
        [['--json'], { TUSK_BUSY_TIMEOUT_MS: '-1' }, 'TUSK_BUSY_TIMEOUT_MS'],
      ] as const) {
        const r = await startWorker(s.dir, args, env).done;
        expect(r.code, r.stderr).toBe(2);
        expect((JSON.parse(r.stdout) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'E_INVALID', message: expect.stringContaining(name) });
      }
      expect(await datumsOf(s, 'up', job)).toEqual([]);
    }), 60_000);

  it('a bad TUSK_DATUM_LEASE_MS is refused before anything is claimed', () =>
    withStoreDir(async (s) => {
      const job = await setUpPipeline(s, 2, 'cp /pfs/in/* /pfs/out/');
      const r = await startWorker(s.dir, ['--json'], { TUSK_DATUM_LEASE_MS: '10' }).done;
      expect(r.code).toBe(2);
      expect((JSON.parse(r.stdout) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'E_INVALID', message: expect.stringContaining('TUSK_DATUM_LEASE_MS') });
      const [j] = await s.json<{ state: string }[]>(['list', 'job', '-p', 'up'], { env: NO_RUNNER });
      expect(j!.state).toBe('JOB_CREATED');
      expect(await datumsOf(s, 'up', job)).toEqual([]);
    }), 60_000);
});
