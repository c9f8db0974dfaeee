// A big content's chunk ids as its writer collects them: back to back in one growing buffer.
import { splitIds, type ContentRecord } from './chunk-index.js';
import { ID_BYTES, type ChunkId } from './hash.js';

/** Ids room is made for at first: a 16 MiB file (the smallest the content worker takes) has ~100. */
const FIRST_IDS = 256;

/**
 * Chunk ids appended 32 bytes at a time to one buffer that doubles when full. Kept as a Buffer per
 * id, a big file's list cost ~490 bytes a chunk until its commit (the view, and the worker's reply
 * whose copy it kept alive): 3.5 MiB per GiB put, 35 MiB at 10 GiB. Packed, an id costs 32 bytes.
 */
export class ChunkIdList {
  private buf: Buffer = Buffer.allocUnsafe(FIRST_IDS * ID_BYTES);
  private n = 0;

  get length(): number {
    return this.n;
  }

  /** Append the ids in `ids` (32 bytes each), copied: the caller's buffer is not kept. */
  append(ids: Uint8Array): void {
    const end = this.n * ID_BYTES + ids.length;
    if (end > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < end) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      this.buf.copy(grown, 0, 0, this.n * ID_BYTES);
      this.buf = grown;
    }
    this.buf.set(ids, this.n * ID_BYTES);
    this.n = end / ID_BYTES;
  }

  /** The `i`th id: a view, valid while the list is not appended to. */
  at(i: number): ChunkId {
    return this.buf.subarray(i * ID_BYTES, (i + 1) * ID_BYTES) as ChunkId;
  }

  /** Every id, back to back: a view, valid while the list is not appended to. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.n * ID_BYTES);
  }
}

/**
 * `rec` with its chunk ids given `packed` back to back, as the store writes a list: `chunks`, a
 * Buffer per id, is made only when something reads it (a put writes `packed` as it is).
 */
export function packedContent(rec: Omit<ContentRecord, 'chunks' | 'packed'>, packed: Buffer): ContentRecord {
  let chunks: ChunkId[] | undefined;
  return {
    id: rec.id,
    size: rec.size,
    ...(rec.endState ? { endState: rec.endState } : {}),
    packed,
    get chunks(): ChunkId[] {
      return (chunks ??= splitIds(packed));
    },
  };
}
