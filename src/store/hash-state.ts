// Whole-file hashers that can stop and go on. A big content keeps the BLAKE3 state at its end
// (table content_states): a later content that starts with it (an appended datum output, `put
// file -a`) takes the state up and hashes only its new bytes, instead of reading the earlier
// bytes back from packs to hash them again. The state is a shortcut, never trusted: it is used
// only after it digests to the earlier content's id and says it holds that content's size; a
// content without a usable state is read (and verified) and hashed whole, as before.
import type { ContentRecord } from './chunk-index.js';
import { createHasher, type ContentId, type Hasher } from './hash.js';
import { nativeStateHasher } from './native-io.js';

/** A whole-file hasher; `state` is there where the addon can write the state out. */
export interface WholeHasher extends Hasher {
  state?(): Buffer;
  /** frees the addon's hasher at once; nothing may be asked of it afterwards */
  close?(): void;
}

/**
 * Contents at least this big keep their end state. Below it, reading the earlier content back
 * costs little, and a row per small content would not pay for itself.
 */
export const STATE_MIN_BYTES = 4 << 20;

/** Bytes of input a state holds: byte 0 is the format, bytes 1-8 the 1 KiB chunks before the current one, 41-42 its compressed blocks and pending bytes (tusk-io.c). */
export function stateInputBytes(state: Buffer): number {
  if (state.length < 44 || state[0] !== 1) return -1;
  return Number(state.readBigUInt64LE(1)) * 1024 + state[41]! * 64 + state[42]!;
}

/** Whether kept states can be checked (and so written and taken up) here: the addon has the hasher. */
export function canCheckStates(): boolean {
  return nativeStateHasher(null) !== null;
}

/** A fresh whole-file hasher: one that can write its state out where the addon is built, else the plain one. */
export function createWholeHasher(): WholeHasher {
  return nativeStateHasher(null) ?? createHasher();
}

/** `rec` with the end state of `h`, the hasher that hashed it, where a content that big keeps one. */
export function withEndState(rec: ContentRecord, h: WholeHasher): ContentRecord {
  return rec.size >= STATE_MIN_BYTES && h.state ? { ...rec, endState: h.state() } : rec;
}

/** The digest of what `h` was given, with its end state where a content of `size` keeps one; `h` is closed. */
export function finishWhole(h: WholeHasher, rec: Omit<ContentRecord, 'id'>): ContentRecord {
  try {
    return withEndState({ id: h.digest() as ContentId, size: rec.size, chunks: rec.chunks }, h);
  } finally {
    h.close?.();
  }
}

/**
 * A hasher that has been given the `size` bytes of content `id`, taken up from `state`; null
 * where there is no state, the addon cannot take it, or it is not that content's (a damaged
 * row, a state of another format): the caller then hashes the content's bytes again.
 */
export function resumeHasher(state: Buffer | undefined, id: ContentId, size: number): WholeHasher | null {
  if (!state || stateInputBytes(state) !== size) return null;
  const h = nativeStateHasher(state);
  if (!h) return null;
  if (h.digest().equals(id)) return h;
  h.close();
  return null;
}
