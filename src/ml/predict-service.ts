// `tusk predict`: a model from a repo, applied to a local file (CSV, an image or image tree, a
// CIFAR-10 batch, as the model was trained on), rows out as CSV or JSON.
import * as fs from 'node:fs';
import type { FileRef } from '../store/address.js';
import type { Store } from '../store/store.js';
import { checkChainInput, predictChain, type FittedChain } from './chain.js';
import { readSchema, readTable } from './data.js';
import { MlError } from './errors.js';
import { formatCsv } from './readers/csv.js';
import { predictionObjects } from './predictions.js';
import { predictionRows } from './run.js';
import type { MlDataSpec } from './spec.js';
import type { Prediction } from './stages/types.js';
import type { Table } from './table.js';
import { loadModel, type ModelVersion } from './model-source.js';

export interface PredictResult {
  model: ModelVersion;
  rows: number;
  /** the local file written (-o), or null when printed */
  output: string | null;
  /** the predictions, one object per row (under --json without -o) */
  predictions?: Record<string, unknown>[];
}

/** Read local data the way the model's training data was read, typed by the model's features. */
export async function readForModel(chain: FittedChain, file: string, opts: { delimiter?: string } = {}): Promise<Table> {
  if (!fs.existsSync(file)) throw new MlError(`${file} doesn't exist`, 'check the path given with -f');
  const format = chain.json.data_format as MlDataSpec['format'];
  const columns: Record<string, 'number' | 'string'> = {};
  const data: MlDataSpec = { format, path: file, delimiter: opts.delimiter ?? ',', image_column: chain.json.features.find((f) => f.type === 'image' || f.type === 'tensor')?.name ?? 'image', label: chain.json.label?.name };
  const raw = await readSchema(data, file);
  // columns named like model features take the model's types (a numeric-looking id stays a string)
  for (const f of chain.json.features) if ((f.type === 'number' || f.type === 'string') && raw.columns.some((c) => c.name === f.name)) columns[f.name] = f.type;
  const schema = { columns: raw.columns.map((c) => (columns[c.name] ? { ...c, type: columns[c.name]! } : c)) };
  checkChainInput(chain, schema.columns, file);
  return readTable(format === 'csv' ? { ...data, columns } : data, file, schema);
}

/** Predict every row of a local file with the model at `ref`; write CSV to `output` or return it. */
export async function predictFile(store: Store, ref: FileRef, file: string, opts: { output?: string; delimiter?: string; json?: boolean; write?: (csv: string) => void } = {}): Promise<PredictResult> {
  const model = await loadModel(store, ref);
  try {
    const table = await readForModel(model.chain, file, opts);
    const pred: Prediction = await predictChain(model.chain, table);
    const result: PredictResult = { model: model.version, rows: table.rows, output: opts.output ?? null };
    if (opts.json && !opts.output) {
      result.predictions = predictionObjects(pred);
      return result;
    }
    const { header, rows } = predictionRows(table, pred, model.chain.json.data_format);
    const csv = formatCsv(header, rows);
    if (opts.output) fs.writeFileSync(opts.output, csv);
    else opts.write?.(csv);
    return result;
  } finally {
    model.close();
  }
}
