// `tusk drift` and `tusk inspect profile` through the built CLI: exit statuses CI can use, the
// --json report, the kept profile, and bad input leaving the store as it was.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCliError, snapshot, withStoreDir, type StoreDir } from './cli-helpers.js';

let s: StoreDir;

function rows(n: number, f: (i: number) => string): string {
  return ['x,c', ...Array.from({ length: n }, (_, i) => f(i))].join('\n') + '\n';
}

beforeAll(async () => {
  s = await withStoreDir();
  fs.writeFileSync(path.join(s.dir, 'v1.csv'), rows(200, (i) => `${(i * 37) % 101},${'abc'[i % 3]}`));
  fs.writeFileSync(path.join(s.dir, 'v2.csv'), rows(200, (i) => `${(i * 53) % 101},${'abc'[(i + 1) % 3]}`));
  fs.writeFileSync(path.join(s.dir, 'v3.csv'), rows(200, (i) => `${((i * 37) % 101) + 40},${'abc'[i % 3]}`));
  await s.json(['create', 'repo', 'sales']);
  for (const v of ['v1', 'v2', 'v3']) {
    await s.json(['put', 'file', 'sales@master:/s.csv', '-f', `${v}.csv`]);
    await s.json(['create', 'branch', `sales@${v}`, '--head', 'master']);
  }
});

afterAll(() => s?.cleanup());

describe('tusk drift', () => {
  it('exits 0 with the report when nothing drifted', async () => {
    const r = await s.tusk(['drift', 'sales@v1:/s.csv', 'sales@v2', '--json']);
    expect(r.code, r.describe()).toBe(0);
    const report = r.json();
    expect(report.drift).toBe(false);
    expect(report.columns.map((c: { column: string; status: string }) => [c.column, c.status])).toEqual([
      ['x', 'ok'],
      ['c', 'ok'],
    ]);
  });

  it('exits 1 with E_DRIFT and the report in error.details when a column shifted', async () => {
    const r = await s.tusk(['drift', 'sales@v1:/s.csv', 'sales@v3', '--json']);
    expect(r.code, r.describe()).toBe(1);
    const { error } = r.json();
    expect(error.code).toBe('E_DRIFT');
    expect(error.details.drifted).toEqual(['x']);
    expect(error.details.columns[0]).toMatchObject({ column: 'x', status: 'drift', test: 'ks' });
    const table = await s.tusk(['drift', 'sales@v1:/s.csv', 'sales@v3']);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/^x\s+number\s+drift\s+KS p-value/m);
    expect(table.stderr).toContain('Error: drift in 1 of 2 compared columns: x');
    const reportOnly = await s.tusk(['drift', 'sales@v1:/s.csv', 'sales@v3', '--report-only', '--json']);
    expect(reportOnly.code).toBe(0);
    expect(reportOnly.json().drifted).toEqual(['x']);
  });

  it('bad input keeps its own exit status and leaves the store unchanged', async () => {
    const before = await snapshot(s.dir);
    const cases: [string[], number, string][] = [
      [['drift', 'sales@v1:/none.csv', 'sales@v3'], 4, 'E_NOT_FOUND'],
      [['drift', 'sales@nope:/s.csv', 'sales@v3'], 4, 'E_NOT_FOUND'],
      [['drift', 'sales@v1', 'sales@v3'], 2, 'E_INVALID'],
      [['drift', 'sales@v1:/s.csv', 'sales@v3', '--alpha', '1.5'], 2, 'E_INVALID'],
      [['drift', 'sales@v1:/s.csv', 'sales@v3', '--number-test', 'median'], 2, 'E_INVALID'],
      [['drift', 'sales@v1:/', 'sales@v3'], 2, 'E_INVALID'],
      [['drift', 'sales@v3:/', 'sales@v3', '--window', '3'], 2, 'E_INVALID'],
      [['drift', 'sales@v3:/s.csv', 'sales@v3', '--window', '0'], 2, 'E_INVALID'],
      [['drift', 'sales@v3:/s.csv', 'sales@v3', '--delimiter', '::'], 2, 'E_INVALID'],
      [['inspect', 'profile', 'sales@v3:/s.csv', '--delimiter', ''], 2, 'E_INVALID'],
    ];
    // read-only commands: run side by side
    const results = await Promise.all(cases.map(([args]) => s.tusk([...args, '--json'])));
    cases.forEach(([, code, err], i) => {
      expect(results[i]!.code, results[i]!.describe()).toBe(code);
      expect(results[i]!.json().error.code).toBe(err);
    });
    expect(await snapshot(s.dir)).toEqual(before);
  });

  it('--window pools the reference commit and its parents', async () => {
    const r = await s.tusk(['drift', 'sales@v2:/s.csv', 'sales@v3', '--window', '2', '--json']);
    expect(r.code, r.describe()).toBe(1);
    const report = r.json().error.details;
    expect(report.reference.rows).toBe(400);
    expect(report.reference.window).toHaveLength(2);
    const text = await s.tusk(['drift', 'sales@v2:/s.csv', 'sales@v3', '--window', '2']);
    expect(text.stdout).toContain('(400 rows, 2 commits pooled)');
  });
});

