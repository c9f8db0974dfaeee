// CSV: streamed (records are parsed as chunks arrive, never a whole file in one string) and typed
// (each column is number or string, declared in the spec or inferred from the first rows).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { MlError } from '../errors.js';
import type { Column, ColumnSchema, Schema, Table } from '../table.js';
import { readDecimalField, type FieldStop } from './decimal.js';

/** Cells read as missing values (NaN in number columns, null in string columns). */
export const MISSING = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', '?']);

/** Rows read to infer column types when the spec does not declare them. */
export const SAMPLE_ROWS = 1000;

/** Bytes read from a file at a time. */
const CHUNK_BYTES = 64 * 1024;

export interface CsvOptions {
  delimiter?: string;
  /** declared column types; the rest are inferred */
  columns?: Record<string, 'number' | 'string'>;
  /** types known elsewhere (a model's features) for columns the header may lack: taken, not inferred, where it has them */
  known?: Record<string, 'number' | 'string'>;
}

/** What a CsvParser hands each record to, in order. */
export interface RecordSink {
  /** A record on one line without quotes or carriage returns: text[start, end), its fields still joined by the delimiter. */
  line(text: string, start: number, end: number): void;
  /** A record the state machine cut into fields (one with quotes, a stray carriage return, or a delimiter split() cannot cut on). */
  fields(fields: string[]): void;
}

/**
 * An RFC 4180 record parser fed chunk by chunk: quotes, doubled quotes, CRLF, newlines inside
 * quotes; blank lines are skipped. A line without quotes or stray carriage returns (nearly every
 * line of a numeric CSV) is found with indexOf and handed over whole, for the receiver to cut
 * without copying; any other record goes through the character-by-character state machine,
 * which alone decides what quotes mean. Both give the same fields, so neither where a chunk ends
 * nor which path a line takes changes the records.
 */
export class CsvParser {
  // the state machine's record in progress
  private field = '';
  private record: string[] = [];
  private quoted = false;
  private afterQuote = false;
  private any = false;
  /** a record the state machine started and has not ended (it ends at an unquoted newline) */
  private inRecord = false;
  /** a line the fast path started that the chunk cut before its newline */
  private carry = '';
  /** lines are cut on one character; other delimiters (and ones that mean something else) take the state machine */
  readonly fast: boolean;

  constructor(readonly delimiter = ',') {
    this.fast = delimiter.length === 1 && delimiter !== '"' && delimiter !== '\n' && delimiter !== '\r';
  }

  /** The records completed by this chunk, as arrays of fields. */
  push(chunk: string): string[][] {
    const out: string[][] = [];
    this.feed(chunk, this.collect(out));
    return out;
  }

  /** The last record when the text does not end with a newline. */
  end(): string[][] {
    const out: string[][] = [];
    this.finish(this.collect(out));
    return out;
  }

  /** Hand the records completed by this chunk to `sink`. */
  feed(chunk: string, sink: RecordSink): void {
    if (this.carry === '') return this.feedFrom(chunk, 0, sink);
    // the line the last chunk cut is joined to its own end only, and the rest of the chunk is read
    // where it lies: carry + chunk would be a rope, whose every character V8 reads through an indirection
    const nl = chunk.indexOf('\n');
    const head = this.carry + (nl < 0 ? chunk : chunk.slice(0, nl + 1));
    this.carry = '';
    this.feedFrom(head, 0, sink);
    if (nl >= 0) this.feedFrom(chunk, nl + 1, sink);
  }

  /** feed() of text[from...]. */
  private feedFrom(text: string, from: number, sink: RecordSink): void {
    const n = text.length;
    // the next quote and carriage return at or after i (n: none), looked up again only once passed
    let quote = -1;
    let cr = -1;
    let i = from;
    while (i < n) {
      if (this.inRecord || !this.fast) {
        i = this.scan(text, i, sink);
        continue;
      }
      const nl = text.indexOf('\n', i);
      if (nl < 0) {
        this.carry = text.slice(i);
        break;
      }
      if (quote < i) quote = indexOrEnd(text, '"', i);
      if (cr < i) cr = indexOrEnd(text, '\r', i);
      const end = cr === nl - 1 ? nl - 1 : nl;
      if (quote < nl || cr < end) {
        this.inRecord = true;
        continue;
      }
      if (end > i) sink.line(text, i, end);
      i = nl + 1;
    }
  }

