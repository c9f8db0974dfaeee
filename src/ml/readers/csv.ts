// CSV: streamed (records are parsed as chunks arrive, never a whole file in one string) and typed
// (each column is number or string, declared in the spec or inferred from the first rows).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MlError } from '../errors.js';
import type { Column, ColumnSchema, Schema, Table } from '../table.js';

/** Cells read as missing values (NaN in number columns, null in string columns). */
export const MISSING = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', '?']);

/** Rows read to infer column types when the spec does not declare them. */
export const SAMPLE_ROWS = 1000;

export interface CsvOptions {
  delimiter?: string;
  /** declared column types; the rest are inferred */
  columns?: Record<string, 'number' | 'string'>;
}

/** An RFC 4180 record parser fed chunk by chunk: quotes, doubled quotes, CRLF, newlines inside quotes; blank lines are skipped. */
export class CsvParser {
  private field = '';
  private record: string[] = [];
  private quoted = false;
  private afterQuote = false;
  private any = false;

  constructor(private readonly delimiter = ',') {}

  /** The records completed by this chunk. */
  push(chunk: string): string[][] {
    const out: string[][] = [];
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      if (this.quoted) {
        if (ch === '"') {
          this.quoted = false;
          this.afterQuote = true;
        } else this.field += ch;
        continue;
      }
      if (ch === '"') {
        // a doubled quote inside a quoted field: "a ""b"""
        if (this.afterQuote) this.field += '"';
        this.quoted = true;
        this.afterQuote = false;
        this.any = true;
        continue;
      }
      this.afterQuote = false;
      if (ch === this.delimiter) {
        this.record.push(this.field);
        this.field = '';
        this.any = true;
      } else if (ch === '\n') {
        this.record.push(this.field);
        if (this.any || this.record.length > 1) out.push(this.record);
        this.record = [];
        this.field = '';
        this.any = false;
      } else if (ch !== '\r') {
        this.field += ch;
        this.any = true;
      }
    }
    return out;
  }

  /** The last record when the text does not end with a newline. */
  end(): string[][] {
    if (!this.any && this.field === '' && this.record.length === 0) return [];
    this.record.push(this.field);
    const last = this.record;
    this.record = [];
    this.field = '';
    this.any = false;
    return [last];
  }
}

/** Records of a file, streamed: nothing but the current chunk is held in memory. */
export async function* csvRecords(file: string, delimiter = ','): AsyncGenerator<string[]> {
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 });
  const parser = new CsvParser(delimiter);
  try {
    for await (const chunk of stream as AsyncIterable<string>) yield* parser.push(chunk);
    yield* parser.end();
  } finally {
    stream.destroy();
  }
}

function isNumberCell(s: string): boolean {
  const t = s.trim();
  return t !== '' && Number.isFinite(Number(t));
}

/** The CSV files a data path names: the file itself, or every *.csv under a directory (sorted). */
export function csvFiles(p: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new MlError(`data file ${p} not found`, 'check transform.ml.data.path and the input glob');
  }
  if (!st.isDirectory()) return [p];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (/\.csv$/i.test(e.name)) out.push(full);
    }
  };
  walk(p);
  return out;
}

/** Column types from a header and sample rows: number when every present cell parses as one (declared types win). */
export function inferSchema(header: string[], sample: string[][], declared: Record<string, 'number' | 'string'> = {}, source = 'the data'): Schema {
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup !== undefined) throw new MlError(`${source}: column "${dup}" appears twice in the header`);
  for (const name of Object.keys(declared))
    if (!header.includes(name)) throw new MlError(`transform.ml.data.columns: column "${name}" is not in the header of ${source}`, `the header has: ${header.join(', ')}`);
  const numeric = header.map((_, j) => sample.every((rec) => MISSING.has((rec[j] ?? '').trim()) || isNumberCell(rec[j]!)));
  return { columns: header.map((name, j): ColumnSchema => ({ name, type: declared[name] ?? (numeric[j] ? 'number' : 'string') })) };
}

