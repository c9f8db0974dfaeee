// Which chunk of a file's earlier version a new chunk is stored against (docs/format.md, "Deltas").
// The earlier version's chunk ids and sizes in (one lookup of each), one base per new chunk out.
import type { ChunkIndex } from './chunk-index.js';
import { MAX_BASES } from './delta-codec.js';
import type { ChunkId, ContentId } from './hash.js';

/**
 * An old chunk that overlaps less than this much of a new chunk's range is not worth a base: a
 * base costs a read (and, down a chain, the reads of its own bases), and the few bytes it could
 * match cost little stored as they are. Offsets drift by a few hundred bytes between versions
 * whose edits change row lengths, so a chunk that lines up with one old chunk gets only that one.
 */
const MIN_OVERLAP = 4 * 1024;

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
  static async against(index: ChunkIndex, prev: ContentId, newSize: number): Promise<DeltaPlan | null> {
    if (newSize > 0 && newSize < DELTA_MIN_FILE_BYTES) return null;
    const rec = await index.getContent(prev);
    if (!rec || rec.size < DELTA_MIN_FILE_BYTES || rec.chunks.length === 0) return null;
    const locs = await index.getChunks(rec.chunks);
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
   * The bases for the new chunk at [start, end) of the new file: the old chunks that overlap at
   * least MIN_OVERLAP bytes of the same relative range (always the one that overlaps most), at
   * most MAX_BASES of them.
   */
  basesFor(start: number, end: number): ChunkId[] {
    const scale = this.oldSize / Math.max(this.newSize, end);
    const from = start * scale;
    const to = end * scale;
    const picked: { i: number; overlap: number }[] = [];
    for (let i = this.chunkAt(from); i < this.ends.length; i++) {
      const lo = i === 0 ? 0 : this.ends[i - 1]!;
      if (lo >= to) break;
      picked.push({ i, overlap: Math.min(to, this.ends[i]!) - Math.max(from, lo) });
    }
    const best = Math.max(...picked.map((p) => p.overlap));
    const kept = picked.filter((p) => p.overlap >= MIN_OVERLAP || p.overlap === best);
    // the largest overlaps when there are too many, kept in file order (the reference is their bytes end to end)
    const top = kept.length > MAX_BASES ? new Set([...kept].sort((a, b) => b.overlap - a.overlap).slice(0, MAX_BASES).map((p) => p.i)) : null;
    return kept.filter((p) => !top || top.has(p.i)).map((p) => this.ids[p.i]!);
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
