// Decoded chunks live in reused buffers (chunk-buffers.ts): the base cache gives back what it
// drops, and reads take those buffers for the next chunk. These tests check the pool itself, and
// that versions stored as deltas still read back byte for byte when the cache drops bases all the
// time — the case where a buffer handed back too early would be overwritten while still in use.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import { giveBuffer, takeBuffer } from '../../src/store/chunk-buffers.js';
import { Codec, RECORD_HEADER_BYTES } from '../../src/store/pack-format.js';
import { compress } from '../../src/store/zstd.js';
import { baseCache, BASE_CACHE_BYTES, ChunkCache } from '../../src/store/delta-cache.js';
import type { ChunkId } from '../../src/store/hash.js';
import type { Store } from '../../src/store/store.js';
import { readBack, streamOf, tempStores } from '../helpers.js';
import { tableVersions } from './table-versions.js';

const put = (store: Store, data: Buffer) => store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(data), repoPath: '/t.csv' }]);

describe('reused chunk buffers', () => {
  it('a buffer given back holds the next chunk of about its size; foreign buffers and second returns are ignored', () => {
    const a = takeBuffer(100_000);
    giveBuffer(a);
    const b = takeBuffer(90_000);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(90_000);
    // given back twice: handed out once only
    giveBuffer(b);
    giveBuffer(b);
    const c = takeBuffer(90_000);
    const d = takeBuffer(90_000);
    expect(c.buffer).toBe(a.buffer);
    expect(d.buffer).not.toBe(a.buffer);
    // a buffer the pool did not make never comes out of it
    const foreign = Buffer.alloc(128 * 1024);
    giveBuffer(foreign);
    expect(takeBuffer(128 * 1024).buffer).not.toBe(foreign.buffer);
  });

  it('the base cache gives back what it drops, and only that', () => {
    const cache = new ChunkCache(300_000);
    const first = takeBuffer(200_000);
    const second = takeBuffer(200_000);
    cache.set('a', first);
    cache.set('b', second); // over budget: 'a' is dropped
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe(second);
    expect(takeBuffer(200_000).buffer).toBe(first.buffer);
    expect(takeBuffer(200_000).buffer).not.toBe(second.buffer);
  });
});

describe('deltas read through reused buffers', () => {
  const newStore = tempStores();
  const dirs: string[] = [];
  afterEach(() => {
    baseCache.resize(BASE_CACHE_BYTES);
    baseCache.clear();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  // 256 KiB holds about two chunks: every put's base reads and every chain walk drop bases that
  // the read before was using; at the full size, neighbouring chunks read their shared bases from
  // the cache, so a cached buffer that was also given back would be overwritten under them
  it.each([256 * 1024, BASE_CACHE_BYTES])('every version, written and read with a base cache of %i bytes, reads back byte for byte', async (budget) => {
    baseCache.clear();
    baseCache.resize(budget);
    const store = newStore();
    await store.createRepo('r');
    // big enough for get -o to take the copy loops of big files (16 MiB), which give buffers back;
    // four versions for a chain of two levels (version 3 skips version 2: delta-store.ts)
    const versions = tableVersions(17 << 20, 4, 11);
    const commits: string[] = [];
    for (const v of versions) commits.push((await put(store, v)).commit);
    // chunks stored against two or more bases: the reads that copy several bases into one reference
    const multi = store.core.db.prepare('SELECT COUNT(*) FROM (SELECT id FROM chunk_deltas GROUP BY id HAVING COUNT(*) > 1)').pluck().get() as number;
    expect(multi).toBeGreaterThan(0);
    // a read looks up a delta's whole chain at once: every chunk under the deepest one, no other
    const top = store.core.db.prepare('SELECT id FROM chunk_deltas ORDER BY depth DESC LIMIT 1').pluck().get() as ChunkId;
    const basesOf = store.core.db.prepare('SELECT base FROM chunk_deltas WHERE id = ?').pluck();
    const under = new Set<string>();
    for (let level = basesOf.all(top) as Buffer[]; level.length > 0; ) {
      const next: Buffer[] = [];
      for (const b of level) if (!under.has(b.toString('hex')) && under.add(b.toString('hex'))) next.push(...(basesOf.all(b) as Buffer[]));
      level = next;
    }
    expect(under.size).toBeGreaterThanOrEqual(2);
    expect(new Set([...(await store.core.index.getChainChunks([top])).keys()].map((k) => Buffer.from(k, 'latin1').toString('hex')))).toEqual(under);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-bufs-'));
    dirs.push(dir);
    for (const [i, c] of commits.entries()) {
      const ref = parseFileRef(`r@${c}:/t.csv`);
      const out = path.join(dir, `v${i}`);
      await store.getFile(ref, { output: out });
      expect(fs.readFileSync(out).equals(versions[i]!), `get -o of version ${i + 1}`).toBe(true);
      expect((await readBack(store, ref)).equals(versions[i]!), `stdout of version ${i + 1}`).toBe(true);
    }
    expect((await store.fsck({ verifyData: true })).problems).toEqual([]);
  });

  it('get -o of a big file whose compressed chunk decodes to other bytes of its length fails with E_CORRUPT naming the file, and leaves no file', async () => {
    // the copy loop hashes the whole file rather than each compressed chunk: a chunk that
    // decompresses cleanly into wrong bytes must still be caught, and named
    const store = newStore();
    await store.createRepo('r');
    await put(store, tableVersions(17 << 20, 1, 5)[0]!);
    const row = store.core.db
      .prepare(`SELECT p.name, c.offset, c.stored_len, c.raw_len FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.codec = ${Codec.Zstd} ORDER BY c.offset LIMIT 1 OFFSET 3`)
      .raw()
      .get() as [string, number, number, number];
    const [name, offset, storedLen, rawLen] = row;
    // a frame of as many zero bytes, padded to the record's size with a skippable frame
    const frame = compress(Buffer.alloc(rawLen));
    expect(frame.length + 8).toBeLessThanOrEqual(storedLen);
    const payload = Buffer.alloc(storedLen);
    frame.copy(payload);
    payload.writeUInt32LE(0x184d2a50, frame.length);
    payload.writeUInt32LE(storedLen - frame.length - 8, frame.length + 4);
    const fd = fs.openSync(path.join(store.core.path, 'packs', name.slice(0, 2), `${name}.pack`), 'r+');
    fs.writeSync(fd, payload, 0, payload.length, offset + RECORD_HEADER_BYTES);
    fs.closeSync(fd);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-bufs-'));
    dirs.push(dir);
    const out = path.join(dir, 'out.csv');
    const err = await store.getFile(parseFileRef('r@master:/t.csv'), { output: out }).then(
      () => null,
      (e: { code?: string; message: string }) => e,
    );
    expect(err?.code).toBe('E_CORRUPT');
    expect(err?.message).toContain('/t.csv');
    expect(err?.message).toContain('does not match its id');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
