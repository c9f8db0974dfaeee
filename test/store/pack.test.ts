import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptError, IoError, TuskError } from '../../src/errors.js';
import type { ContentRecord } from '../../src/store/chunk-index.js';
import { ContentWriter, readChunk, readContent } from '../../src/store/content-io.js';
import { hashBytes, type ChunkId, type ContentId } from '../../src/store/hash.js';
import { Codec, PACK_MAGIC, RECORD_HEADER_BYTES, decodeRecordHeader, encodeRecordHeader } from '../../src/store/pack-format.js';
import { hasNativeIo } from '../../src/store/native-io.js';
import { LocalPackStorage } from '../../src/store/pack-storage.js';
import type { LocalCore, StoreCore } from '../../src/store/store-core.js';
import { allBytes, seededBytes, tempDir, tempStore } from '../helpers.js';
import { commitContent, session } from './write-content.js';

const MiB = 1024 * 1024;
const ctx = { describe: () => 'r@master:/f' };

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function packDir(): string {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function store(): LocalCore {
  const env = tempStore();
  cleanups.push(env.cleanup);
  return env.store.core;
}

/** The error `fn` throws, which must be a TuskError with `code`. */
async function thrown(fn: () => unknown, code: string, what = 'expected an error'): Promise<TuskError> {
  try {
    await fn();
  } catch (err) {
    expect((err as TuskError).code, what).toBe(code);
    return err as TuskError;
  }
  throw new Error(what);
}

/** Byte equality without vitest's element-by-element deep compare (slow on MiB buffers). */
function expectBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected), 'bytes differ').toBe(true);
}


/** Write one file's bytes the way putFiles does: chunks, fsync, then one metadata transaction. */
function writeContent(core: StoreCore, data: Buffer, blocks = [data.length]): Promise<{ rec: ContentRecord; newChunks: number }> {
  return commitContent(
    core,
    (writer) => new ContentWriter(writer),
    async (w) => {
      for (let pos = 0, i = 0; pos < data.length; pos += blocks[i++ % blocks.length]!) await w.push(Buffer.from(data.subarray(pos, pos + blocks[i % blocks.length]!)));
    },
  );
}

function readAll(core: StoreCore, id: ContentId, offset = 0): Promise<Buffer> {
  return allBytes(readContent(core.index, core.packs, id, ctx, offset));
}

function packFile(core: StoreCore, name: string): string {
  return path.join(core.path, 'packs', name.slice(0, 2), `${name}.pack`);
}

function flipByte(file: string, at: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0x40;
    fs.writeSync(fd, b, 0, 1, at);
  } finally {
    fs.closeSync(fd);
  }
}

/** The code of what a promise rejected with (a TuskError), or what it was. */
function thrownAsync(e: unknown): unknown {
  return e instanceof TuskError ? e.code : e;
}

