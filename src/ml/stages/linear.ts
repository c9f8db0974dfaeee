// Linear models solved exactly in float64: least squares by QR (LinearRegression) and
// L2-regularised maximum likelihood by L-BFGS (LogisticRegression, scikit-learn's default
// objective: C = 1, no penalty on the intercept, softmax over classes when there are more than two).
import { MlError } from '../errors.js';
import { lbfgs, lbfgsAsync, lstsq } from '../linalg.js';
import { argmaxRows, checkClassLabel, checkNumericFeatures, checkRegressionLabel, checkSameFeatures, featureColumns, featureMatrix } from './common.js';
import { ParamReader } from './params.js';
import type { EstimatorDef, FitContext, FittedEstimator, Target, TrainRows } from './types.js';
import type { Label, Table } from '../table.js';

type LinParams = { fit_intercept: boolean; alpha: number };
type LinState = { features: string[]; coef: number[]; intercept: number; rank: number };

function linearModel(s: LinState): FittedEstimator {
  return {
    async predict(t: Table) {
      const m = featureColumns(t, 'LinearRegression');
      checkSameFeatures(s.features, m.names, 'LinearRegression');
      // a column at a time, adding to each row's sum in feature order: the same sums, bit for bit,
      // as row by row, in one short loop per feature (a short job runs it before V8 optimizes it)
      const values = new Float64Array(m.n).fill(s.intercept);
      for (let j = 0; j < m.d; j++) {
        const x = m.cols[j]!;
        const c = s.coef[j]!;
        for (let i = 0; i < m.n; i++) values[i] += x[i]! * c;
      }
      return { kind: 'regression', values };
    },
    save: async () => ({ json: s }),
  };
}

/** Ordinary least squares (ridge with alpha > 0), solved by Householder QR on centred data. */
export const LinearRegression: EstimatorDef<LinParams> = {
  kind: 'estimator',
  name: 'LinearRegression',
  summary: 'Least-squares linear regression (ridge when alpha > 0), solved exactly by QR decomposition.',
  parse(raw, fail) {
    const r = new ParamReader(raw, fail);
    const p = { fit_intercept: r.boolean('fit_intercept', true), alpha: r.number('alpha', 0, { min: 0 }) };
    r.done();
    return p;
  },
  task: () => 'regression',
  checkInput(features, label, _p, fail) {
    checkNumericFeatures(features, 'LinearRegression', fail);
    checkRegressionLabel(label, 'LinearRegression', fail);
  },
  async fit(t, target, p) {
    const y = (target as Extract<Target, { kind: 'regression' }>).values;
    const { x, n, d, names } = featureMatrix(t, 'LinearRegression');
    const xm = new Float64Array(d);
    let ym = 0;
    if (p.fit_intercept) {
      for (let i = 0; i < n; i++) {
        ym += y[i]!;
        for (let j = 0; j < d; j++) xm[j] = xm[j]! + x[i * d + j]!;
      }
      ym /= n;
      for (let j = 0; j < d; j++) xm[j] = xm[j]! / n;
    }
    // ridge: append sqrt(alpha)·I rows with zero targets
    const extra = p.alpha > 0 ? d : 0;
    const a = new Float64Array((n + extra) * d);
    const b = new Float64Array(n + extra);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) a[i * d + j] = x[i * d + j]! - xm[j]!;
      b[i] = y[i]! - ym;
    }
    for (let j = 0; j < extra; j++) a[(n + j) * d + j] = Math.sqrt(p.alpha);
    const { x: w, rank } = lstsq(a, n + extra, d, b);
    let intercept = 0;
    if (p.fit_intercept) {
      intercept = ym;
      for (let j = 0; j < d; j++) intercept -= xm[j]! * w[j]!;
    }
    return linearModel({ features: names, coef: Array.from(w), intercept, rank });
  },
  fitStream: (rows, p) => fitLinearStream(rows, p),
  load: async (state) => linearModel(state as LinState),
};

/**
 * Least squares over rows read twice: the first pass sums for the means (in row order, as the
 * whole-table fit), the second accumulates the centred normal equations XᵀX w = Xᵀy (d × d, plus
 * α on the diagonal), solved by the same pivoted QR. Squaring the design's condition number costs
 * digits on ill-conditioned features; the whole-table fit keeps them.
 */
