// A byte range of a file (`get file --offset N --length M`): only the chunks that hold the range
// are read, each verified against its chunk id, so reading 1 MiB of a big file — or of an old
// version stored as deltas — costs the chunks of that MiB (and their bases), not the file.
import { CorruptError } from '../errors.js';
import type { ChunkIndex, ChunkLocation } from './chunk-index.js';
import { addChains, type Places } from './chunk-places.js';
import { readChunk, readChunkAsync, type ReadContext } from './content-io.js';
import { EMPTY_CONTENT_ID, type ChunkId, type ContentId } from './hash.js';
import type { Packs } from './packs.js';

/** The bytes [offset, offset + length) of a content, clipped to its size, chunk by verified chunk. */
export async function* readRange(index: ChunkIndex, packs: Packs, id: ContentId, ctx: ReadContext, offset: number, length: number): AsyncGenerator<Buffer> {
  const { parts, places } = await chunksInRange(index, id, ctx, offset, length, true);
  for (const { chunk, loc, from, to } of parts) yield (await readChunk(index, packs, chunk, ctx, loc, { places })).subarray(from, to);
}

/** readRange through the pack contract's ranged reads: packs that are not local (a bucket). */
export async function* readRangeAsync(index: ChunkIndex, packs: Packs, id: ContentId, ctx: ReadContext, offset: number, length: number): AsyncGenerator<Buffer> {
  const { parts } = await chunksInRange(index, id, ctx, offset, length, false);
  for (const { chunk, loc, from, to } of parts) yield (await readChunkAsync(index, packs, chunk, ctx, loc)).subarray(from, to);
}

/**
 * The chunks that hold [offset, offset + length), each with the part of it inside the range, and
 * (with `chains`) where the bases of the deltas among them lie: one more query for the range.
 */
async function chunksInRange(
  index: ChunkIndex,
  id: ContentId,
  ctx: ReadContext,
  offset: number,
  length: number,
  chains: boolean,
): Promise<{ parts: { chunk: ChunkId; loc: ChunkLocation; from: number; to: number }[]; places: Places }> {
  const parts: { chunk: ChunkId; loc: ChunkLocation; from: number; to: number }[] = [];
  if (id.equals(EMPTY_CONTENT_ID) || length <= 0) return { parts, places: new Map() };
  const rec = await index.getContent(id);
  if (!rec) throw new CorruptError(`${ctx.describe()} cannot be read: its content record is missing`, 'run `tusk fsck` to list everything affected');
  const end = offset + length;
  // sizes come from the index in one query per 500 chunks; the chunks before the range are not read
  const locs = await index.getChunks(rec.chunks);
  let at = 0;
  for (const c of rec.chunks) {
    if (at >= end) break;
    const loc = locs.get(c.toString('latin1'));
    if (!loc) throw new CorruptError(`${ctx.describe()} cannot be read: chunk ${c.toString('hex').slice(0, 16)} is missing from the index`, 'run `tusk fsck --verify-data` to list everything affected');
    if (at + loc.rawLen > offset) parts.push({ chunk: c, loc, from: Math.max(0, offset - at), to: Math.min(loc.rawLen, end - at) });
    at += loc.rawLen;
  }
  if (chains) await addChains(index, locs, parts.map((p) => p.chunk));
  return { parts, places: locs };
}
