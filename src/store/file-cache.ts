// (local path, device, inode, size, mtime, ctime) → content id, so re-putting a directory reads
// only the files that changed, as git's index and restic's parent snapshot do.
//
// Stored a directory at a time: a row is a segment of one directory's entries (encoded below),
// and a directory's newer segments override its older ones name by name. put -r appends a
// segment of the files it read in a directory that kept every cached name, and a segment of all
// its files where a name went away, dropping the segments that were there before. A row per
// file made inserting the cache a tenth of a put of many small files; a segment of 1,000 entries
// costs about what one of those rows did. It is a cache: a lost segment only means the
// next put reads those files again.
import type { Stats } from 'node:fs';
import * as path from 'node:path';
import type { Db } from './meta-db.js';
import { ID_BYTES, type ContentId } from './hash.js';

export interface LocalStat {
  dev: number;
  ino: number;
  size: number;
  /** stat's millisecond doubles: not nanosecond-exact, but the same file state always gives the same value */
  mtime: number;
  ctime: number;
}

export function localStat(st: Stats): LocalStat {
  return { dev: st.dev, ino: st.ino, size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs };
}

/** A file modified this close to the moment it was read could change again within the same mtime tick. */
const RACY_MS = 2000;
/** Segments a directory may gather from single-file updates before they are merged into one. */
const MAX_SEGMENTS = 8;
/** Segment format: a version byte, then per entry u16 name length, name (UTF-8), 5 float64 (dev, ino, size, mtime, ctime), content id. */
const SEGMENT_V1 = 1;
const FIXED_BYTES = 2 + 5 * 8 + ID_BYTES;

export type CacheRow = LocalStat & { content: Buffer };

/** A file whose content id is known, to remember. */
export interface CacheUpdate {
  path: string;
  stat: LocalStat;
  id: ContentId;
  /** when it was read, if not the time given to record() */
  readAt?: number;
}

/** A directory's cached files by name, and the newest segment they came from (0: none). */
export interface DirCache {
  rows: Map<string, CacheRow>;
  seq: number;
}

export class FileCache {
  private readonly segments;
  private readonly count;
  private readonly nextSeq;
  private readonly insert;
  private readonly dropUpTo;
  /** directories read by lookup(), by absolute path */
  private readonly loaded = new Map<string, Map<string, CacheRow>>();

  constructor(private readonly db: Db) {
    this.segments = db.prepare('SELECT seq, entries FROM file_cache WHERE dir = ? ORDER BY seq');
    this.count = db.prepare('SELECT count(*) FROM file_cache WHERE dir = ?').pluck();
    this.nextSeq = db.prepare('SELECT coalesce(max(seq), 0) + 1 FROM file_cache WHERE dir = ?').pluck();
    this.insert = db.prepare('INSERT INTO file_cache (dir, seq, entries) VALUES (?, ?, ?)');
    this.dropUpTo = db.prepare('DELETE FROM file_cache WHERE dir = ? AND seq <= ?');
  }

  /**
   * The cached rows of the files directly in `dir` (absolute, no trailing slash), by name: put -r
   * asks once per directory as it walks, so it holds one directory's rows, never the whole tree's.
   */
  childrenOf(dir: string): DirCache {
    const rows = new Map<string, CacheRow>();
    let seq = 0;
    for (const r of this.segments.iterate(dir) as IterableIterator<{ seq: number; entries: Buffer }>) {
      decodeSegment(r.entries, rows);
      seq = r.seq;
    }
    return { rows, seq };
  }

  /**
   * The same rows as childrenOf, read in place from the directory's segments: no object per file
   * (put -r walks every cached file of a tree through here; a row object and a view of its id per
   * file, alive until their directory was built, were most of what its collections kept).
   */
  rowsOf(dir: string): DirRows {
    const segs: Buffer[] = [];
    let seq = 0;
    for (const r of this.segments.iterate(dir) as IterableIterator<{ seq: number; entries: Buffer }>) {
      segs.push(r.entries);
      seq = r.seq;
    }
    return new DirRows(segs, seq);
  }

  /** The cached content id when the file is provably unchanged since it was hashed. */
  lookup(file: string, st: LocalStat): ContentId | undefined {
    const dir = path.dirname(file);
    let rows = this.loaded.get(dir);
    if (!rows) {
      rows = this.childrenOf(dir).rows;
      this.loaded.set(dir, rows);
    }
    const row = rows.get(path.basename(file));
    if (!row) return undefined;
    if (row.dev !== st.dev || row.ino !== st.ino || row.size !== st.size || row.mtime !== st.mtime || row.ctime !== st.ctime) return undefined;
    return row.content as ContentId;
  }

  /**
   * Remember files' content ids, except those that changed too recently to be trusted (git's
   * racy-index rule), as one new segment per directory; then drop the segments of each `complete`
   * directory up to `upTo`, the newest it had when a walk of the whole directory began. Call
   * inside the transaction that records the contents.
   */
  record(files: readonly CacheUpdate[], readAtMs: number, complete: readonly { dir: string; upTo: number }[] = []): void {
    // one write transaction (a savepoint inside the caller's, where there is one): picking a
    // directory's next segment number and inserting it must not interleave with another
    // process's record on the same cache file (a team store's cache.db is outside every unit)
    this.db.transaction(() => this.recordIn(files, readAtMs, complete)).immediate();
  }

