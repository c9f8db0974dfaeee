// The pack contract over an object store (an S3 bucket, or a directory standing in for one),
// with a bounded local cache in front. The store names here the little it needs of an object
// store (`PackObjects`); the composition root hands it one (src/app), so the store never imports
// the remote code.
//
// Layout under the object store's prefix, both objects immutable once put:
//   packs/<name>        the pack's bytes, exactly as a local `.pack` file holds them
//   pack-sums/<name>    its size (8 bytes, little-endian) and the BLAKE3 hash of each block of
//                       BLOCK_BYTES (32 bytes each); put after the pack, so a pack is complete
//                       exactly when its sums object exists
//
// Reads go by block: a range is served from cached blocks, and the blocks missing from the
// cache are fetched with one ranged GET, each checked against its hash before it is cached or
// used (CorruptError, nothing cached, when one does not match). Readers then check every chunk
// against its id as on a local store (content-io.ts).
import * as os from 'node:os';
import * as path from 'node:path';
import { CorruptError } from '../errors.js';
import { crashPoint } from './crash-points.js';
import { hashBytes } from './hash.js';
import { removeStaleStaged } from './object-appender.js';
import { bodyBytes, type PackBody, type Packs } from './packs.js';
import type { PackCache } from './pack-cache.js';

/** What the pack contract needs of an object store. */
export interface PackObjects {
  /** Where it is, for messages: never carries a secret. */
  readonly url: string;
  /** Store an object whole; a reader sees all of it or none of it. */
  put(key: string, body: Buffer): Promise<void>;
  /** The whole object, or undefined when there is none. */
  get(key: string): Promise<Buffer | undefined>;
  /** Bytes [offset, offset + length); throws when the object is absent or shorter. */
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  /** Keys starting with `prefix`, ascending, a page at a time. */
  list(prefix: string): AsyncIterable<string>;
  delete(key: string): Promise<void>;
  close(): void;
}

/** The unit of caching and of verification: a re-read of any range inside cached blocks costs no request. */
export const BLOCK_BYTES = 1 << 20;
const HASH_BYTES = 32;
const PACKS = 'packs/';
const SUMS = 'pack-sums/';

interface Sums {
  size: number;
  hashes: Buffer;
}

export class BucketPacks implements Packs {
  private readonly sums = new Map<string, Sums>();
  readonly stagingDir: string;

  constructor(
    private readonly objects: PackObjects,
    private readonly cache: PackCache,
    opts: { stagingDir?: string } = {},
  ) {
    this.stagingDir = opts.stagingDir ?? path.join(os.tmpdir(), 'tusk-staging');
    removeStaleStaged(this.stagingDir);
  }

  get url(): string {
    return this.objects.url;
  }

  async put(name: string, body: PackBody): Promise<void> {
    const bytes = await bodyBytes(body);
    const sums = sumsOf(bytes);
    await this.objects.put(PACKS + name, bytes);
    crashPoint('mid-pack-upload');
    // the sums object last: until it exists the pack is not there for any reader
    await this.objects.put(SUMS + name, sums);
    this.sums.set(name, parseSums(name, sums));
  }

  async get(name: string): Promise<Buffer> {
    const s = await this.sumsOf(name);
    if (!s) throw missing(name, this.url);
    return this.getRange(name, 0, s.size);
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    const s = await this.sumsOf(name);
    if (!s) throw missing(name, this.url);
    if (offset < 0 || length < 0 || offset + length > s.size)
      throw new CorruptError(`pack ${name} is truncated (wanted ${length} bytes at offset ${offset}, it holds ${s.size})`, 'run `tusk fsck` to see what is affected');
    const out = Buffer.allocUnsafe(length);
    if (length === 0) return out;
    const first = Math.floor(offset / BLOCK_BYTES);
    const last = Math.floor((offset + length - 1) / BLOCK_BYTES);
    const copy = (b: number, block: Buffer) => {
      const start = b * BLOCK_BYTES;
      const from = Math.max(offset, start);
      const to = Math.min(offset + length, start + block.length);
      block.copy(out, from - offset, from - start, to - start);
    };
    // blocks the cache lacks are fetched in runs, one ranged GET per run of adjacent blocks
    let run: number | null = null;
    for (let b = first; b <= last + 1; b++) {
      const cached = b <= last ? this.cached(name, s, b) : undefined;
      if (cached) copy(b, cached);
      if (cached || b > last) {
        if (run !== null) for (const [k, block] of await this.fetch(name, s, run, b - 1)) copy(k, block);
        run = null;
      } else run ??= b;
    }
    return out;
  }

