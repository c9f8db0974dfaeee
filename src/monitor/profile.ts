// Column profiles of a CSV file in a commit (`tusk inspect profile`): computed in one streamed
// pass and kept in the store by content id, so a second ask for the same bytes is one lookup.
// Memory per column: a KLL sketch (~3·KLL_K numbers) and up to MAX_TRACKED distinct values.
import type { FileRef } from '../store/address.js';
import type { Store } from '../store/store.js';
import { afterScan, scanCsv, type CsvBytes, type CsvColumnType } from './csv-scan.js';
import { HeavyHitters, KLL_K, KLL_RANK_ERROR, KllSketch } from './sketch.js';

/** The profile format; a change to what a profile holds bumps it, so old rows are not reused. */
export const PROFILE_VERSION = 1;

/** Ranks reported as quantiles. */
export const PROFILE_QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

/** Most frequent values reported per column. */
export const TOP_VALUES = 10;

export interface ColumnProfile {
  name: string;
  type: CsvColumnType;
  /** present cells */
  count: number;
  /** empty or NA-like cells (csv.ts MISSING) */
  missing: number;
  /** cells of a number column that are not numbers */
  invalid: number;
  /** distinct present values; a lower bound when distinctExact is false */
  distinct: number;
  distinctExact: boolean;
  /** number columns: mean, sample standard deviation (n − 1), extremes and sketch quantiles */
  mean?: number | null;
  std?: number | null;
  min?: number | null;
  max?: number | null;
  quantiles?: { q: number; value: number }[];
  /** the most frequent values with their counts; lower bounds when topExact is false */
  top: { value: string; count: number }[];
  topExact: boolean;
}

/** What is kept per content. */
export interface ContentProfile {
  rows: number;
  columns: ColumnProfile[];
  sketch: { kind: 'KLL'; k: number; rankError: number };
}

export interface FileProfile extends ContentProfile {
  repo: string;
  commit: string;
  path: string;
  /** content id (BLAKE3, hex) */
  content: string;
  bytes: number;
  /** true when the profile came from the store instead of a pass over the file */
  cached: boolean;
}

class ColumnProfiler {
  count = 0;
  missing = 0;
  invalid = 0;
  private mean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;
  private readonly sketch = new KllSketch();
  private readonly values = new HeavyHitters<string>();
  private readonly numbers = new HeavyHitters<number>();

  constructor(
    readonly name: string,
    readonly type: CsvColumnType,
  ) {}

  number(v: number): void {
    this.count++;
    // Welford: a running mean and sum of squares that stays accurate over billions of rows
    const d = v - this.mean;
    this.mean += d / this.count;
    this.m2 += d * (v - this.mean);
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.sketch.add(v);
    this.numbers.add(v);
  }

  string(s: string): void {
    this.count++;
    this.values.add(s);
  }

  result(): ColumnProfile {
    const values = this.type === 'number' ? this.numbers : this.values;
    const base = {
      name: this.name,
      type: this.type,
      count: this.count,
      missing: this.missing,
      invalid: this.invalid,
      distinct: values.distinct,
      distinctExact: values.exact,
      top: values.top(TOP_VALUES),
      topExact: values.exact,
    };
    if (this.type !== 'number') return base;
    const has = this.count > 0;
    return {
      ...base,
      mean: has ? this.mean : null,
      std: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : null,
      min: has ? this.min : null,
      max: has ? this.max : null,
      quantiles: has ? this.sketch.quantiles(PROFILE_QUANTILES).map((value, i) => ({ q: PROFILE_QUANTILES[i]!, value })) : [],
    };
  }
}

/** Profile CSV bytes in one pass. */
export function profileCsv(chunks: Iterable<Buffer>, source: string, delimiter?: string): ContentProfile;
export function profileCsv(chunks: AsyncIterable<Buffer>, source: string, delimiter?: string): Promise<ContentProfile>;
export function profileCsv(chunks: CsvBytes, source: string, delimiter = ','): ContentProfile | Promise<ContentProfile> {
  let cols: ColumnProfiler[] = [];
  const shape = scanCsv(chunks, source, (columns) => {
    cols = columns.map((c) => new ColumnProfiler(c.name, c.type));
    return {
      number: (j, v) => cols[j]!.number(v),
      string: (j, s) => cols[j]!.string(s),
      missing: (j) => void cols[j]!.missing++,
      invalid: (j) => void cols[j]!.invalid++,
    };
  }, delimiter);
  return afterScan(shape, (sh) => ({ rows: sh.rows, columns: cols.map((c) => c.result()), sketch: { kind: 'KLL', k: KLL_K, rankError: KLL_RANK_ERROR } }));
}

/**
 * The profile of the CSV file a ref names, from the store when these bytes were profiled before.
 * Only comma-separated profiles are kept: the key is the content, and another delimiter reads the
 * same bytes as another table.
 */
export async function profileFile(store: Store, ref: FileRef, opts: { delimiter?: string } = {}): Promise<FileProfile> {
  const delimiter = opts.delimiter ?? ',';
  const file = await store.streamFile(ref);
  const where = { repo: file.info.repo, commit: file.info.commit, path: file.info.path, content: file.info.hash, bytes: file.info.sizeBytes };
  const keep = delimiter === ',';
  const kept = keep ? await store.loadProfile(file.info.hash, PROFILE_VERSION) : undefined;
  if (kept !== undefined) return { ...where, ...(JSON.parse(kept) as ContentProfile), cached: true };
  const profile = await profileCsv(file.chunks(), `${file.info.path} in ${file.info.repo}@${file.info.commit}`, delimiter);
  if (keep) await store.saveProfile(file.info.hash, PROFILE_VERSION, JSON.stringify(profile));
  return { ...where, ...profile, cached: false };
}
