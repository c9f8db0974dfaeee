// A monitor step whose reference moves with the input by itself: `reference: window` on a
// windowed input compares the newest version in each window with the earlier ones. Checked
// against `tusk drift` of the same versions, through the pipeline runner and the built CLI.
import { afterEach, describe, expect, it } from 'vitest';
import { readDrift } from '../../src/console/drift.js';
import { checkMlPipeline } from '../../src/ml/create-check.js';
import { driftFiles } from '../../src/monitor/drift-service.js';
import { listDrift } from '../../src/monitor/drift-history.js';
import { normalizeSpec } from '../../src/pipeline/spec.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { streamOf } from '../helpers.js';
import { lastJob, mlStore, pipeline, put, readJson } from '../ml/ml-helpers.js';
import { sales } from './monitor-helpers.js';

let env: ReturnType<typeof mlStore> | undefined;
afterEach(() => {
  env?.cleanup();
  env = undefined;
});

const windowed = (size: number, ml: Record<string, unknown> = {}) => ({
  pipeline: { name: 'sales-drift' },
  input: { pfs: { repo: 'sales', glob: '/*.csv', window: { size: `${size} commits`, every: '1 commit' } } },
  transform: { ml: { task: 'drift', data: { path: '/pfs/sales/sales.csv' }, reference: 'window', ...ml } },
});

/** The report fields that must equal `tusk drift`'s. */
const verdict = (r: { drift: boolean; drifted: string[]; schemaChanges: string[]; worst: unknown; tested: number; alphaPerColumn: number; columns: unknown[] }) => ({
  drift: r.drift,
  drifted: r.drifted,
  schemaChanges: r.schemaChanges,
  worst: r.worst,
  tested: r.tested,
  alphaPerColumn: r.alphaPerColumn,
  columns: r.columns,
});

