// ML transforms inside real pipelines on a real store: outputs and provenance of train jobs,
// byte-identical retraining, pre-flight failures naming stage and column, and downstream
// predict/evaluate pipelines that process only new datums.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runForeground } from '../../src/pipeline/runner.js';
import { parseFileRef } from '../../src/store/address.js';
import { housesCsv, lastJob, PRICE_ML, priceSpec, mlStore, pipeline, put, read, readJson } from './ml-helpers.js';

const envs: ReturnType<typeof mlStore>[] = [];
afterEach(() => {
  for (const e of envs.splice(0)) e.cleanup();
});
function store() {
  const e = mlStore();
  envs.push(e);
  return e;
}

describe('train pipeline', () => {
  it('writes the fitted chain, metrics and a model card with the input commit ids', async () => {
    const { store: s, dir } = store();
    const commit = await put(s, 'houses', { '/train.csv': housesCsv(200, 1) });
    await pipeline(s, dir, priceSpec());
    expect(await lastJob(s, 'price-model')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    expect((await s.listFiles(parseFileRef('price-model@master:/'))).map((f) => f.path)).toEqual(['/MODEL_CARD.md', '/metrics.json', '/model', '/model-card.json']);
    const metrics = await readJson(s, 'price-model@master:/metrics.json');
    expect(metrics).toMatchObject({ task: 'regression', label: 'price', rows: { train: 160, test: 40 } });
    expect(Object.keys(metrics.test)).toEqual(['mse', 'r2']);
    expect(metrics.test.r2).toBeGreaterThan(0.99);
    const card = await readJson(s, 'price-model@master:/model-card.json');
    expect(card.inputs).toEqual([{ name: 'houses', repo: 'houses', branch: 'master', commit }]);
    expect(card.pipeline).toBe('price-model');
    expect(card.backend).toMatchObject({ used: 'js-float64', requested: 'auto' });
    expect(card.data.schema).toEqual([
      { name: 'id', type: 'string' },
      { name: 'sqft', type: 'number' },
      { name: 'rooms', type: 'number' },
      { name: 'city', type: 'string' },
      { name: 'price', type: 'number' },
    ]);
    expect(card.spec).toEqual(PRICE_ML);
    const chain = await readJson(s, 'price-model@master:/model/chain.json');
    expect(chain.format).toBe('tusk-ml-chain/1');
    expect(chain.stages.map((x: { name: string }) => x.name)).toEqual(['OneHotEncoder', 'StandardScaler', 'PolynomialFeatures', 'LinearRegression']);
    expect(chain.stages[0].state.categories).toEqual([['lyon', 'nantes', 'paris']]);
    // the model version is a commit with provenance to its data
    const out = await s.inspectCommit(parseFileRef('price-model@master'));
    expect(out.provenance.map((p) => `${p.repo}@${p.commit}`)).toEqual([`houses@${commit}`]);
    expect((await read(s, 'price-model@master:/MODEL_CARD.md')).toString()).toContain(`houses: houses@master=${commit}`);
  });

  it('is byte-identical for the same inputs, seed and backend (linear and MLP)', async () => {
    const mlp = { ...PRICE_ML, chain: [{ OneHotEncoder: {} }, { StandardScaler: {} }, { MLPRegressor: { hidden: [8], epochs: 15 } }], seed: 9 };
    const outputs = [];
    for (let run = 0; run < 2; run++) {
      const { store: s, dir } = store();
      await put(s, 'houses', { '/train.csv': housesCsv(120, 2) });
      await pipeline(s, dir, priceSpec('linear'));
      await pipeline(s, dir, priceSpec('mlp', mlp));
      const files: Record<string, string> = {};
      for (const ref of ['linear@master:/model/chain.json', 'linear@master:/metrics.json', 'mlp@master:/model/chain.json', 'mlp@master:/model/stage-2/model.json', 'mlp@master:/model/stage-2/weights.bin', 'mlp@master:/metrics.json'])
        files[ref] = (await read(s, ref)).toString('base64');
      outputs.push(files);
    }
    expect(outputs[1]).toEqual(outputs[0]);
  });

  it('fails before reading rows when a string column reaches a numeric stage', async () => {
    const { store: s, dir } = store();
    await put(s, 'houses', { '/train.csv': housesCsv(30, 3) });
    await pipeline(s, dir, priceSpec('bad', { ...PRICE_ML, chain: [{ StandardScaler: {} }, { LinearRegression: {} }] }));
    const job = await lastJob(s, 'bad');
    expect(job.state).toBe('JOB_FAILURE');
    expect(job.errors[0]).toBe('transform.ml.chain[0] (StandardScaler): column "city" is a string; StandardScaler needs numbers');
    let text = '';
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : (text += fs.readFileSync(path.join(d, e.name), 'utf8'));
    };
    walk(path.join(s.path, 'logs'));
    expect(text).toContain('column \\"city\\" is a string');
    expect(text).not.toContain('read 30 rows');
  });

  it('fails naming the label when it is missing from the header', async () => {
    const { store: s, dir } = store();
    await put(s, 'houses', { '/train.csv': housesCsv(30, 3, 0, false) });
    await pipeline(s, dir, priceSpec());
    expect((await lastJob(s, 'price-model')).errors[0]).toMatch(/^transform\.ml\.chain\[3\] \(LinearRegression\): label column "price" is not in the data/);
  });
});

