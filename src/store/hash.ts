// BLAKE3 helpers and the branded id types every store module speaks in.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

interface Blake3 {
  hash(input: Uint8Array, opts?: { length?: number }): Buffer;
  createHash(): { update(data: Uint8Array): unknown; digest(): Buffer };
}
let loaded: Blake3 | undefined;

/**
 * blake3's native binding (a CommonJS module), loaded synchronously on first use rather than at
 * import: commands that only read metadata (`list repo`, `inspect commit`) never hash, and loading
 * the addon is a measurable part of their start-up.
 */
function blake3(): Blake3 {
  return (loaded ??= createRequire(import.meta.url)('blake3') as Blake3);
}

/** 32-byte BLAKE3 digest of a chunk's bytes. */
export type ChunkId = Buffer & { readonly __brand: 'ChunkId' };
/** 32-byte BLAKE3 digest of a whole file's bytes. */
export type ContentId = Buffer & { readonly __brand: 'ContentId' };
/** 32-byte BLAKE3 digest of a tree node's canonical encoding. */
export type NodeId = Buffer & { readonly __brand: 'NodeId' };
/** Pachyderm-style commit id: a UUIDv4 as 32 lowercase hex chars. */
export type CommitId = string & { readonly __brand: 'CommitId' };

export const ID_BYTES = 32;

export function hashBytes(data: Uint8Array): Buffer {
  return blake3().hash(data);
}

/** Incremental hasher for streamed content (file ids). */
export interface Hasher {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

export function createHasher(): Hasher {
  const h = blake3().createHash();
  return {
    update: (d) => void h.update(d),
    digest: () => h.digest(),
  };
}

/**
 * The content id of the empty file, used for zero-byte files without touching packs: BLAKE3 of
 * no bytes, written out so that importing this module does not load the addon (a test checks it).
 */
export const EMPTY_CONTENT_ID = Buffer.from('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262', 'hex') as ContentId;

export function toHex(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

export function fromHex(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

/** A new commit / job id: UUIDv4 rendered as 32 hex chars without dashes, like pachctl. */
export function newCommitId(): CommitId {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b.toString('hex') as CommitId;
}