async function fitLinearStream(rows: TrainRows, p: LinParams) {
  let names: string[] = [];
  let d = 0;
  let n = 0;
  let xm = new Float64Array(0);
  let ym = 0;
  for await (const b of rows.batches()) {
    const m = featureMatrix(b.x, 'LinearRegression');
    const y = (b.y as Extract<Target, { kind: 'regression' }>).values;
    if (n === 0) [names, d, xm] = [m.names, m.d, new Float64Array(m.d)];
    n += m.n;
    if (!p.fit_intercept) continue;
    for (let i = 0; i < m.n; i++) {
      ym += y[i]!;
      for (let j = 0; j < d; j++) xm[j] = xm[j]! + m.x[i * d + j]!;
    }
  }
  if (p.fit_intercept) {
    ym /= n;
    for (let j = 0; j < d; j++) xm[j] = xm[j]! / n;
  }
  const gram = new Float64Array(d * d);
  const xty = new Float64Array(d);
  const c = new Float64Array(d);
  for await (const b of rows.batches()) {
    const m = featureMatrix(b.x, 'LinearRegression');
    const y = (b.y as Extract<Target, { kind: 'regression' }>).values;
    for (let i = 0; i < m.n; i++) {
      for (let j = 0; j < d; j++) c[j] = m.x[i * d + j]! - xm[j]!;
      const yc = y[i]! - ym;
      for (let j = 0; j < d; j++) {
        const cj = c[j]!;
        xty[j] = xty[j]! + cj * yc;
        for (let k = j; k < d; k++) gram[j * d + k] = gram[j * d + k]! + cj * c[k]!;
      }
    }
  }
  for (let j = 0; j < d; j++) {
    gram[j * d + j] = gram[j * d + j]! + p.alpha;
    for (let k = 0; k < j; k++) gram[j * d + k] = gram[k * d + j]!;
  }
  const { x: w, rank } = lstsq(gram, d, d, xty);
  let intercept = 0;
  if (p.fit_intercept) {
    intercept = ym;
    for (let j = 0; j < d; j++) intercept -= xm[j]! * w[j]!;
  }
  return linearModel({ features: names, coef: Array.from(w), intercept, rank });
}

type LogParams = { C: number; fit_intercept: boolean; max_iter: number; tol: number };
/** coef: K × d (one row for binary problems), intercept: K (one for binary) */
type LogState = { features: string[]; classes: Label[]; coef: number[][]; intercept: number[]; iterations: number; converged: boolean };

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function logisticModel(s: LogState): FittedEstimator {
  return {
    async predict(t: Table) {
      const m = featureColumns(t, 'LogisticRegression');
      checkSameFeatures(s.features, m.names, 'LogisticRegression');
      const k = s.classes.length;
      const proba = new Float64Array(m.n * k);
      // each class's scores a feature column at a time, as LinearRegression: the same sums, bit for bit
      const scores = s.coef.map((coef, c) => {
        const v = new Float64Array(m.n).fill(s.intercept[c]!);
        for (let j = 0; j < m.d; j++) {
          const x = m.cols[j]!;
          const w = coef[j]!;
          for (let i = 0; i < m.n; i++) v[i] += x[i]! * w;
        }
        return v;
      });
      const z = new Float64Array(s.coef.length);
      for (let i = 0; i < m.n; i++) {
        for (let c = 0; c < scores.length; c++) z[c] = scores[c]![i]!;
        if (k === 2) {
          const p1 = 1 / (1 + Math.exp(-z[0]!));
          proba[i * 2] = 1 - p1;
          proba[i * 2 + 1] = p1;
        } else {
          let max = -Infinity;
          for (let c = 0; c < k; c++) max = Math.max(max, z[c]!);
          let sum = 0;
          for (let c = 0; c < k; c++) sum += Math.exp(z[c]! - max);
          for (let c = 0; c < k; c++) proba[i * k + c] = Math.exp(z[c]! - max) / sum;
        }
      }
      return { kind: 'classification', classes: s.classes, index: argmaxRows(proba, m.n, k), proba };
    },
    save: async () => ({ json: s }),
  };
}

/** Logistic regression (binary, or multinomial for more classes) with an L2 penalty 1/(2C)·‖w‖², fitted by L-BFGS to a tight tolerance. */
export const LogisticRegression: EstimatorDef<LogParams> = {
  kind: 'estimator',
  name: 'LogisticRegression',
  summary: 'L2-regularised logistic regression, binary or multinomial, fitted exactly by L-BFGS (scikit-learn defaults: C = 1).',
  parse(raw, fail) {
    const r = new ParamReader(raw, fail);
    const p = { C: r.number('C', 1, { min: 0, exclusiveMin: true }), fit_intercept: r.boolean('fit_intercept', true), max_iter: r.number('max_iter', 1000, { min: 1, int: true }), tol: r.number('tol', 1e-8, { min: 0, exclusiveMin: true }) };
    r.done();
    return p;
  },
  task: () => 'classification',
  checkInput(features, label, _p, fail) {
    checkNumericFeatures(features, 'LogisticRegression', fail);
    checkClassLabel(label, 'LogisticRegression', fail);
  },
  async fit(t, target, p, ctx) {
    const { classes, index: y } = target as Extract<Target, { kind: 'classification' }>;
    const { x, n, d, names } = featureMatrix(t, 'LogisticRegression');
    const k = classes.length;
    if (k < 2) throw new Error(`LogisticRegression: the training data has only one class (${String(classes[0])})`);
    const rows = k === 2 ? 1 : k;
    const lam = 1 / p.C;
    const nb = p.fit_intercept ? rows : 0;
    const size = rows * d + nb;
    const z = new Float64Array(n * rows);
    const fg = (w: Float64Array, g: Float64Array): number => {
      g.fill(0);
      return penalise(w, g, addLogLoss(0, w, g, x, n, d, y, k, nb, z), rows * d, lam);
    };
    return logisticResult(lbfgs(fg, new Float64Array(size), { maxIter: p.max_iter, gtol: p.tol }), names, classes, d, nb, p, ctx);
  },
  fitStream: (rows, p, ctx) => fitLogisticStream(rows, p, ctx),
  load: async (state) => logisticModel(state as LogState),
};

