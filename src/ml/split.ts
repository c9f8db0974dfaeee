// Train/test splits. By seed: a mulberry32 Fisher–Yates shuffle, the first ceil(test·n) rows are
// the test set. By key: a row is in the test set when sha256(`${seed}:${key}`) falls below
// `test`, so adding rows never moves existing rows between train and test.
import { MlError } from './errors.js';
import { hashUnit, mulberry32, permutation } from './rng.js';
import { cellValue, type Table } from './table.js';

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

/** Seeded split of n rows; both parts in ascending row order. */
export function seededSplit(n: number, test: number, seed: number): Split {
  const perm = permutation(n, mulberry32(seed));
  const nTest = Math.min(n, Math.ceil(test * n));
  return { test: perm.slice(0, nTest).sort(), train: perm.slice(nTest).sort() };
}

/** Split by the hash of each row's key: stable under appends and reorders. */
export function keySplit(keys: readonly string[], test: number, seed: number): Split {
  const tr: number[] = [];
  const te: number[] = [];
  keys.forEach((k, i) => (hashUnit(k, seed) < test ? te : tr).push(i));
  return { train: Int32Array.from(tr), test: Int32Array.from(te) };
}

export function splitTable(t: Table, spec: { test: number; seed: number; key?: string }): Split {
  if (spec.key === undefined) return seededSplit(t.rows, spec.test, spec.seed);
  const col = t.columns.find((c) => c.name === spec.key);
  if (!col) throw new MlError(`transform.ml.split.key: column "${spec.key}" is not in the data`);
  const keys = Array.from({ length: t.rows }, (_, i) => {
    const v = cellValue(col, i);
    if (v === null) throw new MlError(`transform.ml.split.key: row ${i + 1} has no value in key column "${spec.key}"`, 'every row needs a key to be split by hash');
    return String(v);
  });
  return keySplit(keys, spec.test, spec.seed);
}
