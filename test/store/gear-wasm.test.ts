// The gear loop compiled to wasm, and the addon's streaming chunker, must cut exactly where
// chunker.ts cuts: chunk ids depend on it.
import { describe, expect, it } from 'vitest';
import { Chunker, CHUNK_PROFILE_V1, findCut, masksFor, type ChunkParams } from '../../src/store/chunker.js';
import { DATA_BASE, GearScanner, ScanningChunker, WasmChunker } from '../../src/store/gear-wasm.js';
import { hashBytes } from '../../src/store/hash.js';
import { hasNativeCopy, nativeChunker } from '../../src/store/native-io.js';
import { seededBytes } from '../helpers.js';
import { inputs, SIZES } from './content-inputs.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const P = CHUNK_PROFILE_V1;
const SMALL: ChunkParams = { minSize: 64, avgSize: 256, maxSize: 1024, normalization: 2 };

function cutsByChunker(data: Buffer, blocks: number, params: ChunkParams, c: Chunker = new Chunker(params)): number[] {
  const out: number[] = [];
  let pos = 0;
  const emit = (b: Buffer) => out.push((pos += b.length));
  for (let i = 0; i < data.length; i += blocks) c.push(Buffer.from(data.subarray(i, i + blocks)), emit);
  c.finish(emit);
  return out;
}

function cutsByWasm(data: Buffer, blocks: number, params: ChunkParams, blockBytes?: number): number[] {
  const c = new WasmChunker(params, blockBytes);
  const out: number[] = [];
  let pos = 0;
  const emit = (b: Buffer) => out.push((pos += b.length));
  for (let i = 0; i < data.length; i += blocks) c.push(data.subarray(i, i + blocks), emit);
  c.finish(emit);
  return out;
}

describe('GearScanner (the gear loop in wasm)', () => {
  it('finds the same cut as findCut from every kind of start and end', () => {
    for (const params of [P, SMALL]) {
      const data = seededBytes(3 * params.maxSize + 77, 9);
      const scanner = new GearScanner(params, data.length);
      scanner.bytes.set(data, DATA_BASE);
      const masks = masksFor(params);
      const ends = [data.length, params.minSize, params.minSize + 1, params.avgSize + 3, params.maxSize - 1, params.maxSize + 5];
      for (let start = 0; start < data.length; start += Math.floor(params.minSize / 3) + 1) {
        for (const e of ends) {
          const end = Math.min(data.length, start + e);
          expect(scanner.findCut(DATA_BASE + start, DATA_BASE + end), `start ${start} end ${end}`).toBe(findCut(data, start, end, params, masks));
        }
      }
    }
  });
});

describe('WasmChunker', () => {
  it('cuts like Chunker for sizes around min/avg/max, empty, one byte and past its block size', () => {
    for (const size of SIZES) {
      for (const [kind, data] of inputs(size, size % 97)) {
        const expected = cutsByChunker(data, data.length || 1, P);
        for (const blocks of [data.length || 1, 1 * MiB, 65536 + 7]) {
          expect(cutsByWasm(data, blocks, P), `${kind} ${size} in blocks of ${blocks}`).toEqual(expected);
        }
      }
    }
    // pieces of the wasm memory smaller than maxSize, and a tiny profile with one-byte pushes
    const data = seededBytes(5 * MiB, 3);
    expect(cutsByWasm(data, 3 * MiB, P, 600 * KiB)).toEqual(cutsByChunker(data, data.length, P));
    const small = seededBytes(40 * KiB, 12);
    expect(cutsByWasm(small, 1, SMALL, 100)).toEqual(cutsByChunker(small, small.length, SMALL));
  });
});

describe('ScanningChunker', () => {
  it('cuts like Chunker, also across the joins of blocks and with two profiles in turn', () => {
    for (const size of SIZES) {
      for (const [kind, data] of inputs(size, size % 97)) {
        const expected = cutsByChunker(data, data.length || 1, P);
        for (const blocks of [data.length || 1, 1 * MiB, 65536 + 7]) {
          expect(cutsByChunker(data, blocks, P, new ScanningChunker(P)), `${kind} ${size} in blocks of ${blocks}`).toEqual(expected);
        }
      }
    }
    // the scanners of two profiles are kept apart, and one-byte pushes go through the join
    const small = seededBytes(40 * KiB, 12);
    const big = seededBytes(3 * MiB, 5);
    const a = new ScanningChunker(SMALL);
    const b = new ScanningChunker(P);
    expect(cutsByChunker(small, 1, SMALL, a)).toEqual(cutsByChunker(small, small.length, SMALL));
    expect(cutsByChunker(big, 300 * KiB, P, b)).toEqual(cutsByChunker(big, big.length, P));
    expect(cutsByChunker(small, 777, SMALL, new ScanningChunker(SMALL))).toEqual(cutsByChunker(small, small.length, SMALL));
  });
});

/** [end, id] of every chunk, from Chunker (the reference) or from the addon's chunker fed `blocks` bytes at a time. */
function chunksByChunker(data: Buffer, params: ChunkParams): [number, string][] {
  const c = new Chunker(params);
  const out: [number, string][] = [];
  let pos = 0;
  const emit = (b: Buffer) => out.push([(pos += b.length), hashBytes(b).toString('hex')]);
  c.push(Buffer.from(data), emit);
  c.finish(emit);
  return out;
}

function chunksByNative(data: Buffer, blocks: number, params: ChunkParams): [number, string][] {
  const c = nativeChunker(params)!;
  const out: [number, string][] = [];
  const take = ({ ends, ids }: { ends: Float64Array; ids: Uint8Array }) => ends.forEach((e, j) => out.push([e, Buffer.from(ids.subarray(j * 32, j * 32 + 32)).toString('hex')]));
  for (let i = 0; i < data.length; i += blocks) take(c.push(data.subarray(i, i + blocks)));
  take(c.end());
  return out;
}

describe.runIf(hasNativeCopy())("the addon's chunker (native-io.ts)", () => {
  it('cuts like Chunker and hashes every chunk, whatever the blocks it is fed', () => {
    for (const size of SIZES) {
      for (const [kind, data] of inputs(size, size % 97)) {
        const expected = chunksByChunker(data, P);
        for (const blocks of [data.length || 1, 1 * MiB, 65536 + 7, 4093]) {
          expect(chunksByNative(data, blocks, P), `${kind} ${size} in blocks of ${blocks}`).toEqual(expected);
        }
      }
    }
    // a tiny profile fed one byte at a time: every state crosses a block boundary
    const small = seededBytes(40 * KiB, 12);
    expect(chunksByNative(small, 1, SMALL)).toEqual(chunksByChunker(small, SMALL));
    expect(chunksByNative(small, 333, SMALL)).toEqual(chunksByChunker(small, SMALL));
  });

  it('starts the next stream clean after end(), and refuses what is not a chunker', () => {
    const c = nativeChunker(SMALL)!;
    const a = seededBytes(10 * KiB, 1);
    const b = seededBytes(7 * KiB, 2);
    c.push(a.subarray(0, 5000));
    c.end();
    const take = ({ ends, ids }: { ends: Float64Array; ids: Uint8Array }) => [...ends].map((e, j) => [e, Buffer.from(ids.subarray(j * 32, j * 32 + 32)).toString('hex')]);
    const got = [...take(c.push(b)), ...take(c.end())];
    expect(got).toEqual(chunksByChunker(b, SMALL));
    expect(() => (c as unknown as { io: { chunkerPush(h: unknown, b: null, e: boolean): unknown } }).io.chunkerPush({}, null, true)).toThrow(/not a chunker/);
  });
});