  private recordIn(files: readonly CacheUpdate[], readAtMs: number, complete: readonly { dir: string; upTo: number }[]): void {
    const byDir = new Map<string, { name: string; stat: LocalStat; id: Buffer }[]>();
    for (const f of files) {
      if ((f.readAt ?? readAtMs) - Math.max(f.stat.mtime, f.stat.ctime) < RACY_MS) continue;
      const dir = path.dirname(f.path);
      let list = byDir.get(dir);
      if (!list) byDir.set(dir, (list = []));
      list.push({ name: path.basename(f.path), stat: f.stat, id: f.id });
    }
    for (const [dir, list] of byDir) {
      this.insert.run(dir, this.nextSeq.get(dir), encodeSegment(list));
      this.loaded.delete(dir);
    }
    const dropped = new Set<string>();
    for (const c of complete) {
      if (c.upTo > 0) this.dropUpTo.run(c.dir, c.upTo);
      dropped.add(c.dir);
    }
    // single-file updates gather segments: merge a directory's once there are many
    for (const dir of byDir.keys()) if (!dropped.has(dir) && (this.count.get(dir) as number) > MAX_SEGMENTS) this.compact(dir);
  }

  private compact(dir: string): void {
    const { rows, seq } = this.childrenOf(dir);
    this.dropUpTo.run(dir, seq);
    const list = [...rows].map(([name, r]) => ({ name, stat: r, id: r.content }));
    if (list.length > 0) this.insert.run(dir, seq + 1, encodeSegment(list));
  }
}

/**
 * A directory's cached files, read in place from its segments (oldest first; a later one overrides
 * an earlier one by name). A row is named by a handle, the offset of its stat fields in the
 * segments laid end to end; -1 is no row.
 */
export class DirRows {
  private readonly at = new Map<string, number>();
  private readonly b: Buffer;

  constructor(
    segments: readonly Buffer[],
    /** the newest segment's number (0: none) */
    readonly seq: number,
  ) {
    this.b = segments.length === 1 ? segments[0]! : Buffer.concat(segments);
    let start = 0;
    for (const s of segments) {
      scanSegment(this.b, start, start + s.length, (name, o) => this.at.set(name, o));
      start += s.length;
    }
  }

  /** names with a row */
  get names(): number {
    return this.at.size;
  }

  /** the handle of `name`'s row, or -1 */
  find(name: string): number {
    return this.at.get(name) ?? -1;
  }

  /** Copy the row's dev, ino, size, mtime and ctime to out[o..o+5) (the order of a read batch's cached fields). */
  statInto(h: number, out: Float64Array, o: number): void {
    const b = this.b;
    out[o] = b.readDoubleLE(h);
    out[o + 1] = b.readDoubleLE(h + 8);
    out[o + 2] = b.readDoubleLE(h + 16);
    out[o + 3] = b.readDoubleLE(h + 24);
    out[o + 4] = b.readDoubleLE(h + 32);
  }

  /** The row's stat, as an object: only for a row written again. */
  stat(h: number): LocalStat {
    const b = this.b;
    return { dev: b.readDoubleLE(h), ino: b.readDoubleLE(h + 8), size: b.readDoubleLE(h + 16), mtime: b.readDoubleLE(h + 24), ctime: b.readDoubleLE(h + 32) };
  }

  /** the file's size when the row was written */
  bytes(h: number): number {
    return this.b.readDoubleLE(h + 16);
  }

  /** Whether the row's content id is `id`, compared in place. */
  contentIs(h: number, id: Uint8Array): boolean {
    return id.length === ID_BYTES && this.b.compare(id, 0, ID_BYTES, h + 40, h + 40 + ID_BYTES) === 0;
  }

  /** The row's content id: a view into the segments, made only when asked for. */
  content(h: number): Buffer {
    return this.b.subarray(h + 40, h + 40 + ID_BYTES);
  }
}

function encodeSegment(list: readonly { name: string; stat: LocalStat; id: Buffer }[]): Buffer {
  let size = 1;
  for (const e of list) size += FIXED_BYTES + Buffer.byteLength(e.name);
  const out = Buffer.allocUnsafe(size);
  out[0] = SEGMENT_V1;
  let o = 1;
  for (const { name, stat, id } of list) {
    const n = out.write(name, o + 2);
    out.writeUInt16LE(n, o);
    o += 2 + n;
    for (const v of [stat.dev, stat.ino, stat.size, stat.mtime, stat.ctime]) o = out.writeDoubleLE(v, o);
    o += id.copy(out, o, 0, ID_BYTES);
  }
  return out;
}

/**
 * Call `visit` with each entry's name and the offset of its five stat fields (its content id
 * follows them) in a segment that starts at `start` of `b` and ends at `end`. An unknown format
 * visits nothing; a damaged entry ends the segment (what is left is not trusted).
 */
function scanSegment(b: Buffer, start: number, end: number, visit: (name: string, at: number) => void): void {
  if (b[start] !== SEGMENT_V1) return;
  for (let o = start + 1; o + FIXED_BYTES <= end; ) {
    const n = b.readUInt16LE(o);
    if (o + FIXED_BYTES + n > end) return;
    const name = b.toString('utf8', o + 2, o + 2 + n);
    o += 2 + n;
    visit(name, o);
    o += 40 + ID_BYTES;
  }
}

/** Add a segment's entries to `rows` (a later segment overrides an earlier one). An unknown format adds nothing. */
function decodeSegment(b: Buffer, rows: Map<string, CacheRow>): void {
  scanSegment(b, 0, b.length, (name, o) =>
    rows.set(name, {
      dev: b.readDoubleLE(o),
      ino: b.readDoubleLE(o + 8),
      size: b.readDoubleLE(o + 16),
      mtime: b.readDoubleLE(o + 24),
      ctime: b.readDoubleLE(o + 32),
      content: b.subarray(o + 40, o + 40 + ID_BYTES),
    }),
  );
}
