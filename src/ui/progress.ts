// Progress display: the 8-cell PROGRESS column of job/commit-set tables, and a one-line
// terminal reporter for long puts and gets.

import { formatBytes } from './format.js';
import { displayWidth } from './table.js';

/** Counts behind a PROGRESS cell: done (green), running (yellow), failed (red) out of total. */
export type ProgressCounts = { done: number; running?: number; failed: number; total: number };

const BAR_WIDTH = 8;
const CELL = '▇';
// The caller decides about colour (tty, --no-color); chalk's own detection would second-guess it.
// Plain SGR codes: three colours do not justify loading a colour library on every start-up.
const SGR = { green: 32, yellow: 33, red: 31 } as const;

/**
 * pachctl's `pretty.ProgressBar(8, done, running, failed)`: cell i is green while
 * i*total < done*8, then yellow, then red, then blank; if anything failed the last cell is red,
 * so a failed set never looks complete. Eight spaces when there is nothing to show.
 */
export function progressBar(counts: ProgressCounts, color: boolean): string {
  const { done, running = 0, failed } = counts;
  // pachctl normalises by done+running+failed; a larger total leaves the pending share blank.
  const total = Math.max(counts.total, done + running + failed);
  const paint = (c: 'green' | 'yellow' | 'red') => (color ? `\x1b[${SGR[c]}m${CELL}\x1b[39m` : CELL);
  let bar = '';
  for (let i = 0; i < BAR_WIDTH; i++) {
    if (i === BAR_WIDTH - 1 && failed > 0) bar += paint('red');
    else if (i * total < done * BAR_WIDTH) bar += paint('green');
    else if (i * total < (done + running) * BAR_WIDTH) bar += paint('yellow');
    else if (i * total < (done + running + failed) * BAR_WIDTH) bar += paint('red');
    else bar += ' ';
  }
  return bar;
}

/** Where the reporter draws: stderr in practice; anything with `write` in tests. */
export type ProgressStream = Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number };

export type ProgressOptions = {
  label: string;
  /** Total bytes (or items), when known: adds `/ total` and a percentage. */
  total?: number;
  /** What `update` counts: bytes (default) or items such as files or chunks. */
  unit?: 'bytes' | 'items';
  stream?: ProgressStream;
  /** Default: stream is a TTY, CI is not `true`, TUSK_NO_PROGRESS is unset. */
  enabled?: boolean;
  /** Clock in milliseconds; tests pass a fake one. */
  now?: () => number;
};

export type Progress = {
  /** Record progress; redraws at most every 100 ms. */
  update(doneBytes: number, files?: number): void;
  /** Erase the line. Further calls do nothing. */
  done(): void;
};

const REDRAW_MS = 100; // ~10 redraws a second: smooth enough, cheap on slow terminals
const CLEAR_LINE = '\r\x1b[2K';

/** A one-line reporter (`label  1.2MiB / 3.4MiB  35%  5.1MiB/s`); a no-op when disabled. */
export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const enabled =
    opts.enabled ?? (stream.isTTY === true && process.env.CI !== 'true' && !process.env.TUSK_NO_PROGRESS);
  if (!enabled) return { update() {}, done() {} };

  const now = opts.now ?? Date.now;
  const started = now();
  let lastDraw = -Infinity;
  let drawn = false;
  let finished = false;

  return {
    update(doneBytes, files) {
      if (finished) return;
      const t = now();
      if (t - lastDraw < REDRAW_MS) return;
      lastDraw = t;
      let line =
        opts.unit === 'items'
          ? itemsLine(opts.label, doneBytes, opts.total, t - started)
          : progressLine(opts.label, doneBytes, opts.total, files, t - started);
      // A line wider than the terminal wraps, and `\r` would then redraw only its last row.
      const columns = stream.columns;
      if (columns && displayWidth(line) >= columns) line = [...line].slice(0, columns - 1).join('');
      stream.write(CLEAR_LINE + line);
      drawn = true;
    },
    done() {
      if (finished) return;
      finished = true;
      if (drawn) stream.write(CLEAR_LINE);
    },
  };
}

/** The text of one progress line (no control characters). */
export function progressLine(
  label: string,
  doneBytes: number,
  total: number | undefined,
  files: number | undefined,
  elapsedMs: number,
): string {
  const parts = [label];
  if (files !== undefined) parts.push(`${files} ${files === 1 ? 'file' : 'files'}`);
  if (total !== undefined && total > 0) {
    parts.push(`${formatBytes(doneBytes)} / ${formatBytes(total)}`);
    parts.push(`${Math.min(100, Math.floor((doneBytes / total) * 100))}%`);
  } else {
    parts.push(formatBytes(doneBytes));
  }
  if (elapsedMs > 0) parts.push(`${formatBytes((doneBytes * 1000) / elapsedMs)}/s`);
  return parts.join('  ');
}

/** The text of a progress line counting items rather than bytes (`fsck  1280 / 1403  91%  5120/s`). */
export function itemsLine(label: string, done: number, total: number | undefined, elapsedMs: number): string {
  const parts = [label];
  if (total !== undefined && total > 0) {
    parts.push(`${done} / ${total}`);
    parts.push(`${Math.min(100, Math.floor((done / total) * 100))}%`);
  } else {
    parts.push(String(done));
  }
  if (elapsedMs > 0) parts.push(`${Math.round((done * 1000) / elapsedMs)}/s`);
  return parts.join('  ');
}
