// Column profiles and drift on real stores: values, the kept profile, sampling, schema changes,
// and drift read from committed CSV files agreeing with SciPy on the same values.
import { describe, expect, it } from 'vitest';
import { driftFiles } from '../../src/monitor/drift-service.js';
import { compareColumns, readColumns } from '../../src/monitor/drift.js';
import { ks2samp } from '../../src/monitor/stats.js';
import { PROFILE_VERSION, profileCsv, profileFile } from '../../src/monitor/profile.js';
import { KLL_RANK_ERROR, KllSketch } from '../../src/monitor/sketch.js';
import { openStore } from '../../src/store/store.js';
import { streamOf, tempStores } from '../helpers.js';
import { normals, relClose, rng, scipy, scipyMissing } from './monitor-helpers.js';

const newStore = tempStores();

async function put(store: ReturnType<typeof newStore>, repo: string, files: Record<string, string>): Promise<string> {
  if (!(await store.listRepos()).some((r) => r.name === repo)) await store.createRepo(repo);
  const r = await store.putFiles(
    { repo, branch: 'master' },
    Object.entries(files).map(([p, data]) => ({ kind: 'stream' as const, stream: streamOf(data), repoPath: p })),
  );
  return r.commit;
}

/** A CSV of rows with a number column x (normal, shifted by `shift`), a category c and an id. */
function csv(rows: number, seed: number, shift = 0, cats = ['a', 'b', 'c'], catWeights = [0.5, 0.3, 0.2]): { text: string; x: number[] } {
  const xs = normals(rows, seed, shift);
  const r = rng(seed + 1000);
  const lines = ['x,c,id'];
  xs.forEach((x, i) => {
    let u = r();
    let k = 0;
    while (k < cats.length - 1 && u >= catWeights[k]!) u -= catWeights[k++]!;
    lines.push(`${x},${cats[k]},${seed}-${i}`);
  });
  return { text: lines.join('\n') + '\n', x: xs };
}

