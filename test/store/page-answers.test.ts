// Pages a store answers at once are walked without a promise: SQLite's getNodes gives the array
// itself, PageReader.get hands on the page, and the cursor under a scan settles on the next leaf
// in the same turn. A store that answers later (a network database) is waited for, and gives the
// same walks.
import { afterAll, describe, expect, it } from 'vitest';
import { hashBytes, type NodeId } from '../../src/store/hash.js';
import { applyPathEdits, collectBatches, globTree, walkTree, type PathEdit } from '../../src/store/file-tree.js';
import { PageReader } from '../../src/store/page-store.js';
import { buildTree, EntryCursor, listEntries, type Entry } from '../../src/store/tree.js';
import { memTrees } from '../helpers/mem-pages.js';
import { streamOf, tempStore } from '../helpers.js';

function file(name: string): Entry {
  return { name, kind: 'file', id: hashBytes(Buffer.from(name)), size: name.length, files: 1 };
}

const NAMES = Array.from({ length: 20_000 }, (_, i) => `f${String(i).padStart(6, '0')}`);

/** Scan a whole directory with a cursor; what each settle() between leaves returned. */
async function scan(reader: PageReader, root: NodeId): Promise<{ names: string[]; settles: ('now' | 'promise')[] }> {
  const c = await EntryCursor.open(reader, root, undefined, { keepLeaf: false, ahead: reader.readAhead });
  const names: string[] = [];
  const settles: ('now' | 'promise')[] = [];
  for (let run = c.restOfLeaf(); run; run = c.restOfLeaf()) {
    for (const e of run) names.push(e.name);
    c.skipLeaf();
    const wait = c.settle();
    settles.push(wait === undefined ? 'now' : 'promise');
    if (wait !== undefined) await wait;
  }
  return { names, settles };
}

describe('pages answered at once', () => {
  it('a store that answers at once is read without a promise: get, getMany and every step of a scan', async () => {
    const t = memTrees({ now: true });
    const root = (await t.write((p) => buildTree(p, NAMES.map(file)))).value!;
    const reader = new PageReader(t.store);
    const page = reader.get(root.id);
    expect(page).not.toBeInstanceOf(Promise);
    expect((page as { level: number }).level).toBeGreaterThan(0);
    const kids = (page as { children: { id: NodeId }[] }).children.map((c) => c.id);
    const many = new PageReader(t.store).getMany(kids);
    expect(many instanceof Promise).toBe(false);
    const { names, settles } = await scan(new PageReader(t.store), root.id);
    expect(names).toEqual(NAMES);
    expect(settles.length).toBeGreaterThan(100);
    expect(settles.filter((s) => s !== 'now')).toEqual([]);
  });

  it('a store that answers later is waited for on a miss only, and gives the same scan', async () => {
    const t = memTrees({ late: true });
    const root = (await t.write((p) => buildTree(p, NAMES.map(file)))).value!;
    const reader = new PageReader(t.store);
    const miss = reader.get(root.id);
    expect(miss).toBeInstanceOf(Promise);
    await miss;
    const hit = reader.get(root.id);
    expect(hit instanceof Promise).toBe(false);
    const { names, settles } = await scan(new PageReader(t.store), root.id);
    expect(names).toEqual(NAMES);
    expect(settles.filter((s) => s === 'promise').length).toBeGreaterThan(100);
  });

  it('walkTree and globTree give the same batches whether the store answers at once or later', async () => {
    const edits: PathEdit[] = [];
    for (let d = 0; d < 12; d++) for (let f = 0; f < 700; f++) edits.push({ path: `/t/d${String(d).padStart(2, '0')}/s${f % 3}/f${String(f).padStart(4, '0')}`, entry: file('') });
    const walks: unknown[] = [];
    for (const opts of [{ now: true }, { late: true }, { late: true, readAhead: 8 }]) {
      const t = memTrees(opts);
      const root = (await t.write((p) => applyPathEdits(p, null, edits))).value!;
      const batches: string[][] = [];
      for await (const b of walkTree(t.reader, root.id, '/')) batches.push(b.map((pe) => pe.path));
      const depth2 = await collectBatches(walkTree(t.reader, root.id, '/', { maxDepth: 2 }));
      const glob = await collectBatches(globTree(t.reader, root.id, '/t/d0*/s1/f00*'));
      walks.push({ batches, depth2: depth2.map((pe) => pe.path), glob: glob.map((pe) => pe.path) });
    }
    const first = walks[0] as { batches: string[][]; depth2: string[]; glob: string[] };
    expect(first.batches.flat().filter((p) => p.split('/').length === 5)).toHaveLength(edits.length);
    expect(first.depth2).toEqual(['/t', ...Array.from({ length: 12 }, (_, d) => `/t/d${String(d).padStart(2, '0')}`)]);
    // d00…d09, and of f0000…f0099 those with f % 3 === 1
    expect(first.glob).toHaveLength(10 * 33);
    expect(walks[1]).toEqual(first);
    expect(walks[2]).toEqual(first);
  });

  describe('on SQLite', () => {
    const env = tempStore();
    afterAll(() => env.cleanup());

    it('getNodes answers with the array itself, and a cold reader walks a stored tree without a promise', async () => {
      const { store } = env;
      await store.createRepo('r');
      await store.putFiles(
        { repo: 'r', branch: 'master' },
        NAMES.slice(0, 3000).map((n) => ({ kind: 'stream' as const, stream: streamOf(n), repoPath: `/d/${n}` })),
      );
      const c = store.core;
      const head = await c.graph.getCommit('r', (await c.graph.getBranch('r', 'master'))!.head!);
      const root = head!.root!;
      const answer = c.pages.getNodes([root]);
      expect(Array.isArray(answer)).toBe(true);
      const reader = new PageReader(c.pages);
      const top = reader.get(root);
      expect(top).not.toBeInstanceOf(Promise);
      const d = (top as { entries: Entry[] }).entries.find((e) => e.name === 'd')!;
      const { names, settles } = await scan(reader, d.id as NodeId);
      expect(names).toEqual((await listEntries(reader, d.id as NodeId)).map((e) => e.name));
      expect(names).toHaveLength(3000);
      expect(settles.filter((s) => s !== 'now')).toEqual([]);
    });
  });
});
