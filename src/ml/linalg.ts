// Float64 numerics for the exact models: least squares by Householder QR with column pivoting
// (what LAPACK's gelsy does; rank-deficient designs such as duplicated polynomial terms are
// handled) and L-BFGS for smooth convex losses. Pure JavaScript: deterministic to the bit.

/**
 * Least squares: x minimising ||A x − b||², A row-major n × p. Columns whose pivot falls below
 * rcond·|R₀₀| are treated as dependent and get coefficient 0 (a basic solution).
 */
export function lstsq(a: Float64Array, n: number, p: number, b: Float64Array, rcond = 1e-12): { x: Float64Array; rank: number } {
  // column-major copy: Householder reflections walk down columns
  const q = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) q[j * n + i] = a[i * p + j]!;
  const y = Float64Array.from(b);
  const perm = Array.from({ length: p }, (_, j) => j);
  const kmax = Math.min(n, p);
  let rank = 0;
  let r00 = 0;
  for (let k = 0; k < kmax; k++) {
    // pivot: the remaining column with the largest norm below row k
    let best = -1;
    let bestNorm = -1;
    for (let j = k; j < p; j++) {
      let s = 0;
      for (let i = k; i < n; i++) s += q[j * n + i]! ** 2;
      if (s > bestNorm) {
        bestNorm = s;
        best = j;
      }
    }
    if (best !== k) {
      for (let i = 0; i < n; i++) {
        const t = q[k * n + i]!;
        q[k * n + i] = q[best * n + i]!;
        q[best * n + i] = t;
      }
      const t = perm[k]!;
      perm[k] = perm[best]!;
      perm[best] = t;
    }
    const norm = Math.sqrt(bestNorm);
    if (k === 0) r00 = norm;
    if (norm === 0 || norm <= rcond * r00) break;
    // Householder vector v = x − alpha e1, stored in place of column k
    const x0 = q[k * n + k]!;
    const alpha = x0 > 0 ? -norm : norm;
    q[k * n + k] = x0 - alpha;
    let vv = 0;
    for (let i = k; i < n; i++) vv += q[k * n + i]! ** 2;
    const apply = (col: Float64Array, off: number) => {
      let s = 0;
      for (let i = k; i < n; i++) s += q[k * n + i]! * col[off + i]!;
      const f = (2 * s) / vv;
      for (let i = k; i < n; i++) col[off + i] = col[off + i]! - f * q[k * n + i]!;
    };
    if (vv > 0) {
      for (let j = k + 1; j < p; j++) apply(q, j * n);
      apply(y, 0);
    }
    // R's diagonal replaces the Householder vector's first entry; the rest of column k is no longer needed
    q[k * n + k] = alpha;
    rank = k + 1;
  }
  // back substitution on the leading rank × rank block of R
  const z = new Float64Array(p);
  for (let k = rank - 1; k >= 0; k--) {
    let s = y[k]!;
    for (let j = k + 1; j < rank; j++) s -= q[j * n + k]! * z[j]!;
    z[k] = s / q[k * n + k]!;
  }
  const x = new Float64Array(p);
  for (let k = 0; k < p; k++) x[perm[k]!] = z[k]!;
  return { x, rank };
}

export interface LbfgsOptions {
  maxIter?: number;
  /** stop when the largest gradient component is below this */
  gtol?: number;
  /** history length */
  m?: number;
}

/** Minimise a smooth function with L-BFGS and a backtracking (Armijo) line search. */
export function lbfgs(fg: (x: Float64Array, g: Float64Array) => number, x0: Float64Array, opts: LbfgsOptions = {}): LbfgsResult {
  const steps = lbfgsSteps(x0, opts);
  let next = steps.next();
  while (!next.done) next = steps.next(fg(next.value.x, next.value.g));
  return next.value;
}

/** As lbfgs, for an objective that must be awaited (one evaluation streams over the data). */
export async function lbfgsAsync(fg: (x: Float64Array, g: Float64Array) => Promise<number>, x0: Float64Array, opts: LbfgsOptions = {}): Promise<LbfgsResult> {
  const steps = lbfgsSteps(x0, opts);
  let next = steps.next();
  while (!next.done) next = steps.next(await fg(next.value.x, next.value.g));
  return next.value;
}

export type LbfgsResult = { x: Float64Array; f: number; iterations: number; converged: boolean };

/** The iteration itself: yields each point whose value and gradient it needs (the gradient is written into `g`), and is sent the value. */
function* lbfgsSteps(x0: Float64Array, opts: LbfgsOptions): Generator<{ x: Float64Array; g: Float64Array }, LbfgsResult, number> {
  const { maxIter = 1000, gtol = 1e-8, m = 10 } = opts;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = yield { x, g };
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
    return s;
  };
  const maxAbs = (a: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s = Math.max(s, Math.abs(a[i]!));
    return s;
  };
  let iter = 0;
  for (; iter < maxIter; iter++) {
    if (maxAbs(g) < gtol) return { x, f, iterations: iter, converged: true };
    // two-loop recursion: d = −H g
    const d = Float64Array.from(g, (v) => -v);
    const alphas: number[] = [];
    for (let i = S.length - 1; i >= 0; i--) {
      const a = rho[i]! * dot(S[i]!, d);
      alphas[i] = a;
      for (let k = 0; k < n; k++) d[k] = d[k]! - a * Y[i]![k]!;
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!);
      for (let k = 0; k < n; k++) d[k] = d[k]! * gamma;
    } else {
      const scale = 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let k = 0; k < n; k++) d[k] = d[k]! * scale;
    }
    for (let i = 0; i < S.length; i++) {
      const b = rho[i]! * dot(Y[i]!, d);
      for (let k = 0; k < n; k++) d[k] = d[k]! + S[i]![k]! * (alphas[i]! - b);
    }
    let dg = dot(d, g);
    if (dg >= 0) {
      // not a descent direction (numerical trouble): restart from steepest descent
      S.length = Y.length = rho.length = 0;
      for (let k = 0; k < n; k++) d[k] = -g[k]!;
      dg = dot(d, g);
    }
    let step = 1;
    const xn = new Float64Array(n);
    const gn = new Float64Array(n);
    let fn = Infinity;
    for (let ls = 0; ls < 60; ls++) {
      for (let k = 0; k < n; k++) xn[k] = x[k]! + step * d[k]!;
      fn = yield { x: xn, g: gn };
      if (fn <= f + 1e-4 * step * dg) break;
      step *= 0.5;
    }
    if (!(fn <= f + 1e-4 * step * dg)) return { x, f, iterations: iter, converged: false };
    const s = new Float64Array(n);
    const yv = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      s[k] = xn[k]! - x[k]!;
      yv[k] = gn[k]! - g[k]!;
    }
    const sy = dot(s, yv);
    if (sy > 1e-12) {
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
      if (S.length > m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
    }
    const fOld = f;
    x = xn;
    g = gn;
    f = fn;
    if (Math.abs(fOld - f) <= 1e-15 * Math.max(1, Math.abs(f))) return { x, f, iterations: iter + 1, converged: true };
  }
  return { x, f, iterations: iter, converged: maxAbs(g) < gtol };
}
