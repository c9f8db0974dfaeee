// The monitor step as a pipeline: every new input commit is compared with a pinned reference and
// the report lands in the output commit, with provenance; `listDrift` reads the history back.
// Also drift of a predict pipeline's predictions (the same step on the predictions repo), and
// predictions scored against labels that arrive later.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validateMlSpec } from '../../src/ml/spec.js';
import { listDrift } from '../../src/monitor/drift-history.js';
import { runDriftTask, scorePredictions } from '../../src/monitor/monitor-task.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { tempDir } from '../helpers.js';
import { housesCsv, lastJob, mlStore, pipeline, put, readJson } from '../ml/ml-helpers.js';
import { sales } from './monitor-helpers.js';

let env: ReturnType<typeof mlStore> | undefined;
afterEach(() => {
  env?.cleanup();
  env = undefined;
});

describe('monitor pipeline (transform.ml task drift)', () => {
  it('compares each new commit with the pinned reference and keeps the history in the output repo', async () => {
    env = mlStore();
    const { store, dir } = env;
    const v1 = await put(store, 'sales', { '/sales.csv': sales(300, 1, 0) });
    await pipeline(store, dir, {
      pipeline: { name: 'sales-drift' },
      input: {
        cross: [
          { pfs: { name: 'current', repo: 'sales', glob: '/' } },
          { pfs: { name: 'reference', repo: 'sales', commit: v1, glob: '/' } },
        ],
      },
      transform: { ml: { task: 'drift', data: { path: '/pfs/current/sales.csv' }, reference: '/pfs/reference/sales.csv' } },
    });
    expect((await lastJob(store, 'sales-drift')).state).toBe('JOB_SUCCESS');
    const v2 = await put(store, 'sales', { '/sales.csv': sales(300, 2, 0) });
    await runForeground(store.handle);
    const v3 = await put(store, 'sales', { '/sales.csv': sales(300, 3, 8) });
    await runForeground(store.handle);
    expect(await lastJob(store, 'sales-drift')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });

    const latest = await readJson(store, 'sales-drift@master:/drift.json');
    expect(latest).toMatchObject({ task: 'drift', drift: true, drifted: ['amount'], current: { input: 'current', repo: 'sales', commit: v3 }, reference: { input: 'reference', repo: 'sales', commit: v1 } });

    const history = await listDrift(store, 'sales-drift');
    expect(history.map((h) => [h.input, h.drift, h.drifted])).toEqual([
      [`sales@${v3}`, true, ['amount']],
      [`sales@${v2}`, false, []],
      [`sales@${v1}`, false, []],
    ]);
    expect(history[0]!.worst).toMatchObject({ column: 'amount', test: 'ks' });
    expect(history[0]!.columns.find((c) => c.column === 'amount')!.severity).toBeGreaterThan(1);
    // provenance: the report's commit names the input commit it judged
    const out = await store.inspectCommit({ repo: 'sales-drift', commit: history[0]!.commit });
    expect(out.provenance.map((p) => `${p.repo}@${p.commit}`)).toContain(`sales@${v3}`);
  });

  it('pools a reference directory: every CSV file under it is one reference', async () => {
    env = mlStore();
    const { store, dir } = env;
    await put(store, 'baseline', { '/w1.csv': sales(200, 11, 0), '/w2.csv': sales(200, 12, 0), '/w3.csv': sales(200, 13, 0), '/notes.txt': 'not data' });
    await put(store, 'sales', { '/sales.csv': sales(300, 14, 0) });
    await pipeline(store, dir, {
      pipeline: { name: 'pooled' },
      input: { cross: [{ pfs: { name: 'current', repo: 'sales', glob: '/' } }, { pfs: { name: 'reference', repo: 'baseline', glob: '/' } }] },
      transform: { ml: { task: 'drift', data: { path: '/pfs/current/sales.csv' }, reference: '/pfs/reference' } },
    });
    expect(await lastJob(store, 'pooled')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    const report = await readJson(store, 'pooled@master:/drift.json');
    expect(report.reference).toMatchObject({ input: 'reference', path: '/pfs/reference', files: 3, rows: 600 });
    expect(report.current).toMatchObject({ files: 1, rows: 300 });
    expect(report.columns.find((c: { column: string }) => c.column === 'amount').reference.count).toBe(600);
  });

  it("watches a predict pipeline's output: the predicted distribution drifts when the inputs do", async () => {
    env = mlStore();
    const { store, dir } = env;
    await put(store, 'houses', { '/train.csv': housesCsv(200, 1) });
    await pipeline(store, dir, {
      pipeline: { name: 'price-model' },
      input: { pfs: { repo: 'houses', glob: '/' } },
      transform: { ml: { data: { path: '/pfs/houses/train.csv', label: 'price', features: ['sqft', 'rooms', 'city'] }, chain: [{ OneHotEncoder: { columns: ['city'] } }, { LinearRegression: {} }] } },
    });
    const listings = (seed: number, extra: number) =>
      housesCsv(300, seed, 0, false)
        .split('\n')
        .map((line, i) => (i === 0 || line === '' ? line : line.replace(/^(h\d+),(\d+)/, (_, id: string, sqft: string) => `${id},${Number(sqft) + extra}`)))
        .join('\n');
    await put(store, 'listings', { '/listings.csv': listings(2, 0) });
    await pipeline(store, dir, {
      pipeline: { name: 'priced' },
      input: { cross: [{ pfs: { repo: 'listings', glob: '/' } }, { pfs: { repo: 'price-model', glob: '/' } }] },
      transform: { ml: { task: 'predict', model: '/pfs/price-model', data: { path: '/pfs/listings' } } },
    });
    const p1 = (await store.inspectCommit({ repo: 'priced', branch: 'master' })).id;
    await pipeline(store, dir, {
      pipeline: { name: 'priced-drift' },
      input: { cross: [{ pfs: { name: 'now', repo: 'priced', glob: '/' } }, { pfs: { name: 'ref', repo: 'priced', commit: p1, glob: '/' } }] },
      transform: { ml: { task: 'drift', data: { path: '/pfs/now/listings.csv' }, reference: '/pfs/ref/listings.csv' } },
    });
    await put(store, 'listings', { '/listings.csv': listings(3, 0) });
    await runForeground(store.handle);
    await put(store, 'listings', { '/listings.csv': listings(4, 600) });
    await runForeground(store.handle);
    expect(await lastJob(store, 'priced-drift')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    const history = await listDrift(store, 'priced-drift');
    expect(history).toHaveLength(3);
    const status = (row: (typeof history)[number], col: string) => row.columns.find((c) => c.column === col)!.status;
    expect(history.map((h) => status(h, 'prediction'))).toEqual(['drift', 'ok', 'ok']);
    expect(history[0]!.drifted).toEqual(['sqft', 'prediction']);
    expect(status(history[0]!, 'id')).toBe('skipped');
  });

  it('scores predictions against labels as they arrive, one row per output commit', async () => {
    env = mlStore();
    const { store, dir } = env;
    const preds = ['id,prediction', ...Array.from({ length: 100 }, (_, i) => `a${i},${i}`)].join('\n') + '\n';
    const truth = (i: number) => i + (i % 3) - 1 + (i % 7 === 0 ? 4 : 0);
    const sold = (n: number) => ['id,price', ...Array.from({ length: n }, (_, i) => `a${i},${truth(i)}`)].join('\n') + '\n';
    const p1 = await put(store, 'preds', { '/p.csv': preds });
    await put(store, 'sold', { '/sold.csv': sold(50) });
    await pipeline(store, dir, {
      pipeline: { name: 'scored' },
      input: {
        cross: [
          { pfs: { name: 'now', repo: 'preds', glob: '/' } },
          { pfs: { name: 'ref', repo: 'preds', commit: p1, glob: '/' } },
          { pfs: { name: 'sold', repo: 'sold', glob: '/' } },
        ],
      },
      transform: { ml: { task: 'drift', data: { path: '/pfs/now/p.csv' }, reference: '/pfs/ref/p.csv', labels: { path: '/pfs/sold/sold.csv', key: 'id', label: 'price' } } },
    });
    expect(await lastJob(store, 'scored')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    await put(store, 'sold', { '/sold.csv': sold(100) });
    await runForeground(store.handle);
    const expected = (n: number) => {
      const err = Array.from({ length: n }, (_, i) => i - truth(i));
      const ys = Array.from({ length: n }, (_, i) => truth(i));
      const mean = ys.reduce((a, b) => a + b, 0) / n;
      const ssTot = ys.reduce((a, y) => a + (y - mean) ** 2, 0);
      const ssRes = err.reduce((a, e) => a + e * e, 0);
      return { mae: err.reduce((a, e) => a + Math.abs(e), 0) / n, rmse: Math.sqrt(ssRes / n), r2: 1 - ssRes / ssTot };
    };
    const history = await listDrift(store, 'scored');
    expect(history.map((h) => [h.performance?.joined, h.performance?.unlabelled])).toEqual([
      [100, 0],
      [50, 50],
    ]);
    history.forEach((h, i) => {
      const want = expected(i === 0 ? 100 : 50);
      expect(h.performance!.kind).toBe('regression');
      expect(h.performance!.mae).toBeCloseTo(want.mae, 12);
      expect(h.performance!.rmse).toBeCloseTo(want.rmse, 12);
      expect(h.performance!.r2).toBeCloseTo(want.r2, 12);
    });
  });

  it('scores class labels by accuracy; predictions without a label are counted, not scored', () => {
    const d = tempDir();
    try {
      fs.writeFileSync(path.join(d, 'p.csv'), 'id,prediction\n1,cat\n2,dog\n3,dog\n4,cat\n5,owl\n');
      fs.writeFileSync(path.join(d, 'l.csv'), 'id,label\n1,cat\n2,cat\n3,dog\n4,cat\n');
      expect(scorePredictions(path.join(d, 'p.csv'), '/pfs/p/p.csv', { path: '/pfs/l/l.csv', key: 'id', label: 'label' }, path.join(d, 'l.csv'))).toEqual({
        kind: 'classification',
        joined: 4,
        unlabelled: 1,
        accuracy: 0.75,
      });
      expect(() => scorePredictions(path.join(d, 'p.csv'), '/pfs/p/p.csv', { path: '/pfs/l/l.csv', key: 'sku', label: 'label' }, path.join(d, 'l.csv'))).toThrow('/pfs/l/l.csv has no column "sku"');
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('reads every file of the step with data.delimiter', () => {
    const d = tempDir();
    try {
      fs.mkdirSync(path.join(d, 'now'));
      fs.mkdirSync(path.join(d, 'ref'));
      fs.writeFileSync(path.join(d, 'now', 'x.csv'), 'id;v;prediction\n1;1;5\n2;2;6\n3;3;7\n');
      fs.writeFileSync(path.join(d, 'ref', 'x.csv'), 'id;v;prediction\n1;1;5\n2;2;6\n3;3;7\n');
      fs.writeFileSync(path.join(d, 'ref', 'labels.csv'), 'id;y\n1;5\n2;6\n3;8\n');
      const spec = validateMlSpec({ task: 'drift', data: { path: '/pfs/now/x.csv', delimiter: ';' }, reference: '/pfs/ref/x.csv', labels: { path: '/pfs/ref/labels.csv', key: 'id', label: 'y' } });
      const report = runDriftTask(spec.data.path, spec.drift!, { pfsDir: d, outDir: path.join(d, 'out'), log: () => {} });
      expect(report.columns.map((c) => [c.column, c.status])).toEqual([
        ['id', 'ok'],
        ['v', 'ok'],
        ['prediction', 'ok'],
      ]);
      expect(report.performance).toMatchObject({ kind: 'regression', joined: 3, mae: 1 / 3 });
      expect(JSON.parse(fs.readFileSync(path.join(d, 'out', 'drift.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('refuses a drift task without a reference, or with fields of other tasks, naming the field', () => {
    const at = (ml: unknown) => {
      try {
        validateMlSpec(ml);
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(at({ task: 'drift', data: { path: '/pfs/a/x.csv' } })).toMatch(/^transform\.ml\.reference: missing/);
    expect(at({ task: 'drift', data: { path: '/pfs/a/x.csv' }, reference: '/pfs/r/x.csv', chain: [] })).toMatch(/^transform\.ml\.chain: is not used by task drift/);
    expect(at({ task: 'drift', data: { path: '/pfs/a/x.csv' }, reference: '/pfs/r/x.csv', drift: { alpha: 3 } })).toMatch(/^transform\.ml\.drift\.alpha: expected a number between 0 and 1/);
    expect(at({ task: 'drift', data: { path: '/pfs/a/x.csv' }, reference: '/pfs/r/x.csv', drift: { bogus: 1 } })).toMatch(/^transform\.ml\.drift\.bogus: unknown field/);
    expect(at({ task: 'train', data: { path: '/pfs/a/x.csv', label: 'y' }, chain: ['LinearRegression'], reference: '/pfs/r/x.csv' })).toMatch(/^transform\.ml\.reference: is for task drift only/);
    expect(at({ task: 'drift', data: { path: '/pfs/a/x.csv' }, reference: '/etc/passwd' })).toMatch(/^transform\.ml\.reference: "\/etc\/passwd" is outside \/pfs/);
    expect(at({ task: 'drift', data: { path: '/pfs/a/x.csv' }, reference: '/pfs/r/x.csv', labels: { path: '/pfs/l/y.csv', key: 'id' } })).toMatch(/^transform\.ml\.labels\.label: missing/);
    expect(at({ task: 'drift', data: { path: '/pfs/a/x.csv' }, reference: '/pfs/r/x.csv', drift: { number_test: 'wasserstein', alpha: 0.01 } })).toBe('accepted');
  });
});
