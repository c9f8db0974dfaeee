// Writing runs of chunks in aligned pieces: the bytes come out exactly as given, whatever the
// chunk sizes, and every write but the first and the last is one whole aligned piece.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AlignedWriter, PIECE } from '../../src/store/aligned-writer.js';
import { seededBytes, tempDir } from '../helpers.js';

const writes = vi.hoisted(() => [] as { pos: number; len: number }[]);
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const writevSync = (fd: number, views: NodeJS.ArrayBufferView[], pos?: number) => {
    const n = real.writevSync(fd, views, pos);
    writes.push({ pos: pos ?? -1, len: n });
    return n;
  };
  return { ...real, default: { ...real, writevSync }, writevSync };
});

const dir = tempDir('tusk-aligned-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  writes.length = 0;
});

/** A run as RunReader hands it over: its bytes in `parts` buffers, pieces [buffer, offset, length]. */
function runOf(chunks: Buffer[], parts: number): { bufs: ArrayBuffer[]; pieces: Int32Array } {
  const bufs: ArrayBuffer[] = [];
  const pieces = new Int32Array(3 * chunks.length);
  chunks.forEach((c, j) => {
    const b = j % parts;
    // a gap before each chunk, as record headers leave one
    const at = (bufs[b]?.byteLength ?? 0) + 48;
    const grown = new Uint8Array(at + c.length);
    if (bufs[b]) grown.set(new Uint8Array(bufs[b]!));
    grown.set(c, at);
    bufs[b] = grown.buffer;
    pieces.set([b, at, c.length], 3 * j);
  });
  return { bufs, pieces };
}

function writeAll(start: number, runs: Buffer[][], parts = 1): Buffer {
  const file = path.join(dir, `out-${start}-${runs.length}`);
  const fd = fs.openSync(file, 'w');
  try {
    const w = new AlignedWriter(fd, start);
    for (const chunks of runs) {
      const { bufs, pieces } = runOf(chunks, parts);
      w.writeRun(bufs, pieces);
      // the caller reuses its buffers as soon as writeRun returns
      for (const b of bufs) new Uint8Array(b).fill(0xee);
    }
    w.end();
    expect(w.position).toBe(start + runs.flat().reduce((n, c) => n + c.length, 0));
  } finally {
    fs.closeSync(fd);
  }
  return fs.readFileSync(file).subarray(start);
}

describe('AlignedWriter', () => {
  it('writes the runs back to back, in whole aligned pieces but for the last', () => {
    let seed = 1;
    const runs = Array.from({ length: 12 }, (_, r) =>
      Array.from({ length: 1 + (r % 5) }, () => {
        seed++;
        // from empty chunks to chunks over two pieces long
        return seededBytes((seed * 7919) % (3 * PIECE), seed);
      }),
    );
    const got = writeAll(0, runs, 2);
    expect(got.equals(Buffer.concat(runs.flat()))).toBe(true);
    expect(writes.length).toBeGreaterThan(5);
    for (const w of writes.slice(0, -1)) {
      expect(w.pos % PIECE).toBe(0);
      expect(w.len).toBe(PIECE);
    }
    expect(writes.at(-1)!.len).toBeLessThanOrEqual(PIECE);
  });

  it('keeps a run shorter than a piece for the next one', () => {
    const small = [seededBytes(1000, 1)];
    const runs = [small, [seededBytes(5000, 2)], [seededBytes(PIECE, 3)], [seededBytes(10, 4)]];
    const got = writeAll(0, runs);
    expect(got.equals(Buffer.concat(runs.flat()))).toBe(true);
    // one whole piece, then the rest
    expect(writes).toEqual([
      { pos: 0, len: PIECE },
      { pos: PIECE, len: 1000 + 5000 + 10 },
    ]);
  });

  it('starting mid-file, the first write ends at a piece boundary', () => {
    const runs = [[seededBytes(3 * PIECE, 5)]];
    const got = writeAll(1000, runs);
    expect(got.equals(runs[0]![0]!)).toBe(true);
    expect(writes[0]).toEqual({ pos: 1000, len: PIECE - 1000 });
    expect(writes[1]!.pos).toBe(PIECE);
  });

  it('writes nothing for nothing', () => {
    expect(writeAll(0, []).length).toBe(0);
    expect(writeAll(0, [[Buffer.alloc(0)]]).length).toBe(0);
    expect(writes).toEqual([]);
  });
});
