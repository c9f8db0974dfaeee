// The console end to end, in a real browser: `tusk console` (the built CLI) serves a store this
// test builds, and Debian's Chromium, driven through playwright-core, walks repos → commit → file
// previews → diff → pipeline DAG → job → logs, then watches a job run live. Screenshots go to
// test-artifacts/console/. Skipped, with a message, where no Chromium is installed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runForeground } from '../../src/pipeline/runner.js';
import { streamOf, tempStore } from '../helpers.js';
import { ARTIFACTS, buildFixture, ensureWebBuilt, findChromium, startConsoleProcess, type ConsoleProcess, type Fixture } from './console-helpers.js';

const CHROMIUM = findChromium();
if (!CHROMIUM) {
  console.warn('test/console/browser.test.ts: skipped, no Chromium found (apt-get install -y chromium, or set TUSK_CHROMIUM)');
}

let env: ReturnType<typeof tempStore>;
let fx: Fixture;
let tusk: ConsoleProcess;
let browser: Browser;
let page: Page;
const timings: Record<string, number> = {};
// script errors and CSP violations the page reports (a 404 page shown on purpose logs one too)
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** Go to a console address and wait for `selector`; records how long the page took. */
async function open(name: string, hash: string, selector: string): Promise<void> {
  const t0 = Date.now();
  await page.goto(`${tusk.origin}/${hash}`);
  await page.waitForSelector(selector);
  timings[name] = Date.now() - t0;
}

async function clickAndWait(name: string, target: ReturnType<Page['locator']>, selector: string): Promise<void> {
  const t0 = Date.now();
  await target.click();
  await page.waitForSelector(selector);
  timings[name] = Date.now() - t0;
}

