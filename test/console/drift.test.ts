// Drift in the console: the API's per-column series of a monitor pipeline's reports, and (where
// Chromium is installed) the page charting them with the threshold drawn and crossings marked.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftSeries } from '../../src/console/api-types.js';
import { startConsole, type RunningConsole } from '../../src/console/server.js';
import { registerMlTransforms } from '../../src/ml/register.js';
import { createPipelines } from '../../src/pipeline/pipeline-service.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { openTusk, type Tusk } from '../../src/app/tusk.js';
import { streamOf, tempStore } from '../helpers.js';
import { normals } from '../monitor/monitor-helpers.js';
import { ARTIFACTS, ensureWebBuilt, findChromium, startConsoleProcess, type ConsoleProcess } from './console-helpers.js';

let env: ReturnType<typeof tempStore>;
let reader: Tusk;
let srv: RunningConsole;
const inputs: string[] = [];

function sales(seed: number, shift: number): string {
  const xs = normals(300, seed, 100 + shift, 10);
  return ['amount,region', ...xs.map((x, i) => `${x.toFixed(3)},${['north', 'south', 'east'][i % 3]}`)].join('\n') + '\n';
}

async function put(text: string): Promise<string> {
  const r = await env.store.putFiles({ repo: 'sales', branch: 'master' }, [{ kind: 'stream', stream: streamOf(text), repoPath: '/sales.csv' }]);
  return r.commit;
}

beforeAll(async () => {
  registerMlTransforms();
  env = tempStore();
  await env.store.createRepo('sales');
  inputs.push(await put(sales(1, 0)));
  const spec = {
    pipeline: { name: 'sales-drift' },
    input: { cross: [{ pfs: { name: 'current', repo: 'sales', glob: '/' } }, { pfs: { name: 'reference', repo: 'sales', commit: inputs[0], glob: '/' } }] },
    transform: { ml: { task: 'drift', data: { path: '/pfs/current/sales.csv' }, reference: '/pfs/reference/sales.csv' } },
  };
  await createPipelines(env.store.handle, JSON.stringify(spec), { baseDir: env.dir });
  await runForeground(env.store.handle);
  for (const [seed, shift] of [
    [2, 0],
    [3, 9],
    [4, 0],
  ]) {
    inputs.push(await put(sales(seed!, shift!)));
    await runForeground(env.store.handle);
  }
  reader = await openTusk({ path: path.join(env.dir, '.tusk'), readonly: true });
  srv = await startConsole({ data: reader.data, pipelines: reader.pipelines, port: 0, pollMs: 50 });
}, 120_000);

afterAll(async () => {
  await srv?.close();
  await reader?.close();
  env?.cleanup();
});

async function get<T>(p: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${srv.port}${p}`);
  return { status: res.status, body: (await res.json()) as T };
}

describe('GET /api/repos/:repo/drift', () => {
  it("gives each column's severity per report, oldest first, with the commits that crossed the threshold", async () => {
    const { status, body } = await get<DriftSeries>('/api/repos/sales-drift/drift');
    expect(status).toBe(200);
    expect(body.columns).toEqual(['amount', 'region']);
    expect(body.points.map((p) => p.input)).toEqual(inputs.map((c) => `sales@${c}`));
    expect(body.points.map((p) => p.drift)).toEqual([false, false, true, false]);
    expect(body.points.map((p) => p.columns.amount!.status)).toEqual(['ok', 'ok', 'drift', 'ok']);
    for (const p of body.points) {
      const a = p.columns.amount!;
      expect(a.test).toBe('ks');
      // severity ≥ 1 exactly when the column drifted
      expect(a.severity! >= 1).toBe(a.status === 'drift');
    }
  });

  it('is empty for a repo without reports and 404 for a missing repo', async () => {
    expect((await get<DriftSeries>('/api/repos/sales/drift')).body.points).toEqual([]);
    const missing = await get<{ error: { code: string } }>('/api/repos/nope/drift');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('E_NOT_FOUND');
  });
});

const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn('test/console/drift.test.ts: browser check skipped, no Chromium found (apt-get install -y chromium, or set TUSK_CHROMIUM)');

describe.skipIf(!CHROMIUM)('drift page in Chromium', () => {
  let tusk: ConsoleProcess;
  let browser: Browser;
  afterAll(async () => {
    await browser?.close();
    await tusk?.stop();
  });

  it('charts each column with the threshold line and marks the crossing commit', async () => {
    ensureWebBuilt();
    tusk = await startConsoleProcess(env.dir);
    browser = await chromium.launch({ executablePath: CHROMIUM });
    const page = await browser.newPage({ viewport: { width: 1180, height: 760 } });
    page.setDefaultTimeout(15_000);
    await page.goto(`${tusk.origin}/#/drift/sales-drift`);
    await page.waitForSelector('[data-testid=drift-charts] svg.chart');
    expect(await page.locator('svg.chart').count()).toBe(2);
    expect(await page.locator('svg.chart[data-metric=amount] line.threshold').count()).toBe(1);
    expect(await page.locator('svg.chart[data-metric=amount] circle.point').count()).toBe(4);
    expect(await page.locator('svg.chart[data-metric=amount] circle.crossed').count()).toBe(1);
    expect(await page.locator('[data-testid=drift-table] tbody tr').count()).toBe(4);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'drift.png') });
  }, 60_000);
});
