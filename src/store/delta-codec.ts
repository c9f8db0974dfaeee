// The bytes of a delta record (docs/format.md, "Deltas"): a chunk stored as zstd compression of
// its bytes against the raw bytes of a base chunk, which zstd reads as a raw-content dictionary —
// `zstd --patch-from` for one chunk. Pure: bytes in, bytes out; where the base comes from is the
// caller's business.
import { createRequire } from 'node:module';
import { ID_BYTES, type ChunkId } from './hash.js';

interface Binding {
  CCtx: new () => { compressUsingDict(dst: Uint8Array, src: Uint8Array, dict: Uint8Array, level: number): number };
  DCtx: new () => { decompressUsingDict(dst: Uint8Array, src: Uint8Array, dict: Uint8Array): number };
  compressBound(size: number): number;
}

let binding: Binding | undefined;
let cctx: InstanceType<Binding['CCtx']> | undefined;
let dctx: InstanceType<Binding['DCtx']> | undefined;

// zstd-napi's low-level binding: its high-level API has no dictionary compression of one buffer.
// Loaded on first use, as zstd.ts loads the rest, and one context of each kind is reused.
function zstd(): Binding {
  return (binding ??= createRequire(import.meta.url)('zstd-napi/binding') as Binding);
}

/**
 * zstd takes a dictionary that starts with its dictionary magic (37 a4 30 ec) for a trained
 * dictionary, not for raw content, and anything under 8 bytes for no dictionary at all: such a
 * base is never used, so that every base means exactly its bytes.
 */
export function isUsableBase(base: Uint8Array): boolean {
  return base.length >= 8 && !(base[0] === 0x37 && base[1] === 0xa4 && base[2] === 0x30 && base[3] === 0xec);
}

/** A delta record's payload: the base chunk's id, then a zstd frame of `raw` against the base's bytes. */
export function encodeDelta(raw: Uint8Array, baseId: ChunkId, base: Uint8Array, level: number): Buffer {
  const z = zstd();
  const out = Buffer.allocUnsafe(ID_BYTES + z.compressBound(raw.length));
  out.set(baseId, 0);
  const n = (cctx ??= new z.CCtx()).compressUsingDict(out.subarray(ID_BYTES), raw, base, level);
  return out.subarray(0, ID_BYTES + n);
}

/** The base chunk a delta payload was made against; null when the payload is too short to name one. */
export function deltaBase(payload: Uint8Array): ChunkId | null {
  return payload.length > ID_BYTES ? (Buffer.from(payload.subarray(0, ID_BYTES)) as ChunkId) : null;
}

/**
 * The `rawLen` bytes a delta payload stands for, given its base's bytes. Throws when the frame is
 * damaged or yields another length; the caller checks the bytes against the chunk id.
 */
export function decodeDelta(payload: Uint8Array, rawLen: number, base: Uint8Array): Buffer {
  const z = zstd();
  const out = Buffer.allocUnsafe(rawLen);
  const n = (dctx ??= new z.DCtx()).decompressUsingDict(out, payload.subarray(ID_BYTES), base);
  if (n !== rawLen) throw new Error(`delta decodes to ${n} bytes, not ${rawLen}`);
  return out;
}
