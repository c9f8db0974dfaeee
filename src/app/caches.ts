// The store's two caches behind one service: the datum input cache (src/store/input-cache.ts,
// bounded by TUSK_INPUT_CACHE_MAX) and the cache of pack blocks read from a bucket
// (src/store/pack-cache.ts, bounded by TUSK_PACK_CACHE_MAX). Both only save reading again:
// clearing them loses nothing.
import * as path from 'node:path';
import { INPUT_CACHE_DIR, inputCacheLimit, inputCacheUsage, trimInputCache } from '../store/input-cache.js';
import type { PackCache } from '../store/pack-cache.js';

export interface CacheInfo {
  inputs: { dir: string; bytes: number; files: number; maxBytes: number };
  /** `at`: where the store's packs are, a bucket's URL or its own `packs/` directory */
  packs: { at: string; dir: string; bytes: number; blocks: number; maxBytes: number; hits: number; misses: number };
  /** a team store's database (without its password): where the metadata is, this directory being only this machine's */
  metadata?: string;
}

export interface CacheCleared {
  inputs: { bytes: number; files: number };
  packs: { bytes: number; blocks: number };
}

export class CacheService {
  constructor(
    private readonly storePath: string,
    private readonly packCache: PackCache,
    private readonly packsAt: string,
    private readonly metadata?: string,
  ) {}

  info(): CacheInfo {
    const p = this.packCache.info();
    return {
      inputs: { dir: path.join(this.storePath, INPUT_CACHE_DIR), ...inputCacheUsage(this.storePath), maxBytes: inputCacheLimit() },
      packs: { at: this.packsAt, dir: p.dir, bytes: p.bytes, blocks: p.entries, maxBytes: p.maxBytes, hits: p.hits, misses: p.misses },
      ...(this.metadata ? { metadata: this.metadata } : {}),
    };
  }

  /** Empty both caches: what a running job has laid out stays (its own links and copies). */
  clear(): CacheCleared {
    const t = trimInputCache(this.storePath, { maxBytes: 0 });
    const p = this.packCache.clear();
    return { inputs: { bytes: t.bytesRemoved, files: t.filesRemoved }, packs: { bytes: p.bytes, blocks: p.entries } };
  }
}
