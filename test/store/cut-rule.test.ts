// The FastCDC cut rule is written three times: findCut/Chunker (chunker.ts, the reference), the
// wasm scanner (gear-wasm.ts) and the addon's streaming chunker (tusk-io.c). Chunk ids depend on
// every cut, so the two fast ones must cut where the reference cuts — for random profiles,
// inputs of random sizes and kinds, fed in random blocks — and the addon must hash each chunk as
// the reference's bytes hash.
import { describe, expect, it } from 'vitest';
import { Chunker, CHUNK_PROFILE_V1, type ChunkParams } from '../../src/store/chunker.js';
import { WasmChunker } from '../../src/store/gear-wasm.js';
import { hashBytes } from '../../src/store/hash.js';
import { hasNativeCopy, nativeChunker } from '../../src/store/native-io.js';
import { seededBytes } from '../helpers.js';

const KiB = 1024;

/** Deterministic PRNG (mulberry32), so that a failure names a seed that reproduces it. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A profile with an average of 2^6..2^11 bytes, min below and max above it, normalization 0..3. */
function randomProfile(r: () => number): ChunkParams {
  const bits = 6 + Math.floor(r() * 6);
  const avgSize = 1 << bits;
  const minSize = Math.max(1, Math.floor(avgSize / (2 + Math.floor(r() * 6))));
  const maxSize = avgSize * (2 + Math.floor(r() * 7));
  return { minSize, avgSize, maxSize, normalization: Math.min(bits - 1, Math.floor(r() * 4)) };
}

/** Random bytes, a few-symbol alphabet, zeros with random islands, or text lines. */
function randomInput(r: () => number, size: number, seed: number): [string, Buffer] {
  const kind = Math.floor(r() * 4);
  const b = seededBytes(size, seed);
  if (kind === 1) for (let i = 0; i < size; i++) b[i] = b[i]! & 3;
  if (kind === 2) for (let i = 0; i < size; i++) if (b[i]! > 8) b[i] = 0;
  if (kind === 3) for (let i = 0; i < size; i++) b[i] = b[i]! % 17 === 0 ? 10 : 97 + (b[i]! % 26);
  return [['random', 'four symbols', 'mostly zeros', 'text'][kind]!, b];
}

/** Block sizes that add up to `total`: ones, tiny, around the profile's limits and beyond them. */
function randomBlocks(r: () => number, total: number, p: ChunkParams): number[] {
  const shapes = [1, p.minSize - 1, p.minSize, p.avgSize + 1, p.maxSize - 1, p.maxSize, p.maxSize + 1, 3 * p.maxSize + 7].filter((n) => n > 0);
  const out: number[] = [];
  for (let left = total; left > 0; ) {
    const n = Math.min(left, r() < 0.5 ? shapes[Math.floor(r() * shapes.length)]! : 1 + Math.floor(r() * 4 * p.maxSize));
    out.push(n);
    left -= n;
  }
  return out;
}

type Chunk = [end: number, id: string];

function byReference(data: Buffer, p: ChunkParams): Chunk[] {
  const c = new Chunker(p);
  const out: Chunk[] = [];
  let pos = 0;
  const emit = (b: Buffer) => out.push([(pos += b.length), hashBytes(b).toString('hex')]);
  c.push(Buffer.from(data), emit);
  c.finish(emit);
  return out;
}

function byWasm(data: Buffer, blocks: number[], p: ChunkParams, blockBytes: number): Chunk[] {
  const c = new WasmChunker(p, blockBytes);
  const out: Chunk[] = [];
  let pos = 0;
  const emit = (b: Buffer) => out.push([(pos += b.length), hashBytes(b).toString('hex')]);
  let at = 0;
  for (const n of blocks) c.push(data.subarray(at, (at += n)), emit);
  c.finish(emit);
  return out;
}

function byAddon(data: Buffer, blocks: number[], p: ChunkParams): Chunk[] {
  const c = nativeChunker(p)!;
  const out: Chunk[] = [];
  const take = ({ ends, ids }: { ends: Float64Array; ids: Uint8Array }) => ends.forEach((e, j) => out.push([e, Buffer.from(ids.subarray(j * 32, j * 32 + 32)).toString('hex')]));
  let at = 0;
  for (const n of blocks) take(c.push(data.subarray(at, (at += n))));
  take(c.end());
  return out;
}

const CASES = 150;

describe('the cut rule, three ways', () => {
  it('random profiles, inputs and block splits: the wasm scanner cuts as the reference', () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const r = rng(seed);
      const p = randomProfile(r);
      const [kind, data] = randomInput(r, Math.floor(r() * 12 * p.maxSize), seed);
      const expected = byReference(data, p);
      const blockBytes = Math.max(1, Math.floor(r() * 2 * p.maxSize));
      expect(byWasm(data, randomBlocks(r, data.length, p), p, blockBytes), `seed ${seed}: ${kind}, ${data.length} bytes, ${JSON.stringify(p)}, wasm blocks of ${blockBytes}`).toEqual(expected);
    }
  });

  it.runIf(hasNativeCopy())('random profiles, inputs and block splits: the addon cuts and hashes as the reference', () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const r = rng(seed);
      const p = randomProfile(r);
      const [kind, data] = randomInput(r, Math.floor(r() * 12 * p.maxSize), seed);
      const expected = byReference(data, p);
      expect(byAddon(data, randomBlocks(r, data.length, p), p), `seed ${seed}: ${kind}, ${data.length} bytes, ${JSON.stringify(p)}`).toEqual(expected);
    }
  });

  it('profile v1, inputs of random sizes up to 3 MiB in random blocks: all three agree', () => {
    const p = CHUNK_PROFILE_V1;
    for (let seed = 1; seed <= 6; seed++) {
      const r = rng(1000 + seed);
      const [kind, data] = randomInput(r, Math.floor(r() * 3 * 1024 * KiB), seed);
      const expected = byReference(data, p);
      const blocks = randomBlocks(r, data.length, p);
      expect(byWasm(data, blocks, p, 600 * KiB), `wasm, seed ${seed}: ${kind}, ${data.length} bytes`).toEqual(expected);
      if (hasNativeCopy()) expect(byAddon(data, blocks, p), `addon, seed ${seed}: ${kind}, ${data.length} bytes`).toEqual(expected);
    }
  });
});
