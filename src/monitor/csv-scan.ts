// One pass over a CSV held in the store, cell by cell, with each column's type decided the way
// the ML reader decides it (number when every present cell of the first SAMPLE_ROWS rows parses
// as one). Memory: the sample rows, one chunk of text and what the visitor keeps.
import { StringDecoder } from 'node:string_decoder';
import { CsvParser, inferSchema, MISSING, SAMPLE_ROWS } from '../ml/readers/csv.js';
import type { ColumnSchema } from '../ml/table.js';
import { InvalidArgumentError } from '../errors.js';

export type CsvColumnType = 'number' | 'string';

/** What a scan hands each cell to. */
export interface CellVisitor {
  /** a present cell of a number column */
  number(col: number, value: number): void;
  /** a present cell of a string column */
  string(col: number, value: string): void;
  /** an empty or NA-like cell, or a cell the row did not have */
  missing(col: number): void;
  /** a cell of a number column that is not a number (the first rows decided the type) */
  invalid(col: number, cell: string): void;
}

export interface CsvShape {
  columns: { name: string; type: CsvColumnType }[];
  rows: number;
}

/**
 * Scan the bytes of a CSV file: `start` is told the columns once the types are known and
 * returns the visitor for every cell. `source` names the file in errors. Bytes that arrive
 * asynchronously (a file read from the store) give the shape as a Promise.
 */
export function scanCsv(chunks: Iterable<Buffer>, source: string, start: (columns: CsvShape['columns']) => CellVisitor, delimiter?: string): CsvShape;
export function scanCsv(chunks: AsyncIterable<Buffer>, source: string, start: (columns: CsvShape['columns']) => CellVisitor, delimiter?: string): Promise<CsvShape>;
export function scanCsv(chunks: CsvBytes, source: string, start: (columns: CsvShape['columns']) => CellVisitor, delimiter?: string): CsvShape | Promise<CsvShape>;
export function scanCsv(chunks: CsvBytes, source: string, start: (columns: CsvShape['columns']) => CellVisitor, delimiter = ','): CsvShape | Promise<CsvShape> {
  const parser = new CsvParser(delimiter);
  const decoder = new StringDecoder('utf8');
  let header: string[] | undefined;
  let sample: string[][] | undefined = [];
  let columns: CsvShape['columns'] = [];
  let visitor: CellVisitor | undefined;
  let rows = 0;
  const row = (rec: string[]) => {
    for (let j = 0; j < columns.length; j++) {
      const raw = rec[j];
      const cell = raw === undefined ? '' : raw.trim();
      if (MISSING.has(cell)) visitor!.missing(j);
      else if (columns[j]!.type === 'number') {
        const v = Number(cell);
        if (Number.isFinite(v)) visitor!.number(j, v);
        else visitor!.invalid(j, cell);
      } else visitor!.string(j, cell);
    }
    rows++;
  };
  const begin = () => {
    const schema = inferSchema(header!, sample!, {}, source);
    columns = schema.columns.map((c: ColumnSchema) => ({ name: c.name, type: c.type === 'number' ? 'number' : 'string' }));
    visitor = start(columns);
    for (const rec of sample!) row(rec);
    sample = undefined;
  };
  const take = (records: string[][]) => {
    for (const rec of records) {
      if (!header) header = rec.map((h) => h.trim());
      else if (sample) {
        sample.push(rec);
        if (sample.length >= SAMPLE_ROWS) begin();
      } else row(rec);
    }
  };
  const end = (): CsvShape => {
    take(parser.push(decoder.end()));
    take(parser.end());
    if (!header) throw new InvalidArgumentError(`${source} is empty: a CSV file needs a header row`, 'profile and drift read CSV files with a header line');
    if (sample) begin();
    return { columns, rows };
  };
  if (!(Symbol.iterator in chunks)) {
    return (async () => {
      for await (const chunk of chunks) take(parser.push(decoder.write(chunk)));
      return end();
    })();
  }
  for (const chunk of chunks) take(parser.push(decoder.write(chunk)));
  return end();
}

/** A CSV file's bytes in order: local files are read synchronously, the store's asynchronously. */
export type CsvBytes = Iterable<Buffer> | AsyncIterable<Buffer>;

/** `f` of a scan's shape, as the scan gives it (at once, or as a Promise). */
export function afterScan<T>(shape: CsvShape | Promise<CsvShape>, f: (shape: CsvShape) => T): T | Promise<T> {
  return shape instanceof Promise ? shape.then(f) : f(shape);
}
