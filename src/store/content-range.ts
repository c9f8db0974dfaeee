// A byte range of a file (`get file --offset N --length M`): only the chunks that hold the range
// are read, each verified against its chunk id, so reading 1 MiB of a big file — or of an old
// version stored as deltas — costs the chunks of that MiB (and their bases), not the file.
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { CorruptError, TuskError, localFileError } from '../errors.js';
import type { ChunkIndex } from './chunk-index.js';
import { readChunk, type ReadContext } from './content-io.js';
import { EMPTY_CONTENT_ID, type ContentId } from './hash.js';
import type { Packs } from './packs.js';

/** The bytes [offset, offset + length) of a content, clipped to its size, chunk by verified chunk. */
export function* readRange(index: ChunkIndex, packs: Packs, id: ContentId, ctx: ReadContext, offset: number, length: number): Generator<Buffer> {
  if (id.equals(EMPTY_CONTENT_ID) || length <= 0) return;
  const rec = index.getContent(id);
  if (!rec) throw new CorruptError(`${ctx.describe()} cannot be read: its content record is missing`, 'run `tusk fsck` to list everything affected');
  const end = offset + length;
  // sizes come from the index in one query per 500 chunks; the chunks before the range are not read
  const locs = index.getChunks(rec.chunks);
  let at = 0;
  for (const c of rec.chunks) {
    if (at >= end) break;
    const loc = locs.get(c.toString('latin1'));
    if (!loc) throw new CorruptError(`${ctx.describe()} cannot be read: chunk ${c.toString('hex').slice(0, 16)} is missing from the index`, 'run `tusk fsck --verify-data` to list everything affected');
    if (at + loc.rawLen > offset) {
      const data = readChunk(index, packs, c, ctx, loc);
      yield data.subarray(Math.max(0, offset - at), Math.min(data.length, end - at));
    }
    at += loc.rawLen;
  }
}

/**
 * Write `parts` to the local file `local` (through a temporary name, renamed when complete, so a
 * failed read leaves no half file) or, when `local` is null, to `out`. Returns the bytes written.
 */
export async function writeRange(parts: Iterable<Buffer>, local: string | null, out: NodeJS.WritableStream): Promise<number> {
  let bytes = 0;
  if (local === null) {
    for (const b of parts) {
      bytes += b.length;
      if (!out.write(b)) await new Promise((r) => out.once('drain', r));
    }
    return bytes;
  }
  const tmp = `${local}.tusk-${process.pid}-${randomBytes(4).toString('hex')}`;
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w');
  } catch (err) {
    throw localFileError(err, local, 'write');
  }
  try {
    for (const b of parts) {
      for (let off = 0; off < b.length; ) off += fs.writeSync(fd, b, off, b.length - off);
      bytes += b.length;
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, local);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    if (err instanceof TuskError) throw err;
    throw localFileError(err, local, 'write');
  }
  return bytes;
}