describe('LocalPackStorage', () => {
  it('appends records and reads them back by offset', () => {
    const root = packDir();
    const packs = new LocalPackStorage(root);
    const a = packs.openAppender('ab12cd', 0, PACK_MAGIC);
    expect(a.length).toBe(PACK_MAGIC.length);
    const one = seededBytes(1000, 1);
    const two = seededBytes(70_000, 2);
    expect(a.append([encodeRecordHeader(hashBytes(one), Codec.Raw, one.length, one.length), one])).toBe(PACK_MAGIC.length);
    const second = PACK_MAGIC.length + RECORD_HEADER_BYTES + one.length;
    expect(a.append([two])).toBe(second);
    expect(a.length).toBe(second + two.length);
    a.sync();
    a.close();

    expect(fs.existsSync(path.join(root, 'ab', 'ab12cd.pack'))).toBe(true);
    expect(packs.sizeOf('ab12cd')).toBe(second + two.length);
    expect(packs.names()).toEqual(['ab12cd']);
    expect(packs.read('ab12cd', 0, PACK_MAGIC.length)).toEqual(PACK_MAGIC);
    const header = decodeRecordHeader(packs.read('ab12cd', PACK_MAGIC.length, RECORD_HEADER_BYTES))!;
    expect(header).toEqual({ codec: Codec.Raw, rawLen: 1000, storedLen: 1000, id: hashBytes(one) });
    expectBytes(packs.read('ab12cd', PACK_MAGIC.length + RECORD_HEADER_BYTES, one.length), one);
    expectBytes(packs.read('ab12cd', second, two.length), two);

    packs.removeNow('ab12cd');
    expect(packs.sizeOf('ab12cd')).toBeNull();
    expect(packs.names()).toEqual([]);
    packs.close();
  });

  it('implements the pack contract: objects put whole, read whole and by range, listed by prefix, removed', async () => {
    const packs = new LocalPackStorage(packDir());
    const body = seededBytes(100_000, 4);
    await packs.put('ab01', body);
    await packs.put('ab02', (async function* () {
      yield body.subarray(0, 10);
      yield body.subarray(10, 20);
    })());
    await packs.put('cd03', Buffer.from('x'));
    expectBytes(await packs.get('ab01'), body);
    expectBytes(await packs.getRange('ab01', 5000, 300), body.subarray(5000, 5300));
    expectBytes(await packs.get('ab02'), body.subarray(0, 20));
    expect(await packs.size('ab02')).toBe(20);
    expect(await packs.size('ee99')).toBeNull();
    const listed: string[] = [];
    for await (const n of packs.list('ab')) listed.push(n);
    expect(listed).toEqual(['ab01', 'ab02']);
    expect(thrownAsync(await packs.getRange('ab02', 10, 20).then(() => null, (e: unknown) => e))).toBe('E_CORRUPT');
    expect(thrownAsync(await packs.get('ee99').then(() => null, (e: unknown) => e))).toBe('E_CORRUPT');
    await packs.remove('ab01');
    await packs.remove('ab01');
    expect(await packs.size('ab01')).toBeNull();
    // what the write path appends is an object of the contract like any other
    expect(packs.names()).toEqual(['ab02', 'cd03']);
    packs.close();
  });

  it('flushAhead is only a head start: appends and sync still work after it', () => {
    const packs = new LocalPackStorage(packDir());
    const a = packs.openAppender('f1a5', 0, PACK_MAGIC);
    const one = seededBytes(200_000, 1);
    const two = seededBytes(3000, 2);
    a.append([one]);
    a.flushAhead();
    a.append([two]);
    a.sync();
    a.close();
    a.flushAhead(); // after close: nothing to do, no error
    expectBytes(packs.read('f1a5', PACK_MAGIC.length, one.length + two.length), Buffer.concat([one, two]));
    packs.close();
  });

  it.runIf(hasNativeIo())('reserves blocks ahead of appends and gives back what was not used when it syncs', () => {
    const root = packDir();
    const packs = new LocalPackStorage(root);
    const a = packs.openAppender('b10c', 0, PACK_MAGIC);
    const one = seededBytes(100_000, 1);
    a.append([one]);
    const file = path.join(root, 'b1', 'b10c.pack');
    const allocated = () => fs.statSync(file).blocks * 512;
    expect(fs.statSync(file).size).toBe(a.length); // reserving does not grow the file
    expect(allocated()).toBeGreaterThanOrEqual(a.length + 4 * MiB);
    a.sync();
    expect(allocated()).toBeLessThan(a.length + 64 * 1024);
    a.close();
    expectBytes(packs.read('b10c', PACK_MAGIC.length, one.length), one);
    packs.close();
  });

  it('a writer that committed and handed the pack on never cuts what the next writer appends', () => {
    const root = packDir();
    const packs = new LocalPackStorage(root);
    const a = packs.openAppender('0a1b', 0, PACK_MAGIC);
    a.append([seededBytes(100_000, 1)]);
    a.sync();
    const committed = a.length; // recorded: the lease goes back, another process claims the pack
    const other = new LocalPackStorage(root);
    const b = other.openAppender('0a1b', committed, PACK_MAGIC);
    const next = seededBytes(50_000, 2);
    expect(b.append([next])).toBe(committed);
    a.close(); // the first writer finishes only now
    b.sync();
    b.close();
    expect(packs.sizeOf('0a1b')).toBe(committed + next.length);
    expectBytes(other.read('0a1b', committed, next.length), next);
    packs.close();
    other.close();
  });

  it('reopening at the committed size truncates a crashed writer’s tail', () => {
    const packs = new LocalPackStorage(packDir());
    const a = packs.openAppender('deadbeef', 0, PACK_MAGIC);
    a.append([seededBytes(5000, 1)]);
    a.sync();
    const committed = a.length; // the metadata transaction recorded this size
    a.append([seededBytes(100_000, 2)]); // ...then the writer crashed before committing this
    a.close();
    expect(packs.sizeOf('deadbeef')).toBe(committed + 100_000);

    const b = packs.openAppender('deadbeef', committed, PACK_MAGIC);
    expect(b.length).toBe(committed);
    expect(packs.sizeOf('deadbeef')).toBe(committed);
    const next = seededBytes(300, 3);
    expect(b.append([next])).toBe(committed);
    b.close();
    expect(packs.sizeOf('deadbeef')).toBe(committed + 300);
    expectBytes(packs.read('deadbeef', committed, 300), next);
    // the header is not rewritten when reopening a non-empty pack
    expect(packs.read('deadbeef', 0, PACK_MAGIC.length)).toEqual(PACK_MAGIC);
    expectBytes(packs.read('deadbeef', PACK_MAGIC.length, 5000), seededBytes(5000, 1));
    packs.close();
  });

  it('reports reads past the end and missing packs as corruption naming the pack', async () => {
    const packs = new LocalPackStorage(packDir());
    const a = packs.openAppender('cafe01', 0, PACK_MAGIC);
    a.append([seededBytes(100, 1)]);
    a.close();
    expect((await thrown(() => packs.read('cafe01', 50, 100), 'E_CORRUPT')).message).toMatch(/pack cafe01 is truncated/);
    expect(await thrown(() => packs.read('cafe01', 10_000, 1), 'E_CORRUPT')).toBeInstanceOf(CorruptError);
    expect((await thrown(() => packs.read('0000nothere', 0, 8), 'E_CORRUPT')).message).toMatch(/pack 0000nothere is missing/);
    packs.close();
  });

  it('latches the first write error: a failed appender is never reused', async () => {
    const packs = new LocalPackStorage(packDir());
    const a = packs.openAppender('feed00', 0, PACK_MAGIC);
    a.close(); // the fd is gone: the next write fails
    expect(await thrown(() => a.append([Buffer.from('x')]), 'E_IO')).toBeInstanceOf(IoError);
    expect((await thrown(() => a.append([Buffer.from('y')]), 'E_IO')).message).toMatch(/unusable after an earlier write error/);
    expect((await thrown(() => a.sync(), 'E_IO')).message).toMatch(/unusable after an earlier write error/);
    packs.close();
  });
});

