// A run of chunk records lying back to back in one pack, as a big file's chunks usually do: read
// with one pread, then taken apart here. It depends on nothing but the pack format
// (docs/format.md, "Packs").
import { decompress } from './zstd.js';
import { Codec, decodeRecordHeader, RECORD_HEADER_BYTES } from './pack-format.js';

/** What the chunk index says about each record of a run. */
export interface RunLayout {
  /** [offset from the run's start, stored length, raw length, codec] per record */
  records: Int32Array;
  /** the chunks' ids, 32 bytes each */
  ids: Uint8Array;
}

/**
 * Check every record header of a run read into bufs[0] against `layout` and point `pieces`
 * ([buffer index, offset, length] per record) at each chunk's raw bytes; a compressed chunk is
 * decompressed into a buffer of its own, appended to `bufs`. A record that does not match (a
 * damaged header, another id, codec or length, data that does not decompress) goes to `onBad`,
 * which fills its piece some other way and returns true, or returns false to stop. Chunk bytes
 * are not hashed here. Returns whether every record got a piece.
 */
export function takeApartRun(bufs: ArrayBuffer[], layout: RunLayout, pieces: Int32Array, onBad: (j: number) => boolean): boolean {
  const buf = bufs[0]!;
  const { records, ids } = layout;
  for (let j = 0; j < records.length / 4; j++) {
    const rel = records[4 * j]!;
    const storedLen = records[4 * j + 1]!;
    const rawLen = records[4 * j + 2]!;
    const codec = records[4 * j + 3]! as Codec;
    const h = rel + RECORD_HEADER_BYTES + storedLen <= buf.byteLength ? decodeRecordHeader(Buffer.from(buf, rel, RECORD_HEADER_BYTES)) : null;
    let ok = !!h && h.codec === codec && h.storedLen === storedLen && h.rawLen === rawLen && h.id.equals(ids.subarray(32 * j, 32 * j + 32));
    if (ok && codec === Codec.Raw && storedLen === rawLen) {
      pieces.set([0, rel + RECORD_HEADER_BYTES, rawLen], 3 * j);
    } else if (ok && codec === Codec.Zstd) {
      let data: Buffer | null = null;
      try {
        data = decompress(new Uint8Array(buf, rel + RECORD_HEADER_BYTES, storedLen));
      } catch {
        data = null;
      }
      if (data && data.length === rawLen) {
        // a buffer of its own, so it can be transferred between threads
        const own = new ArrayBuffer(rawLen);
        new Uint8Array(own).set(data);
        pieces.set([bufs.push(own) - 1, 0, rawLen], 3 * j);
      } else ok = false;
    } else ok = false;
    if (!ok && !onBad(j)) return false;
  }
  return true;
}
