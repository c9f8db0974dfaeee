// Helpers shared by estimators: the feature checks every numeric model makes, and turning
// features into a float64 matrix (refusing missing values, which need a SimpleImputer first).
import { MlError } from '../errors.js';
import { describeType, toMatrix, type ColumnSchema, type NumberColumn, type Table } from '../table.js';
import type { StageFail } from './types.js';

/** Numeric models take number columns only. */
export function checkNumericFeatures(features: ColumnSchema[], stage: string, fail: StageFail): void {
  if (features.length === 0) fail('no feature columns left to learn from', 'check transform.ml.data.features');
  for (const c of features)
    if (c.type !== 'number')
      fail(
        `column "${c.name}" is ${describeType(c)}; ${stage} needs numeric features`,
        c.type === 'string' ? 'add OneHotEncoder (or drop the column from data.features)' : c.type === 'image' ? 'decode images (DecodeImage) and use CNNClassifier' : 'use CNNClassifier for image tensors',
        c.name,
      );
}

export function checkClassLabel(label: ColumnSchema | undefined, stage: string, fail: StageFail): void {
  if (!label) fail(`${stage} is a classifier and needs a label`, 'set transform.ml.data.label');
  if (label.type !== 'number' && label.type !== 'string') fail(`label column "${label.name}" is ${describeType(label)}; class labels are numbers or strings`, undefined, label.name);
}

export function checkRegressionLabel(label: ColumnSchema | undefined, stage: string, fail: StageFail): void {
  if (!label) fail(`${stage} is a regressor and needs a label`, 'set transform.ml.data.label');
  if (label.type !== 'number') fail(`label column "${label.name}" is ${describeType(label)}; ${stage} predicts numbers`, 'use a classifier for categorical labels', label.name);
}

/** Features as an n × d matrix; a missing value is an error naming the column and row. */
export function featureMatrix(t: Table, stage: string): { x: Float64Array; n: number; d: number; names: string[] } {
  const m = toMatrix(t);
  for (let i = 0; i < m.x.length; i++)
    if (!Number.isFinite(m.x[i]!)) {
      const col = m.names[i % m.d]!;
      throw new MlError(`${stage}: column "${col}" has a missing or infinite value (row ${(t.offset ?? 0) + Math.floor(i / m.d) + 1})`, 'add a SimpleImputer stage before it', { column: col, stage });
    }
  return m;
}

/**
 * Features as their columns, unchanged (no n × d copy): for predictions that visit each column
 * once. A missing or infinite value is the error featureMatrix gives, naming the first such cell.
 */
export function featureColumns(t: Table, stage: string): { cols: Float64Array[]; n: number; d: number; names: string[] } {
  const cols = (t.columns as NumberColumn[]).map((c) => c.values);
  for (const v of cols) if (!allFinite(v, t.rows)) featureMatrix(t, stage);
  return { cols, n: t.rows, d: cols.length, names: t.columns.map((c) => c.name) };
}

/** Whether the first n values are all finite: x − x is 0 for those, NaN for NaN and ±Infinity. */
function allFinite(v: Float64Array, n: number): boolean {
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i]! - v[i]!;
  return s === 0;
}

/** Row-wise argmax (first maximum wins). */
export function argmaxRows(p: Float64Array, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[i * k + c]! > p[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/** The feature names a fitted model was trained on must match those it is given. */
export function checkSameFeatures(expected: string[], got: string[], stage: string): void {
  if (expected.length !== got.length || expected.some((n, i) => n !== got[i]))
    throw new MlError(`${stage}: the model was trained on features (${expected.join(', ')}) but is given (${got.join(', ')})`);
}
