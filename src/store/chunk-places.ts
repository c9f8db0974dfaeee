// Where the chunks a read needs lie, looked up ahead of it in batches: a network index answers
// each batch in one round trip, and the bytes are then read without asking it again.
import type { ChunkIndex, ChunkLocation } from './chunk-index.js';
import type { ChunkId } from './hash.js';
import { Codec } from './pack-format.js';

/** Latin1 chunk id → where the chunk lies: what a read looked up ahead, in batches. */
export interface Places {
  get(key: string): ChunkLocation | undefined;
}

/** The places of several lookups as one (a run of chunks that spans two windows of lookups). */
export function joinPlaces(all: readonly Places[]): Places {
  if (all.length === 1) return all[0]!;
  return {
    get: (key) => {
      for (const p of all) {
        const loc = p.get(key);
        if (loc) return loc;
      }
      return undefined;
    },
  };
}

/**
 * Where `ids` lie, and every chunk the deltas among them are decoded from: two queries for the
 * lot (a network index answers each in one round trip), so that reading them asks nothing more.
 */
export async function lookUpPlaces(index: ChunkIndex, ids: readonly ChunkId[]): Promise<Map<string, ChunkLocation>> {
  const places = await index.getChunks(ids);
  await addChains(index, places, ids);
  return places;
}

/** Add to `places` where the bases of the deltas among `ids` (whose places it holds) lie, down their chains. */
export async function addChains(index: ChunkIndex, places: Map<string, ChunkLocation>, ids: readonly ChunkId[]): Promise<void> {
  const deltas = ids.filter((id) => places.get(id.toString('latin1'))?.codec === Codec.Delta);
  if (deltas.length === 0) return;
  for (const [k, loc] of await index.getChainChunks(deltas)) if (!places.has(k)) places.set(k, loc);
}
