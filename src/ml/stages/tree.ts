// CART decision trees (Gini for classes, squared error for numbers) and random forests of them
// (bootstrap rows, a seeded subset of features per split, probabilities averaged over trees).
import { mulberry32, subSeed } from '../rng.js';
import type { Label, Table } from '../table.js';
import { argmaxRows, checkClassLabel, checkNumericFeatures, checkRegressionLabel, checkSameFeatures, featureMatrix } from './common.js';
import { ParamReader } from './params.js';
import type { EstimatorDef, FittedEstimator, StageFail } from './types.js';

interface TreeNodes {
  /** −1 for leaves */
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  /** class probabilities (classification) or the mean (regression), per node */
  value: number[][];
}

type MaxFeatures = 'sqrt' | 'log2' | 'all' | number;

interface TreeOptions {
  maxDepth: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  maxFeatures: MaxFeatures;
}

function featureCount(m: MaxFeatures, d: number): number {
  if (m === 'all') return d;
  if (m === 'sqrt') return Math.max(1, Math.floor(Math.sqrt(d)));
  if (m === 'log2') return Math.max(1, Math.floor(Math.log2(d)));
  return m <= 1 ? Math.max(1, Math.floor(m * d)) : Math.min(d, Math.floor(m));
}

/** Grow one tree on rows `rows` (repeats allowed: bootstrap samples). */
function growTree(x: Float64Array, d: number, y: ArrayLike<number>, k: number, rows: number[], o: TreeOptions, rand: () => number): TreeNodes {
  const t: TreeNodes = { feature: [], threshold: [], left: [], right: [], value: [] };
  const classify = k > 0;
  const leafValue = (idx: number[]): number[] => {
    if (classify) {
      const counts = new Array<number>(k).fill(0);
      for (const i of idx) counts[y[i]!]!++;
      return counts.map((c) => c / idx.length);
    }
    let s = 0;
    for (const i of idx) s += y[i]!;
    return [s / idx.length];
  };
  const impurity = (idx: number[]): number => {
    if (classify) {
      const counts = new Array<number>(k).fill(0);
      for (const i of idx) counts[y[i]!]!++;
      return idx.length * (1 - counts.reduce((a, c) => a + (c / idx.length) ** 2, 0));
    }
    let s = 0;
    let ss = 0;
    for (const i of idx) {
      s += y[i]!;
      ss += y[i]! ** 2;
    }
    return ss - (s * s) / idx.length;
  };
  const nf = featureCount(o.maxFeatures, d);
  const build = (idx: number[], depth: number): number => {
    const id = t.feature.length;
    t.feature.push(-1);
    t.threshold.push(0);
    t.left.push(-1);
    t.right.push(-1);
    t.value.push(leafValue(idx));
    const parent = impurity(idx);
    if (depth >= o.maxDepth || idx.length < o.minSamplesSplit || idx.length < 2 * o.minSamplesLeaf || parent <= 1e-12) return id;
    // the features examined at this split: a seeded partial Fisher–Yates draw
    const feats = Array.from({ length: d }, (_, j) => j);
    for (let j = 0; j < nf; j++) {
      const r = j + Math.floor(rand() * (d - j));
      [feats[j], feats[r]] = [feats[r]!, feats[j]!];
    }
    let best = { score: parent - 1e-12, feature: -1, threshold: 0 };
    for (const f of feats.slice(0, nf).sort((a, b) => a - b)) {
      const order = idx.slice().sort((a, b) => x[a * d + f]! - x[b * d + f]! || a - b);
      const n = order.length;
      // running statistics of the left side; the right side is the total minus the left
      const lc = new Array<number>(k).fill(0);
      const tc = new Array<number>(k).fill(0);
      let ls = 0;
      let lss = 0;
      let ts = 0;
      let tss = 0;
      for (const i of order) {
        if (classify) tc[y[i]!]!++;
        else {
          ts += y[i]!;
          tss += y[i]! ** 2;
        }
      }
      for (let p = 0; p < n - 1; p++) {
        const i = order[p]!;
        if (classify) lc[y[i]!]!++;
        else {
          ls += y[i]!;
          lss += y[i]! ** 2;
        }
        const nl = p + 1;
        const nr = n - nl;
        const xv = x[i * d + f]!;
        const xn = x[order[p + 1]! * d + f]!;
        if (xv === xn || nl < o.minSamplesLeaf || nr < o.minSamplesLeaf) continue;
        let score: number;
        if (classify) {
          let gl = 0;
          let gr = 0;
          for (let c = 0; c < k; c++) {
            gl += (lc[c]! / nl) ** 2;
            gr += ((tc[c]! - lc[c]!) / nr) ** 2;
          }
          score = nl * (1 - gl) + nr * (1 - gr);
        } else score = lss - (ls * ls) / nl + (tss - lss) - ((ts - ls) * (ts - ls)) / nr;
        if (score < best.score) {
          let th = (xv + xn) / 2;
          if (th === xn) th = xv;
          best = { score, feature: f, threshold: th };
        }
      }
    }
    if (best.feature < 0) return id;
    const left: number[] = [];
    const right: number[] = [];
    for (const i of idx) (x[i * d + best.feature]! <= best.threshold ? left : right).push(i);
    t.feature[id] = best.feature;
    t.threshold[id] = best.threshold;
    t.left[id] = build(left, depth + 1);
    t.right[id] = build(right, depth + 1);
    return id;
  };
  build(rows, 0);
  return t;
}

