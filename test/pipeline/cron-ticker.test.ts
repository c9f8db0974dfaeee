// Cron ticks on a real store, with the clock passed in: what a tick writes (overwrite or not), the
// one-tick catch-up, stopped and deleted pipelines, two runners on one store, `run cron`.
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TuskError } from '../../src/errors.js';
import { fireDueTicks, runCron } from '../../src/pipeline/cron-ticker.js';
import { createPipelines, deletePipeline, listDatums, startPipeline, stopPipeline } from '../../src/pipeline/pipeline-service.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { parseFileRef } from '../../src/store/address.js';
import { openStore, type Store } from '../../src/store/store.js';
import { streamOf, tempStore } from '../helpers.js';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const T = (iso: string) => Date.parse(iso);
const START = '2024-01-01T00:00:00Z';

/** A store with one pipeline reading a cron input `tick` (repo `<name>_tick`) that ticks hourly from START. */
async function cronStore(opts: { overwrite?: boolean; name?: string; spec?: string; input?: unknown; cmd?: string[] } = {}) {
  const env = tempStore();
  cleanups.push(env.cleanup);
  const name = opts.name ?? 'hourly';
  const input = opts.input ?? { cron: { name: 'tick', spec: opts.spec ?? '@hourly', start: START, overwrite: opts.overwrite ?? false } };
  // one output file per datum: the tick file's name
  const cmd = opts.cmd ?? ['sh', '-c', 'for f in /pfs/*/*; do [ -e "$f" ] && echo "$f" > "/pfs/out/$(basename "$f")"; done; true'];
  const spec = { pipeline: { name }, input, transform: { cmd } };
  await createPipelines(env.store.handle, JSON.stringify(spec), { baseDir: env.dir });
  return { ...env, name };
}

const files = async (store: Store, ref: string) => (await store.listFiles(parseFileRef(ref))).map((f) => f.path);
const commitCount = async (store: Store, repo: string) => (await store.listCommits({ repo, all: true })).length;

async function thrown(fn: () => Promise<unknown>): Promise<TuskError> {
  try {
    await fn();
  } catch (err) {
    return err as TuskError;
  }
  throw new Error('expected an error');
}

