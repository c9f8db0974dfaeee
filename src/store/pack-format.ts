// The on-disk layout of a pack file (docs/format.md). Packs are self-describing so that fsck can
// check them and the chunk index can be rebuilt from packs alone.

export const PACK_MAGIC = Buffer.from('TUSKPK01', 'latin1');
export const PACK_HEADER_BYTES = PACK_MAGIC.length;

/** 'TKCH' in front of every record: a cheap check that an offset really starts a record. */
export const RECORD_MAGIC = 0x544b4348;
/** magic u32 | codec u8 | 3 reserved | raw_len u32 | stored_len u32 | chunk id [32] */
export const RECORD_HEADER_BYTES = 48;

export const enum Codec {
  Raw = 0,
  Zstd = 1,
  /** stored against a base chunk (delta-codec.ts): payload = base id, then a zstd frame */
  Delta = 2,
}

/** Packs are sealed (no more appends) once they pass this size; gc rewrites whole packs. */
export const PACK_TARGET_BYTES = 64 * 1024 * 1024;

export function encodeRecordHeader(id: Uint8Array, codec: Codec, rawLen: number, storedLen: number): Buffer {
  const h = Buffer.alloc(RECORD_HEADER_BYTES);
  writeRecordHeader(h, 0, id, codec, rawLen, storedLen);
  return h;
}

/** encodeRecordHeader into zeroed bytes of `buf` at `at` (the reserved bytes are left as they are). */
export function writeRecordHeader(buf: Buffer, at: number, id: Uint8Array, codec: Codec, rawLen: number, storedLen: number): void {
  buf.writeUInt32BE(RECORD_MAGIC, at);
  buf.writeUInt8(codec, at + 4);
  buf.writeUInt32BE(rawLen, at + 8);
  buf.writeUInt32BE(storedLen, at + 12);
  buf.set(id, at + 16);
}

export interface RecordHeader {
  codec: Codec;
  rawLen: number;
  storedLen: number;
  id: Buffer;
}

export function decodeRecordHeader(buf: Buffer): RecordHeader | null {
  if (buf.length < RECORD_HEADER_BYTES || buf.readUInt32BE(0) !== RECORD_MAGIC) return null;
  // the reserved bytes are written as zero: anything else is damage (a flip there would otherwise go unseen)
  if (buf[5] !== 0 || buf[6] !== 0 || buf[7] !== 0) return null;
  return {
    codec: buf.readUInt8(4) as Codec,
    rawLen: buf.readUInt32BE(8),
    storedLen: buf.readUInt32BE(12),
    id: Buffer.from(buf.subarray(16, 48)),
  };
}
