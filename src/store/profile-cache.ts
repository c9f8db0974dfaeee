// Column profiles kept by content id (the chunk index's profiles): contents never change, so a
// profile is computed once for given bytes, whatever path, repo or commit holds them.
import { fromHex, type ContentId } from './hash.js';
import type { StoreCore } from './store-core.js';

/** The stored profile (JSON text) of a content at a profile format version, if any. */
export function loadProfile(s: StoreCore, contentHex: string, version: number): Promise<string | undefined> {
  return s.index.getProfile(fromHex(contentHex) as ContentId, version);
}

/** Keep a profile; a store opened read-only keeps nothing (the next ask computes it again). */
export async function saveProfile(s: StoreCore, contentHex: string, version: number, data: string): Promise<void> {
  if (s.readonly) return;
  await s.index.putProfile(fromHex(contentHex) as ContentId, version, data);
}
