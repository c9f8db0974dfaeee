// Drift between two versions of a CSV file, column by column. The exact statistics need the
// values, not a sketch: a number column is read into a Float64Array (8 bytes a value), up to a
// budget shared by the file's number columns, past which each column keeps a seeded uniform
// sample (reservoir) of its share; a string column keeps its value counts (up to MAX_TRACKED
// distinct values, past which it is reported as skipped: an id-like column has no distribution).
import { afterScan, scanCsv, type CsvBytes, type CsvColumnType } from './csv-scan.js';
import { MAX_TRACKED } from './sketch.js';
import { chi2Contingency, jensenShannon, ks2samp, meanStd, numericPsi, psi, wasserstein } from './stats.js';

/** Number values kept per file across its number columns (8 bytes each: 128 MiB). */
export const DEFAULT_MAX_VALUES = 16 * 1024 * 1024;

/**
 * A string column whose reference has more distinct values than this share of its values (and
 * more than ID_MIN_VALUES values) is an identifier: new ids are not drift, so it is skipped.
 */
export const ID_DISTINCT_SHARE = 0.5;
export const ID_MIN_VALUES = 50;

/** p-values below this count as this in severities, which stay finite. */
export const P_FLOOR = 1e-300;

/** Up to this many reference rows, drift is decided by tests (p-values); above, by distances (Evidently's rule). */
export const SMALL_REFERENCE_ROWS = 1000;

export type NumberTest = 'auto' | 'ks' | 'wasserstein' | 'psi';
export type CategoryTest = 'auto' | 'chi2' | 'jensenshannon' | 'psi';

export interface DriftOptions {
  /** family-wise significance level of the p-value tests */
  alpha: number;
  /** how alpha is shared among the columns decided by a p-value */
  correction: 'bonferroni' | 'none';
  /** drift when the normed Wasserstein or the Jensen–Shannon distance reaches this */
  distanceThreshold: number;
  /** drift when PSI reaches this (when PSI decides) */
  psiThreshold: number;
  numberTest: NumberTest;
  categoryTest: CategoryTest;
  maxValues: number;
}

export const DRIFT_DEFAULTS: DriftOptions = {
  alpha: 0.05,
  correction: 'bonferroni',
  distanceThreshold: 0.1,
  psiThreshold: 0.1,
  numberTest: 'auto',
  categoryTest: 'auto',
  maxValues: DEFAULT_MAX_VALUES,
};

/** One column of one file, as drift reads it. */
export type ColumnData =
  | { name: string; type: 'number'; values: Float64Array; seen: number; missing: number; invalid: number }
  | { name: string; type: 'string'; counts: Map<string, number> | null; seen: number; missing: number; invalid: number };

export interface FileColumns {
  rows: number;
  columns: ColumnData[];
}

// xorshift32: the reservoir's coin, seeded so a report is the same on every run
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** Read every column of a CSV in one pass (number values sorted ascending, sampled past the budget). */
export function readColumns(chunks: Iterable<Buffer>, source: string, maxValues?: number, delimiter?: string): FileColumns;
export function readColumns(chunks: AsyncIterable<Buffer>, source: string, maxValues?: number, delimiter?: string): Promise<FileColumns>;
export function readColumns(chunks: CsvBytes, source: string, maxValues = DEFAULT_MAX_VALUES, delimiter = ','): FileColumns | Promise<FileColumns> {
  type Acc = { name: string; type: CsvColumnType; buf: Float64Array; n: number; seen: number; counts: Map<string, number> | null; missing: number; invalid: number };
  let accs: Acc[] = [];
  let cap = 0;
  const random = seeded(0x5eed);
  const shape = scanCsv(chunks, source, (columns) => {
    const numbers = columns.filter((c) => c.type === 'number').length;
    cap = Math.max(1, Math.floor(maxValues / Math.max(1, numbers)));
    accs = columns.map((c) => ({ name: c.name, type: c.type, buf: new Float64Array(c.type === 'number' ? Math.min(cap, 1024) : 0), n: 0, seen: 0, counts: c.type === 'string' ? new Map() : null, missing: 0, invalid: 0 }));
    return {
      number: (j, v) => {
        const a = accs[j]!;
        a.seen++;
        if (a.n < cap) {
          if (a.n === a.buf.length) {
            const grown = new Float64Array(Math.min(cap, a.buf.length * 2));
            grown.set(a.buf);
            a.buf = grown;
          }
          a.buf[a.n++] = v;
          return;
        }
        // reservoir sampling (Algorithm R): every value seen so far is kept with probability cap / seen
        const k = Math.floor(random() * a.seen);
        if (k < cap) a.buf[k] = v;
      },
      string: (j, s) => {
        const a = accs[j]!;
        a.seen++;
        if (!a.counts) return;
        a.counts.set(s, (a.counts.get(s) ?? 0) + 1);
        if (a.counts.size > MAX_TRACKED) a.counts = null;
      },
      missing: (j) => void accs[j]!.missing++,
      invalid: (j) => void accs[j]!.invalid++,
    };
  }, delimiter);
  return afterScan(shape, (sh) => ({
    rows: sh.rows,
    columns: accs.map((a): ColumnData =>
      a.type === 'number'
        ? { name: a.name, type: 'number', values: a.buf.slice(0, a.n).sort(), seen: a.seen, missing: a.missing, invalid: a.invalid }
        : { name: a.name, type: 'string', counts: a.counts, seen: a.seen, missing: a.missing, invalid: a.invalid },
    ),
  }));
}

