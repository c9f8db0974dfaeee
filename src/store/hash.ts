// BLAKE3 helpers and the branded id types every store module speaks in.
import { randomBytes } from 'node:crypto';
import { nativeBackend, SMALL_INPUT, wasmOneShot, type Blake3Backend } from './blake3-backends.js';

let native: Blake3Backend | undefined;
let small: ((input: Uint8Array) => Buffer) | null | undefined;

/**
 * Loaded on first use rather than at import: commands that only read metadata (`list repo`,
 * `inspect commit`) never hash, and loading the addon is a measurable part of their start-up.
 */
function blake3(): Blake3Backend {
  return (native ??= nativeBackend());
}

/** The wasm one-shot for small inputs (blake3-backends.ts says why); null where it cannot load. */
function smallHash(): ((input: Uint8Array) => Buffer) | null {
  if (small === undefined) small = wasmOneShot();
  return small;
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
  if (data.length < SMALL_INPUT) {
    const hash = smallHash();
    if (hash) return hash(data);
  }
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