describe('fireDueTicks', () => {
  it('writes one empty file named after the tick time, as one finished commit that starts a job', async () => {
    const { store } = await cronStore();
    await runForeground(store.handle); // the creation job: no tick yet, 0 datums
    const before = await commitCount(store, 'hourly_tick');
    const { ticks, nextDue } = await fireDueTicks(store.handle, T('2024-01-01T01:00:00Z'));
    expect(ticks).toHaveLength(1);
    const [tick] = ticks;
    expect(tick!.commits).toEqual([{ input: 'tick', repo: 'hourly_tick', commit: tick!.commitSet, time: '2024-01-01T01:00:00Z', path: '/2024-01-01T01:00:00Z' }]);
    expect(tick!.job).toBe(tick!.commitSet);
    expect(nextDue).toBe(T('2024-01-01T02:00:00Z'));
    expect(await commitCount(store, 'hourly_tick')).toBe(before + 1);
    const c = await store.inspectCommit(parseFileRef(`hourly_tick@${tick!.commitSet}`));
    expect([c.finished !== null, c.origin, c.sizeBytes, c.files]).toEqual([true, 'USER', 0, 1]);
    expect(await files(store, 'hourly_tick@master:/')).toEqual(['/2024-01-01T01:00:00Z']);
    // the job reads the tick commit and processes the tick file as one datum
    await runForeground(store.handle);
    const job = (await store.handle.jobs.getJob('hourly', tick!.commitSet))!;
    expect([job.state, job.processed, job.total]).toEqual(['JOB_SUCCESS', 1, 1]);
    expect(await files(store, 'hourly@master:/')).toEqual(['/2024-01-01T01:00:00Z']);
    expect((await store.fsck()).ok).toBe(true);
  });

  it('is idempotent: nothing is due again until the next schedule time', async () => {
    const { store } = await cronStore();
    expect((await fireDueTicks(store.handle, T('2024-01-01T00:59:59Z'))).ticks).toEqual([]);
    expect((await fireDueTicks(store.handle, T('2024-01-01T01:00:00Z'))).ticks).toHaveLength(1);
    expect((await fireDueTicks(store.handle, T('2024-01-01T01:59:59Z'))).ticks).toEqual([]);
    expect((await fireDueTicks(store.handle, T('2024-01-01T02:00:00Z'))).ticks).toHaveLength(1);
  });

  it('overwrite: false keeps every tick file; each is a datum', async () => {
    const { store } = await cronStore({ overwrite: false });
    for (const h of ['01', '02', '03']) await fireDueTicks(store.handle, T(`2024-01-01T${h}:00:30Z`));
    expect(await files(store, 'hourly_tick@master:/')).toEqual(['/2024-01-01T01:00:00Z', '/2024-01-01T02:00:00Z', '/2024-01-01T03:00:00Z']);
    await runForeground(store.handle);
    const last = (await store.handle.jobs.jobsOf('hourly'))[0]!;
    expect([last.state, last.processed, last.skipped, last.total]).toEqual(['JOB_SUCCESS', 1, 2, 3]);
    expect(await files(store, 'hourly@master:/')).toHaveLength(3);
  });

  it('overwrite: true leaves only the newest tick file; the old datum is removed', async () => {
    const { store } = await cronStore({ overwrite: true });
    // a file someone put there goes too: Pachyderm deletes "/" before the tick
    await store.putFiles({ repo: 'hourly_tick', branch: 'master' }, [{ kind: 'stream', stream: streamOf('x'), repoPath: '/note' }]);
    for (const h of ['01', '02', '03']) await fireDueTicks(store.handle, T(`2024-01-01T${h}:00:30Z`));
    expect(await files(store, 'hourly_tick@master:/')).toEqual(['/2024-01-01T03:00:00Z']);
    await runForeground(store.handle);
    const last = (await store.handle.jobs.jobsOf('hourly'))[0]!;
    expect([last.state, last.total]).toEqual(['JOB_SUCCESS', 1]);
    expect(await files(store, 'hourly@master:/')).toEqual(['/2024-01-01T03:00:00Z']);
  });

  it('catches up missed ticks with one tick for the newest missed time', async () => {
    const { store } = await cronStore();
    await fireDueTicks(store.handle, T('2024-01-01T01:00:00Z'));
    const before = await commitCount(store, 'hourly_tick');
    // no runner for 2 days and a half: 60 hourly ticks missed
    const { ticks } = await fireDueTicks(store.handle, T('2024-01-03T12:30:00Z'));
    expect(ticks.map((t) => t.commits.map((c) => c.time))).toEqual([['2024-01-03T12:00:00Z']]);
    expect(await commitCount(store, 'hourly_tick')).toBe(before + 1);
    expect(await files(store, 'hourly_tick@master:/')).toEqual(['/2024-01-01T01:00:00Z', '/2024-01-03T12:00:00Z']);
    // and the schedule goes on from there
    expect((await fireDueTicks(store.handle, T('2024-01-03T12:59:00Z'))).ticks).toEqual([]);
    expect((await fireDueTicks(store.handle, T('2024-01-03T13:00:00Z'))).ticks).toHaveLength(1);
  });

  it('counts from the pipeline creation when the input has no start', async () => {
    const { store } = await cronStore({ input: { cron: { name: 'tick', spec: '@every 10s' } } });
    const created = (await store.handle.jobs.getPipeline('hourly'))!.created;
    expect((await fireDueTicks(store.handle, created + 5_000)).ticks).toEqual([]);
    const { ticks } = await fireDueTicks(store.handle, created + 10_000);
    expect(ticks[0]!.commits[0]!.time).toBe(new Date(Math.floor(created / 1000) * 1000 + 10_000).toISOString().replace('.000Z', 'Z'));
  });

  it('a stopped pipeline does not tick; started again, it catches up once', async () => {
    const { store } = await cronStore();
    await stopPipeline(store.handle, 'hourly');
    const before = await commitCount(store, 'hourly_tick');
    const stopped = await fireDueTicks(store.handle, T('2024-01-01T05:30:00Z'));
    expect(stopped).toEqual({ ticks: [], nextDue: undefined });
    expect(await commitCount(store, 'hourly_tick')).toBe(before);
    await startPipeline(store.handle, 'hourly');
    const { ticks } = await fireDueTicks(store.handle, T('2024-01-01T05:30:00Z'));
    expect(ticks.map((t) => t.commits[0]!.time)).toEqual(['2024-01-01T05:00:00Z']);
    expect(ticks[0]!.job).not.toBeNull();
  });

  it('a deleted pipeline stops ticking and its tick state goes with it', async () => {
    const { store } = await cronStore();
    await fireDueTicks(store.handle, T('2024-01-01T01:00:00Z'));
    await deletePipeline(store.handle, 'hourly');
    expect((await fireDueTicks(store.handle, T('2024-01-01T05:00:00Z'))).ticks).toEqual([]);
    expect(store.core.db.prepare('SELECT COUNT(*) FROM cron_ticks').pluck().get()).toBe(0);
  });

  it('two runners on one store (two connections) never write the same tick', async () => {
    const { store, dir } = await cronStore();
    const other = openStore({ path: path.join(dir, '.tusk') });
    cleanups.push(() => other.close());
    const now = T('2024-01-01T07:10:00Z');
    const a = (await fireDueTicks(store.handle, now)).ticks;
    const b = (await fireDueTicks(other.handle, now)).ticks;
    expect(a.length + b.length).toBe(1);
    expect(await files(store, 'hourly_tick@master:/')).toEqual(['/2024-01-01T07:00:00Z']);
  });

  it('ticks every due cron input of a pipeline in one commit set: one job reads both', async () => {
    const { store } = await cronStore({
      name: 'both',
      input: { cross: [{ cron: { name: 'fast', spec: '*/30 * * * *', start: START } }, { cron: { name: 'slow', spec: '@hourly', start: START } }] },
      cmd: ['sh', '-c', 'ls /pfs/fast /pfs/slow > "/pfs/out/$PACH_DATUM_ID"'],
    });
    await runForeground(store.handle);
    const [tick] = (await fireDueTicks(store.handle, T('2024-01-01T01:10:00Z'))).ticks;
    expect(tick!.commits.map((c) => [c.repo, c.time])).toEqual([
      ['both_fast', '2024-01-01T01:00:00Z'],
      ['both_slow', '2024-01-01T01:00:00Z'],
    ]);
    expect((await store.core.jobs.jobsById(tick!.commitSet)).map((j) => j.pipeline)).toEqual(['both']);
    // only the fast input is due at 01:30: the job reads it with the slow input's current head
    const [half] = (await fireDueTicks(store.handle, T('2024-01-01T01:31:00Z'))).ticks;
    expect(half!.commits.map((c) => c.repo)).toEqual(['both_fast']);
    await runForeground(store.handle);
    const job = (await store.handle.jobs.getJob('both', half!.commitSet))!;
    expect([job.state, job.total]).toEqual(['JOB_SUCCESS', 2]); // 2 fast ticks ⨯ 1 slow tick
    expect((await listDatums(store.handle, 'both', half!.commitSet)).map((d) => d.files.map((f) => `${f.repo}:${f.path}`))).toContainEqual(['both_fast:/2024-01-01T01:30:00Z', 'both_slow:/2024-01-01T01:00:00Z']);
  });

  it('an update keeps the schedule of inputs it keeps and forgets removed ones', async () => {
    const { store, dir } = await cronStore();
    await fireDueTicks(store.handle, T('2024-01-01T03:00:00Z'));
    const update = (cronName: string) =>
      createPipelines(store.handle, JSON.stringify({ pipeline: { name: 'hourly' }, input: { cron: { name: cronName, spec: '@hourly', start: START } }, transform: { cmd: ['true'] } }), { baseDir: dir, update: true });
    await update('tick');
    expect((await fireDueTicks(store.handle, T('2024-01-01T03:30:00Z'))).ticks).toEqual([]);
    await update('renamed');
    expect(store.core.db.prepare('SELECT input FROM cron_ticks').pluck().all()).toEqual([]);
  });
});

