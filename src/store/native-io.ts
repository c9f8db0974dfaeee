// The optional file-system addon (src/native/tusk-io.c, built into dist/native/tusk-io.node).
// Every function here works without it: the addon only makes things faster.
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GEAR, masksFor, type ChunkParams } from './chunker.js';
import type { ReadReply, ReadRequest } from './read-batch.js';

/** A copy in progress inside the addon (copyOpen); opaque here. */
type CopyHandle = object & { readonly __brand: 'CopyHandle' };
/** A chunker inside the addon (chunkerOpen); opaque here. */
type ChunkerHandle = object & { readonly __brand: 'ChunkerHandle' };
/** A whole-file BLAKE3 hasher inside the addon (hasherOpen); opaque here. */
type HasherHandle = object & { readonly __brand: 'HasherHandle' };

interface Addon {
  fallocate(fd: number, offset: number, length: number, keepSize?: boolean): number;
  // the copy loop, where the addon was built with BLAKE3 (tusk-io.c)
  copyOpen?(fd: number): CopyHandle;
  copyRun?(copy: CopyHandle, packFd: number, offset: number, length: number, spans: Int32Array, headers: Uint8Array): number;
  copyBytes?(copy: CopyHandle, bytes: Uint8Array): number;
  copyEnd?(copy: CopyHandle, digest: Uint8Array): number;
  copyAbort?(copy: CopyHandle): void;
  // the chunker, where the addon was built with BLAKE3 (tusk-io.c)
  chunkerOpen?(gear: Int32Array, minSize: number, avgSize: number, maxSize: number, small: number, large: number): ChunkerHandle;
  chunkerPush?(chunker: ChunkerHandle, bytes: Uint8Array | null, end: boolean): [Float64Array, Buffer];
  // put -r's batch reader (file-batch.ts readFileBatch in C), built with BLAKE3 as well
  readBatch?(paths: string[], cached: Float64Array, maxRead: number, hashBelow: number, spare: ArrayBuffer | null): [ArrayBuffer, Float64Array, Buffer, Int32Array];
  // a hasher whose state can be saved and taken up again, built with BLAKE3 as well
  hasherOpen?(state: Uint8Array | null): HasherHandle | null;
  hasherUpdate?(hasher: HasherHandle, bytes: Uint8Array): void;
  hasherDigest?(hasher: HasherHandle): Buffer;
  hasherState?(hasher: HasherHandle): Buffer;
  hasherClose?(hasher: HasherHandle): void;
}

/** This module (src/store, dist/store, dist/bundle) sits two levels below the package root. */
const ADDON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/native/tusk-io.node');

let addon: Addon | null | undefined;

/** The addon, unless TUSK_NO_NATIVE_IO=1 (read at every call, so tests can compare both ways). */
function load(): Addon | null {
  if (process.env.TUSK_NO_NATIVE_IO === '1') return null;
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(ADDON) as Addon;
    } catch {
      addon = null; // not built here (no compiler or headers at install), or built for another Node
    }
  }
  return addon;
}

/** Whether the addon is loaded (tests check that the build made it). */
export function hasNativeIo(): boolean {
  return load() !== null;
}

const codeOf = (errno: number) => Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `E${errno}`;

/** An error shaped like the one fs would throw for the same failed call. */
function errnoError(errno: number, syscall: string, what: string): Error {
  const code = codeOf(errno);
  return Object.assign(new Error(`${code}: ${what}, ${syscall}`), { code, errno: -errno, syscall });
}

/** Errors a file system gives when it cannot reserve blocks at all: the write goes ahead without. */
const UNSUPPORTED = new Set(['EOPNOTSUPP', 'ENOTSUP', 'ENOSYS', 'ENODEV', 'ESPIPE', 'EINVAL']);

/**
 * Reserve `length` bytes of blocks for a file about to be written from its start (and size it):
 * cheaper page-cache writes on ext4, and a full disk reported before the first byte rather than
 * part way through. A file system that cannot reserve, or no addon, is not an error; no space
 * (ENOSPC, EDQUOT, EFBIG) is, thrown the way a failed write would throw it.
 */
