// Where remote-backed chunks (lazy clones) come from: src/remote implements it over a remote's
// packs and index objects; lazy-fetch.ts uses it. A contract of its own so that the store core can
// hold one without depending on the code that fetches.
import type { ChunkId } from './hash.js';

export interface RemoteChunkSource {
  /** The remote's URL, for messages (never a secret). */
  url(remote: string): string;
  /**
   * Read the records of `ids` from `remote`, as stored there, handing each to `onRecord` as it
   * arrives (`where` names the remote object, for messages). Unverified: the caller checks them.
   */
  fetch(remote: string, ids: readonly ChunkId[], onRecord: (id: ChunkId, record: Buffer, where: string) => void): Promise<void>;
}
