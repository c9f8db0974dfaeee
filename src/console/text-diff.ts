// A line diff (Myers' O(ND) algorithm) cut into unified-diff hunks, for the console's file diff.
// The edit distance is capped: two files that differ everywhere are reported, not diffed.
import type { DiffHunk, DiffLine } from './api-types.js';

/** Lines of a text; a final newline does not make an empty last line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

type Op = ' ' | '+' | '-';

/**
 * The shortest edit script from `a` to `b` as one op per line (' ' kept, '-' only in a, '+' only
 * in b), or null when more than `maxEdits` lines would change.
 */
export function diffOps(a: readonly string[], b: readonly string[], maxEdits = 2000): Op[] | null {
  // Common ends cost nothing to diff and are most of a typical edit.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  // Compare numbers, not strings, in the inner loop.
  const ids = new Map<string, number>();
  const intern = (s: string) => {
    let id = ids.get(s);
    if (id === undefined) ids.set(s, (id = ids.size));
    return id;
  };
  const A = Int32Array.from(a.slice(pre, a.length - suf), intern);
  const B = Int32Array.from(b.slice(pre, b.length - suf), intern);
  const middle = myers(A, B, maxEdits);
  if (!middle) return null;
  return [...new Array<Op>(pre).fill(' '), ...middle, ...new Array<Op>(suf).fill(' ')];
}

function myers(a: Int32Array, b: Int32Array, maxD: number): Op[] | null {
  const n = a.length;
  const m = b.length;
  const limit = Math.min(maxD, n + m);
  const off = limit + 1;
  const v = new Int32Array(2 * limit + 3);
  // trace[d] holds v[-d..d] after step d; backtracking reads step d-1 to undo step d
  const trace: Int32Array[] = [];
  let found = -1;
  outer: for (let d = 0; d <= limit; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) {
        trace.push(v.slice(off - d, off + d + 1));
        found = d;
        break outer;
      }
    }
    trace.push(v.slice(off - d, off + d + 1));
  }
  if (found < 0) return null;
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const prev = trace[d - 1]!;
    const at = (k: number) => prev[k + d - 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push(' ');
      x--;
      y--;
    }
    ops.push(prevK === k + 1 ? '+' : '-');
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    ops.push(' ');
    x--;
    y--;
  }
  return ops.reverse();
}

/** Unified-diff hunks with `context` unchanged lines around each change. */
export function toHunks(a: readonly string[], b: readonly string[], ops: readonly Op[], context = 3): DiffHunk[] {
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  for (const op of ops) {
    if (op === ' ') lines.push({ op, text: b[j]!, old: ++i, new: ++j });
    else if (op === '-') lines.push({ op, text: a[i]!, old: ++i, new: null });
    else lines.push({ op, text: b[j]!, old: null, new: ++j });
  }
  const hunks: DiffHunk[] = [];
  let idx = 0;
  while (idx < lines.length) {
    while (idx < lines.length && lines[idx]!.op === ' ') idx++;
    if (idx >= lines.length) break;
    const start = Math.max(0, idx - context);
    let end = idx;
    // extend while the next change is within 2×context unchanged lines
    for (let gap = 0; end < lines.length; end++) {
      if (lines[end]!.op === ' ') {
        if (++gap > 2 * context) break;
      } else gap = 0;
    }
    let stop = end;
    while (stop > idx && lines[stop - 1]!.op === ' ') stop--;
    stop = Math.min(lines.length, stop + context);
    const slice = lines.slice(start, stop);
    // a side with no lines in the hunk starts after its last earlier line, as diff -u writes it
    const before = lines.slice(0, start);
    hunks.push({
      oldStart: slice.find((l) => l.old !== null)?.old ?? before.filter((l) => l.old !== null).length,
      oldLines: slice.filter((l) => l.op !== '+').length,
      newStart: slice.find((l) => l.new !== null)?.new ?? before.filter((l) => l.new !== null).length,
      newLines: slice.filter((l) => l.op !== '-').length,
      lines: slice,
    });
    idx = stop;
  }
  return hunks;
}
