// The pack contract: what any place that holds packs implements — the local `packs/` directory
// today, an S3 bucket next. It is the shape of an object store (immutable named objects, ranged
// reads, listing by prefix), async because each call may be a network round trip, and it holds
// no file paths and no descriptors. docs/format.md maps it onto the local backend.
import { InvalidArgumentError } from '../errors.js';

/** A pack's bytes as the caller has them: one buffer, or a stream of buffers (an upload from a staged file). */
export type PackBody = Uint8Array | AsyncIterable<Uint8Array>;

export interface Packs {
  /**
   * Store `body` as the object `name`, durable when the promise resolves. Objects are immutable:
   * a name is put once (names are fresh random ids from the chunk index), and a second put of the
   * same name replaces nothing a reader could have seen — the bytes below an object's recorded
   * size never change.
   */
  put(name: string, body: PackBody): Promise<void>;
  /** The whole object. CorruptError naming the pack when it is absent. */
  get(name: string): Promise<Buffer>;
  /** Bytes [offset, offset + length) of the object. CorruptError naming the pack when it is absent or ends before them. */
  getRange(name: string, offset: number, length: number): Promise<Buffer>;
  /** The object's size in bytes, or null when there is no such object. */
  size(name: string): Promise<number | null>;
  /** Names of the objects whose names start with `prefix`, in ascending order; streamed, never listed whole. */
  list(prefix?: string): AsyncIterable<string>;
  /** Delete the object; an absent one is not an error. */
  remove(name: string): Promise<void>;
  /** Release what the backend holds open (descriptors, connections). */
  close(): void;
  /**
   * Present only where packs are files on this machine: synchronous appends and reads, and
   * descriptors for the native copy loop. Callers probe it and fall back to the contract above;
   * it is an optimisation of one backend, never needed for correctness of reads.
   */
  readonly local?: LocalPackAccess;
  /**
   * Where a backend without the local capability wants packs staged while they are written (a
   * directory on this machine, created on demand); the system's temporary directory otherwise.
   */
  readonly stagingDir?: string;
}

/** Append-only handle on one pack. Latches its first error: a writer that failed is never reused. */
export interface PackAppender {
  readonly name: string;
  /** current end offset (committed size plus what this handle appended) */
  readonly length: number;
  append(parts: readonly Uint8Array[]): number;
  /**
   * Start writing back what is appended so far, in the background, when no more appends are
   * coming soon (a full pack): a big put then overlaps its disk writes with its CPU work instead
   * of paying for all of them in sync(). A hint only: sync() is still what makes bytes durable.
   */
  flushAhead(): void;
  /**
   * Make everything appended durable before the metadata transaction that references it. An
   * appender whose bytes go to an object store does this in publish() and refuses sync() before it.
   */
  sync(): void;
  /** Upload what was appended as the pack's one immutable object (object-store appenders only). */
  publish?(): Promise<void>;
  close(): void;
}

/** Packs as files on this machine: what the write path and the fast read paths use when they can. */
export interface LocalPackAccess {
  /** Open a pack for appending at `committedSize`, discarding any uncommitted tail left by a crashed writer. */
  openAppender(name: string, committedSize: number, header?: Uint8Array): PackAppender;
  read(name: string, offset: number, length: number): Buffer;
  /** read(), into the caller's buffer (a big read reuses one buffer instead of allocating each time) */
  readInto(name: string, offset: number, dest: Uint8Array): void;
  /** A descriptor of the pack open for reading, for the native copy loop; throws as read() would for a missing pack. */
  fdOf(name: string): number;
  sizeOf(name: string): number | null;
  /** Cut a pack back to `size` bytes (a crashed writer's uncommitted tail). */
  truncate(name: string, size: number): void;
  removeNow(name: string): void;
  /** every pack's name, sorted */
  names(): string[];
}

/** The local capability, or a clear error naming the operation that needs it. */
export function requireLocal(packs: Packs, what: string): LocalPackAccess {
  if (packs.local) return packs.local;
  throw new InvalidArgumentError(`${what} needs the store's packs on a local disk`, 'run it on a store whose packs are in its .tusk/packs directory');
}

/** A pack body as one buffer of its own (the caller may reuse what it passed). */
export async function bodyBytes(body: PackBody): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body);
  const parts: Uint8Array[] = [];
  for await (const p of body) parts.push(p);
  return Buffer.concat(parts);
}