export function reserve(fd: number, length: number): void {
  const io = load();
  if (!io || length <= 0) return;
  const errno = io.fallocate(fd, 0, length);
  if (errno === 0) return;
  const code = codeOf(errno);
  if (UNSUPPORTED.has(code)) return;
  throw errnoError(errno, 'fallocate', `cannot reserve ${length} bytes`);
}

/**
 * Reserve blocks for `length` bytes at `offset` of a file being appended to, without changing
 * its size (the bytes past its end stay unwritten until appends reach them). A hint: returns
 * false, and changes nothing, where it cannot be done; a disk too full to reserve is found by
 * the write itself. Whoever reserves trims what was not used (ftruncate to the file's size).
 */
export function reserveAhead(fd: number, offset: number, length: number): boolean {
  const io = load();
  return io !== null && fd >= 0 && length > 0 && io.fallocate(fd, offset, length, true) === 0;
}

/**
 * A big file written from its start by the addon's copy loop: runs of chunk records read from a
 * pack and written out here, their chunks' bytes hashed as a whole on a thread of the addon.
 * Every method but abort() ends the copy when it throws; abort() may always be called.
 */
export class NativeCopy {
  private handle: CopyHandle | null;

  constructor(
    private readonly io: Required<Addon>,
    fd: number,
  ) {
    this.handle = io.copyOpen(fd);
  }

  /**
   * Read `length` bytes at `offset` of the pack open as `packFd`; write and hash the spans
   * ([offset in the run, length] per chunk) next. `headers`: the record header expected before
   * each span. False, with nothing written, when the run cannot be taken as it is (the pack
   * ends first, the read fails, a header differs): the caller reads it some other way.
   */
  run(packFd: number, offset: number, length: number, spans: Int32Array, headers: Uint8Array): boolean {
    const r = this.io.copyRun(this.open(), packFd, offset, length, spans, headers);
    if (r < 0) this.fail(-r);
    return r === 0;
  }

  /** Write and hash `bytes` next (a chunk read some other way). */
  bytes(bytes: Uint8Array): void {
    const r = this.io.copyBytes(this.open(), bytes);
    if (r < 0) this.fail(-r);
  }

  /** Write what is left; the BLAKE3 digest of everything written. */
  end(): Buffer {
    const digest = Buffer.alloc(32);
    const r = this.io.copyEnd(this.open(), digest);
    this.handle = null;
    if (r < 0) this.fail(-r);
    return digest;
  }

  abort(): void {
    if (this.handle) this.io.copyAbort(this.handle);
    this.handle = null;
  }

  private open(): CopyHandle {
    if (!this.handle) throw new Error('native copy: already ended');
    return this.handle;
  }

  /** A failed write (the only errors the copy loop returns: reads it cannot make are handed back). */
  private fail(errno: number): never {
    this.abort();
    throw errnoError(errno, 'write', 'cannot write');
  }
}

/** A NativeCopy into `fd`, or null where the addon lacks the copy loop (or is off). */
export function nativeCopy(fd: number): NativeCopy | null {
  const io = load();
  if (!io?.copyOpen || !io.copyRun || !io.copyBytes || !io.copyEnd || !io.copyAbort) return null;
  try {
    return new NativeCopy(io as Required<Addon>, fd);
  } catch {
    return null; // no memory or no thread for it: the caller copies the other way
  }
}

/** Whether the addon has the copy loop (tests check that the build made it). */
export function hasNativeCopy(): boolean {
  return typeof load()?.copyOpen === 'function';
}

/**
 * The content worker's chunker in the addon: the cuts of findCut (chunker.ts) and the BLAKE3 id of
 * every chunk, one call per block, scanning the block where it lies. One stream at a time; a
 * stream ends with end() and the chunker can take the next one.
 */
