// A directory rebuilt against its base version: the entries a walk finds, pushed through BaseDir,
// must give exactly the root a build from scratch gives, whatever changed, while the leaf pages
// nothing changed in are taken whole (never encoded, hashed or stored again).
import { describe, expect, it } from 'vitest';
import { BaseDir } from '../../src/store/base-dir.js';
import { hashBytes, type NodeId } from '../../src/store/hash.js';
import { compareNames } from '../../src/store/name-order.js';
import { buildTree, nameHeight, PageReader, TreeBuilder, type Entry, type PageStore } from '../../src/store/tree.js';

class MemPages implements PageStore {
  readonly pages = new Map<string, Buffer>();
  /** putPage calls, whether or not the page was there already: what a build encoded and hashed */
  puts = 0;
  getPage(id: NodeId) {
    return this.pages.get(id.toString('hex'));
  }
  putPage(id: NodeId, data: Buffer) {
    this.puts++;
    this.pages.set(id.toString('hex'), data);
  }
}

const file = (name: string, content = name): Entry => ({ name, kind: 'file', id: hashBytes(Buffer.from(content)), size: content.length, files: 1 });
const dir = (name: string, content = name): Entry => ({ name, kind: 'dir', id: hashBytes(Buffer.from(`dir ${content}`)), size: 10, files: 3 });
const sorted = (es: Entry[]) => [...es].sort((a, b) => compareNames(a.name, b.name));

/** Seeded PRNG (mulberry32): the same cases on every run. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** The root of `now` built against `base` through BaseDir, and the pages it had to write. */
function rebuild(store: MemPages, base: NodeId, now: Entry[]): { root: NodeId | null; puts: number; lost: boolean } {
  const before = store.puts;
  const b = new TreeBuilder(store);
  const bd = new BaseDir(new PageReader(store), base, b);
  for (const e of now) bd.push(e);
  bd.finish();
  const ref = b.finish();
  return { root: ref && ref.entries > 0 ? ref.id : null, puts: store.puts - before, lost: bd.lost };
}

const scratch = (now: Entry[]) => {
  const ref = buildTree(new MemPages(), now);
  return ref && ref.entries > 0 ? ref.id : null;
};

describe('a directory rebuilt against its base', () => {
  it('one changed file in 20,000 rewrites only the pages on its path', () => {
    const store = new MemPages();
    const names = Array.from({ length: 20_000 }, (_, i) => `f${String(i).padStart(6, '0')}`);
    const base = buildTree(store, names.map((n) => file(n)))!;
    const now = names.map((n, i) => (i === 12_345 ? file(n, 'edited') : file(n)));
    const r = rebuild(store, base.id, now);
    expect(r.root!.equals(scratch(now)!)).toBe(true);
    expect(r.lost).toBe(false);
    // its leaf and the pages above it (three levels here), and the last page of each level (the
    // end of the directory cut those, so they are built again): not the ~300 leaves and their
    // parents a rebuild of every entry writes
    expect(r.puts).toBe(5);
    // unchanged: only the last page of each level
    const unchanged = rebuild(store, base.id, names.map((n) => file(n)));
    expect(unchanged.root!.equals(base.id)).toBe(true);
    expect(unchanged.puts).toBe(3);
  });

  it('gives the scratch root for edits, insertions, deletions and kind changes anywhere, page ends included', () => {
    const rand = prng(7);
    for (let round = 0; round < 70; round++) {
      const store = new MemPages();
      const n = [0, 1, 5, 70, 400, 3000, 12_000][round % 7]!;
      const names = Array.from({ length: n }, (_, i) => `n${String(i * 3).padStart(5, '0')}`);
      const baseEntries = names.map((x) => (rand(10) === 0 ? dir(x) : file(x)));
      const base = buildTree(store, baseEntries);
      const baseId = base ? base.id : (buildTree(store, [file('x')])!.id as NodeId);
      const start = base ? baseEntries : [file('x')];
      // edits made more likely at page ends: the names whose height cuts a page
      const now: Entry[] = [];
      let deleted = false;
      let kindChanged = false;
      for (const e of start) {
        const atCut = nameHeight(e.name) >= 1;
        const r = rand(atCut ? 4 : 40);
        if (r === 0) {
          deleted = true;
          continue;
        }
        if (r === 1) now.push(file(e.name, `edit ${round}`));
        else if (r === 2) {
          kindChanged = true;
          now.push(e.kind === 'file' ? dir(e.name) : file(e.name));
        } else now.push(e);
        if (rand(30) === 0) now.push(file(`${e.name}+`)); // a name between two base names
      }
      if (rand(3) === 0) now.push(file('zzz-after-all'));
      if (rand(3) === 0) now.unshift(file('a-before-all'));
      const want = sorted(now);
      const r = rebuild(store, baseId, want);
      const s = scratch(want);
      expect(r.root === null ? null : r.root.toString('hex'), `round ${round}`).toBe(s === null ? null : s.toString('hex'));
      // lost: a base name missing or of the other kind (the overlay must then do its own work)
      expect(r.lost, `round ${round}`).toBe(deleted || kindChanged);
    }
  });

  it('a directory emptied, or the base’s last leaf cut short by the end, still builds the scratch root', () => {
    const store = new MemPages();
    const names = Array.from({ length: 500 }, (_, i) => `e${String(i).padStart(4, '0')}`);
    const base = buildTree(store, names.map((n) => file(n)))!;
    expect(rebuild(store, base.id, []).root).toBeNull();
    // the base's last leaf ended with the directory; new names after it now share that page
    const longer = [...names, 'e9998', 'e9999'].map((n) => file(n));
    expect(rebuild(store, base.id, longer).root!.equals(scratch(longer)!)).toBe(true);
    const shorter = names.slice(0, 250).map((n) => file(n));
    const r = rebuild(store, base.id, shorter);
    expect(r.root!.equals(scratch(shorter)!)).toBe(true);
    expect(r.lost).toBe(true);
  });
});
