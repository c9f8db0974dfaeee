// Recently decoded base chunks, by chunk id, bounded in bytes. A delta may have several bases and
// neighbouring chunks share them, so without it reading a chain of versions would decode the
// same base again for every chunk above it (and, with two bases per level, twice as often per
// level down). Only proven bytes go in: a chunk read at depth 0 (hashed against its id), or a base
// under a chunk that matched its id.
//
// A buffer the cache drops goes back to chunk-buffers.ts, to hold the next decoded chunk: whoever
// gets one from the cache must copy it, or be done with it, before the cache is asked anything
// else.
import { giveBuffer } from './chunk-buffers.js';

/**
 * A read moves through a file in order, and a chunk's bases are the old chunks beside it, so what
 * is reused is a few chunks per level: 16 MiB holds that for a full chain of the largest chunks.
 */
const BUDGET_BYTES = 16 * 1024 * 1024;

/** A bounded least-recently-used map from chunk id (latin1) to bytes. */
export class ChunkCache {
  private readonly map = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private budget = BUDGET_BYTES) {}

  /** Hold at most `budget` bytes from now on (tests use a small one to make reads drop bases). */
  resize(budget: number): void {
    this.budget = budget;
    this.trim();
  }

  get(key: string): Buffer | undefined {
    const v = this.map.get(key);
    if (v) {
      // re-insert: Map iterates in insertion order, so the oldest entry is the first
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: Buffer): void {
    if (value.length > this.budget) return;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.length;
      this.map.delete(key);
      if (old !== value) giveBuffer(old);
    }
    this.map.set(key, value);
    this.bytes += value.length;
    this.trim();
  }

  private trim(): void {
    for (const [k, v] of this.map) {
      if (this.bytes <= this.budget) break;
      this.map.delete(k);
      this.bytes -= v.length;
      giveBuffer(v);
    }
  }

  clear(): void {
    for (const v of this.map.values()) giveBuffer(v);
    this.map.clear();
    this.bytes = 0;
  }
}

/** The process's cache of verified base chunks (content-io.ts readBase). */
export const baseCache = new ChunkCache();

/** What baseCache holds at most unless resized. */
export const BASE_CACHE_BYTES = BUDGET_BYTES;
