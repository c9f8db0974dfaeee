// Training on CSV data read a batch at a time (above data.in_memory_mib): the same models as the
// whole-table fit where the arithmetic allows it, splits decided per row, metrics tallied as rows
// go by, stages that need every row refused by name, and peak memory that does not grow with the
// data (measured on the built module in a child process).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MlError } from '../../src/ml/errors.js';
import { ClassTally, RegressionTally } from '../../src/ml/metrics-tally.js';
import { classificationMetrics, regressionMetrics } from '../../src/ml/metrics.js';
import { mulberry32, rowUnit } from '../../src/ml/rng.js';
import { runEvaluate, runTrain, type MetricsJson } from '../../src/ml/run.js';
import { validateMlSpec } from '../../src/ml/spec.js';
import type { Target, TrainRows } from '../../src/ml/stages/types.js';
import type { Table } from '../../src/ml/table.js';
import { FIXTURES, housesCsv, lastJob, mlStore, pipeline, put, readJson } from './ml-helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-stream-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let runs = 0;

/** A pfs directory holding `files` under the input `d`. */
function pfsWith(files: Record<string, string>): string {
  const pfs = path.join(tmp, `pfs-${++runs}`);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.join(pfs, 'd', path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(pfs, 'd', name), text);
  }
  return pfs;
}

async function train(pfs: string, ml: Record<string, unknown>): Promise<{ out: string; metrics: MetricsJson; log: string[] }> {
  const out = path.join(tmp, `out-${++runs}`);
  fs.mkdirSync(out);
  const log: string[] = [];
  const r = await runTrain(validateMlSpec(ml), { pfsDir: pfs, outDir: out, log: (m) => log.push(m) });
  return { out, metrics: r.metrics!, log };
}

const inMemory = (ml: Record<string, any>) => ({ ...ml, data: { ...ml.data, in_memory_mib: 1024 } });
const streamed = (ml: Record<string, any>) => ({ ...ml, data: { ...ml.data, in_memory_mib: 0 } });
const chainOf = (out: string) => fs.readFileSync(path.join(out, 'model', 'chain.json'), 'utf8');

/** Seeded rows: eight features, a numeric target and three classes. */
function wideCsv(rows: number, seed: number): string {
  const r = mulberry32(seed);
  const lines = ['x0,x1,x2,x3,x4,x5,x6,x7,y,cls'];
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: 8 }, () => r() * 2 - 1);
    const y = 3 + x.reduce((s, v, j) => s + v * (j + 1), 0) + (r() - 0.5) * 0.1;
    const c = x[0]! + x[1]! * x[2]! > 0 ? 'a' : x[3]! > 0.5 ? 'b' : 'c';
    lines.push(`${x.map((v) => v.toFixed(4)).join(',')},${y.toFixed(4)},${c}`);
  }
  return lines.join('\n') + '\n';
}
const X = ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7'];

