// Buffers for decoded chunk bytes, reused. Reading a version stored as deltas decodes every chunk
// once per level of its chain, and each decode wants a buffer of a chunk's size: fresh ones cost
// page faults on first touch and, as external memory, push V8 into collections, which together
// cost more than the decoding. Buffers go back here when their holder is done with them (the
// base cache when it drops one, a copy loop once it has written one) and are handed out again.
//
// Only buffers made here are taken back (anything else given is left to the garbage collector),
// so a caller may give back whatever it read without knowing where it came from. A buffer given
// back must not be used again by whoever gave it.

/** Buffers are made in multiples of this, so a freed one fits the next chunk of about its size. */
const GRAIN = 64 * 1024;
/** Larger requests are not pooled: chunks are at most 512 KiB, delta references at most 4 of them. */
const MAX_POOLED = 4 * 1024 * 1024;
/** Free bytes kept at most; beyond it, a buffer given back is left to the garbage collector. */
const FREE_BUDGET = 16 * 1024 * 1024;

/** Free buffers by size in grains. */
const free = new Map<number, ArrayBuffer[]>();
let freeBytes = 0;
/** Buffers made here and handed out: only they come back into the pool, each once. */
const ours = new WeakSet<ArrayBuffer>();

/** A buffer of `len` bytes, uninitialised: a freed one of about that size when there is one. */
export function takeBuffer(len: number): Buffer {
  if (len === 0 || len > MAX_POOLED) return Buffer.allocUnsafe(len);
  const grains = Math.ceil(len / GRAIN);
  // a freed buffer of up to two grains more is good enough; a larger one would hold memory idle
  for (let g = grains; g <= grains + 2; g++) {
    const list = free.get(g);
    const ab = list?.pop();
    if (ab) {
      freeBytes -= ab.byteLength;
      ours.add(ab);
      return Buffer.from(ab, 0, len);
    }
  }
  const ab = new ArrayBuffer(grains * GRAIN);
  ours.add(ab);
  return Buffer.from(ab, 0, len);
}

/** Give back a buffer that nobody will read or write again. Buffers not made here are ignored. */
export function giveBuffer(b: Uint8Array): void {
  const ab = b.buffer as ArrayBuffer;
  if (!ours.has(ab) || freeBytes + ab.byteLength > FREE_BUDGET) return;
  // given back twice would hand the same memory to two holders: only the first counts
  ours.delete(ab);
  const g = ab.byteLength / GRAIN;
  const list = free.get(g);
  if (list) list.push(ab);
  else free.set(g, [ab]);
  freeBytes += ab.byteLength;
}