describe('PackWriter', () => {
  it('dedups within a session and, after record(), against the index', async () => {
    const core = store();
    const a = seededBytes(40_000, 1);
    const b = seededBytes(50_000, 2);
    const ida = hashBytes(a) as ChunkId;
    const idb = hashBytes(b) as ChunkId;
    const s1 = await session(core);
    s1.writer.add(ida, a);
    s1.writer.add(ida, a);
    expect((await s1.writer.known([ida])).has(ida.toString('latin1'))).toBe(true);
    s1.writer.add(idb, b);
    await s1.writer.drain();
    expect(s1.writer.newChunks).toBe(2);
    expect(s1.writer.storedBytes).toBe(2 * RECORD_HEADER_BYTES + a.length + b.length);
    // not yet committed: the index does not know the chunks
    expect(await core.index.hasChunk(ida)).toBe(false);
    await s1.writer.sync();
    await core.unitOfWork(async () => await s1.writer.record());
    await s1.writer.close(false);

    const loc = (await core.index.getChunk(ida))!;
    expect(loc).toMatchObject({ offset: PACK_MAGIC.length, storedLen: a.length, rawLen: a.length, codec: Codec.Raw });
    expect((await core.index.getChunk(idb))).toMatchObject({ pack: loc.pack, offset: PACK_MAGIC.length + RECORD_HEADER_BYTES + a.length });
    expect(core.db.prepare('SELECT size, sealed, lease_owner FROM packs WHERE id = ?').get(loc.pack)).toEqual({
      size: PACK_MAGIC.length + 2 * RECORD_HEADER_BYTES + a.length + b.length,
      sealed: 0,
      lease_owner: null,
    });

    const s2 = await session(core);
    s2.writer.add(ida, a);
    s2.writer.add(idb, b);
    await s2.writer.drain();
    expect(s2.writer.newChunks).toBe(0);
    expect(s2.writer.storedBytes).toBe(0);
    await s2.writer.close(false);
    expectBytes(await readChunk(core.index, core.packs, ida, ctx), a);
    expectBytes(await readChunk(core.index, core.packs, idb, ctx), b);
  });

  it('the next writer reuses an unsealed pack and truncates a failed session’s tail', async () => {
    const core = store();
    const a = seededBytes(40_000, 1);
    const first = (await writeContent(core, a)).rec;
    const loc = (await core.index.getChunk(first.chunks[0]!))!;
    const committed = PACK_MAGIC.length + RECORD_HEADER_BYTES + a.length;

    // a session that fsyncs and then fails before its metadata transaction: its bytes are on
    // disk but were never recorded
    const failed = await session(core);
    const lost = seededBytes(60_000, 2);
    failed.writer.add(hashBytes(lost) as ChunkId, lost);
    await failed.writer.sync();
    expect(failed.writer.newChunks).toBe(1);
    await failed.writer.close(true); // releases the lease
    expect(core.packs.local!.sizeOf(loc.packName)).toBe(committed + RECORD_HEADER_BYTES + lost.length);

    const next = seededBytes(30_000, 3);
    const rec = (await writeContent(core, next)).rec;
    const nloc = (await core.index.getChunk(rec.chunks[0]!))!;
    expect(nloc.packName).toBe(loc.packName);
    expect(nloc.offset).toBe(committed);
    expect(core.packs.local!.sizeOf(loc.packName)).toBe(committed + RECORD_HEADER_BYTES + next.length);
    expect(await core.index.hasChunk(hashBytes(lost) as ChunkId)).toBe(false);
    expectBytes(await readAll(core, rec.id), next);
  });

  it('stores a compressible chunk as zstd, smaller, and a random chunk raw', async () => {
    const core = store();
    const text = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(2000)); // 88000 bytes: one chunk
    const rnd = seededBytes(100_000, 9);
    const t = (await writeContent(core, text)).rec;
    const r = (await writeContent(core, rnd)).rec;
    expect(t.chunks).toHaveLength(1);
    expect(r.chunks).toHaveLength(1);
    const tl = (await core.index.getChunk(t.chunks[0]!))!;
    const rl = (await core.index.getChunk(r.chunks[0]!))!;
    expect(tl.codec).toBe(Codec.Zstd);
    expect(tl.rawLen).toBe(text.length);
    expect(tl.storedLen).toBeLessThan(text.length / 20);
    expect(rl.codec).toBe(Codec.Raw);
    expect(rl.storedLen).toBe(rnd.length);
    expect(decodeRecordHeader(core.packs.local!.read(tl.packName, tl.offset, RECORD_HEADER_BYTES))).toMatchObject({ codec: Codec.Zstd, rawLen: text.length, storedLen: tl.storedLen });
    expectBytes(await readAll(core, t.id), text);
    expectBytes(await readAll(core, r.id), rnd);
  });

  it('after 32 big chunks in a row stay raw, probes one in 8 until one compresses', async () => {
    const core = store();
    const { owner, writer } = await session(core);
    const text = (i: number) => Buffer.from(`line ${i} of a compressible stretch\n`.repeat(2000)); // ~70 KB
    const ids: ChunkId[] = [];
    const add = (b: Buffer) => {
      const id = hashBytes(b) as ChunkId;
      ids.push(id);
      writer.add(id, b);
    };
    // 32 probed and raw; the 33rd is the first one-in-8 probe, and stays raw too
    for (let i = 0; i < 33; i++) add(seededBytes(64 * 1024, 100 + i));
    // so the next 7 are not probed (raw although compressible), the 8th is, and ends the run
    for (let i = 0; i < 10; i++) add(text(i));
    await writer.sync();
    await core.unitOfWork(async () => {
      await writer.record();
      await core.index.removeWriter(owner);
    });
    await writer.close(false);
    const codecs: Codec[] = [];
    for (const id of ids) codecs.push((await core.index.getChunk(id))!.codec);
    expect(codecs.slice(0, 33).every((c) => c === Codec.Raw)).toBe(true);
    expect(codecs.slice(33)).toEqual([...new Array(7).fill(Codec.Raw), Codec.Zstd, Codec.Zstd, Codec.Zstd]);
  });
});

