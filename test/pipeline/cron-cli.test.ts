// Cron inputs through the built binary: `tusk run cron` in the foreground, and the background
// runner ticking an `@every 1s` pipeline, staying for cron pipelines and leaving when they stop.
// Timing: the assertions wait with generous deadlines and count "at least", never exact ticks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectJsonError, expectOk, type StoreDir, withStoreDir, writeTree } from '../cli/cli-helpers.js';

const step = (name: string, fn: () => Promise<void>) => it.sequential(name, fn, 120_000);
const FG = { env: { TUSK_RUNNER: 'foreground' } };
// no TUSK_RUNNER: writes start the background runner, which leaves 300 ms after its last job
const BG = { env: { TUSK_RUNNER: undefined, TUSK_RUNNER_IDLE_MS: '300' } };

type Job = { pipeline: string; id: string; state: string; total: number };
type Tick = { pipeline: string; commitSet: string; commits: { input: string; repo: string; commit: string; time: string; path: string }[]; job: Job | null };
type FileInfo = { path: string };

const TICK_NAME = /^\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

function cronSpec(dir: string, file: string, pipeline: string, cron: Record<string, unknown>): string {
  // one output file per tick file: an empty file of the same name
  writeTree(dir, { [file]: JSON.stringify({ pipeline: { name: pipeline }, input: { cron: { name: 'tick', ...cron } }, transform: { cmd: ['sh', '-c', 'touch "/pfs/out/$(basename "$tick")"'] } }) });
  return file;
}

/** The background runner's pid from the store's lease, read without going through tusk. */
async function runnerPid(dir: string): Promise<number | undefined> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path.join(dir, '.tusk', 'meta.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT value FROM settings WHERE key = 'runner'").pluck().get() as string | undefined;
    return row ? (JSON.parse(row) as { pid: number }).pid : undefined;
  } finally {
    db.close();
  }
}

// a zombie (exited, not yet reaped by whoever adopted it) counts as gone
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.concurrent('tusk run cron', () => {
  let store: StoreDir | undefined;
  afterAll(() => store?.cleanup());
  const s = () => store!;

  step('refuses a missing pipeline (exit 4) and one without a cron input (exit 2)', async () => {
    store = await withStoreDir();
    expectOk(await s().tusk(['create', 'repo', 'in'], FG));
    writeTree(s().dir, { 'plain.json': JSON.stringify({ pipeline: { name: 'plain' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['true'] } }) });
    expectOk(await s().tusk(['create', 'pipeline', '-f', 'plain.json'], FG));
    const here = { cwd: s().dir, ...FG };
    await expectJsonError(['run', 'cron', 'nope'], { code: 'E_NOT_FOUND', exit: 4 }, here);
    const err = await expectJsonError(['run', 'cron', 'plain'], { code: 'E_INVALID', exit: 2 }, here);
    expect(err.message).toBe("pipeline doesn't have a cron input");
    expect((await s().tusk(['run', 'cron'], FG)).code).toBe(2);
  });

  step('ticks now and, in the foreground, runs the job over the tick file', async () => {
    expectOk(await s().tusk(['create', 'pipeline', '-f', cronSpec(s().dir, 'hourly.json', 'hourly', { spec: '@hourly' })], FG));
    const before = (await s().json<unknown[]>(['list', 'commit', 'hourly_tick'])).length;
    const tick = await s().json<Tick>(['run', 'cron', 'hourly'], FG);
    expect(tick.commits).toHaveLength(1);
    const [c] = tick.commits;
    expect([c!.repo, c!.commit, c!.input]).toEqual(['hourly_tick', tick.commitSet, 'tick']);
    expect(c!.path).toMatch(TICK_NAME);
    expect(Math.abs(Date.parse(c!.time) - Date.now())).toBeLessThan(60_000);
    expect([tick.job?.id, tick.job?.state, tick.job?.total]).toEqual([tick.commitSet, 'JOB_SUCCESS', 1]);
    expect((await s().json<FileInfo[]>(['list', 'file', 'hourly@master'])).map((f) => f.path)).toEqual([c!.path]);
    expect((await s().json<unknown[]>(['list', 'commit', 'hourly_tick'])).length).toBe(before + 1);
  });

  step('--wait runs the job here; every call is a new tick commit', async () => {
    const none = { env: { TUSK_RUNNER: 'none' } };
    const a = await s().json<Tick>(['run', 'cron', 'hourly', '--wait'], none);
    const b = await s().json<Tick>(['run', 'cron', 'hourly', '--wait'], none);
    expect(a.commitSet).not.toBe(b.commitSet);
    for (const t of [a, b]) expect(t.job?.state).toBe('JOB_SUCCESS');
    const commits = await s().json<{ id: string }[]>(['list', 'commit', 'hourly_tick']);
    expect(commits.map((x) => x.id).slice(0, 2)).toEqual([b.commitSet, a.commitSet]);
    // the human form names the commit and the job
    const text = expectOk(await s().tusk(['run', 'cron', 'hourly'], FG)).stdout.split('\n');
    expect(text[0]).toMatch(/^hourly_tick@[0-9a-f]{32}:\/\d{4}-.*Z$/);
    expect(text[1]).toMatch(/^hourly@[0-9a-f]{32} success/);
  });

  step('a stopped pipeline gets the tick but no job', async () => {
    expectOk(await s().tusk(['stop', 'pipeline', 'hourly'], FG));
    const tick = await s().json<Tick>(['run', 'cron', 'hourly'], FG);
    expect(tick.job).toBeNull();
    expect(expectOk(await s().tusk(['run', 'cron', 'hourly'], FG)).stdout).toContain('hourly is stopped: no job');
  });

  step('delete pipeline removes its tick repo; --keep-repo and a user repo of that name stay', async () => {
    const repos = async () => (await s().json<{ name: string }[]>(['list', 'repo'])).map((r) => r.name).sort();
    expectOk(await s().tusk(['delete', 'pipeline', 'hourly'], FG));
    expect(await repos()).toEqual(['in', 'plain']);
    // --keep-repo keeps the output and the tick repo
    expectOk(await s().tusk(['create', 'pipeline', '-f', cronSpec(s().dir, 'daily.json', 'daily', { spec: '@daily' })], FG));
    expectOk(await s().tusk(['delete', 'pipeline', 'daily', '--keep-repo'], FG));
    expect(await repos()).toEqual(['daily', 'daily_tick', 'in', 'plain']);
    // what --keep-repo kept is plain data now; a tick repo the user made is the user's, and stays
    expectOk(await s().tusk(['delete', 'repo', 'daily'], FG));
    expectOk(await s().tusk(['delete', 'repo', 'daily_tick'], FG));
    expectOk(await s().tusk(['create', 'repo', 'daily_tick'], FG));
    expectOk(await s().tusk(['create', 'pipeline', '-f', 'daily.json'], FG));
    expectOk(await s().tusk(['delete', 'pipeline', 'daily'], FG));
    expect(await repos()).toEqual(['daily_tick', 'in', 'plain']);
  });
});

