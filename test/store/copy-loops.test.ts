// The copy-out of a stored file exists three times: chunk by chunk (readChunk, each chunk checked
// against its id: the reference), on the content worker (writeContentParallel) and in the addon
// (writeContentNative). Whatever the size, the content and where runs, pieces and chunks end, the
// two fast loops must write exactly the reference's bytes and report the same count.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContentRecord } from '../../src/store/chunk-index.js';
import { CHUNK_PROFILE_V1 } from '../../src/store/chunker.js';
import { ContentWriter, readChunk } from '../../src/store/content-io.js';
import type { ChunkId } from '../../src/store/hash.js';
import { hasNativeCopy, nativeCopy } from '../../src/store/native-io.js';
import { writeContentNative, writeContentParallel } from '../../src/store/parallel-content.js';
import type { StoreCore } from '../../src/store/store-core.js';
import { contentWorker } from '../../src/store/worker-link.js';
import { seededBytes, tempStore } from '../helpers.js';
import { inputs } from './content-inputs.js';
import { commitContent } from './write-content.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const P = CHUNK_PROFILE_V1;
const PIECE = 128 * KiB;
const ctx = { describe: () => 'r@master:/copy' };

const env = tempStore();
afterAll(() => env.cleanup());
const core = env.store.core;
const outFile = path.join(path.dirname(core.path), 'copy.out');

/** Sizes around a write piece, the chunk limits, a run of records and the 4 MiB read block, and a few drawn at random. */
function sizes(): number[] {
  const fixed = [1, PIECE - 1, PIECE + 1, P.minSize + 1, P.maxSize + 1, 2 * P.maxSize + 3, 4 * MiB + 1, 6 * MiB + 777];
  let x = 0x2545f491;
  const drawn = Array.from({ length: 3 }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return 1 + ((x >>> 0) % (5 * MiB));
  });
  return [...fixed, ...drawn];
}

async function store(data: Buffer): Promise<ContentRecord> {
  return (await commitContent(core, (w) => new ContentWriter(w), async (sink) => {
    for (let i = 0; i < data.length; i += 1 * MiB) await sink.push(Buffer.from(data.subarray(i, i + 1 * MiB)));
  })).rec;
}

const readOne = (s: StoreCore) => (id: ChunkId) => readChunk(s.index, s.packs, id, ctx);

/** The reference: every chunk read and checked on its own, from `offset` on. */
async function chunkByChunk(rec: ContentRecord, offset: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const c of rec.chunks) parts.push(await readOne(core)(c as ChunkId));
  return Buffer.concat(parts).subarray(offset);
}

/** Run `write` into a fresh file; returns what it reported and what the file holds. */
async function into(write: (fd: number) => Promise<number | null>): Promise<{ n: number | null; bytes: Buffer }> {
  const fd = fs.openSync(outFile, 'w+');
  try {
    const n = await write(fd);
    return { n, bytes: fs.readFileSync(outFile) };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(outFile, { force: true });
  }
}

describe('copy-out loops against the chunk-by-chunk reference', () => {
  // random bytes, zeros (one chunk id repeated) and text (zstd chunks, which the addon reads
  // one by one), all in one store
  let stored: { name: string; data: Buffer; rec: ContentRecord }[] = [];
  beforeAll(async () => {
    stored = [];
    for (const size of sizes()) for (const [kind, data] of inputs(size, size % 89)) stored.push({ name: `${kind} ${size}`, data, rec: await store(data) });
  });

  it('the reference reads back every content as it was put', async () => {
    for (const { name, data, rec } of stored) expect((await chunkByChunk(rec, 0)).equals(data), name).toBe(true);
  });

  it('writeContentParallel (the content worker) writes the reference bytes, from the start and from offsets', async () => {
    const link = contentWorker();
    expect(link, 'the content worker starts (dist/ is built by the test set-up)').not.toBeNull();
    for (const { name, data, rec } of stored) {
      const offsets = name.startsWith('random') ? [0, 1, PIECE + 3, Math.floor(data.length / 2), data.length - 1] : [0];
      for (const offset of offsets.filter((o) => o < data.length)) {
        const { n, bytes } = await into((fd) => writeContentParallel({ index: core.index, packs: core.packs, rec, ctx, offset, link: link!, readOne: readOne(core) }, fd));
        expect(n, `${name} from ${offset}`).toBe(data.length - offset);
        expect(bytes.equals(await chunkByChunk(rec, offset)), `${name} from ${offset}`).toBe(true);
      }
    }
  });

  it.runIf(hasNativeCopy())('writeContentNative (the addon) writes the reference bytes', async () => {
    for (const { name, data, rec } of stored) {
      const { n, bytes } = await into((fd) => writeContentNative({ index: core.index, packs: core.packs, rec, readOne: readOne(core) }, nativeCopy(fd)!));
      expect(n, name).toBe(data.length);
      expect(bytes.equals(await chunkByChunk(rec, 0)), name).toBe(true);
    }
  });

  it.runIf(hasNativeCopy())('writeContentNative refuses a chunk list that is not the content: null, for the caller to start over', async () => {
    const data = seededBytes(3 * MiB, 5);
    const rec = await store(data);
    expect(rec.chunks.length).toBeGreaterThan(2);
    const swapped = [...rec.chunks];
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    const { n } = await into((fd) => writeContentNative({ index: core.index, packs: core.packs, rec: { ...rec, chunks: swapped }, readOne: readOne(core) }, nativeCopy(fd)!));
    expect(n).toBeNull();
  });
});
