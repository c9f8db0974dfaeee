// RemoteChunkIndex (remote-backed chunks of lazy clones and the cache of those fetched): the same
// assertions on SQLite and PostgreSQL.
import { describe, expect, it } from 'vitest';
import type { PackRow } from '../../../src/store/chunk-index.js';
import type { ChunkId, ContentId } from '../../../src/store/hash.js';
import { contractBackends, id32 } from './backends.js';

const BACKENDS = contractBackends();
const keys = (ids: readonly Buffer[]) => ids.map((b) => b.toString('hex')).sort();

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`remote-backed chunks on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ''}`, () => {
    it('marked chunks are absent until a copy is here, counted per remote, settled by a full pull, swept by gc', async () => {
      const m = await backend.open();
      const r = m.remoteChunks;
      expect(await r.any()).toBe(false);
      const ids = Array.from({ length: 6 }, () => id32() as ChunkId);
      await m.unitOfWork(async ({ remoteChunks }) => {
        await remoteChunks.mark(ids.slice(0, 4), 'origin');
        await remoteChunks.mark(ids.slice(4), 'backup');
        // already recorded: keeps its remote
        await remoteChunks.mark([ids[0]!], 'backup');
        await remoteChunks.putSoleContents([{ id: ids[1]!, size: 77 }]);
      });
      expect(await r.any()).toBe(true);
      expect(await m.index.getContent(ids[1]! as unknown as ContentId)).toMatchObject({ size: 77 });
      const fresh = id32();
      expect(keys(await r.unbacked([ids[0]!, fresh]))).toEqual(keys([fresh]));
      expect(await r.anyBacked([fresh])).toBe(false);
      expect(await r.anyBacked([fresh, ids[5]!])).toBe(true);
      expect([...(await r.backed([fresh, ids[5]!, ids[0]!]))].map((k) => Buffer.from(k, 'latin1').toString('hex')).sort()).toEqual(keys([ids[5]!, ids[0]!]));

      // a copy of ids[0] and ids[1] arrives in a cache pack
      const pack = await m.index.claimPack('w', 1 << 20);
      await m.unitOfWork(async ({ index, remoteChunks }) => {
        await index.putChunks([ids[0]!, ids[1]!].map((id, i) => ({ id, pack: pack.id, offset: i * 100, storedLen: 50, rawLen: 60, codec: 0 })));
        await index.commitPack(pack.id, 200, true);
        await remoteChunks.addCachePacks([{ id: pack.id, bytes: 200 }], 1000);
      });
      const absent = await r.absent(ids);
      expect(keys(absent.get('origin') ?? [])).toEqual(keys(ids.slice(2, 4)));
      expect(keys(absent.get('backup') ?? [])).toEqual(keys(ids.slice(4)));
      expect(keys(await r.absentOf('origin'))).toEqual(keys(ids.slice(2, 4)));
      expect(await r.counts()).toEqual([
        { remote: 'backup', absent: 2, cached: 0 },
        { remote: 'origin', absent: 2, cached: 2 },
      ]);
      expect((await r.cachePacks()).map((p) => p.id)).toEqual([pack.id]);
      expect(await r.cacheBytes()).toBe(200);
      expect([...(await r.touch([ids[0]!, fresh], 2000))]).toEqual([pack.id]);

      // a full pull from origin: the cached copies stay for good, their pack is no longer the cache's
      await m.unitOfWork(({ remoteChunks }) => remoteChunks.settle('origin'));
      expect(await r.cachePacks()).toEqual([]);
      expect(await r.cacheBytes()).toBe(0);
      expect(await r.counts()).toEqual([
        { remote: 'backup', absent: 2, cached: 0 },
        { remote: 'origin', absent: 2, cached: 0 },
      ]);
      // gc: rows of chunks no commit needs go (the live ones as hex)
      const live = new Set(keys(ids.slice(4)));
      expect(await m.unitOfWork(({ remoteChunks }) => remoteChunks.sweep(live))).toBe(2);
      expect(await r.counts()).toEqual([{ remote: 'backup', absent: 2, cached: 0 }]);
    });

    it('the cache evicts its packs least recently used first, a pack and its chunk rows together', async () => {
      const m = await backend.open();
      const r = m.remoteChunks;
      const ids = Array.from({ length: 3 }, () => id32() as ChunkId);
      await m.unitOfWork(({ remoteChunks }) => remoteChunks.mark(ids, 'origin'));
      const packs: PackRow[] = [];
      for (let i = 0; i < 3; i++) {
        const p = await m.index.claimPack(`w${i}`, 1 << 20, { fresh: true });
        packs.push(p);
        await m.unitOfWork(async ({ index, remoteChunks }) => {
          await index.putChunks([{ id: ids[i]!, pack: p.id, offset: 0, storedLen: 50, rawLen: 60, codec: 0 }]);
          await index.commitPack(p.id, 100, true);
          await remoteChunks.addCachePacks([{ id: p.id, bytes: 100 * (i + 1) }], 10 - i);
        });
      }
      expect((await r.cachePacks()).map((p) => p.id)).toEqual([packs[2]!.id, packs[1]!.id, packs[0]!.id]);
      expect(await r.cacheBytes()).toBe(600);
      await r.touch([ids[2]!], 100);
      expect((await r.cachePacks()).map((p) => p.id)).toEqual([packs[1]!.id, packs[0]!.id, packs[2]!.id]);
      await m.unitOfWork(({ remoteChunks }) => remoteChunks.evict(packs[1]!.id));
      expect((await r.cachePacks()).map((p) => p.id)).toEqual([packs[0]!.id, packs[2]!.id]);
      expect(await m.index.hasChunk(ids[1]!)).toBe(false);
      expect((await m.index.listPacks()).some((p) => p.id === packs[1]!.id)).toBe(false);
      // the chunk is remote-backed again, absent
      expect(keys((await r.absent(ids)).get('origin') ?? [])).toEqual(keys([ids[1]!]));
    });

    it('gc sweeps a table of more rows than one page, keeping exactly the live ones', async () => {
      const m = await backend.open();
      const ids = Array.from({ length: 2300 }, () => id32() as ChunkId);
      await m.unitOfWork(({ remoteChunks }) => remoteChunks.mark(ids, 'origin'));
      const live = new Set(keys(ids.filter((_, i) => i % 3 === 0)));
      expect(await m.unitOfWork(({ remoteChunks }) => remoteChunks.sweep(live))).toBe(ids.length - live.size);
      expect(keys(await m.remoteChunks.absentOf('origin'))).toEqual([...live].sort());
    });

    it('a read outside a unit sees the unit in flight whole or not at all', async () => {
      const m = await backend.open();
      const ids = Array.from({ length: 4 }, () => id32() as ChunkId);
      let midway!: () => void;
      const reached = new Promise<void>((resolve) => (midway = resolve));
      let finish!: () => void;
      const gate = new Promise<void>((resolve) => (finish = resolve));
      const unit = m.unitOfWork(async ({ remoteChunks }) => {
        await remoteChunks.mark(ids.slice(0, 2), 'origin');
        midway();
        await gate;
        await remoteChunks.mark(ids.slice(2), 'origin');
      });
      await reached;
      // asked while half of the unit is written: SQLite waits for the unit, PostgreSQL reads the last committed state
      const seen = m.remoteChunks.absent(ids);
      finish();
      await unit;
      const n = (await seen).get('origin')?.length ?? 0;
      expect([0, 4]).toContain(n);
    });

    it('thousands of ids in one call each', async () => {
      const m = await backend.open();
      const ids = Array.from({ length: 2500 }, () => id32() as ChunkId);
      await m.unitOfWork(async ({ remoteChunks }) => {
        await remoteChunks.mark(ids, 'origin');
        await remoteChunks.putSoleContents(ids.slice(0, 1500).map((id) => ({ id, size: 1 })));
      });
      expect((await m.remoteChunks.absent(ids)).get('origin')?.length).toBe(2500);
      expect(await m.remoteChunks.unbacked(ids)).toEqual([]);
      expect((await m.index.getChunkLists(ids.slice(0, 1500) as unknown as ContentId[])).size).toBe(1500);
    });
  });
}