describe('runCron', () => {
  it('ticks now, and the schedule goes on from that tick', async () => {
    const { store } = await cronStore();
    const now = T('2024-01-01T05:20:42.500Z');
    const tick = await runCron(store.handle, 'hourly', now);
    expect(tick.commits.map((c) => c.path)).toEqual(['/2024-01-01T05:20:42Z']);
    expect(tick.job).toBe(tick.commitSet);
    expect((await fireDueTicks(store.handle, T('2024-01-01T05:59:00Z'))).ticks).toEqual([]);
    expect((await fireDueTicks(store.handle, T('2024-01-01T06:00:00Z'))).ticks).toHaveLength(1);
  });

  it('on a stopped pipeline writes the tick but starts no job', async () => {
    const { store } = await cronStore();
    await stopPipeline(store.handle, 'hourly');
    const tick = await runCron(store.handle, 'hourly', T('2024-01-01T05:00:00Z'));
    expect(tick.job).toBeNull();
    expect(await files(store, 'hourly_tick@master:/')).toEqual(['/2024-01-01T05:00:00Z']);
  });

  it("refuses a pipeline without a cron input (E_INVALID) and a missing one (E_NOT_FOUND)", async () => {
    const env = tempStore();
    cleanups.push(env.cleanup);
    await env.store.createRepo('in');
    await createPipelines(env.store.handle, JSON.stringify({ pipeline: { name: 'plain' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['true'] } }), { baseDir: env.dir });
    const err = await thrown(() => runCron(env.store.handle, 'plain'));
    expect([err.code, err.exitCode, err.message]).toEqual(['E_INVALID', 2, "pipeline doesn't have a cron input"]);
    const missing = await thrown(() => runCron(env.store.handle, 'nope'));
    expect([missing.code, missing.exitCode]).toEqual(['E_NOT_FOUND', 4]);
  });
});
