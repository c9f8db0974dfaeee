// The pack contract on a backend that is not a local directory: objects held in memory, put
// whole, read by range, with no descriptors and no appends. put, get and fsck must work on it
// through the contract alone, as they will on a bucket.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptError, TuskError } from '../../src/errors.js';
import { readChunkAsync as readChunk } from '../../src/store/content-io.js';
import { encodeDelta } from '../../src/store/delta-codec.js';
import { DELTA_LEVEL, DeltaEncoder, type DeltaIndex } from '../../src/store/delta-store.js';
import { hashBytes, type ChunkId } from '../../src/store/hash.js';
import { PACK_MAGIC } from '../../src/store/pack-format.js';
import { DEFAULT_COMPRESSION, PackWriter } from '../../src/store/pack-writer.js';
import { bodyBytes, type PackBody, type Packs } from '../../src/store/packs.js';
import { initStore, openStore, type Store } from '../../src/store/store.js';
import { readBack, seededBytes, streamOf, tempDir } from '../helpers.js';

/** Immutable named objects in memory: what an object store offers, and nothing more. */
class MemoryPacks implements Packs {
  readonly objects = new Map<string, Buffer>();
  readonly calls = { put: 0, getRange: 0, size: 0 };

  async put(name: string, body: PackBody): Promise<void> {
    this.calls.put++;
    const bytes = await bodyBytes(body);
    const had = this.objects.get(name);
    // an object once put is never changed: a writer that tried would lose what readers rely on
    if (had && !had.equals(bytes)) throw new Error(`object ${name} exists with other bytes`);
    this.objects.set(name, bytes);
  }

  async get(name: string): Promise<Buffer> {
    return Buffer.from(this.object(name));
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    this.calls.getRange++;
    const o = this.object(name);
    if (offset + length > o.length) throw new CorruptError(`pack ${name} is truncated (wanted ${length} bytes at offset ${offset})`);
    return Buffer.from(o.subarray(offset, offset + length));
  }

  async size(name: string): Promise<number | null> {
    this.calls.size++;
    return this.objects.get(name)?.length ?? null;
  }

  async *list(prefix = ''): AsyncIterable<string> {
    for (const name of [...this.objects.keys()].sort()) if (name.startsWith(prefix)) yield name;
  }

  async remove(name: string): Promise<void> {
    this.objects.delete(name);
  }

  close(): void {}

