// validateMlSpec: static checks (fields, stages, predictor last, metrics, tasks) and type checks
// of the chain against a schema, each error naming the field, the stage and the column.
import { describe, expect, it } from 'vitest';
import { checkMlPipeline, schemaFromCsvText, validateMlSpec } from '../../src/ml/index.js';
import { normalizeSpec } from '../../src/pipeline/spec.js';
import type { Schema } from '../../src/ml/table.js';

const base = { data: { path: '/pfs/houses/train.csv', label: 'price' }, chain: [{ StandardScaler: {} }, { LinearRegression: {} }] };
const msg = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect((err as { code: string }).code).toBe('E_INVALID');
    return (err as Error).message;
  }
  throw new Error('expected an error');
};

const houses: Schema = {
  columns: [
    { name: 'sqft', type: 'number' },
    { name: 'city', type: 'string' },
    { name: 'price', type: 'number' },
  ],
};

describe('static checks', () => {
  it('normalises a valid spec with defaults', () => {
    const s = validateMlSpec({ ...base, split: { test: 0.2 }, seed: 5, chain: ['StandardScaler', { PolynomialFeatures: { degree: 3 } }, { LinearRegression: null }] });
    expect(s).toMatchObject({ task: 'train', seed: 5, data: { format: 'csv', path: '/pfs/houses/train.csv', label: 'price', delimiter: ',' }, split: { test: 0.2, seed: 5 } });
    expect(s.chain.map((c) => c.name)).toEqual(['StandardScaler', 'PolynomialFeatures', 'LinearRegression']);
    expect(s.chain[1]!.params).toMatchObject({ degree: 3, interaction_only: false, include_bias: false });
    expect(validateMlSpec({ ...base, data: { path: 'houses/train.csv', label: 'price' } }).data.path).toBe('/pfs/houses/train.csv');
  });

  it('names unknown fields, stages and parameters', () => {
    expect(msg(() => validateMlSpec({ ...base, colour: 1 }))).toBe('transform.ml.colour: unknown field');
    expect(msg(() => validateMlSpec({ ...base, chain: [{ Scaler: {} }, { LinearRegression: {} }] }))).toBe('transform.ml.chain[0]: unknown stage "Scaler"');
    expect(msg(() => validateMlSpec({ ...base, chain: [{ PolynomialFeatures: { degre: 2 } }, { LinearRegression: {} }] }))).toBe('transform.ml.chain[0] (PolynomialFeatures): unknown parameter "degre"');
    expect(msg(() => validateMlSpec({ ...base, chain: [{ LinearRegression: { alpha: -1 } }] }))).toBe('transform.ml.chain[0] (LinearRegression): parameter "alpha" must be at least 0, got -1');
    expect(msg(() => validateMlSpec({ ...base, chain: [{ A: 1, B: 2 }] }))).toMatch(/^transform\.ml\.chain\[0\]: a stage is one key naming it/);
    expect(msg(() => validateMlSpec({ ...base, data: { ...base.data, colums: {} } }))).toBe('transform.ml.data.colums: unknown field');
  });

  it('needs the estimator last, and only there', () => {
    expect(msg(() => validateMlSpec({ ...base, chain: [{ LinearRegression: {} }, { StandardScaler: {} }] }))).toBe('transform.ml.chain[0] (LinearRegression): the estimator must be the last stage, but 1 stage(s) follow it');
    expect(msg(() => validateMlSpec({ ...base, chain: [{ StandardScaler: {} }] }))).toBe('transform.ml.chain[0] (StandardScaler): the last stage must be an estimator (a model), not a transformer');
    expect(msg(() => validateMlSpec({ ...base, chain: [] }))).toBe('transform.ml.chain: expected a list of stages ending with an estimator');
  });

  it('checks labels, metrics, splits, tasks, backends and paths', () => {
    expect(msg(() => validateMlSpec({ ...base, data: { path: '/pfs/h/x.csv' } }))).toBe('transform.ml.chain[1] (LinearRegression): a regressor needs a label');
    expect(msg(() => validateMlSpec({ ...base, metrics: ['accuracy'] }))).toBe('transform.ml.metrics: metric "accuracy" does not apply to a regression model');
    expect(msg(() => validateMlSpec({ ...base, metrics: ['auc'] }))).toBe('transform.ml.metrics: unknown metric "auc"');
    expect(msg(() => validateMlSpec({ ...base, split: { test: 1 } }))).toBe('transform.ml.split.test: expected a fraction in [0, 1), got 1');
    expect(msg(() => validateMlSpec({ ...base, task: 'fit' }))).toBe('transform.ml.task: expected train, evaluate, predict or drift, got "fit"');
    expect(msg(() => validateMlSpec({ ...base, backend: 'gpu' }))).toBe('transform.ml.backend: unknown backend "gpu"');
    expect(msg(() => validateMlSpec({ ...base, data: { path: '/data/x.csv', label: 'y' } }))).toBe('transform.ml.data.path: "/data/x.csv" is outside /pfs');
    expect(msg(() => validateMlSpec({ task: 'predict', data: { path: '/pfs/new' } }))).toBe('transform.ml.model: missing: task predict needs a fitted model');
    expect(msg(() => validateMlSpec({ task: 'predict', model: '/pfs/m', data: { path: '/pfs/new' }, chain: base.chain }))).toBe('transform.ml.chain: is for task train; predict uses the chain saved with the model');
    expect(msg(() => validateMlSpec({ task: 'evaluate', model: '/pfs/m', data: { path: '/pfs/new' } }))).toBe('transform.ml.data.label: missing: evaluate compares predictions with the label');
    expect(validateMlSpec({ task: 'predict', model: { path: '/pfs/m/' }, data: { path: '/pfs/new' } }).model).toBe('/pfs/m');
  });

  it('checks ensembles', () => {
    const ens = (p: Record<string, unknown>) => validateMlSpec({ ...base, chain: [{ Ensemble: p }] });
    expect(msg(() => ens({ members: [{ LinearRegression: {} }, { DecisionTreeRegressor: {} }] }))).toBe('transform.ml.chain[0] (Ensemble): regressors are combined with method: average, not vote');
    expect(msg(() => ens({ members: [{ LinearRegression: {} }, { LogisticRegression: {} }] }))).toBe('transform.ml.chain[0] (Ensemble): members mix regression and classification estimators');
    expect(msg(() => ens({ members: [{ LinearRegression: {} }, { Nope: {} }] }))).toBe('transform.ml.chain[0] (Ensemble): members[1]: unknown estimator "Nope"');
    expect(ens({ method: 'average', members: [{ LinearRegression: {} }, { MLPRegressor: { hidden: [4] } }] }).chain[0]!.name).toBe('Ensemble');
  });
});

