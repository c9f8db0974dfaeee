import { describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/store/hash.js';
import { decodePage, encodePage } from '../../src/store/page-format.js';
import { applyEdits, buildTree, diffEntries, entryPages, listEntries, lookupEntry, type Edit, type Entry, type EntryChange } from '../../src/store/tree.js';
import { PageReader } from '../../src/store/page-store.js';
import type { NodeId } from '../../src/store/hash.js';
import { memTrees } from '../helpers/mem-pages.js';

async function collect<T>(batches: AsyncIterable<readonly T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const b of batches) out.push(...b);
  return out;
}

function entriesAfter(reader: PageReader, root: NodeId, after: string): Promise<Entry[]> {
  return collect(entryPages(reader, root, after));
}

function diff(reader: PageReader, a: NodeId, b: NodeId): Promise<EntryChange[]> {
  return collect(diffEntries(reader, a, b));
}

function file(name: string, content = name): Entry {
  return { name, kind: 'file', id: hashBytes(Buffer.from(content)), size: content.length, files: 1 };
}

function names(n: number, prefix = 'f'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(7, '0')}`);
}

// deterministic PRNG so failures reproduce
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('tree pages', () => {
  it('round-trips the canonical encoding', () => {
    const page = { level: 0 as const, entries: [file('a'), { ...file('b'), datum: 'd1' }, { name: 'dir', kind: 'dir' as const, id: hashBytes(Buffer.from('x')), size: 2 ** 40, files: 7 }] };
    const data = encodePage(page);
    expect(decodePage(data)).toEqual(page);
    expect(encodePage(decodePage(data))).toEqual(data);
  });

  it('has a shape that depends only on the set of names (history independence)', async () => {
    const t = memTrees();
    const all = names(5000).map((n) => file(n));
    const direct = (await t.write((p) => buildTree(p, all))).value!;
    // build the same set by inserting in random batches onto a different starting set
    const rand = rng(7);
    let root = (await t.write((p) => buildTree(p, all.filter(() => rand() < 0.3)))).value!;
    const shuffled = [...all].sort(() => rand() - 0.5);
    for (let i = 0; i < shuffled.length; i += 700) {
      const batch = shuffled.slice(i, i + 700).sort((a, b) => (a.name < b.name ? -1 : 1));
      const from = root;
      root = (await t.write((p) => applyEdits(p, from, batch.map((e) => ({ name: e.name, entry: e }))))).value!;
    }
    expect(root.id.toString('hex')).toBe(direct.id.toString('hex'));
    expect(root.entries).toBe(5000);
    // and deleting back down gives the same root as building the remainder
    const keep = all.filter((_, i) => i % 3 === 0);
    const dels: Edit[] = all.filter((_, i) => i % 3 !== 0).map((e) => ({ name: e.name, entry: null }));
    const shrunk = (await t.write((p) => applyEdits(p, root, dels))).value!;
    expect(shrunk.id.equals((await t.write((p) => buildTree(p, keep))).value!.id)).toBe(true);
  });

  it('matches a rebuild after random edit batches, over a store that answers a turn later', async () => {
    const t = memTrees({ late: true });
    const rand = rng(42);
    const model = new Map<string, Entry>();
    let root = null as ReturnType<typeof buildTree>;
    for (let round = 0; round < 40; round++) {
      const edits = new Map<string, Edit>();
      const n = 1 + Math.floor(rand() * 200);
      for (let i = 0; i < n; i++) {
        const name = `k${Math.floor(rand() * 3000)}`;
        const entry = rand() < 0.3 ? null : file(name, `${name}-${round}`);
        edits.set(name, { name, entry });
      }
      const sorted = [...edits.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      const from = root;
      root = (await t.write((p) => applyEdits(p, from, sorted))).value;
      for (const e of sorted) e.entry ? model.set(e.name, e.entry) : model.delete(e.name);
      const expected = (await t.write((p) => buildTree(p, [...model.values()].sort((a, b) => (a.name < b.name ? -1 : 1))))).value;
      expect(root?.id.toString('hex')).toBe(expected?.id.toString('hex'));
    }
    const listed = (await listEntries(t.reader, root!.id)).map((e) => e.name);
    expect(listed).toEqual([...model.keys()].sort());
  });

  it('rewrites only O(log n) small pages for one change in a big directory', async () => {
    const t = memTrees();
    const { store, reader } = t;
    const all = names(200_000).map((n) => file(n));
    const root = (await t.write((p) => buildTree(p, all))).value!;
    const before = { writes: store.writes, bytes: store.bytesWritten };
    const { value: changed, staged } = await t.write((p) => applyEdits(p, root, [{ name: all[123_456]!.name, entry: file(all[123_456]!.name, 'new') }]));
    const pages = store.writes - before.writes;
    const bytes = store.bytesWritten - before.bytes;
    expect(pages).toBeGreaterThan(0);
    expect(pages).toBeLessThanOrEqual(6);
    // a page on the path rebuilt as it was is staged again, and stored once
    expect(staged).toBeGreaterThanOrEqual(pages);
    expect(staged).toBeLessThanOrEqual(6);
    expect(bytes).toBeLessThan(64 * 1024);
    expect((await lookupEntry(reader, changed!.id, all[123_456]!.name))!.size).toBe(3);
    expect(await lookupEntry(reader, changed!.id, 'nope')).toBeUndefined();
  });

  it('a scan asks for the leaves of a level-1 page readAhead at a time, and holds no more than those', async () => {
    const all = names(20_000).map((n) => file(n));
    const counts: Record<number, { asked: number; pages: number }> = {};
    for (const readAhead of [1, 32]) {
      const t = memTrees({ late: true, readAhead });
      const root = (await t.write((p) => buildTree(p, all))).value!;
      const listed = await collect(entryPages(t.reader, root.id, undefined, { cacheLeaves: false }));
      expect(listed.map((e) => e.name)).toEqual(all.map((e) => e.name));
      counts[readAhead] = { asked: t.store.reads, pages: t.store.pagesRead };
    }
    // every page read once either way; 32 leaves to a request instead of one
    expect(counts[32]!.pages).toBe(counts[1]!.pages);
    expect(counts[1]!.asked).toBe(counts[1]!.pages);
    expect(counts[32]!.asked * 8).toBeLessThan(counts[1]!.asked);
  });

  it('iterates from a position and diffs by skipping equal subtrees', async () => {
    const t = memTrees({ late: true });
    const { store, reader } = t;
    const all = names(20_000).map((n) => file(n));
    const a = (await t.write((p) => buildTree(p, all))).value!;
    const b = (await t.write((p) => applyEdits(p, a, [
      { name: all[10]!.name, entry: null },
      { name: 'f0005000x', entry: file('f0005000x') },
      { name: all[19_999]!.name, entry: file(all[19_999]!.name, 'changed') },
    ]))).value!;
    const read = store.pagesRead;
    const changes = await diff(reader, a.id, b.id);
    const diffRead = store.pagesRead - read;
    // subtrees equal on both sides are skipped unread: a fraction of what reading both trees takes
    const full = store.pagesRead;
    await listEntries(new PageReader(store), a.id);
    await listEntries(new PageReader(store), b.id);
    expect(diffRead * 3).toBeLessThan(store.pagesRead - full);
    expect(changes.map((c) => [c.op, c.op === 'changed' ? c.after.name : c.entry.name])).toEqual([
      ['removed', all[10]!.name],
      ['added', 'f0005000x'],
      ['changed', all[19_999]!.name],
    ]);
    const page = (await entriesAfter(reader, a.id, all[9_997]!.name)).slice(0, 2).map((e) => e.name);
    expect(page).toEqual([all[9_998]!.name, all[9_999]!.name]);
    expect(await entriesAfter(reader, a.id, 'f9')).toEqual([]);
  });
});