describe('content records and verified reads', () => {
  it('gives a multi-chunk file the BLAKE3 id of its bytes, whatever the block sizes', async () => {
    const core = store();
    const data = seededBytes(MiB, 42);
    const { rec, newChunks } = await writeContent(core, data);
    // GOLDEN: blake3 of seededBytes(1 MiB, 42); chunk boundaries pinned in chunker.test.ts
    expect(rec.id.toString('hex')).toBe(GOLDEN_1MIB_SEED42);
    expect(rec.id).toEqual(hashBytes(data));
    expect(rec.size).toBe(MiB);
    const locs = await core.index.getChunks(rec.chunks);
    expect(rec.chunks.map((c) => locs.get(c.toString('latin1'))!.rawLen)).toEqual([160505, 173876, 303536, 206162, 133208, 71289]);
    expect(newChunks).toBe(6);
    expect((await core.index.getContent(rec.id))).toEqual(rec);
    expectBytes(await readAll(core, rec.id), data);
    // an offset read skips whole chunks unread
    expectBytes(await readAll(core, rec.id, 400_000), data.subarray(400_000));

    const again = await writeContent(core, data, [4096, 100_000, 7]);
    expect(again.rec).toEqual(rec);
    expect(again.newChunks).toBe(0);
  });

  it('gives a one-chunk file its chunk id and stores no contents row: the chunk row is the record', async () => {
    const core = store();
    const data = Buffer.from('hello\n');
    const { rec } = await writeContent(core, data);
    expect(rec.id.toString('hex')).toBe(hashBytes(data).toString('hex'));
    expect(rec.chunks).toEqual([rec.id]);
    expect(core.db.prepare('SELECT size, chunks FROM contents WHERE id = ?').get(rec.id)).toBeUndefined();
    expect((await core.index.getContent(rec.id))).toEqual({ id: rec.id, size: 6, chunks: [rec.id] });
    expect((await readAll(core, rec.id)).toString()).toBe('hello\n');
  });

  it('detects a flipped byte in a chunk payload, raw or compressed, and never returns the bytes', async () => {
    const core = store();
    const rnd = seededBytes(100_000, 5);
    const text = Buffer.from('all work and no play makes jack a dull boy\n'.repeat(2000));
    for (const data of [rnd, text]) {
      const { rec } = await writeContent(core, data);
      const id = rec.chunks[0]!;
      const loc = (await core.index.getChunk(id))!;
      flipByte(packFile(core, loc.packName), loc.offset + RECORD_HEADER_BYTES + Math.floor(loc.storedLen / 2));
      const err = await thrown(() => readChunk(core.index, core.packs, id, ctx), 'E_CORRUPT');
      expect(err.message).toMatch(/^r@master:\/f cannot be read: /);
      expect(err.message).toContain(loc.packName);
      await thrown(() => readAll(core, rec.id), 'E_CORRUPT');
    }
  });

  it('detects a flipped byte anywhere in a record header that carries meaning', async () => {
    const core = store();
    // magic, codec, raw_len, stored_len and the chunk id; bytes 5..7 are reserved
    const positions = [0, 3, 4, 8, 11, 12, 15, 16, 31, 47];
    for (const at of positions) {
      const data = seededBytes(50_000, 1000 + at);
      const { rec } = await writeContent(core, data);
      const loc = (await core.index.getChunk(rec.chunks[0]!))!;
      flipByte(packFile(core, loc.packName), loc.offset + at);
      const err = await thrown(() => readChunk(core.index, core.packs, rec.chunks[0]!, ctx), 'E_CORRUPT', `no error for a flipped header byte ${at}`);
      expect(err.message, `header byte ${at}`).toContain(loc.packName);
    }
  });

  it('reports a chunk missing from the index, and a missing pack, as corruption', async () => {
    const core = store();
    const { rec } = await writeContent(core, seededBytes(50_000, 1));
    expect((await thrown(() => readChunk(core.index, core.packs, hashBytes(Buffer.from('nope')) as ChunkId, ctx), 'E_CORRUPT')).message).toMatch(/missing from the index/);
    const loc = (await core.index.getChunk(rec.chunks[0]!))!;
    core.packs.local!.removeNow(loc.packName);
    expect((await thrown(() => readAll(core, rec.id), 'E_CORRUPT')).message).toMatch(new RegExp(`pack ${loc.packName} is missing`));
  });

  it('verifies the whole-file id: a reordered chunk list is corruption', async () => {
    const core = store();
    const data = seededBytes(MiB, 42);
    const { rec } = await writeContent(core, data);
    expect(rec.chunks.length).toBeGreaterThan(2);
    const swapped = [rec.chunks[1]!, rec.chunks[0]!, ...rec.chunks.slice(2)];
    core.db.prepare('UPDATE contents SET chunks = ? WHERE id = ?').run(Buffer.concat(swapped), rec.id);
    expect((await core.index.getContent(rec.id))!.chunks).toEqual(swapped);
    expect((await thrown(() => readAll(core, rec.id), 'E_CORRUPT')).message).toMatch(/content does not match its id/);

    // a chunk list that no longer adds up to the recorded size is caught too
    core.db.prepare('UPDATE contents SET chunks = ? WHERE id = ?').run(Buffer.concat(rec.chunks.slice(1)), rec.id);
    expect((await thrown(() => readAll(core, rec.id), 'E_CORRUPT')).message).toMatch(/does not match the recorded 1048576/);
  });
});

const GOLDEN_1MIB_SEED42 = '141be68392b5fb419333fa0a58f713b46af79e35d583b7ee970ddfc0e70e44e2';
