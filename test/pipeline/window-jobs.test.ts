// Windowed pipelines over a real store and real child processes: a fixed (1d) and a sliding
// (2d every 1d) window by commit time over one branch, fed commits with given times. Each step
// counts the datums a job processed and skipped: a new commit redoes only the windows it falls
// into, a squashed commit only the windows that held it, a late commit only the windows of its
// time, and deleting a commit takes its files out of its windows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelines } from '../../src/pipeline/pipeline-service.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { parseFileRef } from '../../src/store/address.js';
import { readBack, streamOf, tempStore } from '../helpers.js';
import { REPORT } from './window-helpers.js';

const at = (day: number, hour: number) => Date.UTC(2025, 2, day, hour);
const DAY = (day: number) => new Date(at(day, 0)).toISOString();

describe('windows by commit time', () => {
  let env: ReturnType<typeof tempStore>;
  const commits: Record<string, string> = {};
  beforeAll(() => {
    env = tempStore();
  });
  afterAll(() => env?.cleanup());

  /** One commit holding `file` at `time`, then the jobs it started, run here. */
  async function commitAt(label: string, time: number, file: string) {
    const { store } = env;
    const c = await store.startCommit('series', 'master', { time });
    await store.putFiles({ repo: 'series', commit: c.id }, [{ kind: 'stream', stream: streamOf(`${label}\n`), repoPath: `/${file}` }]);
    await store.finishCommit({ repo: 'series', commit: c.id });
    await runForeground(store.handle);
    commits[label] = c.id;
  }
  const counts = async (pipeline: string) => {
    const j = (await env.store.core.jobs.jobsOf(pipeline))[0]!;
    expect(j.state, `${pipeline}: ${j.reason}`).toBe('JOB_SUCCESS');
    return { processed: j.processed, skipped: j.skipped };
  };
  const report = async (pipeline: string, day: number) => (await readBack(env.store, parseFileRef(`${pipeline}@master:/${DAY(day).slice(0, 10)}.txt`))).toString();
  const lines = (day: number, ids: string[], files: [string, string][]) => [`${DAY(day)} ${DAY(day + 1)}`, ids.join(' '), ...files.map(([c, f]) => `${c}/${f}`), ''].join('\n');

  it('creates the pipelines', async () => {
    await env.store.createRepo('series');
    for (const [name, window] of [
      ['daily', { size: '1d' }],
      ['sliding', { size: '2d', every: '1d' }],
    ] as const) {
      await createPipelines(env.store.handle, JSON.stringify({ pipeline: { name }, input: { pfs: { repo: 'series', glob: '/*.csv', window } }, transform: { cmd: ['sh'], stdin: REPORT } }), { baseDir: env.dir });
    }
  });

  it('each new commit processes only the windows it falls into', async () => {
    await commitAt('d1', at(1, 10), 'd1.csv');
    expect(await counts('daily')).toEqual({ processed: 1, skipped: 0 });
    expect(await counts('sliding')).toEqual({ processed: 2, skipped: 0 }); // [02-28, 03-02), [03-01, 03-03)
    await commitAt('d2', at(2, 10), 'd2.csv');
    expect(await counts('daily')).toEqual({ processed: 1, skipped: 1 });
    expect(await counts('sliding')).toEqual({ processed: 2, skipped: 1 });
    await commitAt('d3a', at(3, 10), 'd3a.csv');
    await commitAt('d3b', at(3, 14), 'd3b.csv');
    expect(await counts('daily')).toEqual({ processed: 1, skipped: 2 });
    expect(await counts('sliding')).toEqual({ processed: 2, skipped: 2 });
    const { d3a, d3b } = commits as Record<string, string>;
    expect(await report('daily', 3)).toBe(lines(3, [d3a!, d3b!], [[d3a!, 'd3a.csv'], [d3b!, 'd3b.csv']]));
  });

  it('a squashed commit redoes exactly the windows that held it', async () => {
    // d3a's file moves into its child d3b (same day): the windows of 03-03 change, no others
    await env.store.squashCommit({ repo: '', commit: commits.d3a! });
    await commitAt('d4', at(4, 10), 'd4.csv');
    expect(await counts('daily')).toEqual({ processed: 2, skipped: 2 }); // 03-03, and the new 03-04
    expect(await counts('sliding')).toEqual({ processed: 3, skipped: 2 }); // 03-02, 03-03, 03-04
    const d3b = commits.d3b!;
    expect(await report('daily', 3)).toBe(lines(3, [d3b], [[d3b, 'd3a.csv'], [d3b, 'd3b.csv']]));
  });

  it('a late commit redoes only the windows its time falls into, in time order', async () => {
    await commitAt('late', at(1, 18), 'late.csv');
    expect(await counts('daily')).toEqual({ processed: 1, skipped: 3 });
    expect(await counts('sliding')).toEqual({ processed: 2, skipped: 3 }); // 02-28 and 03-01
    const { d1, late } = commits as Record<string, string>;
    expect(await report('daily', 1)).toBe(lines(1, [d1!, late!], [[d1!, 'd1.csv'], [late!, 'late.csv']]));
  });

  it('deleting a commit takes its files out of its windows', async () => {
    await env.store.deleteCommit({ repo: '', commit: commits.late! });
    const d1 = commits.d1!;
    expect(await report('daily', 1)).toBe(lines(1, [d1], [[d1, 'd1.csv']]));
    // the next job builds on the output from before the deleted commit: only its own window runs
    await commitAt('d5', at(5, 10), 'd5.csv');
    expect(await counts('daily')).toEqual({ processed: 1, skipped: 4 });
    expect(await report('daily', 1)).toBe(lines(1, [d1], [[d1, 'd1.csv']]));
    expect((await env.store.fsck()).ok).toBe(true);
  });
});

