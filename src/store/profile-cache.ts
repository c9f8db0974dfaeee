// Column profiles kept by content id (table `profiles`): contents never change, so a profile is
// computed once for given bytes, whatever path, repo or commit holds them.
import { fromHex } from './hash.js';
import type { StoreCore } from './store-core.js';

/** The stored profile (JSON text) of a content at a profile format version, if any. */
export function loadProfile(s: StoreCore, contentHex: string, version: number): string | undefined {
  return s.db.prepare('SELECT data FROM profiles WHERE content = ? AND version = ?').pluck().get(fromHex(contentHex), version) as string | undefined;
}

/** Keep a profile; a store opened read-only keeps nothing (the next ask computes it again). */
export function saveProfile(s: StoreCore, contentHex: string, version: number, data: string): void {
  if (s.readonly) return;
  s.db.prepare('INSERT OR REPLACE INTO profiles (content, version, data) VALUES (?, ?, ?)').run(fromHex(contentHex), version, data);
}
