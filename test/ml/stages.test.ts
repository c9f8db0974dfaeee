// Each stage against known results: scalers, polynomial terms, one-hot, imputer, image decoding,
// least squares, logistic regression, trees; plus metrics, splits and the seeded generator.
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { lbfgs, lstsq } from '../../src/ml/linalg.js';
import { classificationMetrics, regressionMetrics, rocAuc } from '../../src/ml/metrics.js';
import { hashUnit, mulberry32 } from '../../src/ml/rng.js';
import { keySplit, seededSplit } from '../../src/ml/split.js';
import { requestedBackend, resolveBackend } from '../../src/ml/tf.js';
import { LinearRegression, LogisticRegression } from '../../src/ml/stages/linear.js';
import { quantile } from '../../src/ml/stages/nets.js';
import { DecodeImage, MinMaxScaler, OneHotEncoder, PolynomialFeatures, SimpleImputer, StandardScaler } from '../../src/ml/stages/transformers.js';
import { DecisionTreeClassifier, DecisionTreeRegressor, RandomForestClassifier } from '../../src/ml/stages/tree.js';
import type { FitContext, StageFail, TransformerDef } from '../../src/ml/stages/types.js';
import type { Column, Table } from '../../src/ml/table.js';

const fail: StageFail = (m) => {
  throw new Error(m);
};
const ctx: FitContext = { seed: 1, backend: 'cpu', log: () => undefined, usedBackend: () => undefined };
const num = (name: string, v: number[]): Column => ({ name, type: 'number', values: Float64Array.from(v) });
const str = (name: string, v: (string | null)[]): Column => ({ name, type: 'string', values: v });
const table = (...columns: Column[]): Table => ({ rows: columns[0]!.values.length, columns });
const values = (t: Table) => Object.fromEntries(t.columns.map((c) => [c.name, Array.from(c.values as ArrayLike<unknown>)]));

function fitApply(def: TransformerDef, raw: Record<string, unknown>, train: Table, apply = train) {
  const p = def.parse(raw, fail);
  return { out: def.apply(apply, p, def.fit(train, p)), p };
}

