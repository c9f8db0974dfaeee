import { describe, expect, it } from 'vitest';
import { Chunker, CHUNK_PROFILE_V1, findCut, masksFor, type ChunkParams } from '../../src/store/chunker.js';
import { createHasher, EMPTY_CONTENT_ID, hashBytes } from '../../src/store/hash.js';
import { seededBytes } from '../helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Chunks of `data` pushed in blocks of the given sizes (cycled), copied out so views cannot alias. */
function chunksOf(data: Buffer, blockSizes: readonly number[] = [data.length], params: ChunkParams = CHUNK_PROFILE_V1): Buffer[] {
  const c = new Chunker(params);
  const out: Buffer[] = [];
  const emit = (b: Buffer) => out.push(Buffer.from(b));
  let pos = 0;
  for (let i = 0; pos < data.length; i++) {
    const n = blockSizes[i % blockSizes.length]!;
    // a fresh copy per block: the chunker may keep views into blocks it was given
    c.push(Buffer.from(data.subarray(pos, pos + n)), emit);
    pos += n;
  }
  c.finish(emit);
  return out;
}

function offsetsOf(chunks: readonly Buffer[]): number[] {
  let pos = 0;
  return chunks.map((c) => (pos += c.length));
}

const hex = (b: Buffer) => hashBytes(b).toString('hex');

// deterministic PRNG so failures reproduce
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSplits(total: number, max: number, seed: number): number[] {
  const r = rng(seed);
  const sizes: number[] = [];
  for (let left = total; left > 0; ) {
    const n = Math.min(left, 1 + Math.floor(r() * max));
    sizes.push(n);
    left -= n;
  }
  return sizes;
}