describe('profiles', () => {
  it('counts, missing, invalid, distinct, moments and top values of each column', () => {
    const text = 'n,s\n1,a\n2,b\n,a\nNA,\n4,a\nfoo,c\n3, b \n';
    const p = profileCsv([Buffer.from(text.slice(0, 9)), Buffer.from(text.slice(9))], 'test.csv');
    expect(p.rows).toBe(7);
    const [n, s] = p.columns;
    // "foo" comes after the rows that decided the type: the rows are too few, so n is a string column
    expect(n).toMatchObject({ name: 'n', type: 'string', count: 5, missing: 2 });
    expect(s).toMatchObject({ name: 's', type: 'string', count: 6, missing: 1, distinct: 3, distinctExact: true, top: [{ value: 'a', count: 3 }, { value: 'b', count: 2 }, { value: 'c', count: 1 }] });
    const q = profileCsv([Buffer.from('n\n1\n2\n\n3\n4\n')], 'q.csv').columns[0]!;
    expect(q).toMatchObject({ type: 'number', count: 4, missing: 0, mean: 2.5, min: 1, max: 4, distinct: 4 });
    expect(q.std).toBeCloseTo(Math.sqrt(5 / 3), 14);
  });

  it('a number cell after the typing rows is counted as invalid, not dropped silently', () => {
    const lines = ['v'];
    for (let i = 0; i < 1500; i++) lines.push(String(i));
    lines.push('oops');
    const v = profileCsv([Buffer.from(lines.join('\n'))], 'late.csv').columns[0]!;
    expect(v).toMatchObject({ type: 'number', count: 1500, invalid: 1, min: 0, max: 1499 });
  });

  it('KLL quantiles stay within the stated rank error on 200,000 values', () => {
    const values = normals(200000, 5);
    const sketch = new KllSketch();
    for (const v of values) sketch.add(v);
    const sorted = Float64Array.from(values).sort();
    const qs = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99];
    sketch.quantiles(qs).forEach((got, i) => {
      // the rank of the reported value among the true values
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid]! <= got) lo = mid + 1;
        else hi = mid;
      }
      expect(Math.abs(lo / sorted.length - qs[i]!), `q=${qs[i]}`).toBeLessThan(KLL_RANK_ERROR);
    });
    // below k values nothing is compacted: quantiles are exact
    const few = new KllSketch();
    [5, 1, 4, 2, 3].forEach((v) => few.add(v));
    expect(few.quantiles([0, 0.2, 0.5, 1])).toEqual([1, 1, 3, 5]);
  });

  it('is kept by content id: a second ask, under another path or commit, reads it back', async () => {
    const store = newStore();
    const data = csv(3000, 1).text;
    await put(store, 'sales', { '/a.csv': data });
    const first = await profileFile(store, { repo: 'sales', branch: 'master', path: '/a.csv' });
    expect(first.cached).toBe(false);
    expect(first.rows).toBe(3000);
    expect(first.columns.map((c) => [c.name, c.type])).toEqual([['x', 'number'], ['c', 'string'], ['id', 'string']]);
    const x = first.columns[0]!;
    expect(x.count).toBe(3000);
    await put(store, 'sales', { '/copy/b.csv': data });
    const second = await profileFile(store, { repo: 'sales', branch: 'master', path: '/copy/b.csv' });
    expect(second.cached).toBe(true);
    expect(second.path).toBe('/copy/b.csv');
    expect({ ...second, cached: false, path: first.path, commit: first.commit }).toEqual(first);
  });

  it('reads another delimiter, and keeps only comma-separated profiles', async () => {
    const store = newStore();
    await put(store, 'semi', { '/d.csv': 'a;b\n1;x\n2;y\n3;x\n' });
    const ref = { repo: 'semi', branch: 'master', path: '/d.csv' };
    const semi = await profileFile(store, ref, { delimiter: ';' });
    expect(semi.columns.map((c) => [c.name, c.type, c.count])).toEqual([
      ['a', 'number', 3],
      ['b', 'string', 3],
    ]);
    expect((await profileFile(store, ref, { delimiter: ';' })).cached).toBe(false);
    // the same bytes read with commas are one column
    expect((await profileFile(store, ref)).columns.map((c) => c.name)).toEqual(['a;b']);
    expect((await profileFile(store, ref)).cached).toBe(true);
    const v1 = (await store.inspectCommit({ repo: 'semi', branch: 'master' })).id;
    await put(store, 'semi', { '/d.csv': 'a;b\n1;x\n2;y\n3;x\n4;z\n' });
    const d = await driftFiles(store, { repo: 'semi', commit: v1, path: '/d.csv' }, { repo: 'semi', branch: 'master' }, { delimiter: ';' });
    expect(d.columns.map((c) => c.column)).toEqual(['a', 'b']);
    expect(d.options).not.toHaveProperty('delimiter');
  });

  it('gc drops the kept profile of a content no commit holds any more', async () => {
    const store = newStore();
    await put(store, 'gone', { '/g.csv': 'a\n1\n2\n3\n' });
    await put(store, 'kept', { '/k.csv': 'b\n4\n5\n' });
    const g = await profileFile(store, { repo: 'gone', branch: 'master', path: '/g.csv' });
    const k = await profileFile(store, { repo: 'kept', branch: 'master', path: '/k.csv' });
    await store.deleteRepo('gone');
    await store.gc();
    expect(await store.loadProfile(g.content, PROFILE_VERSION)).toBeUndefined();
    expect(await store.loadProfile(k.content, PROFILE_VERSION)).toBeDefined();
  });

  it('a read-only store profiles without writing', async () => {
    const store = newStore();
    await put(store, 'r', { '/d.csv': 'a\n1\n2\n' });
    const ro = openStore({ path: store.path, readonly: true });
    try {
      expect((await profileFile(ro, { repo: 'r', branch: 'master', path: '/d.csv' })).cached).toBe(false);
      expect((await profileFile(ro, { repo: 'r', branch: 'master', path: '/d.csv' })).cached).toBe(false);
    } finally {
      ro.close();
    }
    expect((await profileFile(store, { repo: 'r', branch: 'master', path: '/d.csv' })).cached).toBe(false);
    expect((await profileFile(store, { repo: 'r', branch: 'master', path: '/d.csv' })).cached).toBe(true);
  });
});

