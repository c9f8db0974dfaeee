// The ChunkIndex methods that took over the SQL other store modules kept of their own (delta
// rows, chunk lists by the batch, column profiles): the same assertions on SQLite and PostgreSQL.
import { describe, expect, it } from 'vitest';
import type { ChunkId, ContentId } from '../../../src/store/hash.js';
import { contractBackends, id32 } from './backends.js';

const BACKENDS = contractBackends();

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`chunk index extras on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ''}`, () => {
    it('delta rows: kept only for the writer whose record is the chunk, depth, every base, dropped with their chunk', async () => {
      const m = await backend.open();
      const pack = await m.index.claimPack('w', 1 << 20);
      const [a, b, c, d] = [id32(), id32(), id32(), id32()] as ChunkId[];
      await m.unitOfWork(async ({ index }) => {
        await index.putChunks([a!, b!, c!].map((id, i) => ({ id, pack: pack.id, offset: i * 100, storedLen: 50, rawLen: 60, codec: i === 0 ? 1 : 2 })));
        await index.putDeltas([
          { id: b!, bases: [a!], depth: 1, pack: pack.id, offset: 100 },
          { id: c!, bases: [b!, a!], depth: 2, pack: pack.id, offset: 200 },
          // another writer's record of c (not where the chunk row says): no row
          { id: c!, bases: [d!], depth: 5, pack: pack.id, offset: 999 },
          // a chunk with no row at all: no row
          { id: d!, bases: [a!], depth: 1, pack: pack.id, offset: 300 },
        ]);
      });
      expect(await m.index.deltaDepth(a!)).toBe(0);
      expect(await m.index.deltaDepth(b!)).toBe(1);
      expect(await m.index.deltaDepth(c!)).toBe(2);
      expect(await m.index.deltaDepth(d!)).toBe(0);
      // one chunk's bases, as its rows name them (what a delta that skips a level is stored against)
      expect(await m.index.deltaBasesOf(a!)).toEqual([]);
      expect((await m.index.deltaBasesOf(b!)).map((x) => Buffer.from(x).toString('hex'))).toEqual([a!.toString('hex')]);
      expect((await m.index.deltaBasesOf(c!)).map((x) => Buffer.from(x).toString('hex')).sort()).toEqual([a!, b!].map((x) => x.toString('hex')).sort());
      expect(await m.index.deltaBasesOf(d!)).toEqual([]);
      const bases = await m.index.deltaBases();
      expect([...bases.keys()].sort()).toEqual([b!, c!].map((x) => x.toString('hex')).sort());
      expect(bases.get(b!.toString('hex'))).toEqual([a!.toString('hex')]);
      expect(bases.get(c!.toString('hex'))?.sort()).toEqual([a!, b!].map((x) => x.toString('hex')).sort());
      // the rows of a chunk swept go with it
      await m.unitOfWork(async ({ index }) => {
        await index.sweepChunks((id) => !id.equals(c!));
        await index.dropOrphanDeltasAndStates();
      });
      expect([...(await m.index.deltaBases()).keys()]).toEqual([b!.toString('hex')]);
    });

    it('delta rows: thousands in one call, read back whole', async () => {
      const m = await backend.open();
      const pack = await m.index.claimPack('w', 1 << 30);
      const base = id32() as ChunkId;
      const ids = Array.from({ length: 2300 }, () => id32() as ChunkId);
      await m.unitOfWork(async ({ index }) => {
        await index.putChunks([base, ...ids].map((id, i) => ({ id, pack: pack.id, offset: i * 10, storedLen: 5, rawLen: 5, codec: i === 0 ? 0 : 2 })));
        await index.putDeltas(ids.map((id, i) => ({ id, bases: [base], depth: 1, pack: pack.id, offset: (i + 1) * 10 })));
      });
      const bases = await m.index.deltaBases();
      expect(bases.size).toBe(2300);
      expect([...bases.values()].every((l) => l.length === 1 && l[0] === base.toString('hex'))).toBe(true);
    });

    it('chunk lists by the batch: the contents that have a row, across many ids', async () => {
      const m = await backend.open();
      const pack = await m.index.claimPack('w', 1 << 20);
      const chunks = [id32(), id32()] as ChunkId[];
      const contents = Array.from({ length: 1200 }, () => id32() as ContentId);
      await m.unitOfWork(async ({ index }) => {
        await index.putChunks(chunks.map((id, i) => ({ id, pack: pack.id, offset: i * 100, storedLen: 50, rawLen: 60, codec: 0 })));
        await index.putContents(contents.map((id) => ({ id, size: 120, chunks })));
      });
      const lone = chunks[0]! as unknown as ContentId;
      const lists = await m.index.getChunkLists([...contents, lone, id32() as ContentId]);
      expect(lists.size).toBe(1200);
      expect(lists.get(contents[777]!.toString('latin1'))?.equals(Buffer.concat(chunks))).toBe(true);
      // a one-chunk content has no contents row: not in the answer
      expect(lists.has(lone.toString('latin1'))).toBe(false);
    });

    it('profiles: kept per content and version, replaced, dropped with their content', async () => {
      const m = await backend.open();
      const pack = await m.index.claimPack('w', 1 << 20);
      const [x, y] = [id32(), id32()] as ChunkId[];
      const content = id32() as ContentId;
      await m.unitOfWork(async ({ index }) => {
        await index.putChunks([x!, y!].map((id, i) => ({ id, pack: pack.id, offset: i * 100, storedLen: 50, rawLen: 60, codec: 0 })));
        await index.putContents([{ id: content, size: 120, chunks: [x!, y!] }]);
      });
      expect(await m.index.getProfile(content, 1)).toBeUndefined();
      await m.index.putProfile(content, 1, '{"rows":1}');
      await m.index.putProfile(content, 2, '{"rows":2}');
      await m.index.putProfile(content, 1, '{"rows":3}');
      expect(await m.index.getProfile(content, 1)).toBe('{"rows":3}');
      expect(await m.index.getProfile(content, 2)).toBe('{"rows":2}');
      await m.unitOfWork(async ({ index }) => {
        await index.sweepContents(() => false);
        await index.sweepChunks(() => false);
        await index.dropOrphanProfiles();
      });
      expect(await m.index.getProfile(content, 1)).toBeUndefined();
    });
  });
}
