// Who holds the store's write lock, and for how long. Reproduction: a pipeline whose glob took
// minutes to match held the write lock all that time (datums were planned inside the job's
// transaction), so every `put file` failed with E_LOCKED, and SIGTERM did not stop the runner.
// A test-only pause point (TUSK_PAUSE_AT, src/store/crash-points.ts) holds the runner inside the
// planning, synchronously, as a slow glob would.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { expectOk, startTusk, withStoreDir, writeTree, type StoreDir } from '../cli/cli-helpers.js';

const NONE = { TUSK_RUNNER: 'none' };

/** Poll for `file` until `ms` have passed. */
async function appears(file: string, ms = 30_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (fs.existsSync(file)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

async function pipelineWithJob(s: StoreDir): Promise<void> {
  expectOk(await s.tusk(['create', 'repo', 'in'], { env: NONE }));
  expectOk(await s.tusk(['put', 'file', 'in@master:/a'], { input: 'a\n', env: NONE }));
  writeTree(s.dir, { 'p.json': JSON.stringify({ pipeline: { name: 'p' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh'], stdin: ['cp -r /pfs/in/. /pfs/out/'] } }) });
  expectOk(await s.tusk(['create', 'pipeline', '-f', 'p.json'], { env: NONE }));
}

describe('the write lock and signals while jobs run', () => {
  it('a runner slow to plan a job leaves the store writable; the job then runs', async () => {
    await withStoreDir(async (s) => {
      await pipelineWithJob(s);
      const pause = tempDir('tusk-pause-');
      try {
        const runner = startTusk(['run', '--json'], { cwd: s.dir, env: { TUSK_RUNNER: 'foreground', TUSK_PAUSE_AT: `plan-datums:${pause}` } });
        expect(await appears(path.join(pause, 'reached')), (await Promise.race([runner.done, Promise.resolve(undefined)]))?.describe()).toBe(true);
        // the runner is stuck in the planning: a write must not wait for it
        const put = await s.tusk(['put', 'file', 'in@master:/b'], { input: 'b\n', env: NONE, timeoutMs: 60_000 });
        expect(put.code, put.describe()).toBe(0);
        fs.writeFileSync(path.join(pause, 'release'), '');
        const done = await runner.done;
        expect(done.code, done.describe()).toBe(0);
        const jobs = await s.json<{ state: string }[]>(['list', 'job', '-p', 'p'], { env: NONE });
        expect(jobs[jobs.length - 1]!.state).toBe('JOB_SUCCESS');
      } finally {
        fs.rmSync(pause, { recursive: true, force: true });
      }
    });
  });

  it('SIGTERM stops a runner in the middle of slow synchronous work; the store stays writable and the job runs later', async () => {
    await withStoreDir(async (s) => {
      await pipelineWithJob(s);
      const pause = tempDir('tusk-pause-');
      try {
        const runner = startTusk(['run'], { cwd: s.dir, env: { TUSK_RUNNER: 'foreground', TUSK_PAUSE_AT: `plan-datums:${pause}` } });
        expect(await appears(path.join(pause, 'reached'))).toBe(true);
        runner.kill('SIGTERM');
        // never released: only the signal can end it (the helper kills it after 60 s otherwise)
        const done = await runner.done;
        expect(done.code, done.describe()).toBe(143);
        expectOk(await s.tusk(['put', 'file', 'in@master:/b'], { input: 'b\n', env: NONE }));
        // nothing was recorded by the killed runner: the next one plans and runs the job
        expectOk(await s.tusk(['run'], { env: { TUSK_RUNNER: 'foreground' } }));
        const jobs = await s.json<{ state: string }[]>(['list', 'job', '-p', 'p'], { env: NONE });
        expect(jobs.map((j) => j.state)).toEqual(['JOB_SUCCESS', 'JOB_SUCCESS']);
        expect(expectOk(await s.tusk(['get', 'file', 'p@master:/b'])).stdout).toBe('b\n');
      } finally {
        fs.rmSync(pause, { recursive: true, force: true });
      }
    });
  });

  it('SIGTERM stops a runner while a datum runs: the datum process ends and the datum is back in the queue at once', async () => {
    await withStoreDir(async (s) => {
      expectOk(await s.tusk(['create', 'repo', 'in'], { env: NONE }));
      expectOk(await s.tusk(['put', 'file', 'in@master:/a'], { input: 'a\n', env: NONE }));
      // a marker argument, so that this test's datum process can be told from any other
      const marker = `${Date.now() % 100000 + 300}.25`;
      writeTree(s.dir, { 'p.json': JSON.stringify({ pipeline: { name: 'p' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sleep', marker] } }) });
      expectOk(await s.tusk(['create', 'pipeline', '-f', 'p.json'], { env: NONE }));
      const runner = startTusk(['run'], { cwd: s.dir, env: { TUSK_RUNNER: 'foreground' } });
      const [job] = await s.json<{ id: string }[]>(['list', 'job', '-p', 'p'], { env: NONE });
      const datums = async () => s.json<{ state: string }[]>(['list', 'datum', `p@${job!.id}`], { env: NONE });
      const running = async () => spawnSync('pgrep', ['-f', `sleep ${marker}`]).status === 0;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !((await datums()).some((d) => d.state === 'running') && (await running()))) await new Promise((r) => setTimeout(r, 50));
      expect(await running()).toBe(true);
      runner.kill('SIGTERM');
      const done = await runner.done;
      expect(done.code, done.describe()).toBe(143);
      expect((await datums()).map((d) => d.state)).toEqual(['pending']);
      const gone = Date.now() + 10_000;
      while (Date.now() < gone && (await running())) await new Promise((r) => setTimeout(r, 50));
      expect(await running()).toBe(false);
      expectOk(await s.tusk(['stop', 'job', `p@${job!.id}`], { env: NONE }));
    });
  });
});
