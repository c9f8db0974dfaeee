// Network and ensemble stages trained for real through pipelines (small data, few epochs): MLP,
// CNN on a PNG tree and on CIFAR-10 batches, autoencoder anomaly detection, ensembles, trees.
import { afterEach, describe, expect, it } from 'vitest';
import { cifarBatch, stripesTree } from './images.js';
import { fixture, lastJob, mlStore, pipeline, put, read, readJson } from './ml-helpers.js';
import { predictChain } from '../../src/ml/chain.js';
import { loadModel } from '../../src/ml/model-source.js';
import { mulberry32 } from '../../src/ml/rng.js';
import type { Column } from '../../src/ml/table.js';
import { loadTf } from '../../src/ml/tf.js';
import { parseFileRef } from '../../src/store/address.js';

let env: ReturnType<typeof mlStore> | undefined;
afterEach(() => {
  env?.cleanup();
  env = undefined;
});

async function train(repo: string, files: Record<string, Buffer | string>, ml: Record<string, unknown>, name = 'model') {
  env ??= mlStore();
  const { store, dir } = env;
  await put(store, repo, files);
  await pipeline(store, dir, { pipeline: { name }, input: { pfs: { repo, glob: '/' } }, transform: { ml } });
  const job = await lastJob(store, name);
  expect(job.errors).toEqual([]);
  expect(job.state).toBe('JOB_SUCCESS');
  return { metrics: await readJson(store, `${name}@master:/metrics.json`), card: await readJson(store, `${name}@master:/model-card.json`) };
}