  /** The input ended: hand over the last record, if the text does not end with a newline. */
  finish(sink: RecordSink): void {
    if (this.carry !== '') {
      const text = this.carry;
      this.carry = '';
      this.scan(text, 0, sink);
    }
    this.inRecord = false;
    if (!this.any && this.field === '' && this.record.length === 0) return;
    this.record.push(this.field);
    const last = this.record;
    this.record = [];
    this.field = '';
    this.any = false;
    sink.fields(last);
  }

  private collect(out: string[][]): RecordSink {
    return { line: (text, start, end) => out.push(text.slice(start, end).split(this.delimiter)), fields: (f) => out.push(f) };
  }

  /** The state machine, from text[i] to the end of one record (the index after its newline) or of the text. */
  private scan(text: string, i: number, sink: RecordSink): number {
    for (; i < text.length; i++) {
      const ch = text[i]!;
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
        const rec = this.record;
        this.record = [];
        this.field = '';
        this.inRecord = false;
        if (this.any || rec.length > 1) sink.fields(rec);
        this.any = false;
        return i + 1;
      } else if (ch !== '\r') {
        this.field += ch;
        this.any = true;
      }
    }
    return i;
  }
}

function indexOrEnd(text: string, ch: string, from: number): number {
  const k = text.indexOf(ch, from);
  return k < 0 ? text.length : k;
}

/**
 * A file's text, chunk by chunk, from byte `start`; a for-await loop that ends early closes the
 * file. Plain reads into one reused buffer: a read stream's queueing and per-chunk buffers cost
 * about as much as decoding the text (a pass of training re-reads the whole file). Chunks stay
 * small because V8 decodes and scans 64 KiB strings faster than megabyte ones.
 */
async function* textChunks(file: string, start = 0): AsyncGenerator<string> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    // a character cut by a chunk's end is held back until its last byte is read
    const decoder = new StringDecoder('utf8');
    for (let pos = start; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const text = decoder.write(buf.subarray(0, bytesRead));
      if (text !== '') yield text;
    }
    const rest = decoder.end();
    if (rest !== '') yield rest;
  } finally {
    await fh.close();
  }
}

/**
 * The first line of a file with its line break ('' for an empty file), read a chunk at a time
 * with plain reads: a stream opened for a header and torn down after one chunk costs more than
 * the header (its early end even builds an error with a stack).
 */