describe('streamed fits against the whole-table fit', () => {
  it('LogisticRegression (with scaling) gives the same model to the bit: the same sums in the same order', async () => {
    const pfs = pfsWith({ 'cancer.csv': fs.readFileSync(path.join(FIXTURES, 'breast_cancer.csv'), 'utf8') });
    const ml = { data: { path: '/pfs/d/cancer.csv', label: 'diagnosis' }, chain: [{ StandardScaler: {} }, { LogisticRegression: {} }] };
    const a = await train(pfs, inMemory(ml));
    const b = await train(pfs, streamed(ml));
    expect(b.log.some((l) => l.startsWith('streaming '))).toBe(true);
    expect(a.log.some((l) => l.startsWith('streaming '))).toBe(false);
    expect(chainOf(b.out)).toBe(chainOf(a.out));
    const { roc_auc: aucA, ...restA } = a.metrics.train!;
    const { roc_auc: aucB, ...restB } = b.metrics.train!;
    expect(restB).toEqual(restA);
    // roc_auc from 4,096-bin histograms: ties within a bin are the only difference
    expect(Math.abs((aucB as number) - (aucA as number))).toBeLessThan(1e-3);
  });

  it('LinearRegression through one-hot, scaling and polynomial terms predicts as the QR fit does', async () => {
    const pfs = pfsWith({ 'houses.csv': housesCsv(3000, 5) });
    const ml = { data: { path: '/pfs/d/houses.csv', label: 'price', features: ['sqft', 'rooms', 'city'] }, chain: [{ OneHotEncoder: {} }, { StandardScaler: {} }, { PolynomialFeatures: { degree: 2 } }, { LinearRegression: {} }] };
    const a = await train(pfs, inMemory(ml));
    const b = await train(pfs, streamed(ml));
    const [ja, jb] = [JSON.parse(chainOf(a.out)), JSON.parse(chainOf(b.out))];
    // transformers are fitted from the same sums: identical states
    expect(jb.stages.slice(0, 3)).toEqual(ja.stages.slice(0, 3));
    for (const k of ['mse', 'mae', 'r2'] as const) expect(b.metrics.train![k] as number).toBeCloseTo(a.metrics.train![k] as number, 6);
  });

  it('an MLP trains over epochs that re-read the rows: same seed, same weights; another seed, others', async () => {
    const pfs = pfsWith({ 'w.csv': wideCsv(3000, 3) });
    const ml = (seed: number) => streamed({ seed, data: { path: '/pfs/d/w.csv', label: 'cls', features: X }, chain: [{ StandardScaler: {} }, { MLPClassifier: { hidden: [16], epochs: 3, batch_size: 128 } }], split: { test: 0.25, seed: 3 }, backend: 'cpu' });
    const a = await train(pfs, ml(1));
    const b = await train(pfs, ml(1));
    const c = await train(pfs, ml(2));
    const weights = (r: { out: string }) => fs.readFileSync(path.join(r.out, 'model', 'stage-1', 'weights.bin'));
    expect(weights(b).equals(weights(a))).toBe(true);
    expect(weights(c).equals(weights(a))).toBe(false);
    expect(chainOf(b.out)).toBe(chainOf(a.out));
    expect(b.metrics).toEqual(a.metrics);
    expect(a.metrics.test!.accuracy as number).toBeGreaterThan(0.85);
  }, 60_000);
});

describe('passes over the data', () => {
  it('an MLPClassifier reads its rows once an epoch, and only the first batch before them (for the feature names)', async () => {
    const { MLPClassifier } = await import('../../src/ml/stages/nets.js');
    const r = mulberry32(4);
    const batch = (n: number): { x: Table; y: Target } => ({
      x: { rows: n, columns: ['a', 'b'].map((name) => ({ name, type: 'number' as const, values: Float64Array.from({ length: n }, () => r()) })) },
      y: { kind: 'classification', classes: ['p', 'q'], index: Int32Array.from({ length: n }, () => (r() < 0.5 ? 0 : 1)) },
    });
    const data = [batch(100), batch(100), batch(37)];
    let read = 0;
    const rows: TrainRows = {
      rows: 237,
      classes: ['p', 'q'],
      async *batches() {
        for (const b of data) {
          read++;
          yield b;
        }
      },
    };
    const fail = (m: string): never => {
      throw new Error(m);
    };
    const ctx = { seed: 1, backend: 'cpu' as const, log: () => undefined, usedBackend: () => undefined };
    const model = await MLPClassifier.fitStream!(rows, MLPClassifier.parse({ hidden: [4], epochs: 2, batch_size: 32 }, fail), ctx);
    model.dispose?.();
    expect(read).toBe(1 + 2 * data.length);
  }, 60_000);
});