describe('drift between commits', () => {
  it('finds a shifted number column and a re-weighted category, and nothing between equal distributions', async () => {
    const store = newStore();
    const v1 = await put(store, 'sales', { '/s.csv': csv(800, 11).text });
    const v2 = await put(store, 'sales', { '/s.csv': csv(800, 12).text });
    const v3 = await put(store, 'sales', { '/s.csv': csv(800, 13, 0.5, ['a', 'b', 'c'], [0.2, 0.3, 0.5]).text });
    const calm = await driftFiles(store, { repo: 'sales', commit: v1, path: '/s.csv' }, { repo: 'sales', commit: v2 });
    expect(calm.drift).toBe(false);
    expect(calm.columns.map((c) => [c.column, c.status, c.test ?? c.reason])).toEqual([
      ['x', 'ok', 'ks'],
      ['c', 'ok', 'chi2'],
      ['id', 'skipped', 'identifier-like: 800 distinct values in 800'],
    ]);
    const moved = await driftFiles(store, { repo: 'sales', commit: v1, path: '/s.csv' }, { repo: 'sales', commit: v3 });
    expect(moved.drift).toBe(true);
    expect(moved.drifted).toEqual(['x', 'c']);
    // Bonferroni over the two p-value tests
    expect(moved.alphaPerColumn).toBeCloseTo(0.05 / 2, 15);
    expect(moved.worst!.column).toBe('c');
    expect(moved.worst!.severity).toBeGreaterThan(1);
  });

  it('uses distances above 1,000 reference rows, as Evidently does', async () => {
    const store = newStore();
    const v1 = await put(store, 'big', { '/s.csv': csv(5000, 21).text });
    const v2 = await put(store, 'big', { '/s.csv': csv(5000, 22, 0.05).text });
    const v3 = await put(store, 'big', { '/s.csv': csv(5000, 23, 0.5).text });
    const small = await driftFiles(store, { repo: 'big', commit: v1, path: '/s.csv' }, { repo: 'big', commit: v2 });
    const x = small.columns.find((c) => c.column === 'x')!;
    expect(x.test).toBe('wasserstein_normed');
    expect(x.status).toBe('ok');
    // a KS test on 5,000 rows flags even this shift; the distance does not
    expect(x.stats!.ks!.pValue).toBeLessThan(0.05);
    const big = await driftFiles(store, { repo: 'big', commit: v1, path: '/s.csv' }, { repo: 'big', commit: v3 });
    expect(big.columns.find((c) => c.column === 'x')!.status).toBe('drift');
  });

  it('pools a window of reference versions, passing over commits that did not change the file', async () => {
    const store = newStore();
    const parts = [csv(300, 51), csv(300, 52), csv(300, 53), csv(300, 54)];
    const v0 = await put(store, 'w', { '/s.csv': parts[0]!.text });
    const v1 = await put(store, 'w', { '/s.csv': parts[1]!.text });
    await put(store, 'w', { '/other.txt': 'not the file' });
    const v2 = await put(store, 'w', { '/s.csv': parts[2]!.text });
    const v3 = await put(store, 'w', { '/s.csv': parts[3]!.text });
    const current = csv(300, 55, 0.3);
    const cur = await put(store, 'w', { '/s.csv': current.text });
    const r = await driftFiles(store, { repo: 'w', commit: v3, path: '/s.csv' }, { repo: 'w', commit: cur }, { window: 3 });
    expect(r.reference.window!.map((w) => w.commit)).toEqual([v3, v2, v1]);
    expect(r.reference.rows).toBe(900);
    const x = r.columns.find((c) => c.column === 'x')!;
    expect(x.reference!.count).toBe(900);
    // the pooled sample is the three versions' values together
    const pooled = Float64Array.from([...parts[3]!.x, ...parts[2]!.x, ...parts[1]!.x]).sort();
    expect(x.stats!.ks).toEqual(ks2samp(pooled, Float64Array.from(current.x).sort()));
    // a window longer than the history takes what there is
    expect((await driftFiles(store, { repo: 'w', commit: v3, path: '/s.csv' }, { repo: 'w', commit: cur }, { window: 10 })).reference.window!.map((w) => w.commit)).toEqual([v3, v2, v1, v0]);
    await expect(driftFiles(store, { repo: 'w', commit: v3, path: '/s.csv' }, { repo: 'w', commit: cur }, { window: 0 })).rejects.toThrow(/window 0 is not a whole number/);
  });

  it('reports added, removed and retyped columns as schema changes', async () => {
    const store = newStore();
    const v1 = await put(store, 's', { '/d.csv': 'a,b,c\n1,x,1\n2,y,2\n3,x,3\n' });
    const v2 = await put(store, 's', { '/d.csv': 'a,c,d\n1,p,9\n2,q,8\n3,r,7\n' });
    const r = await driftFiles(store, { repo: 's', commit: v1, path: '/d.csv' }, { repo: 's', commit: v2 });
    expect(r.columns.map((c) => [c.column, c.status])).toEqual([
      ['a', 'ok'],
      ['b', 'removed'],
      ['c', 'type changed'],
      ['d', 'added'],
    ]);
    expect(r.schemaChanges).toEqual(['b', 'c', 'd']);
    expect(r.drift).toBe(true);
  });

  it('past the value budget, samples each number column uniformly and says so', () => {
    const a = csv(20000, 31).text;
    const cols = readColumns([Buffer.from(a)], 'a.csv', 5000);
    const x = cols.columns[0]!;
    expect(x.type).toBe('number');
    if (x.type !== 'number') return;
    expect(x.seen).toBe(20000);
    expect(x.values.length).toBe(5000);
    // a uniform sample keeps the distribution: its median is near the population's (0)
    expect(Math.abs(x.values[2500]!)).toBeLessThan(0.1);
    const v = compareColumns(cols, readColumns([Buffer.from(a)], 'a.csv', 5000));
    expect(v.columns[0]!.reference!.used).toBe(5000);
    expect(v.columns[0]!.reference!.count).toBe(20000);
  });

  const missing = scipyMissing();
  it.skipIf(missing !== undefined)('statistics read from committed files equal SciPy on the same values', async () => {
    const store = newStore();
    const a = csv(700, 41);
    const b = csv(900, 42, 0.15, ['a', 'b', 'c', 'd'], [0.4, 0.3, 0.2, 0.1]);
    const v1 = await put(store, 'q', { '/d.csv': a.text });
    const v2 = await put(store, 'q', { '/d.csv': b.text });
    const r = await driftFiles(store, { repo: 'q', commit: v1, path: '/d.csv' }, { repo: 'q', commit: v2 });
    const catCounts = (text: string) => {
      const m = new Map<string, number>();
      for (const line of text.trim().split('\n').slice(1)) m.set(line.split(',')[1]!, (m.get(line.split(',')[1]!) ?? 0) + 1);
      return ['a', 'b', 'c', 'd'].map((k) => m.get(k) ?? 0);
    };
    const [ks, w, chi2, js] = scipy<any>([
      { kind: 'ks', a: a.x, b: b.x },
      { kind: 'wasserstein', a: a.x, b: b.x },
      { kind: 'chi2', ref: catCounts(a.text), cur: catCounts(b.text) },
      { kind: 'js', p: catCounts(a.text), q: catCounts(b.text) },
    ]);
    const x = r.columns.find((c) => c.column === 'x')!.stats!;
    const c = r.columns.find((c) => c.column === 'c')!.stats!;
    expect(relClose(x.ks!.statistic, ks[0])).toBe(true);
    expect(relClose(x.ks!.pValue, ks[1]), `${x.ks!.pValue} vs ${ks[1]}`).toBe(true);
    expect(relClose(x.wasserstein!, w)).toBe(true);
    expect(relClose(c.chi2!.statistic, chi2[0])).toBe(true);
    expect(relClose(c.chi2!.pValue, chi2[1])).toBe(true);
    expect(relClose(c.jensenShannon!, js)).toBe(true);
  });
});