/** Header and column types from the header and the first SAMPLE_ROWS rows (declared types win). */
export async function readCsvSchema(file: string, opts: CsvOptions = {}): Promise<Schema> {
  let header: string[] | undefined;
  const sample: string[][] = [];
  for await (const rec of csvRecords(file, opts.delimiter ?? ',')) {
    if (!header) header = rec.map((h) => h.trim());
    else sample.push(rec);
    if (sample.length >= SAMPLE_ROWS) break;
  }
  if (!header) throw new MlError(`${path.basename(file)} is empty: a CSV file needs a header row`);
  return inferSchema(header, sample, opts.columns, path.basename(file));
}

/**
 * The schema of CSV text (e.g. the first kilobytes of an input file read at `create pipeline`),
 * for validateMlSpec(ml, schema). A last line cut mid-record is ignored.
 */
export function schemaFromCsvText(text: string, opts: CsvOptions = {}): Schema {
  const records = new CsvParser(opts.delimiter ?? ',').push(text);
  if (records.length === 0) throw new MlError('the CSV text has no complete header line');
  return inferSchema(records[0]!.map((h) => h.trim()), records.slice(1, SAMPLE_ROWS + 1), opts.columns);
}

/** Read every row of the files into typed columns. A cell that does not fit its column's type is an error naming the file, line and column. */
export async function readCsv(files: string[], schema: Schema, opts: CsvOptions = {}): Promise<Table> {
  const cols = schema.columns;
  const nums: number[][] = cols.map(() => []);
  const strs: (string | null)[][] = cols.map(() => []);
  let rows = 0;
  for (const file of files) {
    let line = 0;
    let header: string[] | undefined;
    for await (const rec of csvRecords(file, opts.delimiter ?? ',')) {
      line++;
      if (!header) {
        header = rec.map((h) => h.trim());
        if (header.join('\u0000') !== cols.map((c) => c.name).join('\u0000'))
          throw new MlError(`${path.basename(file)}: header (${header.join(', ')}) differs from the first file's (${cols.map((c) => c.name).join(', ')})`, 'every CSV file of one data path needs the same columns');
        continue;
      }
      if (rec.length !== cols.length) throw new MlError(`${path.basename(file)} record ${line}: ${rec.length} fields, the header has ${cols.length}`);
      for (let j = 0; j < cols.length; j++) {
        const cell = rec[j]!.trim();
        if (cols[j]!.type === 'number') {
          if (MISSING.has(cell)) nums[j]!.push(NaN);
          else {
            const v = Number(cell);
            if (!Number.isFinite(v))
              throw new MlError(
                `${path.basename(file)} record ${line}: column "${cols[j]!.name}" holds "${cell}", which is not a number`,
                `its type was inferred from the first ${SAMPLE_ROWS} rows; declare it in transform.ml.data.columns (e.g. ${cols[j]!.name}: string)`,
              );
            nums[j]!.push(v);
          }
        } else strs[j]!.push(MISSING.has(cell) ? null : cell);
      }
      rows++;
    }
  }
  const columns: Column[] = cols.map((c, j) => (c.type === 'number' ? { name: c.name, type: 'number', values: Float64Array.from(nums[j]!) } : { name: c.name, type: 'string', values: strs[j]! }));
  return { rows, columns };
}

function quote(s: string, delimiter: string): string {
  return s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r') ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text of a header and rows; numbers printed as JavaScript prints them (shortest exact form). */
export function formatCsv(header: string[], rows: (string | number | null)[][], delimiter = ','): string {
  const out = [header.map((h) => quote(h, delimiter)).join(delimiter)];
  for (const r of rows) out.push(r.map((v) => (v === null ? '' : quote(String(v), delimiter))).join(delimiter));
  return out.join('\n') + '\n';
}