describe('in a pipeline', () => {
  it('a train job over data above the bound commits the model, its metrics and a card that says it streamed', async () => {
    const env = mlStore();
    try {
      const { store: s, dir } = env;
      await put(s, 'houses', { '/train.csv': housesCsv(3000, 2) });
      const ml = { task: 'train', data: { path: '/pfs/houses/train.csv', label: 'price', features: ['sqft', 'rooms', 'city'], in_memory_mib: 0 }, chain: [{ OneHotEncoder: {} }, { StandardScaler: {} }, { LinearRegression: {} }], split: { test: 0.2, seed: 4 } };
      await pipeline(s, dir, { pipeline: { name: 'price-model' }, input: { pfs: { repo: 'houses', glob: '/' } }, transform: { ml } });
      expect(await lastJob(s, 'price-model')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
      const card = await readJson(s, 'price-model@master:/model-card.json');
      expect(card.data).toMatchObject({ rows: 3000, streamed: true });
      const metrics = await readJson(s, 'price-model@master:/metrics.json');
      expect(metrics.rows.train + metrics.rows.test).toBe(3000);
      expect(metrics.test.r2).toBeGreaterThan(0.99);
    } finally {
      env.cleanup();
    }
  });
});

describe('evaluate over streamed rows', () => {
  it('gives the whole-table metrics, a label the model never saw counting as a miss', async () => {
    const text = wideCsv(3000, 21);
    const pfs = pfsWith({ 'w.csv': text, 'eval.csv': text.replace(/,b\n/g, ',d\n') });
    const trained = await train(pfs, { data: { path: '/pfs/d/w.csv', label: 'cls', features: X }, chain: [{ StandardScaler: {} }, { LogisticRegression: {} }] });
    fs.cpSync(trained.out, path.join(pfs, 'm'), { recursive: true });
    const evaluate = async (mib: number) => {
      const out = path.join(tmp, `eval-${++runs}`);
      fs.mkdirSync(out);
      const ml = { task: 'evaluate', model: '/pfs/m', data: { path: '/pfs/d/eval.csv', label: 'cls', in_memory_mib: mib } };
      return (await runEvaluate(validateMlSpec(ml), { pfsDir: pfs, outDir: out, log: () => undefined })).metrics!;
    };
    const [a, b] = [await evaluate(1024), await evaluate(0)];
    expect((a.test!.confusion_matrix as { labels: string[] }).labels).toEqual(['a', 'b', 'c', 'd']);
    expect({ ...b, test: { ...b.test, roc_auc: 0 } }).toEqual({ ...a, test: { ...a.test, roc_auc: 0 } });
    expect(Math.abs((b.test!.roc_auc as number) - (a.test!.roc_auc as number))).toBeLessThan(1e-3);
  });
});

describe('splits and metrics over streamed rows', () => {
  it('a row is a test row by a hash of its number and the seed, whatever follows it', async () => {
    const rows = 20_000;
    const ml = () => streamed({ data: { path: '/pfs/d/w.csv', label: 'y', features: X }, chain: [{ LinearRegression: {} }], split: { test: 0.2, seed: 9 } });
    const r = await train(pfsWith({ 'w.csv': wideCsv(rows, 4) }), ml());
    const expected = Array.from({ length: rows }, (_, i) => rowUnit(i, 9) < 0.2).filter(Boolean).length;
    expect(r.metrics.rows).toEqual({ train: rows - expected, test: expected });
    expect(Math.abs(expected / rows - 0.2)).toBeLessThan(0.01);
    // appended rows leave the earlier rows where they were: the test count only grows by the new rows' share
    const more = await train(pfsWith({ 'w.csv': wideCsv(rows + 5000, 4) }), ml());
    const added = Array.from({ length: 5000 }, (_, i) => rowUnit(rows + i, 9) < 0.2).filter(Boolean).length;
    expect(more.metrics.rows.test).toBe(expected + added);
  });

  it('a key split puts the same rows on each side as the whole-table fit', async () => {
    const pfs = pfsWith({ 'houses.csv': housesCsv(2000, 8) });
    const ml = { data: { path: '/pfs/d/houses.csv', label: 'price', key: 'id', features: ['sqft', 'rooms'] }, chain: [{ LinearRegression: {} }], split: { test: 0.3, key: 'id', seed: 1 } };
    const a = await train(pfs, inMemory(ml));
    const b = await train(pfs, streamed(ml));
    expect(b.metrics.rows).toEqual(a.metrics.rows);
    expect(b.metrics.test!.mse as number).toBeCloseTo(a.metrics.test!.mse as number, 8);
  });

  it('tallies give the whole-table metrics; roc_auc within the histogram bins', () => {
    const r = mulberry32(11);
    const n = 5000;
    const k = 3;
    const yTrue = Int32Array.from({ length: n }, () => Math.floor(r() * k));
    const proba = new Float64Array(n * k);
    const yPred = new Int32Array(n);
    const reg = new RegressionTally();
    const [t, p] = [new Float64Array(n), new Float64Array(n)];
    const cls = new ClassTally(['a', 'b', 'c']);
    for (let i = 0; i < n; i++) {
      const raw = Array.from({ length: k }, (_, c) => r() + (c === yTrue[i] ? 0.4 : 0));
      const s = raw.reduce((x, y) => x + y, 0);
      raw.forEach((v, c) => (proba[i * k + c] = v / s));
      yPred[i] = raw.indexOf(Math.max(...raw));
      cls.add(yTrue[i]!, yPred[i]!, proba, i * k);
      [t[i], p[i]] = [r() * 100, r() * 100];
      reg.add(t[i]!, p[i]!);
    }
    const names = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'confusion_matrix'];
    const exact = classificationMetrics(yTrue, yPred, ['a', 'b', 'c'], proba, names);
    const tallied = cls.values(names);
    expect({ ...tallied, roc_auc: 0 }).toEqual({ ...exact, roc_auc: 0 });
    expect(Math.abs((tallied.roc_auc as number) - (exact.roc_auc as number))).toBeLessThan(1e-3);
    const re = regressionMetrics(t, p, ['mse', 'rmse', 'mae', 'r2']);
    const rt = reg.values(['mse', 'rmse', 'mae', 'r2']);
    for (const m of ['mse', 'rmse', 'mae', 'r2']) expect(rt[m] as number).toBeCloseTo(re[m] as number, 9);
  });
});

