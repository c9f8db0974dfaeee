// Which chunk of a file's earlier version a new chunk is stored against (docs/format.md, "Deltas").
// Pure: the earlier version's chunk ids and sizes in, one base per new chunk out.
import type { ChunkIndex } from './chunk-index.js';
import { MAX_BASES } from './delta-codec.js';
import type { ChunkId, ContentId } from './hash.js';

/**
 * How far (bytes) a new chunk's range is widened on each side when picking bases: edits that
 * change row lengths move the new file's offsets against the old one's by about this much.
 */
const DRIFT = 8 * 1024;

/** Below this size a file is one or two chunks: a delta would save little and cost a chain. */
export const DELTA_MIN_FILE_BYTES = 256 * 1024;

/**
 * The earlier version of a file, laid out by offset. A new chunk is stored against the old chunks
 * that cover the same relative range (offsets scaled by the ratio of the sizes, so rows inserted
 * or removed at one end do not shift every later match): most new chunks line up with one old
 * chunk, since cuts are content-defined, but where an edit moved a cut a new chunk straddles two,
 * and against one of them alone it would cost half its size. A poor match costs only space: the
 * writer then stores the chunk on its own.
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

  /**
   * The bases for the new chunk at [start, end) of the new file: the old chunks that overlap the
   * same relative range, widened by DRIFT on each side, at most MAX_BASES of them around its middle.
   */
  basesFor(start: number, end: number): ChunkId[] {
    const scale = this.oldSize / Math.max(this.newSize, end);
    let first = this.chunkAt(Math.max(0, start * scale - DRIFT));
    let last = this.chunkAt(end * scale + DRIFT);
    while (last - first + 1 > MAX_BASES) {
      // drop from the side that lies further from the middle of the range
      const mid = ((start + end) / 2) * scale;
      const lo = first === 0 ? 0 : this.ends[first - 1]!;
      if (mid - lo > this.ends[last]! - mid) first++;
      else last--;
    }
    return this.ids.slice(first, last + 1);
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
