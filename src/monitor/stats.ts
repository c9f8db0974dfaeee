// Two-sample statistics for drift, each defined as SciPy defines it (the tests compare with SciPy):
// KS and Wasserstein on sorted numbers, chi-square and Jensen–Shannon on category counts, and
// the population stability index on both.
import { chi2Sf, kolmogorovSf, ksTwoSampleExactSf } from './distributions.js';

/** Above this sample size SciPy's `ks_2samp(method='auto')` leaves the exact distribution. */
export const KS_EXACT_MAX_N = 10000;

export interface KsResult {
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymp';
}

/** A sum that keeps the bits naive addition drops (Neumaier). */
export class Sum {
  private s = 0;
  private c = 0;
  add(v: number): void {
    const t = this.s + v;
    this.c += Math.abs(this.s) >= Math.abs(v) ? this.s - t + v : v - t + this.s;
    this.s = t;
  }
  get value(): number {
    return this.s + this.c;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

// numpy's round: halves go to the even neighbour
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Two-sided two-sample Kolmogorov–Smirnov test on two ascending arrays without NaN, as
 * `scipy.stats.ks_2samp(a, b, method='auto')`: the exact distribution while both samples have at
 * most 10,000 values (the statistic is then rounded to a multiple of 1/lcm(n1, n2), as SciPy
 * does), else the one-sample distribution of size round(n1·n2 / (n1 + n2)).
 */
export function ks2samp(a: Float64Array, b: Float64Array): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks2samp needs two non-empty samples');
  let i = 0;
  let j = 0;
  let max = -Infinity;
  let min = Infinity;
  while (i < n1 || j < n2) {
    const v = i < n1 && (j >= n2 || a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > max) max = diff;
    if (diff < min) min = diff;
  }
  const minS = Math.min(Math.max(-min, 0), 1);
  let d = minS > max ? minS : max;
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    const exact = ksTwoSampleExactSf(n1, n2, h);
    d = h / lcm;
    if (Number.isFinite(exact) && exact >= 0 && exact <= 1) return { statistic: d, pValue: exact, method: 'exact' };
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: kolmogorovSf(roundHalfEven(en), d), method: 'asymp' };
}

/** The first Wasserstein distance between two ascending samples (`scipy.stats.wasserstein_distance`). */
export function wasserstein(u: Float64Array, v: Float64Array): number {
  const nu = u.length;
  const nv = v.length;
  if (nu === 0 || nv === 0) throw new RangeError('wasserstein needs two non-empty samples');
  const sum = new Sum();
  let i = 0;
  let j = 0;
  // walk the merged values; between consecutive ones both CDFs are flat
  let prev: number | undefined;
  let du = 0;
  let dv = 0;
  while (i < nu || j < nv) {
    const x = i < nu && (j >= nv || u[i]! <= v[j]!) ? u[i]! : v[j]!;
    if (prev !== undefined && x > prev) sum.add(Math.abs(du - dv) * (x - prev));
    while (i < nu && u[i]! <= x) i++;
    while (j < nv && v[j]! <= x) j++;
    du = i / nu;
    dv = j / nv;
    prev = x;
  }
  return sum.value;
}

export interface Chi2Result {
  statistic: number;
  pValue: number;
  dof: number;
}

/**
 * Pearson's chi-square test of independence on a 2 × k table of counts (reference row, current
 * row), as `scipy.stats.chi2_contingency` with its defaults: Yates' continuity correction when
 * the table has one degree of freedom. Categories absent from both rows must be left out.
 */
export function chi2Contingency(ref: readonly number[], cur: readonly number[]): Chi2Result {
  const k = ref.length;
  const rows = [ref, cur];
  const rowTotals = rows.map((r) => r.reduce((s, x) => s + x, 0));
  const colTotals = ref.map((x, c) => x + cur[c]!);
  const total = rowTotals[0]! + rowTotals[1]!;
  const dof = k - 1;
  if (dof === 0 || total === 0) return { statistic: 0, pValue: 1, dof: Math.max(dof, 0) };
  const stat = new Sum();
  for (let r = 0; r < 2; r++)
    for (let c = 0; c < k; c++) {
      const expected = (rowTotals[r]! * colTotals[c]!) / total;
      let observed = rows[r]![c]!;
      if (dof === 1) {
        const diff = expected - observed;
        observed += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      stat.add(((observed - expected) * (observed - expected)) / expected);
    }
  const statistic = stat.value;
  return { statistic, pValue: chi2Sf(statistic, dof), dof };
}

/** The Jensen–Shannon distance (natural log, at most √ln 2) between two count vectors (`scipy.spatial.distance.jensenshannon`). */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  const sp = p.reduce((s, x) => s + x, 0);
  const sq = q.reduce((s, x) => s + x, 0);
  const left = new Sum();
  const right = new Sum();
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    if (pi > 0) left.add(pi * Math.log(pi / m));
    if (qi > 0) right.add(qi * Math.log(qi / m));
  }
  return Math.sqrt((left.value + right.value) / 2);
}

/** A bucket empty on one side counts as this share, so PSI stays finite (Evidently's choice). */
export const PSI_EMPTY_SHARE = 0.0001;

/** Population stability index Σ (cur − ref)·ln(cur / ref) over bucket shares. */
export function psi(ref: readonly number[], cur: readonly number[]): number {
  const sr = ref.reduce((s, x) => s + x, 0);
  const sc = cur.reduce((s, x) => s + x, 0);
  const out = new Sum();
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]! / sr || PSI_EMPTY_SHARE;
    const c = cur[i]! / sc || PSI_EMPTY_SHARE;
    out.add((c - r) * Math.log(c / r));
  }
  return out.value;
}

/** Buckets for a numeric PSI. */
export const PSI_BINS = 10;

/**
 * PSI of two ascending samples over buckets cut at the reference's deciles (numpy's linear
 * quantiles; repeated cuts merge, values beyond the reference's range fall in the end buckets).
 */
export function numericPsi(ref: Float64Array, cur: Float64Array, bins = PSI_BINS): number {
  const cuts: number[] = [];
  for (let i = 1; i < bins; i++) {
    const q = quantileSorted(ref, i / bins);
    if (cuts.length === 0 || q > cuts[cuts.length - 1]!) cuts.push(q);
  }
  return psi(bucketCounts(ref, cuts), bucketCounts(cur, cuts));
}

// bucket b holds cuts[b-1] < x ≤ cuts[b]
function bucketCounts(sorted: Float64Array, cuts: readonly number[]): number[] {
  const counts = new Array<number>(cuts.length + 1).fill(0);
  let b = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (b < cuts.length && sorted[i]! > cuts[b]!) b++;
    counts[b]!++;
  }
  return counts;
}

/** numpy's default (linear) quantile of an ascending array. */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}

/** Population mean and standard deviation (numpy's `std`, ddof = 0). */
export function meanStd(values: Float64Array): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const s = new Sum();
  for (let i = 0; i < n; i++) s.add(values[i]!);
  const mean = s.value / n;
  const sq = new Sum();
  for (let i = 0; i < n; i++) sq.add((values[i]! - mean) ** 2);
  return { mean, std: Math.sqrt(sq.value / n) };
}