describe('seeded randomness and splits', () => {
  it('mulberry32 and the seeded split replay in Python (test/fixtures/ml/reference.py)', () => {
    const r = mulberry32(1);
    expect([r(), r(), r()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
    const s = seededSplit(10, 0.3, 42);
    expect([Array.from(s.train), Array.from(s.test)]).toEqual([[1, 2, 4, 5, 6, 8, 9], [0, 3, 7]]);
  });

  it('a key split never moves existing rows when rows are added', () => {
    const keys = Array.from({ length: 500 }, (_, i) => `row-${i}`);
    const before = keySplit(keys, 0.2, 7);
    const after = keySplit([...keys, ...Array.from({ length: 300 }, (_, i) => `new-${i}`)], 0.2, 7);
    expect(Array.from(after.test).filter((i) => i < 500)).toEqual(Array.from(before.test));
    expect(before.test.length / 500).toBeGreaterThan(0.15);
    expect(before.test.length / 500).toBeLessThan(0.25);
    expect(hashUnit('row-1', 7)).toBe(hashUnit('row-1', 7));
  });
});

describe('transformers', () => {
  it('StandardScaler: population std, constant columns keep scale 1, fitted on train only', () => {
    const { out } = fitApply(StandardScaler, {}, table(num('a', [1, 2, 3, 4]), num('c', [5, 5, 5, 5])), table(num('a', [2.5, 6]), num('c', [5, 7])));
    const sd = Math.sqrt(1.25);
    expect(values(out)).toEqual({ a: [0, 3.5 / sd], c: [0, 2] });
  });

  it('MinMaxScaler onto feature_range', () => {
    const { out } = fitApply(MinMaxScaler, { feature_range: [-1, 1] }, table(num('a', [0, 5, 10])));
    expect(values(out)).toEqual({ a: [-1, 0, 1] });
  });

  it('PolynomialFeatures: sklearn term order and names', () => {
    const { out } = fitApply(PolynomialFeatures, { degree: 2 }, table(num('a', [2]), num('b', [3])));
    expect(out.columns.map((c) => c.name)).toEqual(['a', 'b', 'a^2', 'a b', 'b^2']);
    expect(values(out)).toEqual({ a: [2], b: [3], 'a^2': [4], 'a b': [6], 'b^2': [9] });
    const inter = fitApply(PolynomialFeatures, { degree: 3, interaction_only: true }, table(num('a', [2]), num('b', [3]), num('c', [5]))).out;
    expect(inter.columns.map((c) => c.name)).toEqual(['a', 'b', 'c', 'a b', 'a c', 'b c', 'a b c']);
  });

  it('OneHotEncoder: sorted categories; missing and unseen values are all zeros', () => {
    const { out } = fitApply(OneHotEncoder, {}, table(str('city', ['paris', 'lyon', 'paris']), num('x', [1, 2, 3])), table(str('city', ['lyon', 'nice', null]), num('x', [4, 5, 6])));
    expect(values(out)).toEqual({ 'city=lyon': [1, 0, 0], 'city=paris': [0, 0, 0], x: [4, 5, 6] });
  });

  it('SimpleImputer: mean, median, most_frequent (ties to the smallest), constant', () => {
    const t = table(num('a', [1, NaN, 3, 10]), str('s', ['x', null, 'y', 'y']));
    expect(values(fitApply(SimpleImputer, {}, t).out).a).toEqual([1, 14 / 3, 3, 10]);
    expect(values(fitApply(SimpleImputer, { strategy: 'median' }, t).out).a).toEqual([1, 3, 3, 10]);
    expect(values(fitApply(SimpleImputer, { strategy: 'most_frequent' }, t).out)).toEqual({ a: [1, 1, 3, 10], s: ['x', 'y', 'y', 'y'] });
    expect(values(fitApply(SimpleImputer, { strategy: 'constant', fill_value: 'zz', columns: ['s'] }, t).out).s).toEqual(['x', 'zz', 'y', 'y']);
  });

  it('DecodeImage: PNG to a [h, w, c] tensor in [0, 1], resized', () => {
    const png = new PNG({ width: 4, height: 4 });
    for (let i = 0; i < 16; i++) png.data.set(i % 4 < 2 ? [255, 0, 0, 255] : [0, 0, 255, 255], i * 4);
    const bytes = new Uint8Array(PNG.sync.write(png));
    const t: Table = { rows: 1, columns: [{ name: 'image', type: 'image', values: [bytes], shape: [4, 4, 3] }] };
    const { out } = fitApply(DecodeImage, { size: [2, 2] }, t);
    expect(out.columns[0]).toMatchObject({ type: 'tensor', shape: [2, 2, 3] });
    expect(Array.from(out.columns[0]!.values as Float32Array)).toEqual([1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1]);
    const gray = fitApply(DecodeImage, { size: [1, 1], channels: 1 }, t).out.columns[0]!;
    expect((gray.values as Float32Array)[0]).toBeCloseTo((0.299 + 0.114) / 2, 5);
  });

  it('schema checks name the stage problem and the column', () => {
    const s = { columns: [{ name: 'a', type: 'number' as const }, { name: 'city', type: 'string' as const }] };
    expect(() => StandardScaler.outSchema(s, StandardScaler.parse({}, fail), fail)).toThrow('column "city" is a string; StandardScaler needs numbers');
    expect(() => SimpleImputer.outSchema(s, SimpleImputer.parse({ columns: ['city'] }, fail), fail)).toThrow('column "city" is a string; strategy mean needs numbers');
    expect(OneHotEncoder.outSchema(s, OneHotEncoder.parse({}, fail), fail).columns.map((c) => c.type)).toEqual(['number', 'number']);
    expect(() => PolynomialFeatures.parse({ degre: 2 }, fail)).toThrow('unknown parameter "degre"');
  });
});

describe('estimators', () => {
  it('LinearRegression recovers exact coefficients, also with a duplicated column', async () => {
    const a = [1, 2, 3, 4, 5, 6];
    const b = [2, 1, 4, 3, 6, 8];
    const y = a.map((x, i) => 1 + 2 * x - 3 * b[i]!);
    const m = await LinearRegression.fit(table(num('a', a), num('b', b), num('a2', a)), { kind: 'regression', values: Float64Array.from(y) }, LinearRegression.parse({}, fail), ctx);
    const s = (await m.save()).json as { coef: number[]; intercept: number; rank: number };
    expect(s.rank).toBe(2);
    expect(s.coef[0]! + s.coef[2]!).toBeCloseTo(2, 10);
    expect(s.coef[1]).toBeCloseTo(-3, 10);
    expect(s.intercept).toBeCloseTo(1, 10);
    const p = await m.predict(table(num('a', [10]), num('b', [0]), num('a2', [10])));
    expect(p.kind === 'regression' && p.values[0]).toBeCloseTo(21, 9);
  });

  it('lstsq matches the normal equations on a random full-rank system', () => {
    const r = mulberry32(3);
    const n = 30;
    const p = 4;
    const a = Float64Array.from({ length: n * p }, () => r() - 0.5);
    const b = Float64Array.from({ length: n }, () => r());
    const { x } = lstsq(a, n, p, b);
    // residual orthogonal to every column: Aᵀ(Ax − b) = 0
    for (let j = 0; j < p; j++) {
      let g = 0;
      for (let i = 0; i < n; i++) {
        let ax = 0;
        for (let k = 0; k < p; k++) ax += a[i * p + k]! * x[k]!;
        g += a[i * p + j]! * (ax - b[i]!);
      }
      expect(Math.abs(g)).toBeLessThan(1e-12);
    }
  });

  it('lbfgs minimises a quadratic exactly', () => {
    const res = lbfgs((x, g) => {
      g[0] = 2 * (x[0]! - 3);
      g[1] = 20 * (x[1]! + 1);
      return (x[0]! - 3) ** 2 + 10 * (x[1]! + 1) ** 2;
    }, new Float64Array(2));
    expect(res.converged).toBe(true);
    expect(res.x[0]).toBeCloseTo(3, 8);
    expect(res.x[1]).toBeCloseTo(-1, 8);
  });

  it('LogisticRegression: the penalised gradient vanishes at the fit (binary and multinomial)', async () => {
    const r = mulberry32(5);
    const n = 60;
    const x1 = Array.from({ length: n }, () => r() * 4 - 2);
    const x2 = Array.from({ length: n }, () => r() * 4 - 2);
    const y3 = Int32Array.from(x1, (v, i) => (v + x2[i]! + (r() - 0.5) > 0.8 ? 2 : v - x2[i]! > 0 ? 1 : 0));
    for (const [classes, y] of [
      [[0, 1], Int32Array.from(y3, (v) => (v === 2 ? 1 : 0))],
      [['a', 'b', 'c'], y3],
    ] as const) {
      const m = await LogisticRegression.fit(table(num('x1', x1), num('x2', x2)), { kind: 'classification', classes: [...classes], index: y }, LogisticRegression.parse({ C: 2 }, fail), ctx);
      const s = (await m.save()).json as { coef: number[][]; intercept: number[]; converged: boolean };
      expect(s.converged).toBe(true);
      const p = await m.predict(table(num('x1', x1), num('x2', x2)));
      if (p.kind !== 'classification') throw new Error('not a classifier');
      const k = classes.length;
      // ∂/∂b = Σ (p − y) = 0 for every class column of the model
      for (let c = k === 2 ? 1 : 0; c < k; c++) {
        let g = 0;
        for (let i = 0; i < n; i++) g += p.proba![i * k + c]! - (y[i] === c ? 1 : 0);
        expect(Math.abs(g)).toBeLessThan(1e-6);
      }
    }
  });

  it('linear models predict exactly the row-by-row sums: intercept, then each feature in order', async () => {
    const r = mulberry32(11);
    const n = 500;
    const d = 6;
    // mixed magnitudes, so that another order of the additions would round differently
    const cols = Array.from({ length: d }, (_, j) => Array.from({ length: n }, () => (r() - 0.5) * 10 ** ((j * 3) % 7 - 3)));
    const t = table(...cols.map((v, j) => num(`f${j}`, v)));
    const rowSum = (intercept: number, coef: number[], i: number) => {
      let v = intercept;
      for (let j = 0; j < d; j++) v += cols[j]![i]! * coef[j]!;
      return v;
    };
    const bits = (v: ArrayLike<number>) => Buffer.from(Float64Array.from(v).buffer);
    const lin = await LinearRegression.fit(t, { kind: 'regression', values: Float64Array.from({ length: n }, (_, i) => cols[0]![i]! * 3 - cols[5]![i]! + r()) }, LinearRegression.parse({}, fail), ctx);
    const ls = (await lin.save()).json as { coef: number[]; intercept: number };
    const lp = await lin.predict(t);
    if (lp.kind !== 'regression') throw new Error('not a regressor');
    expect(bits(lp.values).equals(bits(Array.from({ length: n }, (_, i) => rowSum(ls.intercept, ls.coef, i))))).toBe(true);
    const y = Int32Array.from({ length: n }, (_, i) => (cols[1]![i]! + cols[2]![i]! * 100 > 0 ? (cols[3]![i]! > 0 ? 2 : 1) : 0));
    const log = await LogisticRegression.fit(t, { kind: 'classification', classes: [0, 1, 2], index: y }, LogisticRegression.parse({}, fail), ctx);
    const gs = (await log.save()).json as { coef: number[][]; intercept: number[] };
    const gp = await log.predict(t);
    if (gp.kind !== 'classification') throw new Error('not a classifier');
    const want: number[] = [];
    for (let i = 0; i < n; i++) {
      const z = gs.coef.map((coef, c) => rowSum(gs.intercept[c]!, coef, i));
      const max = Math.max(...z);
      let sum = 0;
      for (const v of z) sum += Math.exp(v - max);
      for (const v of z) want.push(Math.exp(v - max) / sum);
    }
    expect(bits(gp.proba!).equals(bits(want))).toBe(true);
  });

  it('trees split exactly on clean data; forests are seeded', async () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const y = Int32Array.from(x, (v) => (v > 4 ? 1 : 0));
    const tree = await DecisionTreeClassifier.fit(table(num('x', x)), { kind: 'classification', classes: [0, 1], index: y }, DecisionTreeClassifier.parse({}, fail), ctx);
    const s = (await tree.save()).json as { trees: { threshold: number[]; feature: number[] }[] };
    expect(s.trees[0]!.threshold[0]).toBe(4.5);
    const reg = await DecisionTreeRegressor.fit(table(num('x', x)), { kind: 'regression', values: Float64Array.from(x, (v) => (v > 4 ? 10 : 0)) }, DecisionTreeRegressor.parse({ max_depth: 1 }, fail), ctx);
    const rp = await reg.predict(table(num('x', [0, 9])));
    expect(rp.kind === 'regression' && Array.from(rp.values)).toEqual([0, 10]);
    const fit = async () => JSON.stringify((await (await RandomForestClassifier.fit(table(num('x', x), num('z', x.map((v) => v % 3))), { kind: 'classification', classes: [0, 1], index: y }, RandomForestClassifier.parse({ n_estimators: 5 }, fail), ctx)).save()).json);
    expect(await fit()).toBe(await fit());
  });

  it('quantile interpolates linearly, as numpy', () => {
    expect(quantile(Float64Array.from([1, 2, 3, 4]), 0.5)).toBe(2.5);
    expect(quantile(Float64Array.from([5, 1, 3]), 1)).toBe(5);
  });
});

describe('metrics (sklearn definitions)', () => {
  it('roc_auc with ties', () => {
    // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    expect(rocAuc([false, false, true, true], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(rocAuc([false, true, true], [0.5, 0.5, 0.9])).toBe(0.75);
    expect(rocAuc([true, true], [0.1, 0.2])).toBeNull();
  });

  it('classification: accuracy, macro and per-class precision/recall/F1, confusion matrix', () => {
    // y_true = [0, 0, 1, 1, 2, 2], y_pred = [0, 1, 1, 1, 2, 0]
    const m = classificationMetrics(Int32Array.from([0, 0, 1, 1, 2, 2]), Int32Array.from([0, 1, 1, 1, 2, 0]), ['a', 'b', 'c'], null, ['accuracy', 'precision', 'recall', 'f1', 'confusion_matrix']);
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.precision_per_class).toEqual({ a: 0.5, b: 2 / 3, c: 1 });
    expect(m.recall_per_class).toEqual({ a: 0.5, b: 1, c: 0.5 });
    expect(m.precision).toBeCloseTo((0.5 + 2 / 3 + 1) / 3, 12);
    expect(m.f1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
    expect(m.confusion_matrix).toEqual({ labels: ['a', 'b', 'c'], matrix: [[1, 1, 0], [0, 2, 0], [1, 0, 1]] });
  });

  it('regression: mse, rmse, mae, r2', () => {
    const m = regressionMetrics(Float64Array.from([3, -0.5, 2, 7]), Float64Array.from([2.5, 0, 2, 8]), ['mse', 'rmse', 'mae', 'r2']);
    // sklearn docs examples: mse 0.375, mae 0.5, r2 0.9486081370449679
    expect(m).toEqual({ mse: 0.375, rmse: Math.sqrt(0.375), mae: 0.5, r2: 0.9486081370449679 });
  });
});

describe('backend choice', () => {
  it('the spec field wins over TUSK_TF_BACKEND; automatic is wasm without tfjs-node', async () => {
    process.env.TUSK_TF_BACKEND = 'cpu';
    try {
      expect(requestedBackend('wasm')).toBe('wasm');
      expect(requestedBackend(undefined)).toBe('cpu');
      process.env.TUSK_TF_BACKEND = 'tpu';
      expect(() => requestedBackend(undefined)).toThrow('unknown TensorFlow.js backend "tpu"');
      process.env.TUSK_TF_BACKEND = 'auto';
      expect(requestedBackend(undefined)).toBeUndefined();
    } finally {
      delete process.env.TUSK_TF_BACKEND;
    }
    let hasNode = true;
    try {
      createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    } catch {
      hasNode = false;
    }
    expect(await resolveBackend(undefined)).toBe(hasNode ? 'node' : 'wasm');
    if (!hasNode) await expect(resolveBackend('node')).rejects.toThrow('backend "node" needs @tensorflow/tfjs-node');
  });
});