describe.concurrent('the background runner ticks cron pipelines', () => {
  let store: StoreDir | undefined;
  const s = () => store!;
  // every runner seen, killed after the group should a failed step leave one behind
  const pids = new Set<number>();
  const track = async () => {
    const pid = await runnerPid(s().dir);
    if (pid !== undefined) pids.add(pid);
    return pid;
  };
  afterAll(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    store?.cleanup();
  });

  step('an @every 1s pipeline ticks at least twice and its jobs process the tick files', async () => {
    store = await withStoreDir();
    expectOk(await s().tusk(['create', 'pipeline', '-f', cronSpec(s().dir, 'fast.json', 'fast', { spec: '@every 1s' })], BG));
    await track();
    let ticks: string[] = [];
    await until('two ticks processed', async () => {
      ticks = (await s().json<FileInfo[]>(['list', 'file', 'fast_tick@master'])).map((f) => f.path);
      const jobs = await s().json<Job[]>(['list', 'job', '-p', 'fast']);
      const outputs = (await s().json<FileInfo[]>(['list', 'file', 'fast@master'])).map((f) => f.path);
      return ticks.length >= 2 && jobs.filter((j) => j.state === 'JOB_SUCCESS' && j.total >= 1).length >= 2 && outputs.length >= 2;
    });
    // outputs first: ticks only grow meanwhile (overwrite is false)
    const outputs = (await s().json<FileInfo[]>(['list', 'file', 'fast@master'])).map((f) => f.path);
    ticks = (await s().json<FileInfo[]>(['list', 'file', 'fast_tick@master'])).map((f) => f.path);
    for (const t of ticks) expect(t).toMatch(TICK_NAME);
    for (const o of outputs) expect(ticks).toContain(o);
    // ticks are whole seconds apart
    const times = ticks.map((t) => Date.parse(t.slice(1)));
    for (let i = 1; i < times.length; i++) expect((times[i]! - times[i - 1]!) % 1000).toBe(0);
  });

  step('stopping the pipeline stops the ticks, and the runner leaves once idle', async () => {
    expectOk(await s().tusk(['stop', 'pipeline', 'fast'], { env: { TUSK_RUNNER: 'none' } }));
    await until('the runner to leave', async () => {
      const pid = await track();
      return pid === undefined && [...pids].every((p) => !alive(p));
    });
    const count = async () => (await s().json<unknown[]>(['list', 'commit', 'fast_tick'])).length;
    const before = await count();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count()).toBe(before);
  });

  step('a cron pipeline keeps the runner alive with no job to run; deleting it lets the runner go', async () => {
    expectOk(await s().tusk(['create', 'pipeline', '-f', cronSpec(s().dir, 'slow.json', 'slow', { spec: '@every 1h' })], BG));
    let pid: number | undefined;
    await until('the runner to start', async () => (pid = await track()) !== undefined);
    await until('the first job', async () => (await s().json<Job[]>(['list', 'job', '-p', 'slow'], { env: { TUSK_RUNNER: 'none' } }))[0]?.state === 'JOB_SUCCESS');
    // far past the 300 ms idle time, the runner is still there for the hourly ticks
    await new Promise((r) => setTimeout(r, 1500));
    expect(await runnerPid(s().dir)).toBe(pid);
    expect(alive(pid!)).toBe(true);
    expectOk(await s().tusk(['delete', 'pipeline', 'slow'], { env: { TUSK_RUNNER: 'none' } }));
    await until('the runner to leave', async () => (await runnerPid(s().dir)) === undefined && !alive(pid!));
  });
});