describe.skipIf(!CHROMIUM)('console in Chromium', () => {
  beforeAll(async () => {
    ensureWebBuilt();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    env = tempStore();
    fx = await buildFixture(env.store, env.dir);
    tusk = await startConsoleProcess(env.dir);
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: { width: 1180, height: 760 } });
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 404/.test(m.text())) pageErrors.push(m.text());
    });
  }, 120_000);

  afterAll(async () => {
    fs.writeFileSync(path.join(ARTIFACTS, 'browser-load-times.json'), JSON.stringify(timings, null, 2) + '\n');
    await browser?.close();
    const code = await tusk?.stop();
    env?.cleanup();
    expect(code).toBe(0);
  });

  it('walks repos → commit → files with previews', async () => {
    await open('repos', '#/', '[data-testid=repos]');
    const repos = page.locator('[data-testid=repos] tbody tr');
    await expect(repos.count()).resolves.toBe(5);
    expect(await page.locator('[data-testid=repos]').innerText()).toMatch(/images\s+user/);
    await shot('repos');

    await clickAndWait('repo', page.getByRole('link', { name: 'images', exact: true }), '[data-testid=history] tbody tr');
    const history = page.locator('[data-testid=history] tbody tr');
    await expect(history.count()).resolves.toBe(3);
    expect(await history.nth(1).innerText()).toContain('add owls');
    expect(await page.locator('[data-testid=history] svg circle').count()).toBe(3);
    await shot('repo-history');

    // every branch: two lines of descent meet at the first commit
    await page.getByRole('link', { name: 'all commits' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=history] tbody tr').length === 4);
    const widths = await page.locator('[data-testid=history] svg.lanes').evaluateAll((els) => els.map((e) => Number(e.getAttribute('width'))));
    expect(new Set(widths)).toEqual(new Set([28]));
    const lanes = await page.locator('[data-testid=history] svg.lanes circle').evaluateAll((els) => els.map((e) => Number(e.getAttribute('cx'))));
    expect(lanes).toEqual([7, 21, 21, 7]);
    await shot('repo-all-branches');
    await page.getByRole('link', { name: 'master', exact: true }).first().click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=history] tbody tr').length === 3);

    await clickAndWait('commit', page.locator('[data-testid=history] a', { hasText: fx.second.slice(0, 12) }), '[data-testid=commit-id]');
    expect(await page.locator('[data-testid=commit-id]').innerText()).toBe(fx.second);
    expect(await page.locator('dl.facts').innerText()).toContain('add owls');
    await shot('commit');

    await clickAndWait('files', page.getByRole('link', { name: 'Browse files' }), '[data-testid=files]');
    const names = await page.locator('[data-testid=files] tbody tr td:first-child').allInnerTexts();
    expect(names).toEqual(['README.md', 'blob.bin', 'config.json', 'data/', 'img/']);
    await shot('files');

    await clickAndWait('preview text', page.getByRole('link', { name: 'README.md' }), '[data-testid=preview-text]');
    expect(await page.locator('[data-testid=preview-text]').innerText()).toContain('Now with owls.');
    await page.goBack();
    await clickAndWait('dir', page.getByRole('link', { name: 'data/' }), '[data-testid=files]');
    await clickAndWait('preview csv', page.getByRole('link', { name: 'iris.csv' }), '[data-testid=preview-csv]');
    expect(await page.locator('[data-testid=preview-csv] thead th').allInnerTexts()).toEqual(['sepal_length', 'sepal_width', 'species']);
    await expect(page.locator('[data-testid=preview-csv] tbody tr').count()).resolves.toBe(99);
    expect(await page.locator('[data-testid=preview-csv] tbody tr').nth(1).innerText()).toContain('versi, color');
    expect(await page.locator('[data-testid=truncated]').innerText()).toMatch(/first 100 rows/);
    await shot('preview-csv');

    await open('preview json', `#/files/images/${fx.second}/config.json`, '[data-testid=preview-json]');
    expect(await page.locator('[data-testid=preview-json]').innerText()).toContain('"lr": 0.01');
    await open('preview image', `#/files/images/${fx.second}/img/gradient.png`, '[data-testid=preview-image]');
    await page.waitForFunction(() => (document.querySelector('[data-testid=preview-image]') as HTMLImageElement | null)?.naturalWidth === 24);
    await shot('preview-image');
    const download = page.waitForEvent('download');
    await page.locator('[data-testid=download]').click();
    expect((await download).suggestedFilename()).toBe('gradient.png');
  });

  it('diffs a commit with its parent, file list and lines', async () => {
    await open('commit', `#/commit/images/${fx.second}`, '[data-testid=commit-id]');
    await clickAndWait('diff', page.getByRole('link', { name: 'Diff with parent' }), '[data-testid=diff-files]');
    const rows = await page.locator('[data-testid=diff-files] tbody tr').allInnerTexts();
    expect(rows.map((r) => r.split('\t').slice(0, 2).join(' ').trim())).toEqual(['modified /README.md', 'added /data/extra.csv']);
    await clickAndWait('text diff', page.getByRole('link', { name: '/README.md' }), '[data-testid=text-diff] table');
    const diff = await page.locator('[data-testid=text-diff]').innerText();
    expect(diff).toContain('+ Now with owls.');
    expect(diff).toContain('− Pictures of cats and dogs.');
    await shot('diff');
  });

  it('shows the pipeline DAG, a job, its datums and logs', async () => {
    await open('pipelines', '#/pipelines', '[data-testid=dag]');
    expect(await page.locator('[data-testid=dag] [data-node]').evaluateAll((els) => els.map((e) => e.getAttribute('data-node')).sort())).toEqual(['images', 'many', 'raw', 'stats', 'upper']);
    expect(await page.locator('[data-testid=dag] .edge').count()).toBe(2);
    await shot('dag');

    await clickAndWait('pipeline', page.locator('[data-testid=dag] [data-node=upper]'), '[data-testid=jobs]');
    await expect(page.locator('[data-testid=jobs] tbody tr').count()).resolves.toBe(3);
    expect(await page.locator('[data-testid=spec]').innerText()).toContain('upper-casing');
    await shot('pipeline');

    await clickAndWait('job', page.locator('[data-testid=jobs] a', { hasText: fx.rawHead.slice(0, 12) }), '[data-testid=datums]');
    expect(await page.locator('[data-testid=progress]').first().innerText()).toContain('2 processed · 3 skipped · 0 failed / 5');
    await page.waitForFunction(() => document.querySelector('[data-testid=logs]')?.textContent?.includes('upper-casing e.txt'));
    expect(await page.locator('[data-testid=datums] tbody tr').count()).toBe(5);
    await shot('job');

    await clickAndWait('datum', page.locator('[data-testid=datums] tr', { hasText: 'success' }).first().locator('a'), '[data-testid=datum-files]');
    expect(await page.locator('[data-testid=datum-files]').innerText()).toMatch(/raw\s+\/[de]\.txt/);
    expect(await page.locator('[data-testid=logs]').innerText()).toMatch(/upper-casing [de]\.txt/);
  });

  it('updates jobs, progress and logs live while a job runs', async () => {
    await open('pipeline', '#/pipeline/upper', '[data-testid=jobs]');
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    const { commit } = await env.store.putFiles({ repo: 'raw', branch: 'master' }, [{ kind: 'stream', stream: streamOf('golf\n'), repoPath: '/g.txt' }]);
    // the new job appears without a reload
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=jobs] tbody tr').length === 4);
    expect(await page.locator('[data-testid=jobs] tbody tr').first().innerText()).toMatch(/created/);
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);

    await page.locator('[data-testid=jobs] a', { hasText: commit.slice(0, 12) }).click();
    await page.waitForSelector('[data-testid=job-id]');
    expect(await page.locator('[data-testid=progress]').first().innerText()).toContain('0 processed');
    await runForeground(env.store.handle);
    await page.waitForFunction(() => document.querySelector('[data-testid=logs]')?.textContent?.includes('upper-casing g.txt'));
    await page.waitForFunction(() => document.querySelector('[data-testid=progress]')?.textContent?.includes('1 processed · 5 skipped · 0 failed / 6'));
    // counters can arrive a poll before the state does
    await page.waitForFunction(() => document.querySelector('dl.facts .badge')?.textContent === 'success');
    await shot('job-live');
  });

  it('charts model metrics across versions', async () => {
    await open('metrics', '#/metrics/stats', '[data-testid=charts]');
    const charts = page.locator('[data-testid=charts] svg.chart');
    expect(await charts.evaluateAll((els) => els.map((e) => e.getAttribute('data-metric')))).toEqual(['bytes', 'eval.score', 'files']);
    // four versions now: the live test added one
    const files = await page.locator('svg.chart[data-metric=files] circle').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));
    expect(files).toEqual([2, 3, 5, 6]);
    await shot('metrics');
  });

  it('ran without script errors or content-security-policy violations', () => {
    expect(pageErrors).toEqual([]);
  });

  it('shows missing objects as a message', async () => {
    await open('missing repo', '#/repo/nope', '[data-testid=error]');
    expect(await page.locator('[data-testid=error]').innerText()).toContain('repo nope not found');
    await open('missing file', '#/files/images/master/nope.txt', '[data-testid=error]');
    expect(await page.locator('[data-testid=error]').innerText()).toContain('file /nope.txt not found in repo images');
  });
});