describe('chunker (FastCDC, profile v1)', () => {
  const data4 = seededBytes(4 * MiB, 42);

  it('cuts seededBytes(4 MiB, 42) at pinned offsets', () => {
    // GOLDEN: these offsets are a pure function of CHUNK_PROFILE_V1 and the gear table. If this test
    // fails, the chunking profile changed: every chunk id and file id in existing stores drifts, so
    // such a change needs a new profile version, not an updated list.
    expect(offsetsOf(chunksOf(data4))).toEqual([
      160505, 334381, 637917, 844079, 977287, 1181835, 1403073, 1536451, 1708352, 1755392, 1895781, 2043438, 2187897, 2361691, 2533711, 2666707,
      2817286, 2965518, 3110560, 3359450, 3428568, 3570072, 3673610, 3826997, 4035217, 4173911, 4194304,
    ]);
  });

  it('keeps every chunk but the last within [minSize, maxSize], and the chunks rebuild the input', () => {
    const data = seededBytes(16 * MiB, 5);
    const chunks = chunksOf(data);
    expect(chunks.length).toBeGreaterThan(16 * MiB / CHUNK_PROFILE_V1.maxSize);
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(CHUNK_PROFILE_V1.minSize);
      expect(c.length).toBeLessThanOrEqual(CHUNK_PROFILE_V1.maxSize);
    }
    expect(chunks.at(-1)!.length).toBeGreaterThan(0);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('cuts a run of one repeated byte at exactly maxSize (no content boundary exists)', () => {
    const zeros = Buffer.alloc(3 * CHUNK_PROFILE_V1.maxSize + 1000);
    expect(chunksOf(zeros).map((c) => c.length)).toEqual([CHUNK_PROFILE_V1.maxSize, CHUNK_PROFILE_V1.maxSize, CHUNK_PROFILE_V1.maxSize, 1000]);
  });

  it('emits inputs shorter than minSize as one chunk, and nothing for no input', () => {
    expect(chunksOf(seededBytes(1000, 1)).map((c) => c.length)).toEqual([1000]);
    expect(chunksOf(seededBytes(CHUNK_PROFILE_V1.minSize, 1)).map((c) => c.length)).toEqual([CHUNK_PROFILE_V1.minSize]);
    expect(chunksOf(Buffer.alloc(0))).toEqual([]);
    // findCut needs more bytes unless maxSize is available
    expect(findCut(seededBytes(CHUNK_PROFILE_V1.minSize, 1), 0, CHUNK_PROFILE_V1.minSize, CHUNK_PROFILE_V1, masksFor(CHUNK_PROFILE_V1))).toBe(-1);
  });

  it('cuts identically whatever block sizes the bytes arrive in', () => {
    const whole = offsetsOf(chunksOf(data4));
    for (const sizes of [[4 * MiB], [MiB], [CHUNK_PROFILE_V1.maxSize], [CHUNK_PROFILE_V1.maxSize + 1], [65536], [4096], [1000, 200_000, 7], randomSplits(data4.length, 300 * KiB, 1), randomSplits(data4.length, 20 * KiB, 2)]) {
      expect(offsetsOf(chunksOf(data4, sizes)), `blocks ${sizes.slice(0, 3).join(',')}`).toEqual(whole);
    }
  });

  it('cuts identically down to one-byte blocks (small profile, since tiny pushes re-scan the carry)', () => {
    const small: ChunkParams = { minSize: 64, avgSize: 256, maxSize: 1024, normalization: 2 };
    const data = seededBytes(48 * KiB, 11);
    const whole = chunksOf(data, [data.length], small);
    expect(whole.length).toBeGreaterThan(100);
    for (const c of whole.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(small.minSize + 1);
    for (const sizes of [[1], [2], [63], [64], [65], [1023], [1024], [1025], randomSplits(data.length, 8, 3), randomSplits(data.length, 3000, 4)]) {
      expect(offsetsOf(chunksOf(data, sizes, small)), `blocks ${sizes.slice(0, 3).join(',')}`).toEqual(offsetsOf(whole));
    }
  });

  it('keeps boundaries before an insertion and re-synchronises within a few chunks after it', () => {
    const data = seededBytes(8 * MiB, 3);
    const at = 4 * MiB + 12345;
    const edited = Buffer.concat([data.subarray(0, at), Buffer.from('a few inserted bytes'), data.subarray(at)]);
    const before = chunksOf(data);
    const after = chunksOf(edited);
    expect(before.length).toBeGreaterThan(40);

    // every chunk that ends at or before the edit is identical
    const offs = offsetsOf(before);
    const untouched = offs.filter((o) => o <= at).length;
    expect(untouched).toBeGreaterThan(20);
    expect(after.slice(0, untouched).map(hex)).toEqual(before.slice(0, untouched).map(hex));

    // the tails agree again: everything after the first shared chunk past the edit is identical
    const oldIds = new Set(before.map(hex));
    const changed = after.filter((c) => !oldIds.has(hex(c)));
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(3);
    const firstShared = after.findIndex((c, i) => i >= untouched && oldIds.has(hex(c)));
    const tail = after.length - firstShared;
    expect(after.slice(firstShared).map(hex)).toEqual(before.slice(before.length - tail).map(hex));
    expect(Buffer.concat(after).equals(edited)).toBe(true);
  });

  it('re-synchronises after a deletion too', () => {
    const data = seededBytes(8 * MiB, 4);
    const edited = Buffer.concat([data.subarray(0, 3 * MiB), data.subarray(3 * MiB + 777)]);
    const oldIds = new Set(chunksOf(data).map(hex));
    const changed = chunksOf(edited).filter((c) => !oldIds.has(hex(c)));
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(3);
  });

  it('averages 100–200 KiB per chunk over 64 MiB of random bytes', () => {
    const data = seededBytes(64 * MiB, 7);
    let n = 0;
    const c = new Chunker();
    c.push(data, () => n++);
    c.finish(() => n++);
    const avg = data.length / n;
    expect(avg).toBeGreaterThanOrEqual(100 * KiB);
    expect(avg).toBeLessThanOrEqual(200 * KiB);
  });
});

describe('content ids', () => {
  it('the empty file\'s id, written out as a constant, is BLAKE3 of no bytes', () => {
    expect(EMPTY_CONTENT_ID.equals(hashBytes(Buffer.alloc(0)))).toBe(true);
    expect(EMPTY_CONTENT_ID.equals(createHasher().digest())).toBe(true);
  });
});