/**
 * Adds the log-loss of the n rows of x (row-major, d wide) to f and its gradient to g, row after
 * row: a whole table and the same rows in batches make the same sums in the same order.
 */
function addLogLoss(f: number, w: Float64Array, g: Float64Array, x: Float64Array, n: number, d: number, y: Int32Array, k: number, nb: number, z: Float64Array): number {
  const rows = k === 2 ? 1 : k;
  for (let i = 0; i < n; i++)
    for (let c = 0; c < rows; c++) {
      let v = nb ? w[rows * d + c]! : 0;
      for (let j = 0; j < d; j++) v += x[i * d + j]! * w[c * d + j]!;
      z[i * rows + c] = v;
    }
  for (let i = 0; i < n; i++) {
    if (rows === 1) {
      const zi = z[i]!;
      const yi = y[i] === 1 ? 1 : 0;
      f += softplus(zi) - yi * zi;
      const r = 1 / (1 + Math.exp(-zi)) - yi;
      for (let j = 0; j < d; j++) g[j] = g[j]! + r * x[i * d + j]!;
      if (nb) g[d] = g[d]! + r;
    } else {
      let max = -Infinity;
      for (let c = 0; c < k; c++) max = Math.max(max, z[i * k + c]!);
      let sum = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(z[i * k + c]! - max);
      const lse = max + Math.log(sum);
      f += lse - z[i * k + y[i]!]!;
      for (let c = 0; c < k; c++) {
        const r = Math.exp(z[i * k + c]! - lse) - (y[i] === c ? 1 : 0);
        for (let j = 0; j < d; j++) g[c * d + j] = g[c * d + j]! + r * x[i * d + j]!;
        if (nb) g[rows * d + c] = g[rows * d + c]! + r;
      }
    }
  }
  return f;
}

/** The L2 penalty on the first `m` weights (not the intercepts). */
function penalise(w: Float64Array, g: Float64Array, f: number, m: number, lam: number): number {
  for (let q = 0; q < m; q++) {
    f += 0.5 * lam * w[q]! ** 2;
    g[q] = g[q]! + lam * w[q]!;
  }
  return f;
}

function logisticResult(res: { x: Float64Array; iterations: number; converged: boolean }, names: string[], classes: Label[], d: number, nb: number, p: LogParams, ctx: FitContext): FittedEstimator {
  const rows = classes.length === 2 ? 1 : classes.length;
  if (!res.converged) ctx.log(`LogisticRegression: L-BFGS stopped after ${res.iterations} iterations without reaching tol ${p.tol}; consider scaling the features`);
  const coef = Array.from({ length: rows }, (_, c) => Array.from(res.x.subarray(c * d, c * d + d)));
  const intercept = Array.from({ length: rows }, (_, c) => (nb ? res.x[rows * d + c]! : 0));
  return logisticModel({ features: names, classes, coef, intercept, iterations: res.iterations, converged: res.converged });
}

/** The same objective and L-BFGS as the whole-table fit, each evaluation one pass over the rows. */
async function fitLogisticStream(train: TrainRows, p: LogParams, ctx: FitContext): Promise<FittedEstimator> {
  const classes = train.classes!;
  const k = classes.length;
  if (k < 2) throw new Error(`LogisticRegression: the training data has only one class (${String(classes[0])})`);
  let names: string[] | undefined;
  for await (const b of train.batches()) {
    names = featureMatrix(b.x, 'LogisticRegression').names;
    break;
  }
  const d = names!.length;
  const rows = k === 2 ? 1 : k;
  const nb = p.fit_intercept ? rows : 0;
  const lam = 1 / p.C;
  let passes = 0;
  const fg = async (w: Float64Array, g: Float64Array): Promise<number> => {
    g.fill(0);
    let f = 0;
    for await (const b of train.batches()) {
      if (ctx.signal?.aborted) throw new MlError('stopped');
      const m = featureMatrix(b.x, 'LogisticRegression');
      const y = (b.y as Extract<Target, { kind: 'classification' }>).index;
      f = addLogLoss(f, w, g, m.x, m.n, d, y, k, nb, new Float64Array(m.n * rows));
    }
    passes++;
    return penalise(w, g, f, rows * d, lam);
  };
  const res = await lbfgsAsync(fg, new Float64Array(rows * d + nb), { maxIter: p.max_iter, gtol: p.tol });
  ctx.log(`LogisticRegression: ${passes} passes over ${train.rows} rows`);
  return logisticResult(res, names!, classes, d, nb, p, ctx);
}
