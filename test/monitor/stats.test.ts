// The drift statistics against SciPy, to 1e-9 relative, on seeded data.
import { describe, expect, it } from 'vitest';
import { chi2Sf, gammaQ, kolmogorovSf } from '../../src/monitor/distributions.js';
import { chi2Contingency, jensenShannon, ks2samp, numericPsi, psi, wasserstein } from '../../src/monitor/stats.js';
import { normals, relClose, rng, scipy, scipyMissing, sorted } from './monitor-helpers.js';

const missing = scipyMissing();
if (missing) console.warn(`skipping the SciPy comparisons: ${missing}`);

function ints(n: number, seed: number, max: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * max));
}

describe.skipIf(missing !== undefined)('against SciPy 1e-9 relative', () => {
  it('ks_2samp, exact and asymptotic, with and without ties', () => {
    const cases: [number[], number[]][] = [
      [normals(50, 1), normals(50, 2, 0.5)],
      [normals(80, 3), normals(120, 4, 0.3)],
      [normals(7, 5), normals(9, 6)],
      [ints(300, 7, 10), ints(200, 8, 12)],
      [normals(3000, 9), normals(2000, 10, 0.05)],
      [normals(10000, 11), normals(7, 12, 1)],
      [normals(1000, 13), normals(1000, 14, 0.2)],
      // above 10,000 values: the one-sample distribution of size round(n1·n2/(n1+n2))
      [normals(12000, 15), normals(9000, 16, 0.01)],
      [normals(12000, 17), normals(9000, 18, 0.05)],
      [normals(12000, 19), normals(9000, 20, 0.3)],
      [normals(10001, 21), normals(60, 22, 0.1)],
      [normals(10001, 23), normals(60, 24, 0.6)],
      [normals(20000, 25), normals(20000, 26, 2)],
    ];
    const want = scipy<[number, number]>(cases.map(([a, b]) => ({ kind: 'ks', a, b })));
    cases.forEach(([a, b], i) => {
      const got = ks2samp(sorted(a), sorted(b));
      expect(relClose(got.statistic, want[i]![0]), `case ${i} statistic ${got.statistic} vs ${want[i]![0]}`).toBe(true);
      expect(relClose(got.pValue, want[i]![1]), `case ${i} p ${got.pValue} vs ${want[i]![1]} (${got.method})`).toBe(true);
      expect(got.method).toBe(Math.max(a.length, b.length) <= 10000 ? 'exact' : 'asymp');
    });
  });

  it('kstwo.sf over every branch of its algorithm choice', () => {
    const grid: { n: number; x: number }[] = [];
    for (const n of [1, 2, 5, 20, 100, 140, 141, 500, 5000, 60000, 150000])
      for (const x of [0.3 / n, 0.7 / n, 1.5 / n, 0.01, 0.03, 0.05, 0.08, 0.1, 0.2, 0.35, 0.5, 0.7, 0.95, 1 - 0.5 / n]) if (x > 0 && x < 1) grid.push({ n, x });
    // past a million, SciPy's Smirnov term is an approximation (and Pelz–Good below n·x² = 2.2)
    for (const x of [0.0005, 0.0013, 0.002, 0.004, 0.01]) grid.push({ n: 1500000, x });
    const want = scipy<number>(grid.map((g) => ({ kind: 'kstwo', ...g })));
    grid.forEach((g, i) => {
      const got = kolmogorovSf(g.n, g.x);
      expect(relClose(got, want[i]!), `n=${g.n} x=${g.x}: ${got} vs ${want[i]}`).toBe(true);
    });
  });

  it('chi2.sf, from the bulk to the far tail', () => {
    const grid: { x: number; dof: number }[] = [];
    for (const dof of [1, 2, 3, 7, 10, 49, 200, 999]) for (const x of [0.01, 0.5, 1, 3, 10, 40, 150, 600, 1500]) grid.push({ x, dof });
    const want = scipy<number>(grid.map((g) => ({ kind: 'chi2sf', ...g })));
    grid.forEach((g, i) => expect(relClose(chi2Sf(g.x, g.dof), want[i]!), `x=${g.x} dof=${g.dof}: ${chi2Sf(g.x, g.dof)} vs ${want[i]}`).toBe(true));
  });

  it('chi2_contingency (Yates on 2×2), wasserstein_distance and jensenshannon', () => {
    const tables: [number[], number[]][] = [
      [[30, 70], [45, 55]],
      [[3, 9], [10, 2]],
      [[120, 80, 40, 10, 1], [100, 90, 45, 20, 6]],
      [[500, 500, 500], [520, 480, 499]],
      [[1000, 10], [10, 1000]],
    ];
    const samples: [number[], number[]][] = [
      [normals(100, 31), normals(150, 32, 0.4, 2)],
      [ints(500, 33, 7), ints(400, 34, 9)],
      [normals(5000, 35), normals(5000, 36, 0.01)],
    ];
    const want = scipy<unknown>([
      ...tables.map(([ref, cur]) => ({ kind: 'chi2', ref, cur })),
      ...samples.map(([a, b]) => ({ kind: 'wasserstein', a, b })),
      ...tables.map(([p, q]) => ({ kind: 'js', p, q })),
    ]);
    tables.forEach(([ref, cur], i) => {
      const got = chi2Contingency(ref, cur);
      const [stat, p, dof] = want[i] as [number, number, number];
      expect(relClose(got.statistic, stat), `table ${i}: ${got.statistic} vs ${stat}`).toBe(true);
      expect(relClose(got.pValue, p), `table ${i}: ${got.pValue} vs ${p}`).toBe(true);
      expect(got.dof).toBe(dof);
    });
    samples.forEach(([a, b], i) => {
      const w = want[tables.length + i] as number;
      expect(relClose(wasserstein(sorted(a), sorted(b)), w), `sample ${i}: ${wasserstein(sorted(a), sorted(b))} vs ${w}`).toBe(true);
    });
    tables.forEach(([p, q], i) => {
      const js = want[tables.length + samples.length + i] as number;
      expect(relClose(jensenShannon(p, q), js), `table ${i}: ${jensenShannon(p, q)} vs ${js}`).toBe(true);
    });
  });
});

describe('statistics without an oracle', () => {
  it('identical samples: no distance, p = 1', () => {
    const a = sorted(normals(200, 41));
    expect(ks2samp(a, a)).toEqual({ statistic: 0, pValue: 1, method: 'exact' });
    expect(wasserstein(a, a)).toBe(0);
    expect(jensenShannon([5, 3, 2], [10, 6, 4])).toBe(0);
    expect(psi([5, 3, 2], [10, 6, 4])).toBe(0);
    expect(numericPsi(a, a)).toBe(0);
  });

  it('PSI grows with the shift and counts empty buckets as 0.01 %', () => {
    const ref = sorted(normals(2000, 42));
    const small = numericPsi(ref, sorted(normals(2000, 43, 0.1)));
    const big = numericPsi(ref, sorted(normals(2000, 44, 1)));
    expect(small).toBeLessThan(0.1);
    expect(big).toBeGreaterThan(0.25);
    expect(psi([1, 0], [0, 1])).toBeCloseTo(2 * (1 - 0.0001) * Math.log(1 / 0.0001), 12);
  });

  it('Q(a, x) + P(a, x) = 1 where both sides are computed', () => {
    expect(gammaQ(1, 2)).toBeCloseTo(Math.exp(-2), 15);
    expect(gammaQ(0.5, 0)).toBe(1);
  });
});