  private object(name: string): Buffer {
    const o = this.objects.get(name);
    if (!o) throw new CorruptError(`pack ${name} is missing`);
    return o;
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function memoryStore(packs = new MemoryPacks()): { dir: string; store: Store; packs: MemoryPacks; reopen: () => Store } {
  const dir = tempDir();
  initStore(dir);
  const open = () => {
    const s = openStore({ path: path.join(dir, '.tusk'), packs });
    cleanups.unshift(() => s.close());
    return s;
  };
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, store: open(), packs, reopen: open };
}

const localPackFiles = (dir: string) => fs.readdirSync(path.join(dir, '.tusk', 'packs'), { recursive: true }).filter((f) => String(f).endsWith('.pack'));

async function thrown(p: Promise<unknown>): Promise<TuskError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TuskError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('packs on a backend of immutable objects', () => {
  const big = seededBytes(3 * 1024 * 1024 + 17, 21);
  const text = Buffer.from('a small file\n'.repeat(50));

  async function filled() {
    const env = memoryStore();
    const { store, dir } = env;
    await store.createRepo('r');
    const local = path.join(dir, 'src');
    fs.mkdirSync(path.join(local, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(local, 'one.txt'), 'one\n');
    fs.writeFileSync(path.join(local, 'sub', 'two.bin'), seededBytes(70_000, 3));
    await store.putFiles({ repo: 'r', branch: 'master' }, [
      { kind: 'stream', repoPath: '/big.bin', stream: streamOf(big) },
      { kind: 'stream', repoPath: '/small.txt', stream: streamOf(text) },
      { kind: 'local', localPath: local, repoPath: '/tree', recursive: true },
    ]);
    return env;
  }

  it('puts, gets and checks files through the contract alone: no pack file on disk, every pack an object put once', async () => {
    const { store, dir, packs } = await filled();
    expect(localPackFiles(dir)).toEqual([]);
    expect(packs.objects.size).toBeGreaterThan(0);
    for (const o of packs.objects.values()) expect(o.subarray(0, PACK_MAGIC.length).equals(PACK_MAGIC)).toBe(true);
    expect(packs.calls.put).toBe(packs.objects.size);

    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/big.bin' })).equals(big)).toBe(true);
    // its ~25 chunks lie back to back in one pack: one ranged read, as one request to a bucket
    expect(packs.calls.getRange).toBe(1);
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/small.txt' })).equals(text)).toBe(true);
    expect(packs.calls.getRange).toBe(2);
    const out = path.join(dir, 'out.bin');
    await store.getFile({ repo: 'r', branch: 'master', path: '/big.bin' }, { output: out });
    expect(fs.readFileSync(out).equals(big)).toBe(true);
    const dirOut = path.join(dir, 'tree-out');
    const got = await store.getFile({ repo: 'r', branch: 'master', path: '/tree' }, { output: dirOut, recursive: true });
    expect(got.files).toBe(2);
    expect(fs.readFileSync(path.join(dirOut, 'one.txt'), 'utf8')).toBe('one\n');
    expect(fs.readFileSync(path.join(dirOut, 'sub', 'two.bin')).equals(seededBytes(70_000, 3))).toBe(true);

    const report = await store.fsck({ verifyData: true });
    expect(report.problems).toEqual([]);
    expect(report.checked.packs).toBe(packs.objects.size);
    expect(report.checked.chunksVerified).toBeGreaterThan(3);
  });

  it('a second put writes new objects and never puts a name again; a reopened store reads what the backend holds', async () => {
    const { store, packs, reopen } = await filled();
    const before = new Map(packs.objects);
    const more = seededBytes(200_000, 9);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', repoPath: '/more.bin', stream: streamOf(more) }]);
    for (const [name, bytes] of before) expect(packs.objects.get(name)!.equals(bytes)).toBe(true);
    expect(packs.objects.size).toBeGreaterThan(before.size);
    expect(packs.calls.put).toBe(packs.objects.size);
    store.close();
    const again = reopen();
    expect((await readBack(again, { repo: 'r', branch: 'master', path: '/more.bin' })).equals(more)).toBe(true);
    expect((await readBack(again, { repo: 'r', branch: 'master', path: '/big.bin' })).equals(big)).toBe(true);
    expect((await again.fsck({ verifyData: true })).ok).toBe(true);
  });

  it('damage in an object is found by get and by fsck, naming the file; a lost object is reported by fsck', async () => {
    const { store, packs } = await filled();
    const [name, bytes] = [...packs.objects].find(([, b]) => b.length > 1024 * 1024)!;
    bytes[bytes.length - 100] ^= 0xff;
    const err = await thrown(readBack(store, { repo: 'r', branch: 'master', path: '/big.bin' }));
    expect(err.code).toBe('E_CORRUPT');
    expect(err.message).toContain('/big.bin');
    const damaged = await store.fsck({ verifyData: true });
    expect(damaged.ok).toBe(false);
    expect(damaged.problems.map((p) => p.subject)).toContain(`r@${(await store.inspectCommit({ repo: 'r', branch: 'master' })).id}:/big.bin`);
    // without reading bytes, fsck still sees an object that is gone
    packs.objects.delete(name);
    const lost = await store.fsck();
    expect(lost.problems).toContainEqual({ subject: `pack ${name}`, problem: 'is missing from disk' });
  });

  it('a full pack starts uploading at once, while the put goes on; the rest go up before the commit', async () => {
    const { store, packs } = memoryStore();
    const writer = new PackWriter(store.core.index, packs, 'w', DEFAULT_COMPRESSION, 300_000);
    const chunks = Array.from({ length: 8 }, (_, i) => seededBytes(100_000, 100 + i));
    for (const c of chunks) writer.add(hashBytes(c) as ChunkId, c);
    await writer.drain();
    // 8 records of ~100 KB, two to a pack of 300 KB: three packs full, their uploads under way
    expect(packs.calls.put).toBe(3);
    await writer.publish();
    await writer.sync();
    expect(packs.calls.put).toBe(4);
    await store.core.unitOfWork(async () => await writer.record());
    await writer.close(false);
    for (const c of chunks) expect((await readChunk(store.core.index, packs, hashBytes(c) as ChunkId, { describe: () => 'c' })).equals(c)).toBe(true);
  });

  it('never stores a delta record: one handed over, or made by an encoder set on the writer, is refused before anything is uploaded', async () => {
    const { store, packs } = memoryStore();
    const index = store.core.index;
    const base = seededBytes(100_000, 31);
    const next = Buffer.from(base);
    next[50_000] ^= 0xff;
    const baseId = hashBytes(base) as ChunkId;
    const nextId = hashBytes(next) as ChunkId;
    const writer = new PackWriter(index, packs, 'w');
    // a transfer's delta record, as it came from a remote
    expect(() => writer.addDelta(nextId, next.length, encodeDelta(next, [baseId], base, DELTA_LEVEL), [baseId], 1)).toThrow(/^internal: chunk [0-9a-f]{16} was to be stored as a delta in packs that are objects/);
    // the write path's delta encoder, which only a store with local packs sets
    const deltas: DeltaIndex = {
      depth: (id) => index.deltaDepth(id),
      bases: (id) => index.deltaBasesOf(id),
      mayBeBases: async () => true,
      record: (rows) => index.putDeltas(rows),
    };
    writer.deltas = { encoder: new DeltaEncoder(deltas, async () => Buffer.from(base)), index: deltas };
    writer.add(baseId, base);
    writer.add(nextId, next, [baseId]);
    await expect(writer.drain()).rejects.toThrow(/^internal: chunk [0-9a-f]{16} was to be stored as a delta/);
    await writer.close(true);
    expect(packs.calls.put).toBe(0);
    expect(packs.objects.size).toBe(0);
    expect((await index.existingChunks([baseId, nextId])).size).toBe(0);
  });

  it('gc on a backend of immutable objects deletes none that a chunk still names, and rewrites none', async () => {
    const { store, packs } = await filled();
    const before = new Map(packs.objects);
    const report = await store.gc();
    expect(report).toMatchObject({ packsRemoved: 0, packsRewritten: 0, removedPacks: [] });
    expect([...packs.objects.keys()]).toEqual([...before.keys()]);
    for (const [name, bytes] of before) expect(packs.objects.get(name)!.equals(bytes)).toBe(true);
    expect((await store.fsck({ verifyData: true })).ok).toBe(true);
  });
});
