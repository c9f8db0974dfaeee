// Which chunk of a file's earlier version a new chunk is stored against (docs/format.md, "Deltas").
// Pure: the earlier version's chunk ids and sizes in, one base per new chunk out.
import type { ChunkIndex } from './chunk-index.js';
import type { ChunkId, ContentId } from './hash.js';

/** Below this size a file is one or two chunks: a delta would save little and cost a chain. */
export const DELTA_MIN_FILE_BYTES = 256 * 1024;

/**
 * The earlier version of a file, laid out by offset. Cuts are content-defined, so after edits
 * that keep the file's length roughly the same the new file's chunks line up with the old ones;
 * a new chunk's base is the old chunk that overlaps most of the same relative range (offsets
 * scaled by the ratio of the sizes, so rows inserted or removed at one end do not shift every
 * later match by a chunk). A poor match costs only space: the writer then stores
 * the chunk on its own.
 */
export class DeltaPlan {
  private constructor(
    private readonly ids: readonly ChunkId[],
    /** ends[i] = offset just past old chunk i */
    private readonly ends: Float64Array,
    private readonly oldSize: number,
    private readonly newSize: number,
  ) {}

  /** A plan against `prev` for a new version of about `newSize` bytes (0: unknown); null when deltas cannot pay. */
  static against(index: ChunkIndex, prev: ContentId, newSize: number): DeltaPlan | null {
    if (newSize > 0 && newSize < DELTA_MIN_FILE_BYTES) return null;
    const rec = index.getContent(prev);
    if (!rec || rec.size < DELTA_MIN_FILE_BYTES || rec.chunks.length === 0) return null;
    const locs = index.getChunks(rec.chunks);
    const ends = new Float64Array(rec.chunks.length);
    let at = 0;
    for (let i = 0; i < rec.chunks.length; i++) {
      const loc = locs.get(rec.chunks[i]!.toString('latin1'));
      if (!loc) return null; // a damaged earlier version: store the new one on its own
      at += loc.rawLen;
      ends[i] = at;
    }
    return new DeltaPlan(rec.chunks, ends, at, newSize || at);
  }

  /** The base for the new chunk at [start, end) of the new file: the old chunk that overlaps most of it. */
  baseFor(start: number, end: number): ChunkId {
    const scale = this.oldSize / Math.max(this.newSize, end);
    const from = start * scale;
    const to = end * scale;
    let best = this.chunkAt(from);
    let bestOverlap = -1;
    for (let i = best; i < this.ends.length; i++) {
      const lo = i === 0 ? 0 : this.ends[i - 1]!;
      if (lo >= to) break;
      const overlap = Math.min(to, this.ends[i]!) - Math.max(from, lo);
      if (overlap > bestOverlap) {
        best = i;
        bestOverlap = overlap;
      }
    }
    return this.ids[best]!;
  }

  /** The old chunk that holds offset `at` (the last one for offsets past the end). */
  private chunkAt(at: number): number {
    let lo = 0;
    let hi = this.ends.length - 1;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (this.ends[m]! > at) hi = m;
      else lo = m + 1;
    }
    return lo;
  }
}
