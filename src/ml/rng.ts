// Seeded randomness. Every random choice in src/ml (splits, shuffles, bootstraps, weight init
// seeds) comes from here, so that the same inputs and seed give byte-identical models.
import { createHash } from 'node:crypto';

/** mulberry32: a small 32-bit PRNG, uniform in [0, 1). Documented in docs/ml.md so other tools can replay splits. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded Fisher–Yates permutation of 0..n-1. */
export function permutation(n: number, rand: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** A key's stable position in [0, 1): the first 48 bits of sha256(`${seed}:${key}`). */
export function hashUnit(key: string, seed: number): number {
  const d = createHash('sha256').update(`${seed}:${key}`).digest();
  return d.readUIntBE(0, 6) / 2 ** 48;
}

/** A derived seed for sub-task `i` (a tree of a forest, a layer's initializer). */
export function subSeed(seed: number, i: number): number {
  return mulberry32((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0)() * 2 ** 31 >>> 0;
}

/** murmur3's 32-bit finaliser: a bijection that mixes every input bit into every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) for row `row` under `seed`: fmix32(fmix32(seed) xor row) / 2³². Decides a row's side of a split without seeing the other rows. */
export function rowUnit(row: number, seed: number): number {
  return fmix32((fmix32(seed >>> 0) ^ row) >>> 0) / 2 ** 32;
}
