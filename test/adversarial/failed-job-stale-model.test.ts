// A failed train job must not leave the previous model in its output commit, and the commands
// that load models must not take a failed job's commit for a new model version.
//
// Reproduction: a train pipeline succeeds; a new input with a bad CSV cell (a word in the
// numeric column sqft) makes the next job fail. The failed output commit still held /model,
// `inspect file` credited it to the failed datum, and `tusk predict price-model@master` and
// `tusk serve model price-model@master` loaded it as the new version.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { predictFile } from '../../src/ml/predict-service.js';
import { serveModel } from '../../src/ml/serve.js';
import { createPipelines } from '../../src/pipeline/pipeline-service.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { parseFileRef } from '../../src/store/address.js';
import { runTusk } from '../cli/cli-helpers.js';
import { housesCsv, lastJob, mlStore, pipeline, priceSpec, put } from '../ml/ml-helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** price-model trained once (good), then a job that fails on a bad cell (failed). */
async function trainedThenFailed() {
  const env = mlStore();
  cleanups.push(env.cleanup);
  const { store: s, dir } = env;
  await put(s, 'houses', { '/train.csv': housesCsv(100, 1) });
  await pipeline(s, dir, priceSpec());
  const good = (await s.inspectCommit(parseFileRef('price-model@master'))).id;
  await put(s, 'houses', { '/train.csv': housesCsv(100, 2).replace(/\nh3,\d+,/, '\nh3,notanumber,') });
  await runForeground(s.handle);
  expect((await lastJob(s, 'price-model')).state).toBe('JOB_FAILURE');
  const failed = await s.inspectCommit(parseFileRef('price-model@master'));
  expect(failed.id).not.toBe(good);
  expect(failed.error).toMatch(/^datum [0-9a-f]+ failed$/);
  const csv = path.join(dir, 'new.csv');
  fs.writeFileSync(csv, housesCsv(3, 9, 100, false));
  return { ...env, good, failed: failed.id, csv };
}

describe('a failed job and the model it leaves', () => {
  it('the failed output commit holds none of the failed datum’s previous outputs', async () => {
    const { store: s, failed } = await trainedThenFailed();
    expect(await s.listFiles(parseFileRef(`price-model@${failed}:/`))).toEqual([]);
    await expect(s.inspectFile(parseFileRef(`price-model@${failed}:/model/chain.json`))).rejects.toThrow(expect.objectContaining({ code: 'E_NOT_FOUND' }));
  });

  it('a command pipeline whose only datum fails has an empty failed commit too', async () => {
    const env = mlStore();
    cleanups.push(env.cleanup);
    const { store: s, dir } = env;
    await put(s, 'in', { '/a.txt': 'fine\n' });
    const spec = { pipeline: { name: 'copy' }, input: { pfs: { repo: 'in', glob: '/' } }, transform: { cmd: ['sh', '-c', 'if grep -q bad /pfs/in/a.txt; then exit 1; fi; cp /pfs/in/a.txt /pfs/out/'] } };
    await createPipelines(s.handle, JSON.stringify(spec), { baseDir: dir });
    await runForeground(s.handle);
    expect((await s.listFiles(parseFileRef('copy@master:/'))).map((f) => f.path)).toEqual(['/a.txt']);
    await put(s, 'in', { '/a.txt': 'bad\n' });
    await runForeground(s.handle);
    expect((await lastJob(s, 'copy')).state).toBe('JOB_FAILURE');
    expect(await s.listFiles(parseFileRef('copy@master:/'))).toEqual([]);
  });

  it('predict passes over the failed head for the last good version, says so, and refuses the failed id', async () => {
    const { store: s, good, failed, csv } = await trainedThenFailed();
    const notes: string[] = [];
    const r = await predictFile(s, parseFileRef('price-model@master'), csv, { output: `${csv}.out`, onNote: (m) => notes.push(m) });
    expect(r.model).toMatchObject({ commit: good, skipped: [{ commit: failed, error: expect.stringMatching(/^datum /) }] });
    expect(notes).toEqual([expect.stringContaining(`price-model@${failed} is the output of a failed job`)]);
    expect(notes[0]).toContain(`using price-model@${good}`);
    await expect(predictFile(s, parseFileRef(`price-model@${failed}`), csv, { output: `${csv}.out` })).rejects.toMatchObject({
      code: 'E_INVALID',
      message: expect.stringContaining('is the output of a failed job'),
      hint: expect.stringContaining(`price-model@${good}`),
    });

    // the built CLI: exit 0, the note on stderr, the good version in --json
    const env = { TUSK_STORE: s.path };
    const cli = await runTusk(['predict', 'price-model@master', '-f', csv, '--json'], { env });
    expect(cli.code, cli.describe()).toBe(0);
    expect(cli.json().model).toMatchObject({ commit: good, skipped: [{ commit: failed }] });
    expect(cli.stderr).toContain(`note: price-model@${failed} is the output of a failed job`);
    const byId = await runTusk(['predict', `price-model@${failed}`, '-f', csv, '--json'], { env });
    expect(byId.code, byId.describe()).toBe(2);
  });

  it('serve model serves the last good version and names the failed head it passed over', async () => {
    const { store: s, good, failed } = await trainedThenFailed();
    const lines: string[] = [];
    const server = await serveModel(s, { repo: 'price-model', branch: 'master', port: 0, pollMs: 60_000, log: (l) => lines.push(l) });
    cleanups.push(() => server.close());
    expect(server.version()?.commit).toBe(good);
    expect(lines.join('\n')).toContain(`price-model@${failed} is the output of a failed job`);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { model: { commit: string; skipped: { commit: string }[] } };
    expect(health.model).toMatchObject({ commit: good, skipped: [{ commit: failed }] });
  });
});
