// The console on a large store: a directory of 100,000 files must open in under a second (in the
// API and in the browser), whatever page of it is asked for, and a long history pages as fast.
// The measured times are written to test-artifacts/console/big-store-load-times.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitPage, DirPage } from '../../src/console/api-types.js';
import type { PutSource } from '../../src/store/types.js';
import { streamOf, tempStore } from '../helpers.js';
import { ARTIFACTS, ensureWebBuilt, findChromium, startConsoleProcess, type ConsoleProcess } from './console-helpers.js';

const FILES = 100_000;
const COMMITS = 300;
const BUDGET_MS = 1000;
const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn('test/console/big-store.test.ts: browser timings skipped, no Chromium found (apt-get install -y chromium, or set TUSK_CHROMIUM)');

let env: ReturnType<typeof tempStore>;
let tusk: ConsoleProcess;
let browser: Browser | undefined;
let page: Page;
const times: Record<string, number> = {};

const name = (i: number) => `f${String(i).padStart(6, '0')}.txt`;

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  times[label] = Math.round(performance.now() - t0);
  return out;
}

async function api<T>(p: string): Promise<T> {
  const r = await fetch(`${tusk.origin}${p}`);
  expect(r.status, p).toBe(200);
  return (await r.json()) as T;
}

describe('console on a 100,000-file directory', () => {
  beforeAll(async () => {
    ensureWebBuilt();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    env = tempStore();
    const { store } = env;
    await store.createRepo('big', { description: `${FILES} files in one directory` });
    const sources: PutSource[] = [];
    for (let i = 0; i < FILES; i++) sources.push({ kind: 'stream', stream: streamOf(`file ${i}\n`), repoPath: `/many/${name(i)}` });
    await timed('build: put 100,000 files (setup)', () => store.putFiles({ repo: 'big', branch: 'master' }, sources, { description: 'one wide directory' }));
    await store.createRepo('long', { description: `${COMMITS} commits` });
    for (let i = 0; i < COMMITS; i++) await store.putFiles({ repo: 'long', branch: 'master' }, [{ kind: 'stream', stream: streamOf(`v${i}\n`), repoPath: '/v.txt' }], { description: `version ${i}` });
    // the whole directory at once, as `tusk list file` reads it: what paging avoids
    await timed('store.listFiles, whole directory (for comparison)', async () => expect(await store.listFiles({ repo: 'big', branch: 'master', path: '/many' })).toHaveLength(FILES));
    tusk = await startConsoleProcess(env.dir);
    if (CHROMIUM) {
      browser = await chromium.launch({ executablePath: CHROMIUM });
      page = await browser.newPage({ viewport: { width: 1180, height: 760 } });
      page.setDefaultTimeout(15_000);
    }
  }, 180_000);

  afterAll(async () => {
    fs.writeFileSync(path.join(ARTIFACTS, 'big-store-load-times.json'), JSON.stringify(times, null, 2) + '\n');
    console.log(`console load times on ${FILES.toLocaleString('en-US')} files / ${COMMITS} commits (ms):\n${Object.entries(times).map(([k, v]) => `  ${v.toString().padStart(6)}  ${k}`).join('\n')}`);
    await browser?.close();
    await tusk?.stop();
    env?.cleanup();
  });

  it('serves any page of the directory from the API in well under a second', async () => {
    await timed('API: /api/info, the first request (client and server start-up)', () => api('/api/info'));
    const first = await timed('API: first page (200 entries)', () => api<DirPage>('/api/repos/big/files?path=/many'));
    expect(first.kind === 'dir' && [first.total, first.entries.length, first.next]).toEqual([FILES, 200, name(199)]);
    const middle = await timed('API: page after f050000.txt', () => api<DirPage>(`/api/repos/big/files?path=/many&after=${name(50_000)}`));
    expect(middle.kind === 'dir' && middle.entries[0]!.path).toBe(`/many/${name(50_001)}`);
    const last = await timed('API: last page (go to f099900.txt)', () => api<DirPage>(`/api/repos/big/files?path=/many&from=${name(99_900)}&limit=1000`));
    expect(last.kind === 'dir' && [last.entries.length, last.next]).toEqual([100, null]);
    const root = await timed('API: repo root', () => api<DirPage>('/api/repos/big/files?path=/'));
    expect(root.kind === 'dir' && root.entries[0]!.files).toBe(FILES);
    const history = await timed('API: history page (50 commits)', () => api<CommitPage>('/api/repos/long/commits?branch=master'));
    const deep = await timed('API: history page 6', () => api<CommitPage>(`/api/repos/long/commits?branch=master&cursor=${history.next}&limit=250`));
    expect(deep.commits.map((c) => c.description)).toEqual(Array.from({ length: 250 }, (_, i) => `version ${COMMITS - 51 - i}`));
    await timed('API: preview of one file', () => api('/api/repos/big/preview?path=/many/f054321.txt'));
    for (const [k, v] of Object.entries(times)) if (k.startsWith('API:')) expect(v, k).toBeLessThan(BUDGET_MS);
  });

  it.skipIf(!CHROMIUM)('opens the directory in the browser in under a second, and pages through it', async () => {
    await page.goto(`${tusk.origin}/#/repos`);
    await page.waitForSelector('[data-testid=repos]');
    const open = async (label: string, action: () => Promise<unknown>, ready: () => boolean | null | undefined) =>
      timed(label, async () => {
        await action();
        await page.waitForFunction(ready);
      });
    await open(
      'browser: 100,000-file directory',
      () => page.evaluate(() => (location.hash = '#/files/big/master/many')),
      () => document.querySelector('[data-testid=dir-summary]')?.textContent?.startsWith('100,000 entries'),
    );
    expect(await page.locator('[data-testid=files] tbody tr').count()).toBe(200);
    await page.screenshot({ path: path.join(ARTIFACTS, 'big-directory.png') });
    await open(
      'browser: next page',
      () => page.getByRole('link', { name: 'Next page »' }).click(),
      () => document.querySelector('[data-testid=files] tbody tr td a')?.textContent === 'f000200.txt',
    );
    await open(
      'browser: go to name',
      async () => {
        await page.locator('form.goto input').fill('f077777.txt');
        await page.locator('form.goto button').click();
      },
      () => document.querySelector('[data-testid=files] tbody tr td a')?.textContent === 'f077777.txt',
    );
    await open(
      'browser: file preview in it',
      () => page.getByRole('link', { name: 'f077777.txt' }).click(),
      () => document.querySelector('[data-testid=preview-text]')?.textContent === 'file 77777\n',
    );
    await open(
      'browser: repo with 300 commits',
      () => page.evaluate(() => (location.hash = '#/repo/long')),
      () => document.querySelectorAll('[data-testid=history] tbody tr').length === 50,
    );
    await open(
      'browser: load more history',
      () => page.getByRole('button', { name: 'Load more' }).click(),
      () => document.querySelectorAll('[data-testid=history] tbody tr').length === 100,
    );
    await open(
      'browser: repos list',
      () => page.evaluate(() => (location.hash = '#/')),
      () => document.querySelectorAll('[data-testid=repos] tbody tr').length === 2,
    );
    for (const [k, v] of Object.entries(times)) if (k.startsWith('browser')) expect(v, k).toBeLessThan(BUDGET_MS);
  });
});