/**
 * Several versions of a file pooled into one reference (a window of commits): a column's values
 * and counts are the union of its versions'; the newest version (first) decides the columns'
 * types, and a column of another type in an older version is left out of the pool.
 */
export function poolColumns(files: readonly FileColumns[]): FileColumns {
  const [first, ...rest] = files;
  if (!first) throw new RangeError('poolColumns needs at least one file');
  if (rest.length === 0) return first;
  const columns = first.columns.map((c): ColumnData => {
    const same = files.map((f) => f.columns.find((x) => x.name === c.name && x.type === c.type)).filter((x): x is ColumnData => x !== undefined);
    const seen = same.reduce((n, x) => n + x.seen, 0);
    const missing = same.reduce((n, x) => n + x.missing, 0);
    const invalid = same.reduce((n, x) => n + x.invalid, 0);
    if (c.type === 'number') {
      const parts = same.map((x) => (x as Extract<ColumnData, { type: 'number' }>).values);
      const values = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        values.set(p, at);
        at += p.length;
      }
      return { name: c.name, type: 'number', values: values.sort(), seen, missing, invalid };
    }
    let counts: Map<string, number> | null = new Map();
    for (const x of same) {
      const xc = (x as Extract<ColumnData, { type: 'string' }>).counts;
      if (!xc || !counts) {
        counts = null;
        continue;
      }
      for (const [k, n] of xc) counts.set(k, (counts.get(k) ?? 0) + n);
    }
    if (counts && counts.size > MAX_TRACKED) counts = null;
    return { name: c.name, type: 'string', counts, seen, missing, invalid };
  });
  return { rows: files.reduce((n, f) => n + f.rows, 0), columns };
}

export type ColumnStatus = 'drift' | 'ok' | 'added' | 'removed' | 'type changed' | 'skipped';

export interface ColumnSide {
  type: CsvColumnType;
  /** present values */
  count: number;
  missing: number;
  /** values the statistics used (fewer than count when the column was sampled) */
  used: number;
}

export interface ColumnDrift {
  column: string;
  type: CsvColumnType;
  status: ColumnStatus;
  /** the statistic that decided the verdict, its value and the threshold it was held to */
  test?: 'ks' | 'chi2' | 'wasserstein_normed' | 'jensenshannon' | 'psi';
  score?: number;
  threshold?: number;
  /** score against threshold, ≥ 1 means drift: distance / threshold, or ln p / ln threshold (p floored at 1e-300) */
  severity?: number;
  reference?: ColumnSide;
  current?: ColumnSide;
  stats?: {
    ks?: { statistic: number; pValue: number; method: 'exact' | 'asymp' };
    wasserstein?: number;
    wassersteinNormed?: number;
    chi2?: { statistic: number; pValue: number; dof: number };
    jensenShannon?: number;
    psi?: number;
  };
  /** why a column was not compared */
  reason?: string;
}

export interface DriftVerdict {
  /** true when a column drifted, or columns were added, removed or changed type */
  drift: boolean;
  /** the columns with status drift */
  drifted: string[];
  /** added, removed and retyped columns */
  schemaChanges: string[];
  /** the column with the highest severity */
  worst: { column: string; test: string; score: number; severity: number } | null;
  /** tests with p-values, and the per-column level after correction */
  tested: number;
  alphaPerColumn: number;
  columns: ColumnDrift[];
}

function side(c: ColumnData): ColumnSide {
  return { type: c.type, count: c.seen, missing: c.missing, used: c.type === 'number' ? c.values.length : c.seen };
}

