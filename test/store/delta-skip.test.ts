// Every other version of a file skips a level of its delta chain (docs/format.md, "Chains and
// keyframes"): over two chains' worth of versions, a chunk decodes from about half as many levels
// as there are versions since its keyframe, each later version still costs a small share of its
// size, every version reads back byte for byte, and gc and fsck follow the bases a chunk that
// skipped is stored against (two versions back).
import { describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import { MAX_CHAIN } from '../../src/store/delta-store.js';
import type { LocalStore as Store } from '../../src/store/store.js';
import { readBack, streamOf, tempStores } from '../helpers.js';
import { tableVersions } from './table-versions.js';

const put = (store: Store, data: Buffer) => store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(data), repoPath: '/t.csv' }]);

/** Per delta chunk (hex id): its recorded depth, and how many levels of deltas reading it decodes (walked down its rows). */
function chainsOf(store: Store): Map<string, { depth: number; levels: number }> {
  const rows = store.core.db.prepare('SELECT id, base, depth FROM chunk_deltas').raw().all() as [Buffer, Buffer, number][];
  const bases = new Map<string, { depth: number; bases: string[] }>();
  for (const [id, base, depth] of rows) {
    const k = id.toString('hex');
    const e = bases.get(k) ?? { depth, bases: [] };
    e.bases.push(base.toString('hex'));
    bases.set(k, e);
  }
  const memo = new Map<string, number>();
  const levels = (k: string): number => {
    const e = bases.get(k);
    if (!e) return 0;
    let n = memo.get(k);
    if (n === undefined) memo.set(k, (n = 1 + Math.max(...e.bases.map(levels))));
    return n;
  };
  return new Map([...bases].map(([k, e]) => [k, { depth: e.depth, levels: levels(k) }]));
}

describe('deltas that skip a level', () => {
  const newStore = tempStores();
  // two chains' worth and more: two keyframes after the first version's
  const versions = tableVersions(2 << 20, 2 * (MAX_CHAIN + 1) + 1, 23);

  it('a chunk decodes from about half as many levels as versions since its keyframe; every version costs its edits and reads back', async () => {
    const store = newStore();
    await store.createRepo('r');
    const commits: string[] = [];
    const stored: number[] = [];
    for (const v of versions) {
      const r = await put(store, v);
      commits.push(r.commit);
      stored.push(r.storedBytes);
    }
    // keyframes (stored whole) every MAX_CHAIN + 1 versions, as before; every other version is a
    // delta of at most a few percent, those that skip a level included
    for (const [i, n] of stored.entries()) {
      if (i % (MAX_CHAIN + 1) === 0) expect(n, `version ${i + 1} is a keyframe`).toBeGreaterThan(versions[i]!.length * 0.1);
      else expect(n, `version ${i + 1}`).toBeLessThan(versions[i]!.length * 0.03);
    }

    const chains = [...chainsOf(store).values()];
    expect(Math.max(...chains.map((c) => c.depth))).toBe(MAX_CHAIN);
    // a chain of d versions decodes from ceil(d / 2) levels where each skip paid; never more than d
    for (const c of chains) expect(c.levels).toBeLessThanOrEqual(c.depth);
    const halved = chains.filter((c) => c.levels <= Math.ceil(c.depth / 2)).length;
    expect(halved / chains.length, 'share of delta chunks at half their depth or less').toBeGreaterThan(0.9);
    expect(Math.max(...chains.map((c) => c.levels))).toBeLessThanOrEqual(Math.ceil(MAX_CHAIN / 2) + 1);

    for (const [i, c] of commits.entries()) expect((await readBack(store, parseFileRef(`r@${c}:/t.csv`))).equals(versions[i]!), `version ${i + 1}`).toBe(true);
    expect((await store.fsck({ verifyData: true })).problems).toEqual([]);

    // only the newest version kept: gc keeps every base its chunks (and theirs) are stored
    // against, two versions back where a chunk skipped, and nothing dangles
    for (let left = commits.length; left > 1; left--) {
      const list = await store.listCommits({ repo: 'r' });
      await store.squashCommit(parseFileRef(`r@${list[list.length - 1]!.id}`));
    }
    await store.gc({ waitMs: 0 });
    expect(store.core.db.prepare('SELECT COUNT(*) FROM chunk_deltas d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = d.base)').pluck().get()).toBe(0);
    expect((await readBack(store, parseFileRef('r@master:/t.csv'))).equals(versions[versions.length - 1]!)).toBe(true);
    expect((await store.fsck({ verifyData: true })).problems).toEqual([]);
  });
});
