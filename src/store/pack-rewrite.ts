// gc's rewrite of a sparse pack: its live chunks copied into a fresh pack, the chunk rows moved in
// one unit of work, then the old pack deleted. The same steps for packs on this disk and for
// objects in a bucket; only how bytes are read and made durable differs.
import { crashPoint } from './crash-points.js';
import type { PackedChunk, PackUsage } from './chunk-index.js';
import type { ChunkId } from './hash.js';
import { ObjectPackAppender } from './object-appender.js';
import { encodeRecordHeader, PACK_MAGIC, RECORD_HEADER_BYTES } from './pack-format.js';
import type { PackAppender } from './packs.js';
import type { StoreCore } from './store-core.js';
import { WriteSession } from './write-session.js';

/** Packs whose live bytes fall below this share of their size are rewritten. */
export const REPACK_BELOW = 0.5;

/**
 * Where packs are objects, live chunks are read in runs of at most this many bytes: one ranged
 * GET per run rather than per chunk (the cache may hold nothing), and bounded memory.
 */
const READ_RUN_BYTES = 8 << 20;
/** A gap of dead bytes at most this long between two live chunks is read through rather than split into two requests. */
const READ_GAP_BYTES = 1 << 20;

/** Whether gc rewrites this pack: most of its bytes belong to no chunk any more. */
export function isSparse(p: Pick<PackUsage, 'live' | 'size'>): boolean {
  return p.live < (p.size - PACK_MAGIC.length) * REPACK_BELOW;
}

/** What a rewrite gave back: the old pack's bytes less the new one's. */
export function bytesSaved(p: Pick<PackUsage, 'live' | 'size'>): number {
  return Math.max(0, p.size - (PACK_MAGIC.length + p.live));
}

/**
 * Copy a pack's live chunks into a fresh pack, then drop the old one. The old pack was sealed by
 * the sweep that chose it, so no writer appends to it meanwhile; the rewrite runs as a write
 * session of its own, so no other gc sweeps under it. Each step leaves a store that reads:
 *
 * 1. the copies are made durable (fsync; in a bucket, the object and then its sums uploaded)
 *    before any row names them — a crash here leaves a fresh pack whose row names no chunk, which
 *    the next gc deletes, and the chunk rows still name the old pack, whole;
 * 2. one unit of work moves the chunk rows, records the new pack and deletes the old pack's row;
 * 3. the old pack is deleted — a crash before leaves a pack no row knows, which the next gc deletes.
 *
 * A reader that looked a chunk up in the old pack before step 2 and reads it after step 3 looks
 * it up again (content-io.ts). Returns the bytes the store no longer holds.
 */
export async function rewritePack(s: StoreCore, old: Pick<PackUsage, 'id' | 'name'>): Promise<number> {
  const local = s.packs.local;
  const session = await WriteSession.start(s, `gc-${process.pid}`);
  const row = await s.index.claimPack(session.id, Number.MAX_SAFE_INTEGER, { fresh: true });
  const appender: PackAppender = local ? local.openAppender(row.name, row.size, PACK_MAGIC) : new ObjectPackAppender(s.packs, row.name, PACK_MAGIC);
  let failed = true;
  try {
    const chunks = (await s.index.chunksInPack(old.id)).sort((a, b) => a.offset - b.offset);
    const oldSize = local ? (local.sizeOf(old.name) ?? 0) : ((await s.packs.size(old.name)) ?? 0);
    const moved: { id: ChunkId; offset: number }[] = [];
    for await (const [c, rec] of liveRecords(s, old.name, chunks)) {
      // copy the payload as stored; the header is rebuilt so a damaged one is not propagated
      const at = appender.append([encodeRecordHeader(c.id, c.codec, c.rawLen, c.storedLen), rec.subarray(RECORD_HEADER_BYTES)]);
      moved.push({ id: c.id, offset: at });
    }
    if (appender.publish) await appender.publish();
    appender.sync();
    crashPoint('in-gc-repack');
    await s.unitOfWork(async () => {
      await s.index.moveChunks(old.id, row.id, moved);
      await s.index.commitPack(row.id, appender.length, true);
      await s.index.deletePack(old.id);
      await session.end();
    });
    failed = false;
    if (local) local.removeNow(old.name);
    else await s.packs.remove(old.name);
    return Math.max(0, oldSize - appender.length);
  } finally {
    appender.close();
    await session.close(failed);
  }
}

/** Each live chunk's record (header and payload) as stored in the pack, in offset order. */
async function* liveRecords(s: StoreCore, pack: string, chunks: readonly PackedChunk[]): AsyncIterable<[PackedChunk, Buffer]> {
  const local = s.packs.local;
  if (local) {
    for (const c of chunks) yield [c, local.read(pack, c.offset, RECORD_HEADER_BYTES + c.storedLen)];
    return;
  }
  for (let i = 0; i < chunks.length; ) {
    // a run: chunks close enough to read in one request, up to READ_RUN_BYTES (or one bigger chunk)
    const start = chunks[i]!.offset;
    let end = start + RECORD_HEADER_BYTES + chunks[i]!.storedLen;
    let j = i + 1;
    for (; j < chunks.length; j++) {
      const c = chunks[j]!;
      const cEnd = c.offset + RECORD_HEADER_BYTES + c.storedLen;
      if (c.offset - end > READ_GAP_BYTES || cEnd - start > READ_RUN_BYTES) break;
      end = Math.max(end, cEnd);
    }
    const bytes = await s.packs.getRange(pack, start, end - start);
    for (; i < j; i++) {
      const c = chunks[i]!;
      yield [c, bytes.subarray(c.offset - start, c.offset - start + RECORD_HEADER_BYTES + c.storedLen)];
    }
  }
}