describe('monitor step with reference: window', () => {
  it('flags a shift against the previous version, not the next unchanged one, as tusk drift does', async () => {
    env = mlStore();
    const { store, dir } = env;
    const v1 = await put(store, 'sales', { '/sales.csv': sales(300, 1, 0) });
    await pipeline(store, dir, windowed(2));
    expect(await lastJob(store, 'sales-drift')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    // the first version has nothing before it: a report saying so, not a failure
    const first = await readJson(store, 'sales-drift@master:/drift/0-2.json');
    expect(first).toMatchObject({ drift: false, columns: [], current: { commit: v1, rows: 300 }, reference: { commit: null, rows: 0, commits: [] }, window: { by: 'count', start: 0, end: 2, versions: [v1] } });
    expect(first.note).toMatch(/no reference/);

    const v2 = await put(store, 'sales', { '/sales.csv': sales(300, 2, 0) });
    await runForeground(store.handle);
    const v3 = await put(store, 'sales', { '/sales.csv': sales(300, 3, 8) }); // the shift
    await runForeground(store.handle);
    // another file of the glob changes; sales.csv does not: the window holds one version of it
    const v4 = await put(store, 'sales', { '/other.csv': sales(50, 4, 0) });
    await runForeground(store.handle);
    const v5 = await put(store, 'sales', { '/sales.csv': sales(300, 5, 8) }); // new rows, same (shifted) distribution
    await runForeground(store.handle);
    const job = await lastJob(store, 'sales-drift');
    expect(job).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    // a new commit runs only its windows: [3, 5) and the partial [4, 6); the others are kept
    expect(job.processed).toBe(2);

    const shifted = await readJson(store, 'sales-drift@master:/drift/1-3.json');
    expect(shifted).toMatchObject({ drift: true, drifted: ['amount'], current: { repo: 'sales', commit: v3, rows: 300 }, reference: { repo: 'sales', commit: v2, rows: 300, commits: [{ commit: v2, rows: 300, files: 1 }] }, window: { versions: [v2, v3] } });
    const cli = await driftFiles(store, { repo: 'sales', commit: v2, path: '/sales.csv' }, { repo: 'sales', commit: v3 });
    expect(verdict(shifted)).toEqual(JSON.parse(JSON.stringify(verdict(cli))));
    expect(shifted.options).toEqual(cli.options);

    // the commit that left sales.csv alone brought no version: its window [3, 5) compares v5 alone
    const alone = await readJson(store, 'sales-drift@master:/drift/3-5.json');
    expect(alone).toMatchObject({ drift: false, current: { commit: v5 }, reference: { commits: [] }, window: { versions: [v5] } });

    const history = await listDrift(store, 'sales-drift');
    expect(history.map((h) => [h.input, h.reference, h.drift, h.drifted, h.window?.reference])).toEqual([
      [`sales@${v5}`, null, false, [], []],
      [`sales@${v3}`, `sales@${v2}`, true, ['amount'], [v2]],
      [`sales@${v2}`, `sales@${v1}`, false, [], [v1]],
    ]);
    expect(history[2]!.columns.find((c) => c.column === 'amount')!.severity).toBeLessThan(1);
    expect(history[0]!.note).toMatch(/no reference/);
    expect(v4).not.toBe(v5);
    // the console's series labels each point by its input and its reference, oldest first
    expect((await readDrift(store, 'sales-drift', 50)).points.map((p) => [p.input, p.reference, p.drift])).toEqual([
      [`sales@${v2}`, `sales@${v1}`, false],
      [`sales@${v3}`, `sales@${v2}`, true],
      [`sales@${v5}`, null, false],
    ]);
  });

  it('pools a window of previous versions, the same report as tusk drift --window', async () => {
    env = mlStore();
    const { store, dir } = env;
    const vs: string[] = [];
    for (const [seed, shift] of [[11, 0], [12, 0], [13, 0], [14, 6]] as const) vs.push(await put(store, 'sales', { '/sales.csv': sales(200, seed, shift) }));
    await pipeline(store, dir, windowed(4));
    expect(await lastJob(store, 'sales-drift')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    const report = await readJson(store, 'sales-drift@master:/drift/0-4.json');
    expect(report.reference.commits.map((c: { commit: string }) => c.commit)).toEqual(vs.slice(0, 3));
    expect(report.reference.rows).toBe(600);
    const cli = await driftFiles(store, { repo: 'sales', commit: vs[2]!, path: '/sales.csv' }, { repo: 'sales', commit: vs[3]! }, { window: 3 });
    expect(cli.reference.rows).toBe(600);
    expect(verdict(report)).toEqual(JSON.parse(JSON.stringify(verdict(cli))));
    expect(report.drifted).toEqual(['amount']);
    // the row names every pooled version
    expect((await listDrift(store, 'sales-drift'))[0]!.reference).toBe(`sales@${vs.slice(0, 3).join(',')}`);
  });

  it("works on time windows: each window's newest version against the others of its days", async () => {
    env = mlStore();
    const { store, dir } = env;
    await store.createRepo('sales');
    const DAY = 86_400_000;
    const day0 = Date.UTC(2026, 10, 2);
    const vs: string[] = [];
    for (const [d, seed, shift] of [[0, 21, 0], [1, 22, 9]] as const) {
      const c = await store.startCommit('sales', 'master', { time: day0 + d * DAY + 3_600_000 });
      await store.putFiles({ repo: 'sales', commit: c.id }, [{ kind: 'stream', stream: streamOf(sales(300, seed, shift)), repoPath: '/sales.csv' }]);
      await store.finishCommit({ repo: 'sales', commit: c.id });
      vs.push(c.id);
    }
    await pipeline(store, dir, { ...windowed(2), input: { pfs: { repo: 'sales', glob: '/*.csv', window: { size: '2d', every: '1d' } } } });
    expect(await lastJob(store, 'sales-drift')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    const report = await readJson(store, `sales-drift@master:/drift/${day0}-${day0 + 2 * DAY}.json`);
    expect(report).toMatchObject({ drift: true, drifted: ['amount'], current: { commit: vs[1] }, reference: { commit: vs[0] }, window: { by: 'time', start: day0, end: day0 + 2 * DAY, versions: vs } });
    const cli = await driftFiles(store, { repo: 'sales', commit: vs[0]!, path: '/sales.csv' }, { repo: 'sales', commit: vs[1]! });
    expect(verdict(report)).toEqual(JSON.parse(JSON.stringify(verdict(cli))));
  });

  it('refuses reference: window without a windowed input, naming the field', async () => {
    const spec = (input: Record<string, unknown>, ml: Record<string, unknown> = {}) =>
      normalizeSpec({ pipeline: { name: 'p' }, input, transform: { ml: { task: 'drift', data: { path: '/pfs/sales/sales.csv' }, reference: 'window', ...ml } } }, { baseDir: '/' }).spec;
    await expect(checkMlPipeline(spec({ pfs: { repo: 'sales', glob: '/' } }))).rejects.toThrow(/transform\.ml\.reference.*the input sales has no window/);
    await expect(checkMlPipeline(spec({ cross: [{ pfs: { repo: 'sales', glob: '/', window: { size: '2 commits' } } }, { pfs: { repo: 'other', glob: '/' } }] }, { data: { path: '/pfs/other/x.csv' } }))).rejects.toThrow(/transform\.ml\.reference.*the input other has no window/);
    await expect(checkMlPipeline(spec({ pfs: { repo: 'sales', glob: '/', window: { size: '2 commits' } } }, { labels: { path: '/pfs/sales/l.csv', key: 'id', label: 'y' } }))).rejects.toThrow(/transform\.ml\.labels.*reference: window/);
    await expect(checkMlPipeline(spec({ pfs: { repo: 'sales', glob: '/', window: { size: '2 commits' } } }))).resolves.toBeUndefined();
  });
});