  async size(name: string): Promise<number | null> {
    return (await this.sumsOf(name))?.size ?? null;
  }

  /** Every pack object, complete or not (an interrupted put leaves one without sums: gc removes it). */
  async *list(prefix = ''): AsyncIterable<string> {
    for await (const key of this.objects.list(PACKS + prefix)) yield key.slice(PACKS.length);
  }

  async remove(name: string): Promise<void> {
    // sums first: a pack without them is invisible to readers, and still listed for a later remove
    await this.objects.delete(SUMS + name);
    await this.objects.delete(PACKS + name);
    this.sums.delete(name);
    this.cache.dropPack(name);
  }

  close(): void {
    this.cache.saveStats();
    this.objects.close();
  }

  /** The pack's size and block hashes: from memory, the cache, or the bucket. Null when the pack is not there. */
  private async sumsOf(name: string): Promise<Sums | null> {
    const known = this.sums.get(name);
    if (known) return known;
    const local = this.cache.read(name, 'sums');
    let parsed: Sums | null = null;
    if (local) {
      try {
        parsed = parseSums(name, local);
      } catch {
        this.cache.drop(name, 'sums');
      }
    }
    if (!parsed) {
      const remote = await this.objects.get(SUMS + name);
      if (!remote) return null;
      parsed = parseSums(name, remote);
      this.cache.write(name, 'sums', remote);
    }
    this.sums.set(name, parsed);
    return parsed;
  }

  private cached(name: string, s: Sums, b: number): Buffer | undefined {
    const block = this.cache.read(name, String(b));
    if (!block) return undefined;
    if (block.length === blockLength(s, b) && hashBytes(block).equals(hashAt(s, b))) return block;
    // changed on disk since it was cached: fetched again
    this.cache.drop(name, String(b));
    return undefined;
  }

  /** Blocks first..last from the bucket in one ranged GET, each verified, then cached. */
  private async fetch(name: string, s: Sums, first: number, last: number): Promise<[number, Buffer][]> {
    const start = first * BLOCK_BYTES;
    const end = Math.min(s.size, (last + 1) * BLOCK_BYTES);
    const bytes = await this.objects.getRange(PACKS + name, start, end - start);
    if (bytes.length !== end - start) throw new CorruptError(`pack ${name} in ${this.url} is shorter than its recorded ${s.size} bytes`, 'run `tusk fsck` to see what is affected');
    const blocks: [number, Buffer][] = [];
    for (let b = first; b <= last; b++) {
      const block = bytes.subarray((b - first) * BLOCK_BYTES, (b - first) * BLOCK_BYTES + blockLength(s, b));
      if (!hashBytes(block).equals(hashAt(s, b)))
        throw new CorruptError(`pack ${name} in ${this.url} is damaged: block ${b} does not match its recorded hash`, 'run `tusk fsck` to see what is affected');
      blocks.push([b, block]);
    }
    // cached only once every block of the answer checked out
    for (const [b, block] of blocks) this.cache.write(name, String(b), block);
    return blocks;
  }
}

function blockLength(s: Sums, b: number): number {
  return Math.min(BLOCK_BYTES, s.size - b * BLOCK_BYTES);
}

function hashAt(s: Sums, b: number): Buffer {
  return s.hashes.subarray(b * HASH_BYTES, (b + 1) * HASH_BYTES);
}

function sumsOf(bytes: Buffer): Buffer {
  const blocks = Math.ceil(bytes.length / BLOCK_BYTES);
  const out = Buffer.allocUnsafe(8 + blocks * HASH_BYTES);
  out.writeBigUInt64LE(BigInt(bytes.length), 0);
  for (let b = 0; b < blocks; b++) hashBytes(bytes.subarray(b * BLOCK_BYTES, (b + 1) * BLOCK_BYTES)).copy(out, 8 + b * HASH_BYTES);
  return out;
}

function parseSums(name: string, raw: Buffer): Sums {
  if (raw.length >= 8) {
    const size = Number(raw.readBigUInt64LE(0));
    if (raw.length === 8 + Math.ceil(size / BLOCK_BYTES) * HASH_BYTES) return { size, hashes: raw.subarray(8) };
  }
  throw new CorruptError(`pack ${name}: its block hashes (${SUMS}${name}) are damaged`, 'run `tusk fsck` to see what is affected');
}

function missing(name: string, url: string): CorruptError {
  return new CorruptError(`pack ${name} is missing from ${url}`, 'run `tusk fsck` to see what is affected');
}