function leafOf(t: TreeNodes, x: Float64Array, off: number): number[] {
  let node = 0;
  while (t.feature[node]! >= 0) node = x[off + t.feature[node]!]! <= t.threshold[node]! ? t.left[node]! : t.right[node]!;
  return t.value[node]!;
}

type ForestState = { features: string[]; classes: Label[] | null; trees: TreeNodes[] };

function forestModel(name: string, s: ForestState): FittedEstimator {
  return {
    async predict(tab: Table) {
      const m = featureMatrix(tab, name);
      checkSameFeatures(s.features, m.names, name);
      if (s.classes) {
        const k = s.classes.length;
        const proba = new Float64Array(m.n * k);
        for (let i = 0; i < m.n; i++)
          for (const t of s.trees) {
            const v = leafOf(t, m.x, i * m.d);
            for (let c = 0; c < k; c++) proba[i * k + c] = proba[i * k + c]! + v[c]! / s.trees.length;
          }
        return { kind: 'classification', classes: s.classes, index: argmaxRows(proba, m.n, k), proba };
      }
      const values = new Float64Array(m.n);
      for (let i = 0; i < m.n; i++) {
        let sum = 0;
        for (const t of s.trees) sum += leafOf(t, m.x, i * m.d)[0]!;
        values[i] = sum / s.trees.length;
      }
      return { kind: 'regression', values };
    },
    save: async () => ({ json: s }),
  };
}

type TreeParams = { max_depth: number | null; min_samples_split: number; min_samples_leaf: number; max_features: MaxFeatures; n_estimators: number; bootstrap: boolean; seed: number | null };

function parseTreeParams(raw: Record<string, unknown>, fail: StageFail, forest: boolean, defaultFeatures: MaxFeatures): TreeParams {
  const r = new ParamReader(raw, fail);
  const depth = r.optionalNumber('max_depth', { min: 1, int: true });
  const mf = r.value('max_features');
  let maxFeatures: MaxFeatures = defaultFeatures;
  if (mf !== undefined && mf !== null) {
    if (mf === 'sqrt' || mf === 'log2' || mf === 'all') maxFeatures = mf;
    else if (typeof mf === 'number' && mf > 0 && (mf <= 1 || Number.isInteger(mf))) maxFeatures = mf;
    else fail(`parameter "max_features" must be sqrt, log2, all, a fraction in (0, 1] or a whole number, got ${JSON.stringify(mf)}`);
  }
  const p: TreeParams = {
    max_depth: depth ?? null,
    min_samples_split: r.number('min_samples_split', 2, { min: 2, int: true }),
    min_samples_leaf: r.number('min_samples_leaf', 1, { min: 1, int: true }),
    max_features: maxFeatures,
    n_estimators: forest ? r.number('n_estimators', 50, { min: 1, max: 10_000, int: true }) : 1,
    bootstrap: forest ? r.boolean('bootstrap', true) : false,
    seed: r.optionalNumber('seed', { min: 0, int: true }) ?? null,
  };
  r.done();
  return p;
}

function treeEstimator(name: string, classify: boolean, forest: boolean, summary: string): EstimatorDef<TreeParams> {
  return {
    kind: 'estimator',
    name,
    summary,
    parse: (raw, fail) => parseTreeParams(raw, fail, forest, forest && classify ? 'sqrt' : 'all'),
    task: () => (classify ? 'classification' : 'regression'),
    checkInput(features, label, _p, fail) {
      checkNumericFeatures(features, name, fail);
      if (classify) checkClassLabel(label, name, fail);
      else checkRegressionLabel(label, name, fail);
    },
    async fit(tab, target, p, ctx) {
      const { x, n, d, names } = featureMatrix(tab, name);
      const tgt = target!;
      const y = tgt.kind === 'classification' ? tgt.index : tgt.values;
      const k = tgt.kind === 'classification' ? tgt.classes.length : 0;
      const seed = p.seed ?? ctx.seed;
      const o: TreeOptions = { maxDepth: p.max_depth ?? Infinity, minSamplesSplit: p.min_samples_split, minSamplesLeaf: p.min_samples_leaf, maxFeatures: p.max_features };
      const trees: TreeNodes[] = [];
      for (let e = 0; e < p.n_estimators; e++) {
        const rand = mulberry32(subSeed(seed, e));
        const rows = p.bootstrap ? Array.from({ length: n }, () => Math.floor(rand() * n)) : Array.from({ length: n }, (_, i) => i);
        trees.push(growTree(x, d, y, k, rows, o, rand));
      }
      return forestModel(name, { features: names, classes: tgt.kind === 'classification' ? tgt.classes : null, trees });
    },
    load: async (state) => forestModel(name, state as ForestState),
  };
}

export const DecisionTreeClassifier = treeEstimator('DecisionTreeClassifier', true, false, 'A CART classification tree (Gini impurity).');
export const DecisionTreeRegressor = treeEstimator('DecisionTreeRegressor', false, false, 'A CART regression tree (squared error).');
export const RandomForestClassifier = treeEstimator('RandomForestClassifier', true, true, 'A random forest of classification trees: bootstrap rows, sqrt(d) features per split, averaged probabilities.');
export const RandomForestRegressor = treeEstimator('RandomForestRegressor', false, true, 'A random forest of regression trees: bootstrap rows, averaged predictions.');
