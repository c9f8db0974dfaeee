// Deltas on the way in: deciding whether a new chunk is stored against its bases, and what the
// write path records of them: the `chunk_deltas` rows (chunk → base, chain depth) that gc and fsck
// follow (docs/format.md, "Deltas"), kept by the chunk index.
import { TuskError } from '../errors.js';
import { encodeDelta, isUsableReference } from './delta-codec.js';
import type { ChunkId } from './hash.js';

/**
 * Longest chain of deltas a chunk may sit at the end of: reading it decodes at most this many
 * levels of deltas on top of chunks stored whole. A chunk whose bases are already this deep is
 * stored whole (a keyframe), so a file put over and over costs one whole version every
 * MAX_CHAIN + 1 versions.
 */
export const MAX_CHAIN = 10;

/** zstd level of delta frames: the frames are small, so a stronger level costs little time. */
export const DELTA_LEVEL = 6;

/**
 * A delta at most this share of the chunk's size is kept without trying the chunk on its own;
 * above it, the delta must also be at most DELTA_KEEP_RATIO of what the chunk costs on its own,
 * or the chunk is stored on its own (a patch that grew past a share of the full size is not
 * worth a longer chain).
 */
const DELTA_SURE_RATIO = 1 / 16;
const DELTA_KEEP_RATIO = 0.5;

/** A delta to record once its record is in a pack. */
export interface DeltaRow {
  id: ChunkId;
  bases: readonly ChunkId[];
  depth: number;
  pack: number;
  offset: number;
}

/** What the write path needs of the delta rows (the chunk index holds them: ChunkIndex's deltaDepth and putDeltas). */
export interface DeltaIndex {
  /** How many levels of deltas a chunk sits on: 0 for a chunk stored whole. */
  depth(id: ChunkId): Promise<number>;
  /** Record deltas; in the unit that records their chunk rows, after them. */
  record(rows: readonly DeltaRow[]): Promise<void>;
}

/** What the pack writer asks before storing a chunk that has bases. */
export class DeltaEncoder {
  /** deltas in a row that were not kept (a file replaced by unrelated bytes) */
  private misses = 0;

  constructor(
    private readonly index: DeltaIndex,
    /** a base's bytes, verified against its id, in a buffer of the caller's own */
    private readonly readBase: (id: ChunkId) => Promise<Buffer>,
  ) {}

  /**
   * The delta payload for `raw` against `bases` and the depth it would have, or null when the
   * chunk is better stored on its own: the chain is full, a base cannot be read or used, or
   * `whole()` (the chunk's own encoding, asked only when the delta is not clearly small) is not
   * at least twice the delta's size.
   */
  async encode(raw: Uint8Array, bases: readonly ChunkId[], whole: () => number): Promise<{ payload: Buffer; depth: number } | null> {
    // After 16 deltas in a row that did not pay, try one chunk in 16 until one does: a file
    // replaced by unrelated content then costs little more than a put of new bytes, and one that
    // is related again further on is found within 16 chunks (ids never depend on this).
    if (this.misses >= 16 && this.misses++ % 16 !== 0) return null;
    const made = await this.attempt(raw, bases, whole);
    if (made) this.misses = 0;
    else if (this.misses < 16) this.misses++;
    return made;
  }

  private async attempt(raw: Uint8Array, bases: readonly ChunkId[], whole: () => number): Promise<{ payload: Buffer; depth: number } | null> {
    let depth = 0;
    for (const b of bases) depth = Math.max(depth, (await this.index.depth(b)) + 1);
    if (depth > MAX_CHAIN) return null;
    let ref: Buffer;
    try {
      const parts: Buffer[] = [];
      for (const b of bases) parts.push(await this.readBase(b));
      ref = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    } catch (err) {
      // a damaged earlier version must not stop the new one from being stored: it goes in whole
      if (err instanceof TuskError) return null;
      throw err;
    }
    if (!isUsableReference(ref)) return null;
    const payload = encodeDelta(raw, bases, ref, DELTA_LEVEL);
    if (payload.length > raw.length * DELTA_SURE_RATIO && payload.length > whole() * DELTA_KEEP_RATIO) return null;
    return { payload, depth };
  }
}
