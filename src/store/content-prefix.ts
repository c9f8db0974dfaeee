// Whether one content is the start of another (a file only appended to), decided from chunk ids:
// the chunks both share are equal unread, and only the old chunks past the last shared one are
// compared with the new content's bytes at their offsets (with content-defined chunking, an
// append rewrites the old file's last chunk or two). A size, a timestamp or a line count could
// match after an edit in the middle; chunk ids cannot.
import { CorruptError } from '../errors.js';
import type { ChunkIndex } from './chunk-index.js';
import { readChunk, type ReadContext } from './content-io.js';
import { EMPTY_CONTENT_ID, hashBytes, type ChunkId, type ContentId } from './hash.js';
import type { Packs } from './packs.js';

/** True when the bytes of `before` are exactly the first bytes of `after`. */
export async function isContentPrefix(index: ChunkIndex, packs: Packs, before: ContentId, after: ContentId, ctx: ReadContext): Promise<boolean> {
  if (before.equals(EMPTY_CONTENT_ID)) return true;
  if (after.equals(EMPTY_CONTENT_ID)) return false;
  const both = await index.getContents([before, after]);
  const old = both.get(before.toString('latin1'));
  const cur = both.get(after.toString('latin1'));
  if (!old || !cur) throw new CorruptError(`${ctx.describe()} cannot be read: its content record is missing`, 'run `tusk fsck` to list everything affected');
  if (old.size > cur.size) return false;
  if (before.equals(after)) return true;
  let shared = 0;
  while (shared < old.chunks.length && shared < cur.chunks.length && old.chunks[shared]!.equals(cur.chunks[shared]!)) shared++;
  if (shared === old.chunks.length) return true;
  // only the old chunks past the shared ones are sized: a big file has hundreds before them
  const sizes = await chunkSizes(index, old.chunks.slice(shared), ctx);
  const size = (id: ChunkId) => sizes.get(id.toString('latin1'))!;
  // the new content's chunks from the first one that differs, read one at a time as needed
  let start = old.size;
  for (let i = shared; i < old.chunks.length; i++) start -= size(old.chunks[i]!);
  let next = shared;
  let window = Buffer.alloc(0);
  let windowStart = start;
  for (let i = shared; i < old.chunks.length; i++) {
    const id = old.chunks[i]!;
    const len = size(id);
    while (windowStart + window.length < start + len) {
      if (next >= cur.chunks.length) return false;
      window = Buffer.concat([window.subarray(start - windowStart), await readChunk(index, packs, cur.chunks[next]!, ctx)]);
      windowStart = start;
      next++;
    }
    const at = start - windowStart;
    if (!hashBytes(window.subarray(at, at + len)).equals(id)) return false;
    start += len;
  }
  return true;
}

async function chunkSizes(index: ChunkIndex, ids: ChunkId[], ctx: ReadContext): Promise<Map<string, number>> {
  const locs = await index.getChunks(ids);
  const out = new Map<string, number>();
  for (const id of ids) {
    const loc = locs.get(id.toString('latin1'));
    if (!loc) throw new CorruptError(`${ctx.describe()} cannot be read: chunk ${id.toString('hex').slice(0, 16)} is missing from the index`, 'run `tusk fsck --verify-data` to list everything affected');
    out.set(id.toString('latin1'), loc.rawLen);
  }
  return out;
}