/** Compare the columns of two versions of a file. */
export function compareColumns(ref: FileColumns, cur: FileColumns, opts: DriftOptions = DRIFT_DEFAULTS): DriftVerdict {
  const small = ref.rows <= SMALL_REFERENCE_ROWS;
  const numberTest = opts.numberTest === 'auto' ? (small ? 'ks' : 'wasserstein') : opts.numberTest;
  const categoryTest = opts.categoryTest === 'auto' ? (small ? 'chi2' : 'jensenshannon') : opts.categoryTest;
  const curByName = new Map(cur.columns.map((c) => [c.name, c]));
  const refNames = new Set(ref.columns.map((c) => c.name));
  const out: ColumnDrift[] = [];
  // first every statistic, then the verdicts: Bonferroni needs the number of p-value tests
  const pending: { drift: ColumnDrift; p?: number; distance?: number; distanceThreshold?: number }[] = [];
  for (const r of ref.columns) {
    const c = curByName.get(r.name);
    if (!c) {
      out.push({ column: r.name, type: r.type, status: 'removed', reference: side(r) });
      continue;
    }
    const d: ColumnDrift = { column: r.name, type: r.type, status: 'ok', reference: side(r), current: side(c) };
    out.push(d);
    if (c.type !== r.type) {
      d.status = 'type changed';
      d.reason = `${r.type} in the reference, ${c.type} now`;
      continue;
    }
    if (r.type === 'number' && c.type === 'number') {
      if (r.values.length === 0 || c.values.length === 0) {
        d.status = 'skipped';
        d.reason = `no values in the ${r.values.length === 0 ? 'reference' : 'current'} file`;
        continue;
      }
      const ks = ks2samp(r.values, c.values);
      const w = wasserstein(r.values, c.values);
      const norm = Math.max(meanStd(r.values).std, 0.001);
      const wn = w / norm;
      const p = numericPsi(r.values, c.values);
      d.stats = { ks, wasserstein: w, wassersteinNormed: wn, psi: p };
      if (numberTest === 'ks') pending.push({ drift: Object.assign(d, { test: 'ks' as const, score: ks.pValue }), p: ks.pValue });
      else if (numberTest === 'wasserstein') pending.push({ drift: Object.assign(d, { test: 'wasserstein_normed' as const, score: wn }), distance: wn, distanceThreshold: opts.distanceThreshold });
      else pending.push({ drift: Object.assign(d, { test: 'psi' as const, score: p }), distance: p, distanceThreshold: opts.psiThreshold });
      continue;
    }
    if (r.type === 'string' && c.type === 'string') {
      if (!r.counts || !c.counts) {
        d.status = 'skipped';
        d.reason = `identifier-like: more than ${MAX_TRACKED} distinct values`;
        continue;
      }
      if (r.seen > ID_MIN_VALUES && r.counts.size > r.seen * ID_DISTINCT_SHARE) {
        d.status = 'skipped';
        d.reason = `identifier-like: ${r.counts.size} distinct values in ${r.seen}`;
        continue;
      }
      if (r.seen === 0 || c.seen === 0) {
        d.status = 'skipped';
        d.reason = `no values in the ${r.seen === 0 ? 'reference' : 'current'} file`;
        continue;
      }
      const keys = [...new Set([...r.counts.keys(), ...c.counts.keys()])].sort();
      const rc = keys.map((k) => r.counts!.get(k) ?? 0);
      const cc = keys.map((k) => c.counts!.get(k) ?? 0);
      const chi2 = chi2Contingency(rc, cc);
      const js = jensenShannon(rc, cc);
      const p = psi(rc, cc);
      d.stats = { chi2, jensenShannon: js, psi: p };
      if (categoryTest === 'chi2') pending.push({ drift: Object.assign(d, { test: 'chi2' as const, score: chi2.pValue }), p: chi2.pValue });
      else if (categoryTest === 'jensenshannon') pending.push({ drift: Object.assign(d, { test: 'jensenshannon' as const, score: js }), distance: js, distanceThreshold: opts.distanceThreshold });
      else pending.push({ drift: Object.assign(d, { test: 'psi' as const, score: p }), distance: p, distanceThreshold: opts.psiThreshold });
    }
  }
  for (const c of cur.columns) if (!refNames.has(c.name)) out.push({ column: c.name, type: c.type, status: 'added', current: side(c) });

  const tested = pending.filter((x) => x.p !== undefined).length;
  const alphaPerColumn = opts.correction === 'bonferroni' && tested > 0 ? opts.alpha / tested : opts.alpha;
  for (const x of pending) {
    if (x.p !== undefined) {
      x.drift.threshold = alphaPerColumn;
      x.drift.severity = Math.log(Math.max(x.p, P_FLOOR)) / Math.log(alphaPerColumn);
      x.drift.status = x.p < alphaPerColumn ? 'drift' : 'ok';
    } else {
      x.drift.threshold = x.distanceThreshold!;
      x.drift.severity = x.distance! / x.distanceThreshold!;
      x.drift.status = x.distance! >= x.distanceThreshold! ? 'drift' : 'ok';
    }
  }
  const drifted = out.filter((d) => d.status === 'drift').map((d) => d.column);
  const schemaChanges = out.filter((d) => d.status === 'added' || d.status === 'removed' || d.status === 'type changed').map((d) => d.column);
  let worst: DriftVerdict['worst'] = null;
  for (const d of out) if (d.severity !== undefined && (!worst || d.severity > worst.severity)) worst = { column: d.column, test: d.test!, score: d.score!, severity: d.severity };
  return { drift: drifted.length > 0 || schemaChanges.length > 0, drifted, schemaChanges, worst, tested, alphaPerColumn, columns: out };
}
