// The bytes of a delta record (docs/format.md, "Deltas"): a chunk stored as zstd compression of
// its bytes against the raw bytes of one or more base chunks laid end to end, which zstd reads as
// a raw-content dictionary — `zstd --patch-from` for one chunk. Pure: bytes in, bytes out; where
// the bases come from is the caller's business.
import { createRequire } from 'node:module';
import { takeBuffer } from './chunk-buffers.js';
import { ID_BYTES, type ChunkId } from './hash.js';

interface Binding {
  CCtx: new () => { compressUsingDict(dst: Uint8Array, src: Uint8Array, dict: Uint8Array, level: number): number };
  DCtx: new () => { decompressUsingDict(dst: Uint8Array, src: Uint8Array, dict: Uint8Array): number };
  compressBound(size: number): number;
}

/** At most this many base chunks per delta: a payload names them in one byte, and a read decodes each. */
export const MAX_BASES = 4;

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
 * reference is never used, so that every delta means exactly its bases' bytes.
 */
export function isUsableReference(ref: Uint8Array): boolean {
  return ref.length >= 8 && !(ref[0] === 0x37 && ref[1] === 0xa4 && ref[2] === 0x30 && ref[3] === 0xec);
}

/**
 * A delta record's payload: the number of bases (1 byte), their ids, then a zstd frame of `raw`
 * against `ref`, the bases' bytes in that order.
 */
export function encodeDelta(raw: Uint8Array, bases: readonly ChunkId[], ref: Uint8Array, level: number): Buffer {
  const z = zstd();
  const head = 1 + bases.length * ID_BYTES;
  const out = Buffer.allocUnsafe(head + z.compressBound(raw.length));
  out[0] = bases.length;
  bases.forEach((b, i) => out.set(b, 1 + i * ID_BYTES));
  const n = (cctx ??= new z.CCtx()).compressUsingDict(out.subarray(head), raw, ref, level);
  return out.subarray(0, head + n);
}

/** The base chunks a delta payload was made against, in order; null when the payload cannot name them. */
export function deltaBases(payload: Uint8Array): ChunkId[] | null {
  const n = payload[0] ?? 0;
  if (n === 0 || n > MAX_BASES || payload.length <= 1 + n * ID_BYTES) return null;
  const out: ChunkId[] = [];
  for (let i = 0; i < n; i++) out.push(Buffer.from(payload.subarray(1 + i * ID_BYTES, 1 + (i + 1) * ID_BYTES)) as ChunkId);
  return out;
}

/**
 * The `rawLen` bytes a delta payload stands for, given its bases' bytes end to end. Throws when
 * the frame is damaged or yields another length; the caller checks the bytes against the chunk id.
 * The result is a reusable buffer (chunk-buffers.ts).
 */
export function decodeDelta(payload: Uint8Array, rawLen: number, ref: Uint8Array): Buffer {
  const z = zstd();
  const out = takeBuffer(rawLen);
  const n = (dctx ??= new z.DCtx()).decompressUsingDict(out, payload.subarray(1 + payload[0]! * ID_BYTES), ref);
  if (n !== rawLen) throw new Error(`delta decodes to ${n} bytes, not ${rawLen}`);
  return out;
}