describe('windows by commit count', () => {
  let env: ReturnType<typeof tempStore>;
  beforeAll(() => {
    env = tempStore();
  });
  afterAll(() => env?.cleanup());

  it('a new commit redoes the windows of its position; a commit the glob does not see still counts', async () => {
    const { store } = env;
    await store.createRepo('log');
    const spec = { pipeline: { name: 'last3' }, input: { pfs: { repo: 'log', glob: '/*.txt', window: { size: '3 commits', every: '1 commit' } } }, transform: { cmd: ['sh'], stdin: ['for c in $TUSK_WINDOW_COMMITS; do cat "$log/$c"/*; done > /pfs/out/$TUSK_WINDOW_START.txt'] } };
    // the first commit before the pipeline: creating it on an empty repo would start the branch
    // with an empty commit, which takes position 0
    let created = false;
    const add = async (name: string) => {
      await store.putFiles({ repo: 'log', branch: 'master' }, [{ kind: 'stream', stream: streamOf(`${name}\n`), repoPath: `/${name}` }]);
      if (!created) await createPipelines(store.handle, JSON.stringify(spec), { baseDir: env.dir });
      created = true;
      await runForeground(store.handle);
      const j = (await store.handle.jobs.jobsOf('last3'))[0]!;
      expect(j.state).toBe('JOB_SUCCESS');
      return [j.processed, j.skipped];
    };
    expect(await add('a.txt')).toEqual([1, 0]); // [0, 3)
    expect(await add('b.txt')).toEqual([2, 0]); // [0, 3), [1, 4)
    expect(await add('c.txt')).toEqual([3, 0]); // and [2, 5)
    expect(await add('d.txt')).toEqual([3, 1]); // [1, 4), [2, 5), [3, 6); [0, 3) is complete
    expect(await add('skip.csv')).toEqual([0, 4]); // position 4 holds nothing the glob selects
    expect(await add('e.txt')).toEqual([3, 3]); // [3, 6) changed, [4, 7) and [5, 8) new
    const files = (await store.listFiles(parseFileRef('last3@master:/'))).map((f) => f.path);
    expect(files).toEqual(['/0.txt', '/1.txt', '/2.txt', '/3.txt', '/4.txt', '/5.txt']);
    expect((await readBack(store, parseFileRef('last3@master:/3.txt'))).toString()).toBe('d.txt\ne.txt\n');
  });
});