describe('networks', () => {
  it('MLPClassifier learns iris and saves a TF.js model', async () => {
    const { metrics, card } = await train('iris', { '/iris.csv': fixture('iris.csv') }, {
      data: { path: '/pfs/iris/iris.csv', label: 'species' },
      chain: [{ StandardScaler: {} }, { MLPClassifier: { hidden: [16], epochs: 60, batch_size: 16, learning_rate: 0.02 } }],
      split: { test: 0.25, seed: 7 },
      seed: 3,
      backend: 'wasm',
      metrics: ['accuracy', 'f1'],
    });
    expect(metrics.test.accuracy).toBeGreaterThan(0.85);
    expect(card.backend.used).toBe('wasm');
    expect(card.backend.tfjs).toMatch(/^4\./);
    const model = JSON.parse((await read(env!.store, 'model@master:/model/stage-1/model.json')).toString());
    expect(model.format).toBe('layers-model');
    expect(model.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect((await read(env!.store, 'model@master:/model/stage-1/weights.bin')).length).toBe((4 * 16 + 16 + 16 * 3 + 3) * 4);
  });

  it('MLPRegressor fits diabetes better than the mean, on the backend TUSK_TF_BACKEND names', async () => {
    process.env.TUSK_TF_BACKEND = 'cpu';
    try {
      const { metrics, card } = await train('diabetes', { '/d.csv': fixture('diabetes.csv') }, {
        data: { path: '/pfs/diabetes/d.csv', label: 'progression' },
        chain: [{ StandardScaler: {} }, { MLPRegressor: { hidden: [8], epochs: 30, learning_rate: 0.01 } }],
        split: { test: 0.2, seed: 42 },
      });
      expect(metrics.test.r2).toBeGreaterThan(0.3);
      expect(card.backend).toMatchObject({ requested: 'cpu', resolved: 'cpu', used: 'cpu' });
    } finally {
      delete process.env.TUSK_TF_BACKEND;
    }
  });

  it('a loaded network predicts any number of rows as one model.predict call would, on the backend TUSK_TF_BACKEND names', async () => {
    await train('iris', { '/iris.csv': fixture('iris.csv') }, {
      data: { path: '/pfs/iris/iris.csv', label: 'species' },
      chain: [{ MLPClassifier: { hidden: [8], epochs: 5, batch_size: 16 } }],
      backend: 'wasm',
    });
    // 700 rows: two whole prediction batches of 256 and a part one
    const rand = mulberry32(5);
    const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
    const columns: Column[] = names.map((name) => ({ name, type: 'number', values: Float64Array.from({ length: 700 }, () => 1 + rand() * 6) }));
    process.env.TUSK_TF_BACKEND = 'cpu';
    const model = await loadModel(env!.store, parseFileRef('model@master')).finally(() => delete process.env.TUSK_TF_BACKEND);
    try {
      const tf = await loadTf();
      expect(tf.getBackend()).toBe('cpu');
      const pred = await predictChain(model.chain, { rows: 700, columns });
      const mj = JSON.parse((await read(env!.store, 'model@master:/model/stage-0/model.json')).toString());
      const w = await read(env!.store, 'model@master:/model/stage-0/weights.bin');
      const direct = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: mj.weightsManifest[0].weights, weightData: new Uint8Array(w).buffer }));
      const x = Float32Array.from({ length: 700 * 4 }, (_, i) => columns[i % 4]!.values[Math.floor(i / 4)] as number);
      const out = direct.predict(tf.tensor2d(x, [700, 4]), { batchSize: 256 }) as import('@tensorflow/tfjs').Tensor;
      expect(pred.kind === 'classification' && Array.from(pred.proba!)).toEqual(Array.from(await out.data()));
      direct.dispose();
    } finally {
      model.close();
    }
  });

  it('CNNClassifier on a PNG tree (label = folder), trained on cpu where wasm lacks conv gradients', async () => {
    const { metrics, card } = await train('stripes', stripesTree(16, 12), {
      data: { format: 'images', path: '/pfs/stripes' },
      chain: [{ DecodeImage: { size: [8, 8], channels: 1 } }, { CNNClassifier: { filters: [4], dense: [8], epochs: 12, batch_size: 8, learning_rate: 0.01 } }],
      split: { test: 0.25, seed: 1 },
      backend: 'wasm',
    });
    expect(metrics.test.accuracy).toBeGreaterThanOrEqual(0.875);
    expect(card.backend.used).toBe('cpu');
    expect(card.backend.notes[0]).toMatch(/wasm lacks Conv2DBackpropFilter/);
    expect(card.data.schema).toEqual([
      { name: 'path', type: 'string' },
      { name: 'image', type: 'image', shape: [12, 12, 3] },
      { name: 'label', type: 'string' },
    ]);
  });

  it('CNNClassifier on CIFAR-10 binary batches with class names', async () => {
    const labels = Array.from({ length: 36 }, (_, i) => i % 3);
    const { metrics } = await train('cifar', { '/data_batch_1.bin': cifarBatch(labels, 5), '/batches.meta.txt': 'red\nblue\ngreen\n' }, {
      data: { format: 'cifar10', path: '/pfs/cifar' },
      chain: [{ CNNClassifier: { filters: [2], dense: [8], epochs: 5, batch_size: 6, learning_rate: 0.01 } }],
      split: { test: 0.25, seed: 2 },
      backend: 'cpu',
    });
    expect(metrics.test.confusion_matrix.labels).toEqual(['blue', 'green', 'red']);
    expect(metrics.test.accuracy).toBeGreaterThan(0.8);
  });

  it('Autoencoder flags points off the normal manifold', async () => {
    const rand = mulberry32(11);
    const rows = ['x,y,z,anomaly'];
    for (let i = 0; i < 300; i++) {
      const t = rand() * 2 - 1;
      const outlier = i % 15 === 0;
      const n = () => (rand() - 0.5) * 0.1;
      rows.push(outlier ? `${t},${-t + n()},${(rand() - 0.5) * 2},1` : `${t},${t + n()},${2 * t + n()},0`);
    }
    const { metrics } = await train('points', { '/p.csv': rows.join('\n') + '\n' }, {
      data: { path: '/pfs/points/p.csv', label: 'anomaly' },
      chain: [{ StandardScaler: {} }, { Autoencoder: { hidden: [4, 1], epochs: 60, threshold_quantile: 0.98, normal: 0 } }],
      split: { test: 0.3, seed: 4 },
      metrics: ['roc_auc', 'recall', 'accuracy'],
    });
    expect(metrics.test.roc_auc).toBeGreaterThan(0.9);
    expect(metrics.test.threshold).toBeGreaterThan(0);
    expect(metrics.test.accuracy).toBeGreaterThan(0.85);
  });
});

describe('ensembles and trees', () => {
  it('votes LogisticRegression, a tree and a forest on iris', async () => {
    const { metrics } = await train('iris', { '/iris.csv': fixture('iris.csv') }, {
      data: { path: '/pfs/iris/iris.csv', label: 'species' },
      chain: [
        { StandardScaler: {} },
        { Ensemble: { method: 'vote', members: [{ LogisticRegression: {} }, { DecisionTreeClassifier: { max_depth: 3 } }, { RandomForestClassifier: { n_estimators: 15 } }] } },
      ],
      split: { test: 0.25, seed: 7 },
    });
    expect(metrics.test.accuracy).toBeGreaterThan(0.9);
  });

  it('averages regressors', async () => {
    const { metrics } = await train('diabetes', { '/d.csv': fixture('diabetes.csv') }, {
      data: { path: '/pfs/diabetes/d.csv', label: 'progression' },
      chain: [{ Ensemble: { method: 'average', members: [{ LinearRegression: {} }, { RandomForestRegressor: { n_estimators: 10, max_depth: 5 } }] } }],
      split: { test: 0.2, seed: 42 },
    });
    expect(metrics.test.r2).toBeGreaterThan(0.4);
  });
});