export class NativeChunker {
  constructor(
    private readonly io: Required<Pick<Addon, 'chunkerOpen' | 'chunkerPush'>>,
    private readonly handle: ChunkerHandle,
    readonly params: ChunkParams,
  ) {}

  /** The chunks that end in `bytes`: their ends (stream offsets) and ids (32 bytes each). */
  push(bytes: Uint8Array): { ends: Float64Array; ids: Uint8Array } {
    const [ends, ids] = this.io.chunkerPush(this.handle, bytes, false);
    return { ends, ids };
  }

  /** End of the stream: its last chunk, if bytes are left after the last cut. */
  end(): { ends: Float64Array; ids: Uint8Array } {
    const [ends, ids] = this.io.chunkerPush(this.handle, null, true);
    return { ends, ids };
  }
}

/** A NativeChunker for `params`, or null where the addon lacks it (or is off). */
export function nativeChunker(params: ChunkParams): NativeChunker | null {
  const io = load();
  if (!io?.chunkerOpen || !io.chunkerPush) return null;
  const masks = masksFor(params);
  const handle = io.chunkerOpen(GEAR, params.minSize, params.avgSize, params.maxSize, masks.small >>> 0, masks.large >>> 0);
  return new NativeChunker(io as Required<Pick<Addon, 'chunkerOpen' | 'chunkerPush'>>, handle, params);
}

/** The system call of each readBatch error (tusk-io.c SC_*), for messages shaped like fs's. */
const BATCH_SYSCALLS = [null, 'stat', 'open', 'fstat', 'read', null] as const;

/**
 * file-batch.ts readFileBatch done by the addon: the same statuses, stats, bytes and ids, and
 * errors shaped as fs would throw them; null where the addon lacks it (or is off).
 */
export function nativeReadBatch(req: ReadRequest, spare: ArrayBuffer | null): ReadReply | null {
  const io = load();
  if (!io?.readBatch) return null;
  const [buf, meta, ids, errs] = io.readBatch(req.paths, req.cached, req.maxRead, req.hashBelow, spare);
  const errors: ReadReply['errors'] = new Array(req.paths.length).fill(null);
  for (let i = 0; i < req.paths.length; i++) {
    const errno = errs[2 * i]!;
    if (errno === 0) continue;
    const syscall = BATCH_SYSCALLS[errs[2 * i + 1]!];
    const [code, desc] = systemErrors().get(-errno) ?? [codeOf(errno), 'unknown error'];
    errors[i] = { code, message: syscall ? `${code}: ${desc}, ${syscall} '${req.paths[i]}'` : 'not a regular file' };
  }
  return { buf, meta, ids, errors };
}

let errorMap: Map<number, [string, string]> | undefined;
const systemErrors = () => (errorMap ??= getSystemErrorMap());

/** A BLAKE3 hasher whose state can be written out (tusk-io.c describes the format). */
export interface NativeStateHasher {
  update(data: Uint8Array): void;
  /** The digest of what it was given so far; it can go on taking bytes. */
  digest(): Buffer;
  state(): Buffer;
  /** Frees the hasher's memory now (V8 does not see it, so would free it late); it cannot be used afterwards. */
  close(): void;
}

/**
 * A hasher in the addon, fresh (`state` null) or taking up a saved state; null where the addon
 * lacks it (or is off), and where `state` is not a state at all.
 */
export function nativeStateHasher(state: Uint8Array | null): NativeStateHasher | null {
  const io = load();
  if (!io?.hasherOpen || !io.hasherUpdate || !io.hasherDigest || !io.hasherState || !io.hasherClose) return null;
  const h = io.hasherOpen(state);
  if (!h) return null;
  const { hasherUpdate, hasherDigest, hasherState, hasherClose } = io;
  return {
    update: (data) => hasherUpdate(h, data),
    digest: () => hasherDigest(h),
    state: () => hasherState(h),
    close: () => hasherClose(h),
  };
}
