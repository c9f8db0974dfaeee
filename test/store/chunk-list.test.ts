// A big file's chunk ids, packed as its writer collects them: every id kept, in order, across the
// buffer's growth, and a record made of them reads and stores as one made of an id per Buffer.
import { describe, expect, it } from 'vitest';
import { chunkListBytes, splitIds, type ContentRecord } from '../../src/store/chunk-index.js';
import { ChunkIdList, packedContent } from '../../src/store/chunk-list.js';
import type { ChunkId, ContentId } from '../../src/store/hash.js';

const id = (i: number) => Buffer.alloc(32, i % 251).fill(i >> 8, 0, 1) as ChunkId;

describe('ChunkIdList', () => {
  it('keeps every id in order across many doublings, copied from buffers the caller reuses', () => {
    const list = new ChunkIdList();
    const reused = Buffer.alloc(7 * 32);
    const n = 5000;
    for (let i = 0; i < n; ) {
      const k = Math.min(1 + (i % 7), n - i);
      for (let j = 0; j < k; j++) id(i + j).copy(reused, j * 32);
      list.append(reused.subarray(0, k * 32));
      reused.fill(0xee); // what a reply's buffer holds next must not show
      i += k;
    }
    expect(list.length).toBe(n);
    for (const i of [0, 1, 255, 256, 257, 4999]) expect(list.at(i).equals(id(i))).toBe(true);
    expect(list.bytes().equals(Buffer.concat(Array.from({ length: n }, (_, i) => id(i))))).toBe(true);
  });
});

describe('packedContent', () => {
  it('gives the ids as chunks when read, and is stored as the same bytes', () => {
    const ids = Array.from({ length: 300 }, (_, i) => id(i));
    const packed = Buffer.concat(ids);
    const base = { id: id(9999) as unknown as ContentId, size: 123, endState: Buffer.from('state') };
    const rec = packedContent(base, packed);
    const plain: ContentRecord = { ...base, chunks: splitIds(Buffer.from(packed)) };
    expect(rec.chunks.map((c) => c.toString('hex'))).toEqual(ids.map((c) => c.toString('hex')));
    expect(rec.chunks).toBe(rec.chunks); // made once
    expect(chunkListBytes(rec).equals(chunkListBytes(plain))).toBe(true);
    expect(rec.endState).toEqual(base.endState);
    expect(packedContent({ id: base.id, size: 1 }, packed)).not.toHaveProperty('endState');
  });
});
