// The local disk cache in front of packs kept in a bucket: verified blocks of pack objects, one
// file each, under `<store>/pack-cache/<first two chars>/<pack>.<block>`, bounded in bytes and
// evicted least recently used first. Every file is written to a temporary name and renamed, so
// a reader in this or another process sees a whole block or none; a block removed by another
// process's eviction is only a miss. Only blocks that matched their recorded hash are written.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sizeFromEnv } from './input-cache.js';

export const PACK_CACHE_DIR = 'pack-cache';

/** The cache's default bound on the bytes it holds (TUSK_PACK_CACHE_MAX overrides it). */
export const PACK_CACHE_MAX_BYTES = 2 * 1024 ** 3;

/** TUSK_PACK_CACHE_MAX (bytes, or with K, M or G), else PACK_CACHE_MAX_BYTES; a value that is not a size is an error naming the variable. */
export function packCacheLimit(env: NodeJS.ProcessEnv = process.env): number {
  return sizeFromEnv('TUSK_PACK_CACHE_MAX', PACK_CACHE_MAX_BYTES, env);
}

/** A cached block's file name: `<pack>.<block number>`, or `<pack>.sums` for the pack's block hashes. */
const ENTRY = /^[0-9A-Za-z_-]+\.(\d+|sums)$/;
/** Temporary names older than this were left by a process that died mid-write. */
const STRAY_AGE_MS = 60 * 60 * 1000;
const STATS_FILE = 'stats.json';

export interface PackCacheInfo {
  dir: string;
  bytes: number;
  entries: number;
  maxBytes: number;
  /** reads answered from disk and reads that went to the bucket, over every process that closed its store */
  hits: number;
  misses: number;
}

export class PackCache {
  /** what this process believes the cache holds: exact after a scan, grown by its own writes since */
  private bytes: number | null = null;
  private hits = 0;
  private misses = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  private fileOf(name: string, entry: string): string {
    return path.join(this.dir, name.slice(0, 2), `${name}.${entry}`);
  }

  /** A cached entry's bytes, or undefined (a miss: never cached, or evicted). */
  read(name: string, entry: string): Buffer | undefined {
    const file = this.fileOf(name, entry);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // a hit makes the entry the most recently used; another process may have evicted it meanwhile
    const now = new Date();
    try {
      fs.utimesSync(file, now, now);
    } catch {
      // gone already: what was read is whole (renamed in whole, unlinked only)
    }
    return bytes;
  }

  /** Drop an entry (one whose bytes no longer check out). */
  drop(name: string, entry: string): void {
    fs.rmSync(this.fileOf(name, entry), { force: true });
  }

  /** Drop every entry of a pack (one deleted from the bucket): its sums and its blocks. */
  dropPack(name: string): void {
    const dir = path.dirname(this.fileOf(name, 'sums'));
    let files: string[];
    try {
      files = fs.readdirSync(dir);
    } catch {
      return; // nothing cached under this prefix
    }
    for (const f of files) if (f.startsWith(`${name}.`)) fs.rmSync(path.join(dir, f), { force: true });
    this.bytes = null;
  }

  /** Keep verified bytes; evicts the least recently used entries once the bound is passed. A cache that cannot write is only slower. */
  write(name: string, entry: string, bytes: Uint8Array): void {
    if (this.maxBytes <= 0 || bytes.length > this.maxBytes) return;
    const file = this.fileOf(name, entry);
    const tmp = path.join(path.dirname(file), `.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(tmp, bytes, { mode: 0o644 });
      fs.renameSync(tmp, file);
    } catch {
      fs.rmSync(tmp, { force: true });
      return;
    }
    this.bytes = (this.bytes ?? this.scan().bytes) + bytes.length;
    // down to 90% of the bound: a full cache then scans its directory once per tenth of it, not once per block
    if (this.bytes > this.maxBytes) this.bytes = this.trim(Math.floor(this.maxBytes * 0.9)).bytes;
  }

  /** Evict least recently used entries until at most `maxBytes` remain; also removes abandoned temporary files. */
  trim(maxBytes: number, now = Date.now()): { bytes: number; entries: number; removed: number } {
    const kept: { file: string; size: number; used: number }[] = [];
    let removed = 0;
    for (const e of this.entries()) {
      if (!e.entry) {
        if (now - e.mtime > STRAY_AGE_MS && unlink(e.file)) removed++;
      } else kept.push({ file: e.file, size: e.size, used: e.mtime });
    }
    let total = kept.reduce((n, k) => n + k.size, 0);
    if (total > maxBytes) {
      kept.sort((a, b) => a.used - b.used);
      while (kept.length > 0 && total > maxBytes) {
        const k = kept.shift()!;
        if (unlink(k.file)) removed++;
        total -= k.size;
      }
    }
    return { bytes: total, entries: kept.length, removed };
  }

  /** What the cache holds now. */
  scan(): { bytes: number; entries: number } {
    let bytes = 0;
    let entries = 0;
    for (const e of this.entries()) {
      if (!e.entry) continue;
      bytes += e.size;
      entries++;
    }
    this.bytes = bytes;
    return { bytes, entries };
  }

  info(): PackCacheInfo {
    this.saveStats();
    const { bytes, entries } = this.scan();
    const stats = readStats(this.dir);
    return { dir: this.dir, bytes, entries, maxBytes: this.maxBytes, hits: stats.hits, misses: stats.misses };
  }

  /** Remove every entry and the counts; returns what was removed. */
  clear(): { bytes: number; entries: number } {
    const before = this.scan();
    for (const e of this.entries()) unlink(e.file);
    fs.rmSync(path.join(this.dir, STATS_FILE), { force: true });
    this.hits = this.misses = 0;
    this.bytes = 0;
    return before;
  }

  /**
   * Add this process's hit and miss counts to the shared ones. Two processes saving at the same
   * instant may lose one's counts: they are a guide, never used for a decision.
   */
  saveStats(): void {
    if (this.hits === 0 && this.misses === 0) return;
    const s = readStats(this.dir);
    s.hits += this.hits;
    s.misses += this.misses;
    this.hits = this.misses = 0;
    const file = path.join(this.dir, STATS_FILE);
    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      fs.writeFileSync(tmp, JSON.stringify(s));
      fs.renameSync(tmp, file);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }

  private *entries(): Generator<{ file: string; size: number; mtime: number; entry: boolean }> {
    let dirs: string[];
    try {
      dirs = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    for (const d of dirs) {
      if (d === STATS_FILE || d.startsWith(STATS_FILE)) continue;
      let names: string[];
      try {
        names = fs.readdirSync(path.join(this.dir, d));
      } catch {
        continue;
      }
      for (const name of names) {
        const file = path.join(this.dir, d, name);
        const st = fs.statSync(file, { throwIfNoEntry: false });
        if (!st?.isFile()) continue;
        yield { file, size: st.size, mtime: st.mtimeMs, entry: ENTRY.test(name) };
      }
    }
  }
}

function readStats(dir: string): { hits: number; misses: number } {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(dir, STATS_FILE), 'utf8')) as { hits?: unknown; misses?: unknown };
    return { hits: Number(s.hits) || 0, misses: Number(s.misses) || 0 };
  } catch {
    return { hits: 0, misses: 0 };
  }
}

function unlink(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}
