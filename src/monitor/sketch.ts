// Bounded-memory summaries of one column: a KLL quantile sketch and a heavy-hitters counter.

/** Items the KLL sketch's top compactor holds; the sketch as a whole holds about 3·K values. */
export const KLL_K = 200;

/**
 * Normalized rank error of KLL_K, with 99 % confidence (Karnin, Lang, Liberty 2016; the figure
 * Apache DataSketches documents for k = 200): a reported q-quantile has true rank within
 * q ± 0.0165. While a column has fewer than KLL_K values nothing is compacted and quantiles are exact.
 */
export const KLL_RANK_ERROR = 0.0165;

const C = 2 / 3;
const MIN_CAPACITY = 8;

/**
 * KLL quantile sketch. Level h holds items of weight 2^h; a level over its capacity is sorted
 * and every other item (from a coin-flip offset) moves up. The coin comes from a seeded
 * generator, so the same values in the same order always give the same sketch: profiles are
 * kept by content id and must not depend on the run.
 */
export class KllSketch {
  private levels: number[][] = [[]];
  private size = 0;
  /** the sum of the levels' capacities, which changes only when a level is added */
  private limit = KLL_K;
  private seed = 0x9e3779b9;
  count = 0;

  add(x: number): void {
    this.levels[0]!.push(x);
    this.size++;
    this.count++;
    if (this.size >= this.limit) this.compress();
  }

  private capacity(h: number): number {
    const depth = this.levels.length - 1 - h;
    return Math.max(MIN_CAPACITY, Math.ceil(KLL_K * C ** depth));
  }

  private capacityTotal(): number {
    let t = 0;
    for (let h = 0; h < this.levels.length; h++) t += this.capacity(h);
    return t;
  }

  private coin(): number {
    // xorshift32
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed & 1;
  }

  private compress(): void {
    for (let h = 0; h < this.levels.length; h++) {
      const level = this.levels[h]!;
      if (level.length < this.capacity(h)) continue;
      if (h + 1 === this.levels.length) {
        this.levels.push([]);
        this.limit = this.capacityTotal();
      }
      // a typed array sorts numerically without a comparator call per pair
      const sorted = Float64Array.from(level).sort();
      // an odd item stays behind, so the total weight is kept exactly
      const even = sorted.length - (sorted.length % 2);
      const keep = even < sorted.length ? [sorted[even]!] : [];
      const up = this.levels[h + 1]!;
      for (let i = this.coin(); i < even; i += 2) up.push(sorted[i]!);
      this.size -= even / 2;
      this.levels[h] = keep;
      break;
    }
  }

  /** The values at the given ranks q ∈ [0, 1] (the smallest value whose cumulative weight reaches q·n). */
  quantiles(qs: readonly number[]): number[] {
    const items: [number, number][] = [];
    this.levels.forEach((level, h) => {
      for (const v of level) items.push([v, 2 ** h]);
    });
    if (items.length === 0) return qs.map(() => NaN);
    items.sort((a, b) => a[0] - b[0]);
    const total = items.reduce((s, [, w]) => s + w, 0);
    return qs.map((q) => {
      const target = q * total;
      let cum = 0;
      for (const [v, w] of items) {
        cum += w;
        if (cum >= target) return v;
      }
      return items[items.length - 1]![0];
    });
  }
}

/** Distinct values a column tracks exactly; past it, counts become Misra–Gries estimates. */
export const MAX_TRACKED = 10000;

/**
 * Counts of a column's values: exact while it has at most `capacity` distinct values; past
 * that, the Misra–Gries summary, whose counts fall short of the truth by at most n / (capacity + 1)
 * and which keeps every value more frequent than that.
 */
export class HeavyHitters<K extends string | number = string> {
  readonly counts = new Map<K, number>();
  /** false once a value had to be dropped */
  exact = true;
  total = 0;

  constructor(readonly capacity = MAX_TRACKED) {}

  add(value: K): void {
    this.total++;
    const c = this.counts.get(value);
    if (c !== undefined) {
      this.counts.set(value, c + 1);
      return;
    }
    if (this.counts.size < this.capacity) {
      this.counts.set(value, 1);
      return;
    }
    this.exact = false;
    for (const [k, n] of this.counts) {
      if (n <= 1) this.counts.delete(k);
      else this.counts.set(k, n - 1);
    }
  }

  /** Distinct values seen: exact, or (once values were dropped) the lower bound capacity + 1. */
  get distinct(): number {
    return this.exact ? this.counts.size : this.capacity + 1;
  }

  top(n: number): { value: string; count: number }[] {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([value, count]) => ({ value: String(value), count }));
  }
}
