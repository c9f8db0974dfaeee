// Tables and key/value blocks laid out as pachctl lays them out. pachctl's list commands write
// through `ansiterm.NewTabWriter(w, 0, 1, 1, ' ', 0)` (src/internal/tabwriter): minwidth 0,
// padding 1, space padding, and ANSI colour codes do not count toward a cell's width.

/** A table cell as callers hand it over; null/undefined print as `-`. */
export type Cell = string | number | null | undefined;

/** Layout knobs; the defaults are pachctl's. */
export type TableOptions = {
  /** false strips ANSI colour codes (output is not a terminal); default keeps cells as given. */
  tty?: boolean;
  /** A column is at least this wide, padding included (tabwriter `minwidth`; pachctl: 0). */
  minWidth?: number;
  /** Spaces added to the widest cell of a column (tabwriter `padding`; pachctl: 1). */
  padding?: number;
};

// CSI sequences (colours, cursor moves): what chalk and the progress bar emit.
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/** The text without ANSI escape sequences. */
export function stripAnsi(s: string): string {
  // most cells have no escape: a listing of a million rows otherwise ran the pattern on every cell
  return s.includes('\x1b') ? s.replace(ANSI, '') : s;
}

// Characters a terminal draws two columns wide: East Asian wide and fullwidth forms, emoji.
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]|\p{Emoji_Presentation}/u;
// Characters drawn on the one before them, or not at all: combining marks, joiners, variation selectors.
const ZERO = /[\p{M}\u200b-\u200f\u2060]/u;
// Printable ASCII only: one column a character, no escapes (most cells; measured without walking them).
const PLAIN = /^[\x20-\x7e]*$/;

/**
 * Columns a string takes on a terminal, ANSI excluded: one per code point, as Go's tabwriter
 * counts (so ASCII tables are pachctl's), except wide characters (CJK, emoji: two) and combining
 * marks (none), so that a column of Unicode file names stays aligned.
 */
export function displayWidth(s: string): number {
  if (PLAIN.test(s)) return s.length;
  let n = 0;
  for (const c of stripAnsi(s)) n += c.charCodeAt(0) < 0x300 ? 1 : ZERO.test(c) ? 0 : WIDE.test(c) ? 2 : 1;
  return n;
}

/**
 * A Go-tabwriter table: upper-case header row, then one line per row. Every column but the last
 * is padded with spaces to max(widest cell + padding, minWidth); the last is not padded, so lines
 * carry no trailing spaces. Ends with a newline.
 */
export function renderTable(headers: string[], rows: Cell[][], opts: TableOptions = {}): string {
  const lines = [headers.map((h) => h.toUpperCase()), ...rows].map((row) => cellsOf(row, opts));
  const widths = columnWidths(lines, opts);
  return lines.map((line) => layLine(line, widths, opts)).join('\n') + '\n';
}

/** Rows a streamed table takes its column widths from: the first page of a listing. */
export const WIDTH_ROWS = 1000;

/**
 * renderTable for rows that arrive one at a time, yielded a line at a time. The column widths are
 * those of the header and the first `widthRows` rows, which are held until then; every later row
 * is written as it comes, padded to those widths. A later cell wider than its column still gets
 * `padding` spaces after it, so columns never run together, but that row stands out of line.
 * A table of up to `widthRows` rows is exactly renderTable's.
 */
export function* streamTable(headers: string[], rows: Iterable<Cell[]>, opts: TableOptions & { widthRows?: number } = {}): Generator<string> {
  const t = new TableStream(headers, opts);
  const out: string[] = [];
  for (const row of rows) {
    t.row(row, out);
    yield* out;
    out.length = 0;
  }
  t.end(out);
  yield* out;
}

/** Text for rows that arrive over time: the pieces each row lets out, then those of the end, appended to `out`. */
export interface RowStream<R> {
  row(r: R, out: string[]): void;
  end(out: string[]): void;
}

/** streamTable fed a batch of rows at a time: `row` gives the lines a row lets out (none while the first rows are gathered), `end` the rest. */
export class TableStream implements RowStream<Cell[]> {
  private first: string[][] | null;
  private widths: number[] = [];

  constructor(
    headers: string[],
    private readonly opts: TableOptions & { widthRows?: number } = {},
  ) {
    this.first = [headers.map((h) => h.toUpperCase())];
  }

  row(row: Cell[], out: string[]): void {
    if (!this.first) {
      out.push(layLine(cellsOf(row, this.opts), this.widths, this.opts) + '\n');
      return;
    }
    this.first.push(cellsOf(row, this.opts));
    if (this.first.length > (this.opts.widthRows ?? WIDTH_ROWS)) this.release(out);
  }

  end(out: string[]): void {
    if (this.first) this.release(out);
  }

  private release(out: string[]): void {
    const first = this.first!;
    this.first = null;
    this.widths = columnWidths(first, this.opts);
    for (const line of first) out.push(layLine(line, this.widths, this.opts) + '\n');
  }
}

function cellsOf(row: Cell[], opts: TableOptions): string[] {
  const tty = opts.tty ?? true;
  return row.map((v) => (tty ? cellText(v) : stripAnsi(cellText(v))));
}

// Padded widths of every column but the last, from the lines given.
function columnWidths(lines: string[][], opts: TableOptions): number[] {
  const { minWidth = 0, padding = 1 } = opts;
  let columns = 0;
  for (const line of lines) columns = Math.max(columns, line.length);
  const widths = new Array<number>(Math.max(0, columns - 1)).fill(minWidth);
  for (const line of lines) for (let i = 0; i < columns - 1; i++) widths[i] = Math.max(widths[i]!, displayWidth(line[i] ?? '-') + padding);
  return widths;
}

function layLine(line: string[], widths: number[], opts: TableOptions): string {
  const padding = opts.padding ?? 1;
  const columns = Math.max(line.length, widths.length + 1);
  let out = '';
  for (let i = 0; i < columns; i++) {
    const cell = line[i] ?? '-';
    // within the widths this is the width's own padding; only a cell wider than its column needs the max
    out += i === columns - 1 ? cell : cell + spaces(Math.max((widths[i] ?? 0) - displayWidth(cell), padding));
  }
  return out;
}

// The runs of spaces that pad cells, made once each: a long listing pads every cell of every row.
const SPACES: string[] = [];
function spaces(n: number): string {
  return n < 256 ? (SPACES[n] ??= ' '.repeat(n)) : ' '.repeat(n);
}

/**
 * `Key: value` lines as in `inspect` output, skipping pairs whose value is null/undefined. A
 * multi-line value (pretty JSON of an input or transform) starts on the line after `Key:`.
 */
export function renderKeyValues(pairs: [string, string | undefined | null][]): string {
  let out = '';
  for (const [key, value] of pairs) {
    if (value === undefined || value === null) continue;
    out += value.includes('\n') ? `${key}:\n${value.replace(/\n$/, '')}\n` : `${key}: ${value}\n`;
  }
  return out;
}

const BREAKS = /[\n\t]/;

function cellText(v: Cell): string {
  if (v === null || v === undefined) return '-';
  // A tab or newline inside a cell would break the row apart; a description may contain either.
  const text = String(v);
  return BREAKS.test(text) ? text.replace(/\r?\n|\t/g, ' ') : text;
}