describe('what streamed training refuses', () => {
  const pfs = pfsWith({ 'w.csv': wideCsv(500, 6) });
  it.each([
    [[{ RandomForestClassifier: { n_estimators: 2 } }], 'RandomForestClassifier'],
    [[{ SimpleImputer: { strategy: 'median' } }, { LogisticRegression: {} }], 'SimpleImputer with strategy median'],
  ])('a stage that needs every row at once: %j', async (chain, name) => {
    // in_memory_mib 0 is refused when the spec is read; a file above a bound, when it is seen
    expect(() => validateMlSpec(streamed({ data: { path: '/pfs/d/w.csv', label: 'cls', features: X }, chain }))).toThrow(`${name} needs every row at once`);
    const spec = validateMlSpec({ data: { path: '/pfs/d/w.csv', label: 'cls', features: X }, chain });
    spec.data.in_memory_mib = 0;
    const out = path.join(tmp, `refused-${++runs}`);
    fs.mkdirSync(out);
    const err = await runTrain(spec, { pfsDir: pfs, outDir: out, log: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlError);
    expect((err as MlError).message).toContain(`${name} needs every row at once`);
    expect((err as MlError).message).toContain('is larger than transform.ml.data.in_memory_mib (0)');
    expect((err as MlError).hint).toContain('raise transform.ml.data.in_memory_mib above 1');
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('in_memory_mib is for CSV data, and a whole number of MiB', () => {
    expect(() => validateMlSpec({ data: { format: 'cifar10', path: '/pfs/d', in_memory_mib: 1 }, chain: [{ CNNClassifier: {} }] })).toThrow(/in_memory_mib: only CSV data/);
    expect(() => validateMlSpec({ data: { path: '/pfs/d/w.csv', label: 'y', in_memory_mib: -1 }, chain: [{ LinearRegression: {} }] })).toThrow(/in_memory_mib: expected a whole number/);
  });
});

describe('memory', () => {
  /**
   * Peak RSS (MiB) of a child process training on `rows` rows with the built module, and the
   * file's size. The young generation's size is V8's policy, grown with the allocation rate, not
   * with the data: it is fixed here so that the peak shows what the code holds.
   */
  function peakMiB(rows: number, mib: number): { peak: number; file: number } {
    const pfs = pfsWith({ 'w.csv': wideCsv(rows, 12) });
    const file = fs.statSync(path.join(pfs, 'd', 'w.csv')).size / 2 ** 20;
    const ml = { data: { path: '/pfs/d/w.csv', label: 'y', features: X, in_memory_mib: mib }, chain: [{ StandardScaler: {} }, { LinearRegression: {} }], split: { test: 0.2, seed: 1 } };
    const out = path.join(tmp, `rss-${++runs}`);
    fs.mkdirSync(out);
    const script = `const { runTrain } = await import(${JSON.stringify(path.join(ROOT, 'dist/ml/run.js'))});
const { validateMlSpec } = await import(${JSON.stringify(path.join(ROOT, 'dist/ml/spec.js'))});
await runTrain(validateMlSpec(${JSON.stringify(ml)}), { pfsDir: ${JSON.stringify(pfs)}, outDir: ${JSON.stringify(out)}, log: () => {} });
process.stdout.write(String(process.resourceUsage().maxRSS));`;
    const kib = Number(execFileSync(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', script], { encoding: 'utf8' }));
    fs.rmSync(pfs, { recursive: true, force: true });
    return { peak: kib / 1024, file };
  }

  it('four times the rows (files 8 and 32 times the 1 MiB bound) raise the peak by less than the data grew', () => {
    const small = peakMiB(120_000, 1);
    const big = peakMiB(480_000, 1);
    // held whole (in_memory_mib above the file), the bigger file adds about 140 MiB, six times its own growth
    expect(big.peak - small.peak).toBeLessThan(big.file - small.file);
    // two trainings of up to 480,000 rows in child processes: ~25 s alone, over a minute on a busy machine
  }, 180_000);
});
