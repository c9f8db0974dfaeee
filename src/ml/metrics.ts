// Evaluation metrics, defined as scikit-learn defines them (sklearn.metrics), so numbers can be
// compared. precision/recall/f1 are macro averages over classes; per-class values sit beside them.
import type { Label } from './table.js';

export const CLASSIFICATION_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'confusion_matrix'] as const;
export const REGRESSION_METRICS = ['mse', 'rmse', 'mae', 'r2'] as const;
export type MetricName = (typeof CLASSIFICATION_METRICS)[number] | (typeof REGRESSION_METRICS)[number];
export const ALL_METRICS: readonly MetricName[] = [...CLASSIFICATION_METRICS, ...REGRESSION_METRICS];

/** What metrics.json holds for one evaluated set: scalars, and per-class objects beside them. */
export type MetricValues = Record<string, number | null | Record<string, number> | { labels: Label[]; matrix: number[][] }>;

function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

/** mse, rmse, mae and r2 (1 − SS_res / SS_tot; 0 when the target is constant and predicted exactly, as sklearn) */
export function regressionMetrics(yTrue: Float64Array, yPred: Float64Array, names: readonly string[]): MetricValues {
  const n = yTrue.length;
  let se = 0;
  let ae = 0;
  for (let i = 0; i < n; i++) {
    const e = yTrue[i]! - yPred[i]!;
    se += e * e;
    ae += Math.abs(e);
  }
  const m = mean(yTrue);
  let tot = 0;
  for (let i = 0; i < n; i++) tot += (yTrue[i]! - m) ** 2;
  const all: Record<string, number> = {
    mse: se / n,
    rmse: Math.sqrt(se / n),
    mae: ae / n,
    r2: tot === 0 ? (se === 0 ? 1 : 0) : 1 - se / tot,
  };
  const out: MetricValues = {};
  for (const k of names) if (k in all) out[k] = all[k]!;
  return out;
}

/** Area under the ROC curve of `score` for `positive` (Mann–Whitney U with tied ranks averaged); null without both classes. */
export function rocAuc(positive: ArrayLike<boolean>, score: ArrayLike<number>): number | null {
  const n = score.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a]! - score[b]! || a - b);
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && score[idx[j + 1]!] === score[idx[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (positive[idx[k]!]) {
        nPos++;
        rankSum += rank;
      }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Classification metrics over class indices 0..K−1 (`classes` names them). `proba` (n × K,
 * row-major) enables roc_auc: binary uses the second class's probability, multiclass the macro
 * one-vs-rest average (sklearn `roc_auc_score(multi_class="ovr")`).
 */
export function classificationMetrics(
  yTrue: Int32Array,
  yPred: Int32Array,
  classes: readonly Label[],
  proba: Float64Array | null,
  names: readonly string[],
): MetricValues {
  const k = classes.length;
  const n = yTrue.length;
  const cm = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < n; i++) cm[yTrue[i]!]![yPred[i]!]!++;
  let auc: number | null = null;
  if (proba) {
    if (k === 2) auc = rocAuc(Array.from(yTrue, (y) => y === 1), Array.from({ length: n }, (_, i) => proba[i * 2 + 1]!));
    else {
      let s = 0;
      let m = 0;
      for (let c = 0; c < k; c++) {
        const a = rocAuc(Array.from(yTrue, (y) => y === c), Array.from({ length: n }, (_, i) => proba[i * k + c]!));
        if (a !== null) {
          s += a;
          m++;
        }
      }
      auc = m === 0 ? null : s / m;
    }
  }
  return confusionMetrics(cm, classes, auc, names);
}

/**
 * The metrics a confusion matrix gives (rows true classes, columns predicted), with roc_auc
 * computed elsewhere: shared by whole-table scoring and scoring as rows go by.
 */
export function confusionMetrics(cm: number[][], classes: readonly Label[], auc: number | null, names: readonly string[]): MetricValues {
  const k = classes.length;
  let n = 0;
  let correct = 0;
  for (let c = 0; c < k; c++) {
    correct += cm[c]![c]!;
    for (let r = 0; r < k; r++) n += cm[c]![r]!;
  }
  const prec: Record<string, number> = {};
  const rec: Record<string, number> = {};
  const f1: Record<string, number> = {};
  // macro averages over classes present in the truth or the predictions, as sklearn's default labels
  let present = 0;
  let sp = 0;
  let sr = 0;
  let sf = 0;
  for (let c = 0; c < k; c++) {
    const tp = cm[c]![c]!;
    let predicted = 0;
    let actual = 0;
    for (let r = 0; r < k; r++) {
      predicted += cm[r]![c]!;
      actual += cm[c]![r]!;
    }
    const p = predicted === 0 ? 0 : tp / predicted;
    const r = actual === 0 ? 0 : tp / actual;
    const f = p + r === 0 ? 0 : (2 * p * r) / (p + r);
    const key = String(classes[c]);
    prec[key] = p;
    rec[key] = r;
    f1[key] = f;
    if (predicted + actual > 0) {
      present++;
      sp += p;
      sr += r;
      sf += f;
    }
  }
  const out: MetricValues = {};
  for (const name of names) {
    switch (name) {
      case 'accuracy':
        out.accuracy = n === 0 ? null : correct / n;
        break;
      case 'precision':
        out.precision = present === 0 ? null : sp / present;
        out.precision_per_class = prec;
        break;
      case 'recall':
        out.recall = present === 0 ? null : sr / present;
        out.recall_per_class = rec;
        break;
      case 'f1':
        out.f1 = present === 0 ? null : sf / present;
        out.f1_per_class = f1;
        break;
      case 'roc_auc':
        out.roc_auc = auc;
        break;
      case 'confusion_matrix':
        out.confusion_matrix = { labels: [...classes], matrix: cm };
        break;
    }
  }
  return out;
}
