// Deltas on the way in: deciding whether a new chunk is stored against its bases, and what the
// write path records of them: the `chunk_deltas` rows (chunk → base, chain depth) that gc and fsck
// follow (docs/format.md, "Deltas"), kept by the chunk index.
import { TuskError } from '../errors.js';
import { encodeDelta, isUsableReference, MAX_BASES } from './delta-codec.js';
import type { ChunkId } from './hash.js';

/**
 * Longest chain a chunk may sit at the end of, counted in versions: a delta's depth is one more
 * than its planned bases' (the old version's chunks), whether it is stored against them or skips
 * them (below), so reading it decodes at most this many levels of deltas on top of chunks stored
 * whole, and about half as many where it skipped. A chunk whose planned bases are already this
 * deep is stored whole (a keyframe), so a file put over and over costs one whole version every
 * MAX_CHAIN + 1 versions.
 */
export const MAX_CHAIN = 10;

/**
 * Reading a version decodes each of its chunks once per level of its chain, so every other
 * version skips a level: a chunk whose planned bases all sit at an odd depth (each stored against
 * the version before it) is stored against their bases instead, two versions back, at the same
 * depth as them. The next version sees an even depth and is stored against its own parent again,
 * so no delta spans more than two versions, and it costs about one more version's edits. It is
 * kept when it is at most this share of the chunk; otherwise the chunk is stored against its
 * planned bases as usual.
 */
const SKIP_KEEP_RATIO = 1 / 64;

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

/** A delta payload, the bases it is stored against, and its depth. */
export interface EncodedDelta {
  payload: Buffer;
  bases: ChunkId[];
  depth: number;
}

/** A delta to record once its record is in a pack. */
export interface DeltaRow {
  id: ChunkId;
  bases: readonly ChunkId[];
  depth: number;
  pack: number;
  offset: number;
}

/** What the write path needs of the delta rows (the chunk index holds them: ChunkIndex's deltaDepth, deltaBasesOf and putDeltas). */
export interface DeltaIndex {
  /** A chunk's depth (MAX_CHAIN says what it counts): 0 for a chunk stored whole. */
  depth(id: ChunkId): Promise<number>;
  /** The chunks a delta chunk is stored against; none for a chunk stored whole. */
  bases(id: ChunkId): Promise<ChunkId[]>;
  /** Whether these chunks may be bases: each stays in the store while a delta needs it (no remote-backed chunk, which may be evicted). */
  mayBeBases(ids: readonly ChunkId[]): Promise<boolean>;
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
   * The delta payload for `raw` against the planned `bases` (or, skipping them, against theirs),
   * the bases it was made against and the depth it has, or null when the chunk is better stored
   * on its own: the chain is full, a base cannot be read or used, or `whole()` (the chunk's own
   * encoding, asked only when the delta is not clearly small) is not at least twice the delta's size.
   */
  async encode(raw: Uint8Array, bases: readonly ChunkId[], whole: () => number): Promise<EncodedDelta | null> {
    // After 16 deltas in a row that did not pay, try one chunk in 16 until one does: a file
    // replaced by unrelated content then costs little more than a put of new bytes, and one that
    // is related again further on is found within 16 chunks (ids never depend on this).
    if (this.misses >= 16 && this.misses++ % 16 !== 0) return null;
    const made = await this.attempt(raw, bases, whole);
    if (made) this.misses = 0;
    else if (this.misses < 16) this.misses++;
    return made;
  }

  private async attempt(raw: Uint8Array, bases: readonly ChunkId[], whole: () => number): Promise<EncodedDelta | null> {
    if (bases.length === 0) return null;
    const depths: number[] = [];
    for (const b of bases) depths.push(await this.index.depth(b));
    const depth = Math.max(...depths) + 1;
    if (depth > MAX_CHAIN) return null;
    const skipTo = await this.skipBases(bases, depths);
    if (skipTo) {
      const payload = await this.against(raw, skipTo);
      if (payload && payload.length <= raw.length * SKIP_KEEP_RATIO) return { payload, bases: skipTo, depth };
    }
    const payload = await this.against(raw, bases);
    if (!payload) return null;
    if (payload.length > raw.length * DELTA_SURE_RATIO && payload.length > whole() * DELTA_KEEP_RATIO) return null;
    return { payload, bases: [...bases], depth };
  }

  /**
   * The bases of the planned bases, when the chunk may skip them (SKIP_KEEP_RATIO): each planned
   * base is a delta at an odd depth, and theirs are at most MAX_BASES together and may be bases.
   */
  private async skipBases(planned: readonly ChunkId[], depths: readonly number[]): Promise<ChunkId[] | null> {
    if (depths.some((d) => d % 2 === 0)) return null;
    const out: ChunkId[] = [];
    const seen = new Set<string>();
    for (const p of planned) {
      for (const g of await this.index.bases(p)) {
        const key = g.toString('latin1');
        if (!seen.has(key)) out.push(g);
        seen.add(key);
      }
    }
    if (out.length === 0 || out.length > MAX_BASES || !(await this.index.mayBeBases(out))) return null;
    return out;
  }

  /** A delta payload of `raw` against `bases`, or null when a base cannot be read or used. */
  private async against(raw: Uint8Array, bases: readonly ChunkId[]): Promise<Buffer | null> {
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
    return encodeDelta(raw, bases, ref, DELTA_LEVEL);
  }
}
