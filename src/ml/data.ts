// Reading a spec's data: its schema first (CSV header and sampled types, the first image's
// shape, the CIFAR-10 record layout) for pre-flight checks, then the rows.
import * as path from 'node:path';
import { MlError } from './errors.js';
import { readCifar, readCifarSchema, cifarFiles } from './readers/cifar.js';
import { csvBatches, csvFiles, readCsv, readCsvSchema } from './readers/csv.js';
import { listImages, readImages, readImageSchema } from './readers/images.js';
import type { MlDataSpec } from './spec.js';
import { sortLabels, type Label, type Schema, type Table } from './table.js';
import type { Target } from './stages/types.js';

/**
 * `/pfs/houses/x.csv` → `<pfsDir>/houses/x.csv`. Specs are normalised when validated; this
 * checks again, so that no caller can read outside the datum's inputs.
 */
export function localPath(pfsPath: string, pfsDir: string): string {
  const p = path.resolve(pfsDir, `.${path.posix.normalize(`/${pfsPath.replace(/^\/pfs(\/|$)/, '')}`)}`);
  if (p !== pfsDir && !p.startsWith(`${pfsDir}${path.sep}`)) throw new MlError(`"${pfsPath}" is outside /pfs`, 'paths name an input: /pfs/<input name>/...');
  return p;
}

/**
 * `top`: for image trees, only that top-level entry of the tree (one predict unit). `known`: CSV
 * column types known elsewhere (a model's features), taken instead of inferred where the header has them.
 */
export async function readSchema(data: MlDataSpec, p: string, top?: string, known?: Record<string, 'number' | 'string'>): Promise<Schema> {
  switch (data.format) {
    case 'csv': {
      const files = csvFiles(p);
      if (files.length === 0) throw new MlError(`no CSV files under ${data.path}`, 'check transform.ml.data.path and the input glob');
      return readCsvSchema(files[0]!, { delimiter: data.delimiter, columns: data.columns, known });
    }
    case 'images':
      return readImageSchema(p, data.image_column, data.label ?? 'label', top);
    case 'cifar10':
      return readCifarSchema(p, data.image_column, data.label ?? 'label');
  }
}

export async function readTable(data: MlDataSpec, p: string, schema: Schema, top?: string): Promise<Table> {
  switch (data.format) {
    case 'csv':
      return readCsv(csvFiles(p), schema, { delimiter: data.delimiter });
    case 'images':
      return readImages(p, data.image_column, data.label ?? 'label', schema, top);
    case 'cifar10':
      return readCifar(p, data.image_column, data.label ?? 'label');
  }
}

/**
 * The rows as tables of at most `batchRows` rows, read as they are pulled: CSV streams (at least
 * one table, empty for a file without rows), from byte `from` of a single file when given;
 * image trees and CIFAR-10 batches come whole, as one.
 */
export async function* readBatches(data: MlDataSpec, p: string, schema: Schema, batchRows: number, top?: string, from?: number): AsyncGenerator<Table> {
  if (data.format === 'csv') yield* csvBatches(csvFiles(p), schema, { delimiter: data.delimiter, batchRows, from });
  else yield await readTable(data, p, schema, top);
}

/** The units a predict task writes one output file for: each CSV file, each top-level entry of an image tree, each CIFAR batch. */
export function predictUnits(data: MlDataSpec, p: string): { path: string; out: string; top?: string }[] {
  switch (data.format) {
    case 'csv':
      return csvFiles(p).map((f) => ({ path: f, out: f === p ? path.basename(f) : path.relative(p, f) }));
    case 'cifar10':
      return cifarFiles(p).map((f) => ({ path: f, out: `${path.basename(f)}.csv` }));
    case 'images': {
      const files = listImages(p);
      if (files.length === 1 && files[0]!.file === p) return [{ path: p, out: `${path.basename(p)}.csv` }];
      const tops = [...new Set(files.map((f) => f.rel.split('/')[0]!))];
      return tops.map((t) => ({ path: p, top: t, out: `${t}.csv` }));
    }
  }
}

/** Rows whose label is present; the target in the form a model learns it. */
export function targetOf(t: Table, label: string, kind: 'regression' | 'classification', classes?: Label[]): { rows: Int32Array; target: Target; dropped: number } {
  const col = t.columns.find((c) => c.name === label);
  if (!col) throw new MlError(`label column "${label}" is not in the data`);
  const keep: number[] = [];
  const values: Label[] = [];
  for (let i = 0; i < t.rows; i++) {
    const v = col.type === 'number' ? (Number.isNaN(col.values[i]!) ? null : col.values[i]!) : col.type === 'string' ? col.values[i]! : null;
    if (v === null) continue;
    keep.push(i);
    values.push(v);
  }
  const rows = Int32Array.from(keep);
  const dropped = t.rows - keep.length;
  if (kind === 'regression') {
    if (col.type !== 'number') throw new MlError(`label column "${label}" holds strings; a regressor predicts numbers`);
    return { rows, target: { kind: 'regression', values: Float64Array.from(values as number[]) }, dropped };
  }
  const cls = classes ?? sortLabels(values);
  const pos = new Map(cls.map((c, k) => [String(c), k]));
  const index = new Int32Array(values.length);
  values.forEach((v, i) => {
    const k = pos.get(String(v));
    // a class the model never saw: -1, counted as a miss by evaluation
    index[i] = k ?? -1;
  });
  return { rows, target: { kind: 'classification', classes: cls, index }, dropped };
}