describe('tusk inspect profile', () => {
  it('profiles once and reads the kept profile the second time', async () => {
    const first = await s.json(['inspect', 'profile', 'sales@v1:/s.csv']);
    expect(first.cached).toBe(false);
    expect(first.rows).toBe(200);
    expect(first.columns[0]).toMatchObject({ name: 'x', type: 'number', count: 200, missing: 0, min: 0, max: 100 });
    expect(first.columns[1]).toMatchObject({ name: 'c', type: 'string', distinct: 3 });
    const second = await s.json(['inspect', 'profile', 'sales@v1:/s.csv']);
    expect(second).toEqual({ ...first, cached: true });
    const text = await s.tusk(['inspect', 'profile', 'sales@v1:/s.csv']);
    expect(text.stdout).toMatch(/^x\s+number\s+200\s+0\s+/m);
  });
});

describe('tusk list drift', () => {
  it('lists a monitor pipeline\'s reports, and says when a repo has none', async () => {
    const v1 = (await s.json(['inspect', 'commit', 'sales@v1'])).id;
    const spec = {
      pipeline: { name: 'sales-drift' },
      input: { cross: [{ pfs: { name: 'now', repo: 'sales', glob: '/' } }, { pfs: { name: 'ref', repo: 'sales', commit: v1, glob: '/' } }] },
      transform: { ml: { task: 'drift', data: { path: '/pfs/now/s.csv' }, reference: '/pfs/ref/s.csv' } },
    };
    fs.writeFileSync(path.join(s.dir, 'monitor.json'), JSON.stringify(spec));
    await s.json(['create', 'pipeline', '-f', 'monitor.json']);
    await s.json(['wait', 'commit', 'sales-drift@master']);
    const rows = await s.json(['list', 'drift', 'sales-drift']);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ drift: true, drifted: ['x'], worst: { column: 'x', test: 'ks' } });
    const table = await s.tusk(['list', 'drift', 'sales-drift']);
    expect(table.code, table.describe()).toBe(0);
    expect(table.stdout).toMatch(/^COMMIT\s+FINISHED\s+INPUT\s+REFERENCE\s+DRIFT\s+DRIFTED\s+WORST\s+SCORE$/m);
    expect(table.stdout).toMatch(/\syes\s+x\s+x \(ks\)\s/);
    expect(await s.json(['list', 'drift', 'sales'])).toEqual([]);
    const missing = await s.tusk(['list', 'drift', 'nope', '--json']);
    expect(missing.code).toBe(4);
  });

  it('lists a window reference one row per version, naming the previous version; refuses it without a window', async () => {
    const ids = await Promise.all(['v1', 'v2', 'v3'].map(async (v) => (await s.json(['inspect', 'commit', `sales@${v}`])).id as string));
    const spec = (window: boolean) => ({
      pipeline: { name: 'sales-moving' },
      input: { pfs: { repo: 'sales', glob: '/s.csv', ...(window ? { window: { size: '2 commits', every: '1 commit' } } : {}) } },
      transform: { ml: { task: 'drift', data: { path: '/pfs/sales/s.csv' }, reference: 'window' } },
    });
    fs.writeFileSync(path.join(s.dir, 'moving.json'), JSON.stringify(spec(false)));
    await expectCliError(['create', 'pipeline', '-f', 'moving.json'], { exit: 2, code: 'E_INVALID', mentions: ['transform.ml.reference', 'has no window'] }, { cwd: s.dir });
    expect((await s.json(['list', 'pipeline'])).map((p: { name: string }) => p.name)).not.toContain('sales-moving');

    fs.writeFileSync(path.join(s.dir, 'moving.json'), JSON.stringify(spec(true)));
    await s.json(['create', 'pipeline', '-f', 'moving.json']);
    await s.json(['wait', 'commit', 'sales-moving@master']);
    const rows = await s.json(['list', 'drift', 'sales-moving']);
    expect(rows.map((r: { input: string; reference: string; drift: boolean }) => [r.input, r.reference, r.drift])).toEqual([
      [`sales@${ids[2]}`, `sales@${ids[1]}`, true],
      [`sales@${ids[1]}`, `sales@${ids[0]}`, false],
    ]);
    // the report of v3 against v2 is `tusk drift sales@v2:/s.csv sales@v3`'s
    const cli = await s.tusk(['drift', 'sales@v2:/s.csv', 'sales@v3', '--json', '--report-only']);
    expect(cli.code, cli.describe()).toBe(0);
    expect(rows[0].columns).toEqual(cli.json().columns.map((c: { column: string; status: string; test?: string; score?: number; threshold?: number; severity?: number }) => ({ column: c.column, status: c.status, test: c.test ?? null, score: c.score ?? null, threshold: c.threshold ?? null, severity: c.severity ?? null })));
    const table = await s.tusk(['list', 'drift', 'sales-moving']);
    expect(table.stdout).toMatch(new RegExp(`sales@${ids[2]}\\s+sales@${ids[1]}\\s+yes\\s+x`));
  });
});
