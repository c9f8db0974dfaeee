// A lane's scratch trees: a job of one datum lays it out in one tree (the second, where the next
// datum's inputs are laid out while one runs, is made only when a next datum comes), every tree
// is gone once the runner is done with the job, and a runner that finds no datum to claim makes
// none.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerTransform, specOf } from '../../src/pipeline/job-runner.js';
import { planJob } from '../../src/pipeline/job-plan.js';
import { createPipelines } from '../../src/pipeline/pipeline-service.js';
import { runForeground } from '../../src/pipeline/runner.js';
import type { DatumContext, TransformResult } from '../../src/pipeline/transform.js';
import { streamOf, tempStore } from '../helpers.js';

/** What the probe saw of the scratch directory, per pipeline: the trees present while each datum ran. */
const seen = new Map<string, string[][]>();

registerTransform((spec) =>
  spec.name.startsWith('probe-')
    ? {
        protectsInputs: true,
        async run(ctx: DatumContext): Promise<TransformResult> {
          // a tree is <scratch>/w-<id>, its pfs/ one level down
          const trees = fs.readdirSync(path.dirname(path.dirname(ctx.pfsDir))).filter((n) => n.startsWith('w-'));
          seen.set(spec.name, [...(seen.get(spec.name) ?? []), trees]);
          fs.writeFileSync(path.join(ctx.pfsDir, 'out', ctx.datumId), 'x');
          return { ok: true, exitCode: 0, signal: null, timedOut: false };
        },
      }
    : undefined,
);

describe('scratch trees of a job', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  async function job(files: number): Promise<{ trees: string[][]; left: string[] }> {
    const env = tempStore();
    cleanups.push(env.cleanup);
    const { store, dir } = env;
    await store.createRepo('src');
    await store.putFiles(
      { repo: 'src', branch: 'master' },
      Array.from({ length: files }, (_, i) => ({ kind: 'stream' as const, stream: streamOf(`f${i}`), repoPath: `/f${i}` })),
    );
    const name = `probe-${files}`;
    await createPipelines(store.handle, JSON.stringify({ pipeline: { name }, input: { pfs: { repo: 'src', glob: '/*' } }, transform: { cmd: ['true'] }, parallelism_spec: { constant: 1 } }), { baseDir: dir });
    await runForeground(store.handle);
    const scratch = path.join(store.handle.path, 'tmp', 'datums');
    const left = fs.existsSync(scratch) ? fs.readdirSync(scratch).filter((n) => n.startsWith('w-')) : [];
    return { trees: seen.get(name) ?? [], left };
  }

  it('lays a job of one datum out in one tree, and removes it', async () => {
    const { trees, left } = await job(1);
    expect(trees).toHaveLength(1);
    expect(trees[0]).toHaveLength(1);
    expect(left).toEqual([]);
  });

  it('gives a lane a second tree once a second datum comes, and removes both', async () => {
    const { trees, left } = await job(3);
    expect(trees).toHaveLength(3);
    expect(trees[0]!.length).toBeLessThanOrEqual(2);
    expect(Math.max(...trees.map((t) => t.length))).toBe(2);
    expect(left).toEqual([]);
  });

  it('makes no tree for a job whose datums another runner holds', async () => {
    const env = tempStore();
    cleanups.push(env.cleanup);
    const { store, dir } = env;
    const s = store.handle;
    await store.createRepo('src');
    await store.putFiles({ repo: 'src', branch: 'master' }, [0, 1, 2].map((i) => ({ kind: 'stream' as const, stream: streamOf(`f${i}`), repoPath: `/f${i}` })));
    await createPipelines(s, JSON.stringify({ pipeline: { name: 'probe-held' }, input: { pfs: { repo: 'src', glob: '/*' } }, transform: { cmd: ['true'] }, parallelism_spec: { constant: 2 } }), { baseDir: dir });
    const [job] = await s.jobs.openJobs();
    await planJob(s, job!, specOf((await s.jobs.getPipeline('probe-held'))!), 'other');
    expect(await s.jobs.claimDatums('probe-held', job!.id, 'other', 600_000, 10)).toHaveLength(3);

    const scratch = path.join(s.path, 'tmp', 'datums');
    fs.mkdirSync(scratch, { recursive: true });
    const names: string[] = [];
    const watcher = fs.watch(scratch, (_event, name) => names.push(String(name)));
    try {
      // twice: a polling worker passes over such a job again and again
      expect(await runForeground(s)).toBe(0);
      expect(await runForeground(s)).toBe(0);
      // events come in order: once the marker's is in, any tree made and removed above was seen
      fs.writeFileSync(path.join(scratch, 'marker'), '');
      await new Promise<void>((resolve) => {
        const poll = () => (names.includes('marker') ? resolve() : setTimeout(poll, 5));
        poll();
      });
    } finally {
      watcher.close();
    }
    expect(names.filter((n) => n !== 'marker')).toEqual([]);
    expect((await s.jobs.datumStates('probe-held', job!.id)).running).toBe(3);
  });
});
