// Content-defined chunking (FastCDC with normalized chunking). Pure: bytes in, cut points out.
//
// Every parameter that changes where cuts fall is part of a versioned profile: changing one would
// change every chunk id, so a new profile gets a new version and stores record which they use.

/** Chunk sizes of a profile. Chosen by measurement (docs/format.md has the figures): a 128 KiB
 *  average keeps the new chunks of an edit close to the edit's size while a big file needs few
 *  index rows. */
export interface ChunkParams {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  /** normalization level: bits added to / removed from the mask before / after avgSize */
  readonly normalization: number;
}

export const CHUNK_PROFILE_V1: ChunkParams = {
  minSize: 32 * 1024,
  avgSize: 128 * 1024,
  maxSize: 512 * 1024,
  normalization: 2,
};

/** 256 pseudo-random 32-bit gear values, derived from a fixed seed (splitmix32) so they are reproducible. */
export const GEAR: Int32Array = (() => {
  // Int32Array, not Uint32Array: values stay small integers in the hot loop (no float boxing).
  const table = new Int32Array(256);
  let state = 0x7475736b; // "tusk"
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    table[i] = z ^ (z >>> 16);
  }
  return table;
})();

/** Mask with `bits` one-bits spread over the high half of a 32-bit word: the high bits of a
 *  left-shifting gear hash depend on the most recent bytes of the window. */
function maskOf(bits: number): number {
  let m = 0;
  // take every other bit from the top so the mask covers a 32-byte window evenly
  for (let i = 31, n = 0; n < bits && i >= 0; i -= 2, n++) m |= 1 << i;
  for (let i = 30, n = countBits(m); n < bits && i >= 0; i -= 2, n++) m |= 1 << i;
  return m >>> 0;
}

function countBits(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

export interface CutMasks {
  readonly small: number; // used before avgSize: harder to match
  readonly large: number; // used after avgSize: easier to match
}

export function masksFor(params: ChunkParams): CutMasks {
  const bits = Math.round(Math.log2(params.avgSize));
  return { small: maskOf(bits + params.normalization), large: maskOf(bits - params.normalization) };
}

/**
 * Length of the next chunk of `buf[start, end)`, or -1 when no cut is found and fewer than
 * maxSize bytes are available (the caller must supply more bytes, or cut at `end` if the input ended).
 */
export function findCut(buf: Uint8Array, start: number, end: number, params: ChunkParams, masks: CutMasks): number {
  const available = end - start;
  if (available <= params.minSize) return -1;
  const limit = Math.min(available, params.maxSize);
  const normal = Math.min(limit, params.avgSize);
  const gear = GEAR;
  const ms = masks.small | 0;
  const ml = masks.large | 0;
  let h = 0;
  let i = start + params.minSize;
  const stop1 = start + normal;
  for (; i < stop1; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & ms) === 0) return i + 1 - start;
  }
  const stop2 = start + limit;
  for (; i < stop2; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & ml) === 0) return i + 1 - start;
  }
  return limit === params.maxSize ? limit : -1;
}

/**
 * Streaming chunker: push blocks of any size, receive chunks. Chunks are views into the pushed
 * blocks (or into a small carry buffer when a chunk spans two blocks), so callers must not reuse
 * block buffers after pushing them.
 */
export class Chunker {
  private readonly masks: CutMasks;
  private carry: Buffer | null = null;

  constructor(protected readonly params: ChunkParams = CHUNK_PROFILE_V1) {
    this.masks = masksFor(params);
  }

  /** findCut(buf, start, end) for this chunker's profile; a subclass may find the same cut another way. */
  protected cut(buf: Uint8Array, start: number, end: number): number {
    return findCut(buf, start, end, this.params, this.masks);
  }

  /** Feed a block; calls `emit` for every complete chunk. */
  push(block: Buffer, emit: (chunk: Buffer) => void): void {
    let pos = 0;
    if (this.carry) {
      // Join the unfinished tail with at most maxSize bytes of the new block, never the whole block.
      const carry = this.carry;
      this.carry = null;
      const head = block.subarray(0, Math.min(block.length, this.params.maxSize));
      const joined = Buffer.concat([carry, head]);
      let jpos = 0;
      while (jpos < carry.length) {
        const n = this.cut(joined, jpos, joined.length);
        if (n < 0) {
          // head was the whole block and still no cut: keep waiting for bytes
          this.carry = joined.subarray(jpos);
          return;
        }
        emit(joined.subarray(jpos, jpos + n));
        jpos += n;
      }
      pos = jpos - carry.length;
    }
    for (;;) {
      const n = this.cut(block, pos, block.length);
      if (n < 0) break;
      emit(block.subarray(pos, pos + n));
      pos += n;
    }
    if (pos < block.length) this.carry = block.subarray(pos);
  }

  /** End of input: emit what is left as the final chunk. */
  finish(emit: (chunk: Buffer) => void): void {
    if (this.carry && this.carry.length > 0) emit(this.carry);
    this.carry = null;
  }
}
