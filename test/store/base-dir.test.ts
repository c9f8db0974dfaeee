// A directory rebuilt against its base version: the entries a walk finds, pushed through BaseDir,
// must give exactly the root a build from scratch gives, whatever changed, while the leaf pages
// nothing changed in are taken whole (never encoded, hashed or stored again).
import { describe, expect, it } from 'vitest';
import { BaseDir } from '../../src/store/base-dir.js';
import { hashBytes, type NodeId } from '../../src/store/hash.js';
import { compareNames } from '../../src/store/name-order.js';
import { nameHeight } from '../../src/store/page-format.js';
import { StagedPages } from '../../src/store/page-store.js';
import { buildTree, TreeBuilder, type Entry } from '../../src/store/tree.js';
import { memTrees } from '../helpers/mem-pages.js';

type Trees = ReturnType<typeof memTrees>;

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

/** The root of `now` built against `base` through BaseDir, and the pages it had to write (encoded and hashed, stored or not). */
async function rebuild(t: Trees, base: NodeId, now: Entry[]): Promise<{ root: NodeId | null; puts: number; lost: boolean }> {
  let puts = 0;
  const staged = new StagedPages(t.store, t.reader);
  const b = new TreeBuilder({
    putPage: (id, data) => {
      puts++;
      staged.putPage(id, data);
    },
  });
  const bd = await BaseDir.open(t.reader, base, b);
  for (const e of now) await bd.push(e);
  bd.finish();
  const ref = b.finish();
  await staged.flush();
  return { root: ref && ref.entries > 0 ? ref.id : null, puts, lost: bd.lost };
}

const build = async (t: Trees, es: Entry[]) => (await t.write((p) => buildTree(p, es))).value;

const scratch = async (now: Entry[]) => {
  const ref = await build(memTrees(), now);
  return ref && ref.entries > 0 ? ref.id : null;
};

describe('a directory rebuilt against its base', () => {
  it('one changed file in 20,000 rewrites only the pages on its path, over a store that answers a turn later', async () => {
    const store = memTrees({ late: true });
    const names = Array.from({ length: 20_000 }, (_, i) => `f${String(i).padStart(6, '0')}`);
    const base = (await build(store, names.map((n) => file(n))))!;
    const now = names.map((n, i) => (i === 12_345 ? file(n, 'edited') : file(n)));
    const r = await rebuild(store, base.id, now);
    expect(r.root!.equals((await scratch(now))!)).toBe(true);
    expect(r.lost).toBe(false);
    // its leaf and the pages above it (three levels here), and the last page of each level (the
    // end of the directory cut those, so they are built again): not the ~300 leaves and their
    // parents a rebuild of every entry writes
    expect(r.puts).toBe(5);
    // unchanged: only the last page of each level
    const unchanged = await rebuild(store, base.id, names.map((n) => file(n)));
    expect(unchanged.root!.equals(base.id)).toBe(true);
    expect(unchanged.puts).toBe(3);
  });

  it('gives the scratch root for edits, insertions, deletions and kind changes anywhere, page ends included', async () => {
    const rand = prng(7);
    for (let round = 0; round < 70; round++) {
      const store = memTrees();
      const n = [0, 1, 5, 70, 400, 3000, 12_000][round % 7]!;
      const names = Array.from({ length: n }, (_, i) => `n${String(i * 3).padStart(5, '0')}`);
      const baseEntries = names.map((x) => (rand(10) === 0 ? dir(x) : file(x)));
      const base = await build(store, baseEntries);
      const baseId = base ? base.id : ((await build(store, [file('x')]))!.id as NodeId);
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
      const r = await rebuild(store, baseId, want);
      const s = await scratch(want);
      expect(r.root === null ? null : r.root.toString('hex'), `round ${round}`).toBe(s === null ? null : s.toString('hex'));
      // lost: a base name missing or of the other kind (the overlay must then do its own work)
      expect(r.lost, `round ${round}`).toBe(deleted || kindChanged);
    }
  });

  it('a directory emptied, or the base’s last leaf cut short by the end, still builds the scratch root', async () => {
    const store = memTrees();
    const names = Array.from({ length: 500 }, (_, i) => `e${String(i).padStart(4, '0')}`);
    const base = (await build(store, names.map((n) => file(n))))!;
    expect((await rebuild(store, base.id, [])).root).toBeNull();
    // the base's last leaf ended with the directory; new names after it now share that page
    const longer = [...names, 'e9998', 'e9999'].map((n) => file(n));
    expect((await rebuild(store, base.id, longer)).root!.equals((await scratch(longer))!)).toBe(true);
    const shorter = names.slice(0, 250).map((n) => file(n));
    const r = await rebuild(store, base.id, shorter);
    expect(r.root!.equals((await scratch(shorter))!)).toBe(true);
    expect(r.lost).toBe(true);
  });
});
