// Predicting a stream of row batches: each batch goes through the chain's transformers and model
// and out to a sink before the next batch is read, so memory holds one batch however large the
// input. Transformers apply fitted state row by row and models predict rows independently, so
// the output is the same as predicting the whole table at once.
import { predictChain, type FittedChain } from './chain.js';
import { predictionCsvHeader, predictionObjects, writePredictionCsvLines } from './predictions.js';
import { PREDICT_BATCH } from './stages/nets.js';
import type { Prediction } from './stages/types.js';
import type { Table } from './table.js';
import { TextBuffer } from './text-buffer.js';
import type { TextSink } from './text-sink.js';

/**
 * Rows per batch when predicting a stream. A multiple of the networks' own batch (256 rows):
 * they then see exactly the batches they would see on the whole table, so the same float32
 * sums, so the same numbers to the last bit.
 */
export const PREDICT_STREAM_ROWS = 16 * PREDICT_BATCH;

/** Check a batch size from options: whole network batches. */
export function checkBatchRows(rows: number): number {
  if (!Number.isInteger(rows) || rows <= 0 || rows % PREDICT_BATCH !== 0) throw new RangeError(`batch rows must be a positive multiple of ${PREDICT_BATCH}, not ${rows}`);
  return rows;
}

/** Each batch with its prediction, predicted as it is pulled; `offset` counts the rows before it (row numbers in errors, CIFAR-10 indices). */
export async function* predictBatches(chain: FittedChain, batches: AsyncIterable<Table>): AsyncGenerator<{ table: Table; pred: Prediction }> {
  let offset = 0;
  for await (const batch of batches) {
    const table = { ...batch, offset };
    yield { table, pred: await predictChain(chain, table) };
    offset += batch.rows;
  }
}

/**
 * The predictions file as CSV: the header (known from the first batch's prediction: readers yield
 * at least one batch, empty for an empty file; left out with `header: false`, for rows added to
 * an existing file), then each batch's lines. Returns the rows written.
 */
export async function writePredictionsCsv(
  chain: FittedChain,
  batches: AsyncIterable<Table>,
  format: string,
  sink: TextSink,
  opts: { header?: boolean; onBatch?: (table: Table, pred: Prediction) => void } = {},
): Promise<number> {
  const out = new TextBuffer();
  let rows = 0;
  let first = opts.header ?? true;
  for await (const { table, pred } of predictBatches(chain, batches)) {
    opts.onBatch?.(table, pred);
    if (first) out.text(predictionCsvHeader(table, pred, format));
    first = false;
    writePredictionCsvLines(out, table, pred, format);
    await sink.write(out.bytes());
    out.clear();
    rows += table.rows;
  }
  return rows;
}

/**
 * The predictions as the elements of a JSON array nested `depth` levels deep, exactly as
 * JSON.stringify(value, null, 2) lays them out there: each element on a new line, indented, with
 * commas between. The caller writes the brackets. Returns the rows written.
 */
export async function writePredictionsJson(chain: FittedChain, batches: AsyncIterable<Table>, depth: number, sink: TextSink): Promise<number> {
  const indent = '\n' + '  '.repeat(depth + 1);
  let rows = 0;
  for await (const { pred } of predictBatches(chain, batches)) {
    let text = '';
    for (const o of predictionObjects(pred)) {
      text += (rows === 0 ? '' : ',') + indent + JSON.stringify(o, null, 2).replaceAll('\n', indent);
      rows++;
    }
    await sink.write(text);
  }
  return rows;
}
