// A lane's scratch trees: a job of one datum lays it out in one tree (the second, where the next
// datum's inputs are laid out while one runs, is made only when a next datum comes), and every
// tree is gone once the runner is done with the job.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerTransform } from '../../src/pipeline/job-runner.js';
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
});
