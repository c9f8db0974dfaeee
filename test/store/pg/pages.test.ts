// Tree pages on both metadata backends: the ChunkIndex page methods (one and batch forms), and the
// tree code itself (build, edit, look up, list, diff) running over the index as its page store,
// which on PostgreSQL answers every read and write asynchronously, over the network.
import { describe, expect, it } from 'vitest';
import { hashBytes, type NodeId } from '../../../src/store/hash.js';
import { encodePage } from '../../../src/store/page-format.js';
import { PageReader, StagedPages, type PageStore } from '../../../src/store/page-store.js';
import { applyEdits, buildTree, diffEntries, entryPages, lookupEntry, type Entry, type PageRef } from '../../../src/store/tree.js';
import type { AsyncMetadataStore } from '../../../src/store/pg/async-contract.js';
import { memTrees } from '../../helpers/mem-pages.js';
import { collect, contractBackends, id32 } from './backends.js';

const BACKENDS = contractBackends();

const file = (name: string, content = name): Entry => ({ name, kind: 'file', id: hashBytes(Buffer.from(content)), size: content.length, files: 1 });
const page = (text: string) => {
  const data = encodePage({ level: 0, entries: [file(text)] });
  return { id: hashBytes(data) as NodeId, data };
};

/** Pages staged by `fn`, stored in one unit of work on `m`: the way the store writes a tree. */
async function inUnit<T>(m: AsyncMetadataStore, fn: (pages: StagedPages) => T | Promise<T>): Promise<T> {
  return m.unitOfWork(async ({ index }) => {
    const staged = new StagedPages(index, new PageReader(index));
    const value = await fn(staged);
    await staged.flush();
    return value;
  });
}

async function flat<T>(batches: AsyncIterable<readonly T[]>): Promise<T[]> {
  return (await collect(batches)).flat();
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`tree pages on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ''}`, () => {
    it('getNodes answers in the order asked, undefined for a page not stored; putNodes leaves a stored page as it is', async () => {
      const m = await backend.open();
      const [a, b, c] = [page('a'), page('b'), page('c')];
      await m.unitOfWork(async ({ index }) => {
        await index.putNodes([a, b]);
        await index.putNodes([]);
        // again, with one new: no error, nothing changed
        await index.putNodes([b, { id: a.id, data: a.data }, c]);
        await index.putNode(c.id, c.data);
      });
      const missing = id32() as NodeId;
      const got = await m.index.getNodes([c.id, missing, a.id, a.id, b.id]);
      expect(got.map((d) => d?.toString('hex'))).toEqual([c.data, undefined, a.data, a.data, b.data].map((d) => d?.toString('hex')));
      expect(await m.index.getNodes([])).toEqual([]);
      expect((await m.index.getNode(b.id))?.equals(b.data)).toBe(true);
      expect(await m.index.getNode(missing)).toBeUndefined();
      // one round trip for many: a thousand pages in one call each way
      const many = Array.from({ length: 1000 }, (_, i) => page(`p${i}`));
      await m.unitOfWork(async ({ index }) => index.putNodes(many));
      const back = await m.index.getNodes(many.map((p) => p.id).reverse());
      expect(back.every((d, i) => d?.equals(many[many.length - 1 - i]!.data))).toBe(true);
    });

    it('pages written in a unit that fails are not stored', async () => {
      const m = await backend.open();
      const p = page('rolled back');
      await expect(
        m.unitOfWork(async ({ index }) => {
          await index.putNodes([p]);
          throw new Error('stop');
        }),
      ).rejects.toThrow('stop');
      expect(await m.index.getNodes([p.id])).toEqual([undefined]);
    });

    it('runs the tree code over the index: the same roots as in memory, read back page by page, edited, diffed', async () => {
      const m = await backend.open();
      const names = Array.from({ length: 5000 }, (_, i) => `f${String(i).padStart(5, '0')}`);
      const all = names.map((n) => file(n));
      const mem = memTrees();
      const want = (await mem.write((p) => buildTree(p, all))).value!;

      const root = (await inUnit(m, (p) => buildTree(p, all)))!;
      expect(root.id.toString('hex')).toBe(want.id.toString('hex'));
      const store: PageStore = m.index;
      let asked = 0;
      const counting: PageStore = {
        getNodes: (ids) => {
          asked++;
          return store.getNodes(ids);
        },
        putNodes: (pages) => store.putNodes(pages),
      };
      // over a network, a scan asks for many leaves at once
      const reader = new PageReader(counting, { readAhead: 32 });
      const listed = await flat(entryPages(reader, root.id, undefined, { cacheLeaves: false }));
      expect(listed.map((e) => e.name)).toEqual(names);
      // the leaves come many to a request, not one request per page
      expect(asked).toBeLessThan(root.entries / 64 / 4);
      expect((await lookupEntry(reader, root.id, 'f04321'))?.id.equals(file('f04321').id)).toBe(true);

      // an edit reads the pages on its path and writes the new ones in its unit; a page it wrote
      // is read back by the same unit before the unit stores it
      const edited: PageRef = (await inUnit(m, async (p) => {
        const once = (await applyEdits(p, root, [{ name: 'f00007', entry: file('f00007', 'new') }]))!;
        expect(p.size).toBeGreaterThan(0);
        expect((await lookupEntry(p.reader, once.id, 'f00007'))?.size).toBe(3);
        return (await applyEdits(p, once, [{ name: 'f09999', entry: file('f09999') }]))!;
      }))!;
      const memEdited = (await mem.write(async (p) => applyEdits(p, (await applyEdits(p, want, [{ name: 'f00007', entry: file('f00007', 'new') }]))!, [{ name: 'f09999', entry: file('f09999') }])))
        .value!;
      expect(edited.id.toString('hex')).toBe(memEdited.id.toString('hex'));
      const changes = await flat(diffEntries(new PageReader(m.index), root.id, edited.id));
      expect(changes.map((c) => [c.op, c.op === 'changed' ? c.after.name : c.entry.name])).toEqual([
        ['changed', 'f00007'],
        ['added', 'f09999'],
      ]);
    });
  });
}
