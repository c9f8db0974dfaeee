// What chunks a remote holds and where: the union of its index objects. Index objects are
// immutable, so each is fetched once and kept in the local cache; a push or pull lists the
// `index/` prefix (one request per 1,000 packs) and fetches only the new ones. Never a listing
// of the whole bucket, never a request per chunk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeIndex, scanIndex, type IndexEntry } from './layout.js';
import type { ObjectStore } from './object-store.js';

/** A gc list (gc.ts): packs no branch needed when it was written, deleted by a later gc run. */
export interface GcList {
  time: number;
  packs: string[];
}

export const GC_PREFIX = 'gc/';

/** The gc lists on a remote, with their keys (one listing; a remote rarely holds more than one). */
export async function readGcLists(os: ObjectStore): Promise<{ key: string; list: GcList }[]> {
  const out: { key: string; list: GcList }[] = [];
  for (const key of await os.list(GC_PREFIX)) {
    const buf = await os.get(key);
    if (!buf) continue;
    let list: GcList;
    try {
      list = JSON.parse(buf.toString('utf8')) as GcList;
    } catch {
      continue;
    }
    if (typeof list.time === 'number' && Array.isArray(list.packs)) out.push({ key, list });
  }
  return out;
}

/** Where a chunk record is on the remote. */
export interface RemoteChunk {
  pack: string;
  offset: number;
  length: number;
}

export class RemoteIndex {
  private readonly chunks = new Map<string, RemoteChunk>();
  /** packs a gc run listed for deletion: their chunks count as absent, so a push sends them again */
  private readonly doomed = new Set<string>();
  /** chunks only a listed pack holds: a pull may still read them (a push that reused them before the list ended after it) */
  private readonly listedChunks = new Map<string, RemoteChunk>();
  packs = 0;

  constructor(
    private readonly os: ObjectStore,
    private readonly dir: string,
  ) {}

  /** Read every index object: from the cache, or from the remote (then cached) when new. */
  async load(concurrency = 8): Promise<void> {
    for (const { list } of await readGcLists(this.os)) for (const p of list.packs) this.doomed.add(p);
    await this.eachIndexObject(concurrency, async (sha, file) => {
      // the cached copy is only a cache: one that is missing or unreadable (a process killed
      // while writing it, before copies were written whole) is fetched again
      const cached = readCachedIndex(file, sha);
      if (cached) {
        this.add(sha, cached);
        return;
      }
      const buf = await this.os.get(`index/${sha}`);
      if (!buf) return;
      const entries = decodeIndex(buf, sha);
      writeWhole(file, buf);
      this.add(sha, entries);
    });
    // every entry is in the map now: the raw copies locateCached kept are not needed
    this.raw = undefined;
  }

  /**
   * Fetch the index objects not cached here and cache them, checked but not decoded: what a lazy
   * pull needs so that later reads find their chunks with no request (locateCached). Decoding
   * the entries of 100,000 chunks into a map nobody would read took a fifth of such a clone.
   */
  async cache(concurrency = 8): Promise<void> {
    const none = new Set<string>();
    await this.eachIndexObject(concurrency, async (sha, file) => {
      if (fs.existsSync(file)) return;
      const buf = await this.os.get(`index/${sha}`);
      if (!buf) return;
      scanIndex(buf, sha, none, () => {});
      writeWhole(file, buf);
    });
  }

  /** `visit` each index object the remote lists (its pack's hash and its cached copy's path), `concurrency` at a time. */
  private async eachIndexObject(concurrency: number, visit: (sha: string, file: string) => Promise<void>): Promise<void> {
    const keys = await this.os.list('index/');
    const dir = path.join(this.dir, 'index');
    fs.mkdirSync(dir, { recursive: true });
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const sha = keys[next++]!.slice('index/'.length);
        if (/^[0-9a-f]{64}$/.test(sha)) await visit(sha, path.join(dir, sha));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /**
   * Find `ids` in the index objects cached here, with no request, and keep where they are for
   * find(); returns whether every one was found. The cached objects are read once and kept as
   * they are, and only the entries asked for are decoded: a read of one file in a lazy clone of
   * 100,000 files needs one entry, not a map of all of them.
   */
  locateCached(ids: readonly Buffer[]): boolean {
    const want = new Set<string>();
    for (const id of ids) if (!this.find(id)) want.add(id.toString('latin1'));
    if (want.size === 0) return true;
    this.raw ??= readCachedIndexes(path.join(this.dir, 'index'));
    for (const [sha, buf] of this.raw) {
      try {
        scanIndex(buf, sha, want, (e) => {
          const k = e.id.toString('latin1');
          if (want.delete(k)) this.chunks.set(k, { pack: sha, offset: e.offset, length: e.length });
        });
      } catch {
        // a damaged copy is only a cache: load() fetches it again
        fs.rmSync(path.join(this.dir, 'index', sha), { force: true });
        this.raw.delete(sha);
      }
      if (want.size === 0) return true;
    }
    return false;
  }
  /** the cached index objects as read, by pack (locateCached) */
  private raw: Map<string, Buffer> | undefined;

  /** Record a pack this process wrote (its index object is already on the remote). */
  add(pack: string, entries: readonly IndexEntry[]): void {
    if (this.doomed.has(pack)) {
      for (const e of entries) this.listedChunks.set(e.id.toString('latin1'), { pack, offset: e.offset, length: e.length });
      return;
    }
    this.packs++;
    for (const e of entries) {
      const k = e.id.toString('latin1');
      if (!this.chunks.has(k)) this.chunks.set(k, { pack, offset: e.offset, length: e.length });
    }
  }

  /** Keep a copy of an index object this process wrote. */
  remember(pack: string, encoded: Buffer): void {
    const dir = path.join(this.dir, 'index');
    fs.mkdirSync(dir, { recursive: true });
    writeWhole(path.join(dir, pack), encoded);
  }

  /** Whether a gc list (read by load()) names this pack: a new pack must not take its name. */
  isDoomed(pack: string): boolean {
    return this.doomed.has(pack);
  }

  has(id: Buffer): boolean {
    return this.chunks.has(id.toString('latin1'));
  }

  /** Where to read a chunk: a pack no gc list names when there is one. */
  find(id: Buffer): RemoteChunk | undefined {
    const k = id.toString('latin1');
    return this.chunks.get(k) ?? this.listedChunks.get(k);
  }

  get size(): number {
    return this.chunks.size;
  }
}

/** The cached index objects' bytes, by pack. */
function readCachedIndexes(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const sha of names) {
    if (!/^[0-9a-f]{64}$/.test(sha)) continue;
    try {
      out.set(sha, fs.readFileSync(path.join(dir, sha)));
    } catch {
      // removed meanwhile: load() fetches it again if it is needed
    }
  }
  return out;
}

/** A cached index object's entries, or undefined when it is missing or not whole (it is dropped then). */
function readCachedIndex(file: string, sha: string): IndexEntry[] | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  try {
    return decodeIndex(buf, sha);
  } catch {
    fs.rmSync(file, { force: true });
    return undefined;
  }
}

/** Write a cached copy under a temporary name and rename it: a reader sees all of it or none. */
function writeWhole(file: string, buf: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, buf);
  fs.renameSync(tmp, file);
}
