// Seeded data and the SciPy oracle for the drift tests.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** Debian's python3, which has SciPy (the python3 on PATH may not). */
const PYTHON = '/usr/bin/python3';
const ORACLE = path.join(import.meta.dirname, '../fixtures/monitor/scipy_oracle.py');

/** Why SciPy cannot be used here, or undefined when it can. */
export function scipyMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import scipy.stats, scipy.spatial'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} cannot be run (${r.error.message}): install python3-scipy to check drift statistics against SciPy`;
  if (r.status !== 0) return `${PYTHON} cannot import scipy: install python3-scipy to check drift statistics against SciPy`;
  return undefined;
}

/** SciPy's answers to a batch of cases (one python process for all of them). */
export function scipy<T = unknown>(cases: unknown[]): T[] {
  return JSON.parse(execFileSync(PYTHON, [ORACLE], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 256 << 20 })) as T[];
}

/** The seeded generator src/ml uses (mulberry32), in [0, 1). */
export { mulberry32 as rng } from '../../src/ml/rng.js';
import { mulberry32 as rng } from '../../src/ml/rng.js';

/** n normal values (Box–Muller) with the given mean and standard deviation. */
export function normals(n: number, seed: number, mean = 0, sd = 1): number[] {
  const r = rng(seed);
  const out: number[] = [];
  while (out.length < n) {
    const u = 1 - r();
    const v = r();
    out.push(mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

export function sorted(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** |a − b| ≤ rel·|b| (or both exactly 0). */
export function relClose(a: number, b: number, rel = 1e-9): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= rel * Math.abs(b);
}

/** A sales CSV (`amount,region`) of `rows` rows, amounts normal around 100 + `shift`. */
export function sales(rows: number, seed: number, shift: number): string {
  const xs = normals(rows, seed, 100 + shift, 10);
  return ['amount,region', ...xs.map((x, i) => `${x.toFixed(3)},${['north', 'south', 'east'][i % 3]}`)].join('\n') + '\n';
}
