// Batches of small local files read (put -r) or written (get -r) with synchronous system calls, on
// the content worker when it runs (the main thread meanwhile stores, hashes or verifies the batch
// before) or on the main thread when it does not. Pure file I/O: no store, no SQLite.
import * as fs from 'node:fs';
import { hashBytes, ID_BYTES } from './hash.js';
import { nativeReadBatch } from './native-io.js';
import type { ReadReply, ReadRequest } from './read-batch.js';

/** What happened to one file of a read batch (META[i * META_FIELDS]). */
export const enum ReadStatus {
  /** bytes at [offset, offset + size) of the batch buffer */
  Read = 0,
  /** as Read, and ids[i] holds the BLAKE3 of the bytes (a one-chunk file: its chunk and content id) */
  Hashed = 1,
  /** stat equals the cached one: not read */
  Cached = 2,
  /** too big for a batch: the caller reads it itself (the stat is filled in) */
  Deferred = 3,
  /** a system call failed: errors[i] */
  Failed = 4,
  /** size, mtime or inode changed while it was read */
  Changed = 5,
}

/** Per file: status, dev, ino, size, mtime (ms), ctime (ms), offset in the buffer. */
export const META_FIELDS = 7;
/** Per file in `cached`: dev, ino, size, mtime, ctime; NaN in the first when nothing is cached. */
export const CACHED_FIELDS = 5;

export type { ReadReply, ReadRequest };

/**
 * Read a batch of files into one buffer (the spare one while it is big enough), skipping those
 * whose stat equals the cached one and those bigger than maxRead. A file with a cached row is
 * stat-ed by path first (it is most likely unchanged); any other is opened at once and fstat-ed:
 * one lookup of its path, not two. One read asking for size + 1 bytes (a file that grew fills
 * the extra byte) and one fstat after it: the fstat after reading, against the one before, proves
 * it held still, so a read that returned exactly the size needs no second read to find the end.
 */
export function readFileBatch(req: ReadRequest, spare: ArrayBuffer | null): ReadReply {
  return nativeReadBatch(req, spare) ?? readFileBatchJs(req, spare);
}

/** readFileBatch without the addon (the addon's readBatch is this loop in C: tusk-io.c). */
export function readFileBatchJs(req: ReadRequest, spare: ArrayBuffer | null): ReadReply {
  const n = req.paths.length;
  const meta = new Float64Array(n * META_FIELDS);
  const ids = new Uint8Array(n * ID_BYTES);
  const errors: ReadReply['errors'] = new Array(n).fill(null);
  let buf = spare ?? new ArrayBuffer(1 << 20);
  let bytes = new Uint8Array(buf);
  let used = 0;
  const setStat = (m: number, st: fs.Stats) => {
    meta[m + 1] = st.dev;
    meta[m + 2] = st.ino;
    meta[m + 3] = st.size;
    meta[m + 4] = st.mtimeMs;
    meta[m + 5] = st.ctimeMs;
  };
  for (let i = 0; i < n; i++) {
    const m = i * META_FIELDS;
    const p = req.paths[i]!;
    const c = i * CACHED_FIELDS;
    try {
      if (!Number.isNaN(req.cached[c])) {
        const st = fs.statSync(p);
        if (req.cached[c] === st.dev && req.cached[c + 1] === st.ino && req.cached[c + 2] === st.size && req.cached[c + 3] === st.mtimeMs && req.cached[c + 4] === st.ctimeMs && st.isFile()) {
          setStat(m, st);
          meta[m] = ReadStatus.Cached;
          continue;
        }
      }
      // O_NONBLOCK: a FIFO put where a file was must not hang the open; regular files ignore it
      const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      try {
        const st = fs.fstatSync(fd);
        setStat(m, st);
        if (!st.isFile()) {
          meta[m] = ReadStatus.Failed;
          errors[i] = { code: st.isDirectory() ? 'EISDIR' : 'EINVAL', message: 'not a regular file' };
          continue;
        }
        const size = st.size;
        if (size > req.maxRead) {
          meta[m] = ReadStatus.Deferred;
          continue;
        }
        if (used + size + 1 > buf.byteLength) {
          const bigger = new ArrayBuffer(Math.max(buf.byteLength * 2, used + size + 1));
          new Uint8Array(bigger).set(bytes.subarray(0, used));
          buf = bigger;
          bytes = new Uint8Array(buf);
        }
        // the byte past this file's end is the next file's first: reading into it only to see
        // whether there is one more is harmless, the next read overwrites it
        let got = 0;
        for (;;) {
          const r = fs.readSync(fd, bytes, used + got, size + 1 - got, got);
          if (r === 0) break;
          got += r;
          // all the bytes the stat promised (or more: it grew): the fstat below settles the rest
          if (got >= size) break;
        }
        const after = fs.fstatSync(fd);
        meta[m + 6] = used;
        if (got !== size || after.size !== size || after.mtimeMs !== st.mtimeMs || after.ino !== st.ino) meta[m] = ReadStatus.Changed;
        else if (size > 0 && size < req.hashBelow) {
          ids.set(hashBytes(bytes.subarray(used, used + size)), i * ID_BYTES);
          meta[m] = ReadStatus.Hashed;
        } else meta[m] = ReadStatus.Read;
        used += size;
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      meta[m] = ReadStatus.Failed;
      errors[i] = errorOf(err);
    }
  }
  return { buf, meta, ids, errors };
}

/** A batch of files to create: `dirs` first (in order, parents before children), then each file. */
export interface WriteRequest {
  dirs: string[];
  paths: string[];
  /** file i's bytes are buf[ends[i - 1] (or 0), ends[i]) */
  ends: Float64Array;
  buf: ArrayBuffer;
}

/** Index of the first file (or -1 - index of the directory) that failed, with its error; null when all were written. */
export type WriteFailure = { at: number; error: { code?: string; message: string } } | null;

/**
 * Create directories and write files, each with one open, one write and one close: no temp names
 * (a tree is written in place; the caller removes what it wrote when one fails).
 */
export function writeFileBatch(req: WriteRequest): WriteFailure {
  for (let i = 0; i < req.dirs.length; i++) {
    try {
      fs.mkdirSync(req.dirs[i]!, { recursive: true });
    } catch (err) {
      return { at: -1 - i, error: errorOf(err) };
    }
  }
  const bytes = new Uint8Array(req.buf);
  let start = 0;
  for (let i = 0; i < req.paths.length; i++) {
    const end = req.ends[i]!;
    try {
      const fd = fs.openSync(req.paths[i]!, 'w');
      try {
        for (let off = start; off < end; ) off += fs.writeSync(fd, bytes, off, end - off);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      return { at: i, error: errorOf(err) };
    }
    start = end;
  }
  return null;
}

function errorOf(err: unknown): { code?: string; message: string } {
  const e = err as NodeJS.ErrnoException;
  return { ...(e?.code ? { code: e.code } : {}), message: e?.message ?? String(err) };
}

/** An Error carrying a batch error's code, for localFileError(). */
export function batchError(e: { code?: string; message: string }): NodeJS.ErrnoException {
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}
