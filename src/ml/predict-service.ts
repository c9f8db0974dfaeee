// `tusk predict`: a model from a repo, applied to a local file (CSV, an image or image tree, a
// CIFAR-10 batch, as the model was trained on), rows out as CSV or JSON. A CSV file is streamed:
// read, predicted and written a batch at a time.
import * as fs from 'node:fs';
import { formatFileRef, type FileRef, type RepoReads } from '../pipeline/repo-reads.js';
import { checkBatchRows, PREDICT_STREAM_ROWS, writePredictionsCsv, writePredictionsJson } from './batch-predict.js';
import { checkChainInput, type FittedChain } from './chain.js';
import { readBatches, readSchema } from './data.js';
import { MlError } from './errors.js';
import type { MlDataSpec } from './spec.js';
import type { Schema, Table } from './table.js';
import { fileSink, spoolSink, streamSink } from './text-sink.js';
import { loadModel, skippedNote, type ModelVersion } from './model-source.js';

/** What `tusk predict --json` prints. */
export interface PredictResult {
  model: ModelVersion;
  rows: number;
  /** the local file written (-o), or null when printed */
  output: string | null;
  /**
   * the predictions, one object per row (under --json without -o). predictFile streams them into
   * the document it writes itself; the object it returns never holds them.
   */
  predictions?: Record<string, unknown>[];
}

export interface PredictOptions {
  /** write the predictions CSV to this local file: complete, or (on any error) not at all */
  output?: string;
  /** the input's CSV delimiter (the output is comma-separated) */
  delimiter?: string;
  /** without `output`: write the whole --json document (predictions included) to `stdout` instead of CSV */
  json?: boolean;
  /** where the CSV, or the --json document, goes without `output` (then required) */
  stdout?: NodeJS.WritableStream;
  /** rows per batch, a multiple of 256 (tests use small batches) */
  batchRows?: number;
  /** told which failed versions were passed over for the model used */
  onNote?: (msg: string) => void;
}

/** How to read local data the way the model's training data was read, typed by the model's features; checked against them before any row is read. */
export async function dataForModel(chain: FittedChain, file: string, opts: { delimiter?: string; model?: string } = {}): Promise<{ data: MlDataSpec; schema: Schema }> {
  if (!fs.existsSync(file)) throw new MlError(`${file} doesn't exist`, 'check the path given with -f');
  const format = chain.json.data_format as MlDataSpec['format'];
  const data: MlDataSpec = { format, path: file, delimiter: opts.delimiter ?? ',', image_column: chain.json.features.find((f) => f.type === 'image' || f.type === 'tensor')?.name ?? 'image', label: chain.json.label?.name };
  // columns named like model features take the model's types (a numeric-looking id stays a string)
  const known: Record<string, 'number' | 'string'> = {};
  for (const f of chain.json.features) if (f.type === 'number' || f.type === 'string') known[f.name] = f.type;
  const schema = await readSchema(data, file, undefined, known);
  const columns: Record<string, 'number' | 'string'> = {};
  for (const c of schema.columns) if (known[c.name]) columns[c.name] = known[c.name]!;
  checkChainInput(chain, schema.columns, file, opts.model);
  return { data: format === 'csv' ? { ...data, columns } : data, schema };
}

/**
 * Predict every row of a local file with the model at `ref`, a batch at a time: CSV to `output`
 * (through a temporary file renamed at the end) or to `stdout`; under `json` without `output`,
 * the whole --json document to `stdout`. Its `rows` comes before `predictions` and is known only
 * at the end, so the predictions are spooled to a temporary file and copied out after it: memory
 * stays flat and the bytes are those of JSON.stringify(result, null, 2).
 */
export async function predictFile(store: RepoReads, ref: FileRef, file: string, opts: PredictOptions = {}): Promise<PredictResult> {
  const batchRows = checkBatchRows(opts.batchRows ?? PREDICT_STREAM_ROWS);
  const model = await loadModel(store, ref);
  const note = skippedNote(model.version);
  if (note) opts.onNote?.(note);
  try {
    const { data, schema } = await dataForModel(model.chain, file, { ...opts, model: `model ${formatFileRef(ref)}` });
    const batches = () => predictErrors(readBatches(data, file, schema, batchRows), model.chain, file);
    const format = model.chain.json.data_format;
    const result: PredictResult = { model: model.version, rows: 0, output: opts.output ?? null };
    if (opts.output) {
      const sink = fileSink(opts.output);
      try {
        result.rows = await writePredictionsCsv(model.chain, batches(), format, sink);
        sink.commit();
      } finally {
        sink.abort();
      }
      return result;
    }
    const stdout = opts.stdout;
    if (!stdout) throw new Error('predictFile: give `output` or `stdout`');
    if (!opts.json) {
      result.rows = await writePredictionsCsv(model.chain, batches(), format, streamSink(stdout));
      return result;
    }
    const spool = spoolSink();
    try {
      result.rows = await writePredictionsJson(model.chain, batches(), 1, spool);
      await writeJsonDocument(result, spool, stdout);
    } finally {
      spool.remove();
    }
    return result;
  } finally {
    model.close();
  }
}

/**
 * A predict user wrote no spec: a cell that is not a number gets a hint about the model and the
 * file given with -f, not about transform.ml.data.columns.
 */
async function* predictErrors(batches: AsyncIterable<Table>, chain: FittedChain, file: string): AsyncGenerator<Table> {
  try {
    yield* batches;
  } catch (err) {
    if (!(err instanceof MlError) || err.details?.kind !== 'not-a-number' || err.details.column === undefined) throw err;
    const column = err.details.column;
    const hint = chain.json.features.some((f) => f.name === column)
      ? `the model was trained on "${column}" as numbers: fix or remove that record of ${file}`
      : `the model does not use "${column}", whose type was inferred from the first rows: remove that column from ${file}`;
    throw new MlError(err.message, hint, err.details);
  }
}

/** JSON.stringify({...result, predictions}, null, 2) + '\n', with the predictions' elements taken from the spool. */
async function writeJsonDocument(result: PredictResult, spool: ReturnType<typeof spoolSink>, stdout: NodeJS.WritableStream): Promise<void> {
  const out = streamSink(stdout);
  const head = JSON.stringify(result, null, 2);
  // the head ends with "\n}": open "predictions" in its place
  await out.write(`${head.slice(0, -2)},\n  "predictions": [`);
  if (result.rows > 0) await spool.copyTo(stdout);
  await out.write(`${result.rows > 0 ? '\n  ' : ''}]\n}\n`);
}