function firstLine(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const parts: Buffer[] = [];
    for (let pos = 0; ; ) {
      const b = Buffer.allocUnsafe(CHUNK_BYTES);
      const n = fs.readSync(fd, b, 0, b.length, pos);
      if (n === 0) break;
      const nl = b.subarray(0, n).indexOf(0x0a);
      parts.push(b.subarray(0, nl >= 0 ? nl + 1 : n));
      if (nl >= 0) break;
      pos += n;
    }
    // decoded whole: a character cut by a chunk's end is read in one piece
    return Buffer.concat(parts).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** Records of a file, streamed, one chunk's worth at a time: nothing but the current chunk is held in memory. */
export async function* csvRecordChunks(file: string, delimiter = ','): AsyncGenerator<string[][]> {
  const parser = new CsvParser(delimiter);
  for await (const chunk of textChunks(file)) {
    const records = parser.push(chunk);
    if (records.length > 0) yield records;
  }
  const last = parser.end();
  if (last.length > 0) yield last;
}

/** Records of a file, streamed, one at a time. */
export async function* csvRecords(file: string, delimiter = ','): AsyncGenerator<string[]> {
  for await (const records of csvRecordChunks(file, delimiter)) yield* records;
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
  // only the columns without a declared type are sampled
  const numeric = (j: number) => sample.every((rec) => MISSING.has((rec[j] ?? '').trim()) || isNumberCell(rec[j]!));
  return { columns: header.map((name, j): ColumnSchema => ({ name, type: declared[name] ?? (numeric(j) ? 'number' : 'string') })) };
}

/** Header and column types from the header and the first SAMPLE_ROWS rows (declared types win). */
export async function readCsvSchema(file: string, opts: CsvOptions = {}): Promise<Schema> {
  const typed = { ...opts.known, ...opts.columns };
  // every column typed already (a model's features): the header is all there is to read
  const [first] = new CsvParser(opts.delimiter ?? ',').push(firstLine(file));
  if (first && first.every((h) => typed[h.trim()] !== undefined)) {
    const names = first.map((h) => h.trim());
    return inferSchema(names, [], Object.fromEntries(Object.entries(typed).filter(([name]) => names.includes(name) || opts.columns?.[name])), path.basename(file));
  }
  let header: string[] | undefined;
  const sample: string[][] = [];
  for await (const rec of csvRecords(file, opts.delimiter ?? ',')) {
    if (!header) header = rec.map((h) => h.trim());
    else sample.push(rec);
    if (sample.length >= SAMPLE_ROWS) break;
  }
  if (!header) throw new MlError(`${path.basename(file)} is empty: a CSV file needs a header row`);
  const known = Object.fromEntries(Object.entries(opts.known ?? {}).filter(([name]) => header.includes(name)));
  return inferSchema(header, sample, { ...known, ...opts.columns }, path.basename(file));
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

/**
 * Typed rows from a parser's records, queued as tables of `batchRows` rows, or (batchRows
 * null) gathered into one table whose columns grow as rows come. A plain line is cut
 * straight from the chunk's text: number cells are read in place, in the scan that finds their ends (readDecimalField), and only string
 * cells and unusual numbers become strings. Records with quotes arrive as fields.
 */
class TypedRecords implements RecordSink {
  /** tables of batchRows rows, ready to be taken */
  readonly ready: Table[] = [];
  private nums: Float64Array[] = [];
  private strs: (string | null)[][] = [];
  private readonly isNumber: boolean[];
  private readonly names: string;
  private readonly delimiterCode: number;
  /** where the last number cell read in place ended */
  private readonly at: FieldStop = { stop: 0 };
  rows = 0;
  /** rows the number columns have room for */
  private capacity = 0;
  private file = '';
  private record = 0;
  private header: string[] | undefined;

  constructor(
    private readonly cols: ColumnSchema[],
    private readonly batchRows: number | null,
    private readonly delimiter: string,
  ) {
    this.isNumber = cols.map((c) => c.type === 'number');
    this.names = cols.map((c) => c.name).join('\u0000');
    this.delimiterCode = delimiter.charCodeAt(0);
    this.reset();
  }

  /** A new file: its first record is a header, which must be the first file's. */
  startFile(file: string): void {
    this.file = file;
    this.record = 0;
    this.header = undefined;
  }

  line(text: string, start: number, end: number): void {
    if (!this.header) return this.fields(text.slice(start, end).split(this.delimiter));
    this.record++;
    const r = this.rows;
    const last = this.cols.length - 1;
    let pos = start;
    for (let j = 0; j <= last; j++) {
      if (this.isNumber[j]) {
        const v = readDecimalField(text, pos, end, this.delimiterCode, this.at);
        const stop = this.at.stop;
        // every cell but the last ends at a delimiter, the last at the line's end (text[end] is a line break, never the delimiter)
        if ((stop === end) !== (j === last)) throw this.countError(countFields(text, this.delimiter, start, end));
        // NaN: not a plain decimal; the cell as the record path reads it
        this.nums[j]![r] = v === v ? v : this.numberCell(j, text.slice(pos, stop).trim(), () => countFields(text, this.delimiter, start, end));
        pos = stop + 1;
        continue;
      }
      const stop = j < last ? text.indexOf(this.delimiter, pos) : end;
      if (stop < 0 || stop > end || (j === last && hasDelimiter(text, this.delimiter, pos, end))) throw this.countError(countFields(text, this.delimiter, start, end));
      this.strs[j]![r] = stringCell(text.slice(pos, stop).trim());
      pos = stop + 1;
    }
    this.endRow();
  }

  fields(rec: string[]): void {
    this.record++;
    if (!this.header) {
      this.header = rec.map((h) => h.trim());
      if (this.header.join('\u0000') !== this.names)
        throw new MlError(`${path.basename(this.file)}: header (${this.header.join(', ')}) differs from the first file's (${this.cols.map((c) => c.name).join(', ')})`, 'every CSV file of one data path needs the same columns');
      return;
    }
    if (rec.length !== this.cols.length) throw this.countError(rec.length);
    const r = this.rows;
    for (let j = 0; j < this.cols.length; j++) {
      const cell = rec[j]!.trim();
      if (this.isNumber[j]) this.nums[j]![r] = this.numberCell(j, cell, () => rec.length);
      else this.strs[j]![r] = stringCell(cell);
    }
    this.endRow();
  }

  /** The rows added since the last full table. */
  take(): Table {
    const n = this.rows;
    const columns: Column[] = this.cols.map((c, j) =>
      this.isNumber[j] ? { name: c.name, type: 'number', values: n === this.capacity ? this.nums[j]! : this.nums[j]!.slice(0, n) } : { name: c.name, type: 'string', values: this.strs[j]!.slice(0, n) },
    );
    this.reset();
    return { rows: n, columns };
  }

  /** A trimmed number cell that is not a plain decimal: a missing value, another spelling Number() reads, or an error. */
  private numberCell(j: number, cell: string, fields: () => number): number {
    // '' is the one missing-value spelling Number() reads as a number (0)
    if (cell === '') return NaN;
    const v = Number(cell);
    if (Number.isFinite(v)) return v;
    if (MISSING.has(cell)) return NaN;
    // a record with the wrong number of fields is reported as that, whatever its cells hold
    const n = fields();
    if (n !== this.cols.length) throw this.countError(n);
    throw new MlError(
      `${path.basename(this.file)} record ${this.record}: column "${this.cols[j]!.name}" holds "${cell}", which is not a number`,
      `its type was inferred from the first ${SAMPLE_ROWS} rows; declare it in transform.ml.data.columns (e.g. ${this.cols[j]!.name}: string)`,
      { column: this.cols[j]!.name, kind: 'not-a-number' },
    );
  }

  private countError(fields: number): MlError {
    return new MlError(`${path.basename(this.file)} record ${this.record}: ${fields} fields, the header has ${this.cols.length}`);
  }

  private endRow(): void {
    if (++this.rows < this.capacity) return;
    if (this.batchRows !== null) {
      this.ready.push(this.take());
      return;
    }
    // one growing table: double the number columns (string columns are arrays that grow)
    this.capacity *= 2;
    this.nums = this.nums.map((v, j) => {
      if (!this.isNumber[j]) return v;
      const bigger = new Float64Array(this.capacity);
      bigger.set(v);
      return bigger;
    });
  }

  private reset(): void {
    this.rows = 0;
    this.capacity = this.batchRows ?? GROW_FROM_ROWS;
    this.nums = this.cols.map((c) => new Float64Array(c.type === 'number' ? this.capacity : 0));
    this.strs = this.cols.map(() => []);
  }
}

function stringCell(cell: string): string | null {
  return MISSING.has(cell) ? null : cell;
}

function hasDelimiter(text: string, delimiter: string, start: number, end: number): boolean {
  const k = text.indexOf(delimiter, start);
  return k >= 0 && k < end;
}

function countFields(text: string, delimiter: string, start: number, end: number): number {
  let n = 1;
  for (let k = text.indexOf(delimiter, start); k >= 0 && k < end; k = text.indexOf(delimiter, k + 1)) n++;
  return n;
}

/**
 * Feed every record of the files to `records`, handing on the tables it completes as they are.
 * `from`: the one file's rows start at this byte (a line start), its header still at byte 0.
 */
async function* readRecords(files: string[], records: TypedRecords, delimiter: string, from = 0): AsyncGenerator<Table> {
  for (const file of files) {
    records.startFile(file);
    const parser = new CsvParser(delimiter);
    if (from > 0) parser.feed(firstLine(file), records);
    for await (const chunk of textChunks(file, from)) {
      parser.feed(chunk, records);
      yield* records.ready.splice(0);
    }
    parser.finish(records);
    yield* records.ready.splice(0);
  }
}

/**
 * The rows of the files as tables of at most `batchRows` rows, typed by `schema`, read as the
 * consumer pulls: only the chunk being parsed and the tables it completed are held. A cell that
 * does not fit its column's type is an error naming the file, record and column. Always yields at
 * least one table (empty when the files have no rows), so that a consumer sees the columns.
 */
export async function* csvBatches(files: string[], schema: Schema, opts: CsvOptions & { batchRows: number; from?: number }): AsyncGenerator<Table> {
  if (opts.from && files.length !== 1) throw new RangeError('reading from an offset takes one file');
  const records = new TypedRecords(schema.columns, opts.batchRows, opts.delimiter ?? ',');
  let yielded = false;
  for await (const t of readRecords(files, records, opts.delimiter ?? ',', opts.from)) {
    yielded = true;
    yield t;
  }
  if (records.rows > 0 || !yielded) yield records.take();
}

/** Rows a table read whole has room for at first (its number columns double as needed). */
const GROW_FROM_ROWS = 4096;

/**
 * Read every row of the files into one table (see csvBatches for errors). Its number columns
 * grow by doubling, as arrays would, and are cut to length at the end.
 */
export async function readCsv(files: string[], schema: Schema, opts: CsvOptions = {}): Promise<Table> {
  const records = new TypedRecords(schema.columns, null, opts.delimiter ?? ',');
  // a growing table completes no batch before the end: this loop only drives the reading
  for await (const _ of readRecords(files, records, opts.delimiter ?? ',')) continue;
  return records.take();
}

const NEEDS_QUOTES = /[",\n\r]/;

/** A field of comma-separated output: quoted (quotes doubled) when it holds a comma, a quote or a newline. */
export function csvField(s: string): string {
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