describe('type checks against the input schema', () => {
  it('a missing label, a string column to a numeric stage, a string label to a regressor', () => {
    expect(msg(() => validateMlSpec({ ...base, data: { path: '/pfs/h/x.csv', label: 'cost' } }, houses))).toBe('transform.ml.chain[1] (LinearRegression): label column "cost" is not in the data');
    expect(msg(() => validateMlSpec(base, houses))).toBe('transform.ml.chain[0] (StandardScaler): column "city" is a string; StandardScaler needs numbers');
    expect(msg(() => validateMlSpec({ ...base, chain: [{ LinearRegression: {} }] }, houses))).toBe('transform.ml.chain[0] (LinearRegression): column "city" is a string; LinearRegression needs numeric features');
    expect(msg(() => validateMlSpec({ ...base, data: { path: '/pfs/h/x.csv', label: 'city' }, chain: [{ LinearRegression: {} }] }, houses))).toBe('transform.ml.chain[0] (LinearRegression): label column "city" is a string; LinearRegression predicts numbers');
    expect(msg(() => validateMlSpec({ ...base, data: { path: '/pfs/h/x.csv', label: 'price', features: ['sqft', 'rooms'] } }, houses))).toBe('transform.ml.data.features: column "rooms" is not in the data');
    // encode first, then scale: passes
    expect(validateMlSpec({ ...base, chain: [{ OneHotEncoder: {} }, { StandardScaler: {} }, { LinearRegression: {} }] }, houses).chain).toHaveLength(3);
  });

  it('takes a schema from the head of a CSV file (what create pipeline can read from the input head)', () => {
    const schema = schemaFromCsvText('sqft,city,price\n1000,paris,300\n1200,lyon,2');
    expect(schema.columns.map((c) => c.type)).toEqual(['number', 'string', 'number']);
    expect(msg(() => validateMlSpec(base, schema))).toBe('transform.ml.chain[0] (StandardScaler): column "city" is a string; StandardScaler needs numbers');
  });

  it('uses declared column types when no schema is given', () => {
    const data = { path: '/pfs/h/x.csv', label: 'price', features: ['sqft', 'city'], columns: { sqft: 'number', city: 'string', price: 'number' } };
    expect(msg(() => validateMlSpec({ ...base, data }))).toBe('transform.ml.chain[0] (StandardScaler): column "city" is a string; StandardScaler needs numbers');
  });

  it('image shapes a CNN cannot take', () => {
    const images: Schema = { columns: [{ name: 'path', type: 'string' }, { name: 'image', type: 'image', shape: [6, 6, 3] }, { name: 'label', type: 'string' }] };
    const cnn = (chain: unknown[]) => validateMlSpec({ data: { format: 'images', path: '/pfs/imgs' }, chain }, images);
    expect(msg(() => cnn([{ CNNClassifier: {} }]))).toBe('transform.ml.chain[0] (CNNClassifier): column "image" holds encoded images; CNNClassifier needs decoded tensors');
    expect(msg(() => cnn([{ DecodeImage: {} }, { CNNClassifier: { filters: [4, 4, 4] } }]))).toBe('transform.ml.chain[1] (CNNClassifier): images in "image" are 6x6, too small for 3 pooling layers (at least 8x8)');
    expect(msg(() => cnn([{ DecodeImage: { size: [16, 16] } }, { CNNClassifier: { input_shape: [32, 32, 3] } }]))).toBe('transform.ml.chain[1] (CNNClassifier): images in "image" are 16x16x3 but input_shape is 32x32x3');
    expect(msg(() => cnn([{ DecodeImage: {} }, { MLPClassifier: {} }]))).toBe('transform.ml.chain[1] (MLPClassifier): column "image" is a 6x6x3 tensor; MLPClassifier needs numeric features');
    expect(cnn([{ DecodeImage: { size: [8, 8] } }, { CNNClassifier: {} }]).chain).toHaveLength(2);
    expect(msg(() => validateMlSpec({ data: { format: 'csv', path: '/pfs/h/x.csv', label: 'price' }, chain: [{ CNNClassifier: {} }] }, houses))).toBe('transform.ml.chain[0] (CNNClassifier): CNNClassifier needs an image tensor column, but the features are tabular');
  });

  it('CIFAR-10 data has a known schema: checks run without reading it', () => {
    expect(msg(() => validateMlSpec({ data: { format: 'cifar10', path: '/pfs/c' }, chain: [{ CNNClassifier: { filters: [2, 2, 2, 2, 2, 2] } }] }))).toBe('transform.ml.chain[0] (CNNClassifier): images in "image" are 32x32, too small for 6 pooling layers (at least 64x64)');
  });
});