describe('predict and evaluate pipelines', () => {
  const predictSpec = (task: 'predict' | 'evaluate', glob: string, data: string) => ({
    pipeline: { name: task === 'predict' ? 'priced' : 'scored' },
    input: { cross: [{ pfs: { repo: data, glob } }, { pfs: { repo: 'price-model', glob: '/' } }] },
    transform: { ml: { task, model: '/pfs/price-model', data: { path: `/pfs/${data}`, ...(task === 'evaluate' ? { label: 'price' } : {}) }, ...(task === 'evaluate' ? { metrics: ['r2', 'mae'] } : {}) } },
  });

  it('predicts new datums only, and everything again when the model changes', async () => {
    const { store: s, dir } = store();
    await put(s, 'houses', { '/train.csv': housesCsv(200, 1) });
    await pipeline(s, dir, priceSpec());
    await put(s, 'listings', { '/a.csv': housesCsv(5, 7, 1000, false), '/b.csv': housesCsv(3, 8, 2000, false) });
    await pipeline(s, dir, predictSpec('predict', '/*', 'listings'));
    expect(await lastJob(s, 'priced')).toMatchObject({ errors: [], state: 'JOB_SUCCESS', processed: 2, skipped: 0 });
    const a = (await read(s, 'priced@master:/a.csv')).toString().trim().split('\n');
    expect(a[0]).toBe('id,sqft,rooms,city,prediction');
    expect(a).toHaveLength(6);
    const [, sqft, rooms, city, pred] = a[1]!.split(',');
    const expected = 50 + 0.12 * Number(sqft) + 15 * Number(rooms) + (city === 'paris' ? 120 : city === 'lyon' ? 40 : 0);
    expect(Math.abs(Number(pred) - expected)).toBeLessThan(10);

    await put(s, 'listings', { '/c.csv': housesCsv(2, 9, 3000, false) });
    await runForeground(s.handle);
    expect(await lastJob(s, 'priced')).toMatchObject({ state: 'JOB_SUCCESS', processed: 1, skipped: 2 });
    expect((await s.listFiles(parseFileRef('priced@master:/'))).map((f) => f.path)).toEqual(['/a.csv', '/b.csv', '/c.csv']);

    await put(s, 'houses', { '/train.csv': housesCsv(220, 4) });
    await runForeground(s.handle);
    expect(await lastJob(s, 'priced')).toMatchObject({ state: 'JOB_SUCCESS', processed: 3, skipped: 0 });
  });

  it('evaluates a model on labelled data', async () => {
    const { store: s, dir } = store();
    await put(s, 'houses', { '/train.csv': housesCsv(200, 1) });
    await pipeline(s, dir, priceSpec());
    await put(s, 'holdout', { '/h.csv': housesCsv(50, 12, 5000) });
    await pipeline(s, dir, predictSpec('evaluate', '/', 'holdout'));
    expect(await lastJob(s, 'scored')).toMatchObject({ errors: [], state: 'JOB_SUCCESS' });
    const m = await readJson(s, 'scored@master:/metrics.json');
    expect(m.rows).toEqual({ test: 50 });
    expect(Object.keys(m.test)).toEqual(['r2', 'mae']);
    expect(m.test.r2).toBeGreaterThan(0.99);
    const card = await readJson(s, 'scored@master:/model-card.json');
    expect(card.inputs.map((i: { repo: string }) => i.repo)).toEqual(['holdout', 'price-model']);
  });

  it('refuses data that lacks a feature the model expects, naming stage and column', async () => {
    const { store: s, dir } = store();
    await put(s, 'houses', { '/train.csv': housesCsv(100, 1) });
    await pipeline(s, dir, priceSpec());
    await put(s, 'listings', { '/a.csv': 'id,sqft,city\nx,1000,paris\n' });
    await pipeline(s, dir, predictSpec('predict', '/*', 'listings'));
    expect((await lastJob(s, 'priced')).errors[0]).toBe('transform.ml.model (LinearRegression): the model expects feature "rooms" (a number), which a.csv lacks');
  });

  it('predicts images per top-level folder with a CNN trained on a PNG tree', async () => {
    const { stripesTree } = await import('./images.js');
    const { store: s, dir } = store();
    await put(s, 'stripes', stripesTree(10, 8));
    await pipeline(s, dir, {
      pipeline: { name: 'cnn' },
      input: { pfs: { repo: 'stripes', glob: '/' } },
      transform: { ml: { data: { format: 'images', path: '/pfs/stripes' }, chain: [{ DecodeImage: { channels: 1 } }, { CNNClassifier: { filters: [2], dense: [4], epochs: 3, batch_size: 10 } }] } },
    });
    expect((await lastJob(s, 'cnn')).state).toBe('JOB_SUCCESS');
    await put(s, 'unlabelled', stripesTree(2, 8, 5));
    await pipeline(s, dir, {
      pipeline: { name: 'cnn-pred' },
      input: { cross: [{ pfs: { repo: 'unlabelled', glob: '/*' } }, { pfs: { repo: 'cnn', glob: '/' } }] },
      transform: { ml: { task: 'predict', model: '/pfs/cnn', data: { format: 'images', path: '/pfs/unlabelled' } } },
    });
    expect(await lastJob(s, 'cnn-pred')).toMatchObject({ state: 'JOB_SUCCESS', processed: 2 });
    const h = (await read(s, 'cnn-pred@master:/horizontal.csv')).toString().trim().split('\n');
    expect(h[0]).toBe('path,label,prediction,proba_horizontal,proba_vertical');
    expect(h).toHaveLength(3);
  });
});
