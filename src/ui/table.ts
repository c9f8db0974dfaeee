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
  return s.replace(ANSI, '');
}

// Characters a terminal draws two columns wide: East Asian wide and fullwidth forms, emoji.
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]|\p{Emoji_Presentation}/u;
// Characters drawn on the one before them, or not at all: combining marks, joiners, variation selectors.
const ZERO = /[\p{M}\u200b-\u200f\u2060]/u;

/**
 * Columns a string takes on a terminal, ANSI excluded: one per code point, as Go's tabwriter
 * counts (so ASCII tables are pachctl's), except wide characters (CJK, emoji: two) and combining
 * marks (none), so that a column of Unicode file names stays aligned.
 */
export function displayWidth(s: string): number {
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
  const { tty = true, minWidth = 0, padding = 1 } = opts;
  const columns = Math.max(headers.length, ...rows.map((r) => r.length));
  const lines = [headers.map((h) => h.toUpperCase()), ...rows].map((row) =>
    Array.from({ length: columns }, (_, i) => {
      const text = cellText(row[i]);
      return tty ? text : stripAnsi(text);
    }),
  );

  const widths = Array.from({ length: columns - 1 }, (_, i) =>
    Math.max(minWidth, ...lines.map((line) => displayWidth(line[i]) + padding)),
  );
  return (
    lines
      .map((line) =>
        line
          .map((cell, i) => (i < columns - 1 ? cell + ' '.repeat(widths[i] - displayWidth(cell)) : cell))
          .join(''),
      )
      .join('\n') + '\n'
  );
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

function cellText(v: Cell): string {
  if (v === null || v === undefined) return '-';
  // A tab or newline inside a cell would break the row apart; a description may contain either.
  return String(v).replace(/\r?\n|\t/g, ' ');
}
