// Deltas on the way in: deciding whether a new chunk is stored against its base, and the
// `chunk_deltas` rows (chunk → base, chain depth) that gc and fsck follow (docs/format.md, "Deltas").
import type { Db } from './meta-db.js';
import { TuskError } from '../errors.js';
import { encodeDelta, isUsableBase } from './delta-codec.js';
import type { ChunkId } from './hash.js';

/**
 * Longest chain of deltas a chunk may sit at the end of: reading it decodes at most this many
 * deltas on top of one whole chunk. A chunk whose base is already this deep is stored whole
 * (a keyframe), so a file put over and over costs one whole version every MAX_CHAIN versions.
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

/** A delta row to record once its record is in a pack. */
export interface DeltaRow {
  id: ChunkId;
  base: ChunkId;
  depth: number;
  pack: number;
  offset: number;
}

/** The `chunk_deltas` table: which chunks are deltas, against what, how deep. */
export class DeltaIndex {
  private readonly q;

  constructor(private readonly db: Db) {
    this.q = {
      depth: db.prepare('SELECT depth FROM chunk_deltas WHERE id = ?').pluck(),
      // only for the record this writer wrote: when another writer stored the same chunk first,
      // its row in `chunks` (and its encoding) is the one that counts
      put: db.prepare('INSERT OR IGNORE INTO chunk_deltas (id, base, depth) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ? AND pack = ? AND offset = ?)'),
    };
  }

  /** How many deltas deep a chunk is: 0 for a chunk stored whole. */
  depth(id: ChunkId): number {
    return (this.q.depth.get(id) as number | undefined) ?? 0;
  }

  /** Record delta rows; call in the transaction that records their chunk rows, after them. */
  record(rows: readonly DeltaRow[]): void {
    for (const r of rows) this.q.put.run(r.id, r.base, r.depth, r.id, r.pack, r.offset);
  }

  /** Every delta chunk's base, hex id → hex id (gc keeps the bases of what it keeps). */
  allBases(): Map<string, string> {
    const out = new Map<string, string>();
    for (const r of this.db.prepare('SELECT id, base FROM chunk_deltas').raw().iterate() as IterableIterator<[Buffer, Buffer]>) out.set(r[0].toString('hex'), r[1].toString('hex'));
    return out;
  }
}

/** What the pack writer asks before storing a chunk that has a base. */
export class DeltaEncoder {
  constructor(
    private readonly index: DeltaIndex,
    /** the base's bytes, verified against its id */
    private readonly readBase: (id: ChunkId) => Buffer,
  ) {}

  /**
   * The delta payload for `raw` against `base` and the depth it would have, or null when the
   * chunk is better stored on its own: the chain is full, the base cannot be read or used, or
   * `whole()` (the chunk's own encoding, asked only when the delta is not clearly small) is not
   * at least twice the delta's size.
   */
  encode(raw: Uint8Array, base: ChunkId, whole: () => number): { payload: Buffer; depth: number } | null {
    const depth = this.index.depth(base) + 1;
    if (depth > MAX_CHAIN) return null;
    let baseBytes: Buffer;
    try {
      baseBytes = this.readBase(base);
    } catch (err) {
      // a damaged earlier version must not stop the new one from being stored: it goes in whole
      if (err instanceof TuskError) return null;
      throw err;
    }
    if (!isUsableBase(baseBytes)) return null;
    const payload = encodeDelta(raw, base, baseBytes, DELTA_LEVEL);
    if (payload.length > raw.length * DELTA_SURE_RATIO && payload.length > whole() * DELTA_KEEP_RATIO) return null;
    return { payload, depth };
  }
}