describe('checkMlPipeline (create pipeline)', () => {
  const spec = (ml: Record<string, unknown>) =>
    normalizeSpec({ pipeline: { name: 'm' }, input: { cross: [{ pfs: { repo: 'houses', glob: '/' } }, { pfs: { repo: 'other', glob: '/*' } }] }, transform: { ml } }, { baseDir: '/' }).spec;
  const failure = async (p: Promise<unknown>): Promise<string> => {
    const err = (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as { code: string; message: string } | undefined;
    if (!err) throw new Error('expected an error');
    expect(err.code).toBe('E_INVALID');
    return err.message;
  };
  it('type-checks against the head of the training file when it can be read', async () => {
    const reads: string[] = [];
    const readHead = async (i: { repo: string; branch: string }, p: string) => {
      reads.push(`${i.repo}@${i.branch}:${p}`);
      return 'sqft,city,price\n1000,paris,300\n';
    };
    expect(await failure(checkMlPipeline(spec(base), readHead))).toBe('transform.ml.chain[0] (StandardScaler): column "city" is a string; StandardScaler needs numbers');
    expect(reads).toEqual(['houses@master:/train.csv']);
    await expect(checkMlPipeline(spec({ ...base, chain: [{ OneHotEncoder: {} }, { LinearRegression: {} }] }), readHead)).resolves.toBeUndefined();
    // not in the repo yet: only the static checks
    await expect(checkMlPipeline(spec(base), async () => undefined)).resolves.toBeUndefined();
    expect(await failure(checkMlPipeline(spec({ ...base, chain: [{ LinearRegression: {} }, { StandardScaler: {} }] })))).toMatch(/must be the last stage/);
  });
});
