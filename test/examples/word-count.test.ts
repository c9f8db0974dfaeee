// Pachyderm's word count example, as its README and Makefile run it. Two stand-ins for what the
// container images and the network provided: the scraper's `apt-get install wget` is a no-op, and
// `wget` writes local pages instead of downloading Wikipedia's and GitHub's; the map image's `app`
// is built from the example's own src/map.go, as its Dockerfile does.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from '../cli/cli-helpers.js';
import { type Example, expectAllJobsSucceeded, getText, listPaths, missingTool, openExample } from './pachyderm-example.js';

const missing = missingTool(['make', 'bash', 'go', 'awk']);

// The reduce step keeps its sums in /tmp/out and starts with `mkdir /tmp/out`: the README's counts
// assume a fresh container's /tmp. A transform here sees the host's /tmp, so each run starts
// (and the test ends) without that directory.
const freshTmp = () => fs.rmSync('/tmp/out', { recursive: true, force: true });

// What each URL serves here: the words counted are the page's text and its tag names.
const PAGES: Record<string, string> = {
  Main_Page: '<html><body>Welcome to Wikipedia. The license: license text.</body></html>\n',
  Pachyderm: '<html><body>Pachyderm is data versioning. Its license is a license, a LICENSE.</body></html>\n',
  pachyderm: '<html><body>pachyderm on GitHub: license Apache-2.0</body></html>\n',
};

// The network's stand-in: `wget [flags] --directory-prefix DIR URL...` writes DIR/<last URL segment>.html.
function wgetShim(pages: string): string {
  return [
    'dir=.',
    'while [ $# -gt 0 ]; do',
    '  case "$1" in',
    '    --directory-prefix) dir="$2"; shift 2 ;;',
    '    http*) mkdir -p "$dir"; name=$(basename "$1"); cp "' + pages + '/$name.html" "$dir/$name.html" || exit 8; shift ;;',
    '    *) shift ;;',
    '  esac',
    'done',
    '',
  ].join('\n');
}

describe.skipIf(missing !== undefined)(`Pachyderm's word count example${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let ex: Example;
  beforeAll(async () => {
    ex = await openExample('word_count', { 'apt-get': 'exit 0\n' });
    const pages = path.join(path.dirname(ex.dir), 'pages');
    fs.mkdirSync(pages);
    for (const [name, html] of Object.entries(PAGES)) fs.writeFileSync(path.join(pages, `${name}.html`), html);
    fs.writeFileSync(path.join(ex.bin, 'wget'), `#!/bin/sh\n${wgetShim(pages)}`, { mode: 0o755 });
    // the image's `app`: Dockerfile `go build map.go && mv map /go/bin/app`
    const built = spawnSync('go', ['build', '-o', path.join(ex.bin, 'app'), 'map.go'], {
      cwd: path.join(ex.dir, 'src'),
      env: { ...process.env, GO111MODULE: 'off', GOFLAGS: '', GOCACHE: path.join(path.dirname(ex.dir), 'go-cache') },
      encoding: 'utf8',
    });
    expect(built.status, built.stderr).toBe(0);
  }, 180_000);
  afterAll(() => {
    freshTmp();
    ex?.cleanup();
  });

  it('part one: make wordcount as written', async () => {
    freshTmp();
    ex.make('wordcount');
    expect(await listPaths(ex, 'scraper@master')).toEqual(['/Wikipedia']);
    expect(await listPaths(ex, 'scraper@master:/Wikipedia')).toEqual(['/Wikipedia/Main_Page.html', '/Wikipedia/Pachyderm.html']);
    // map: one directory per datum (page), a file per word holding its count on that page
    const perPage = await listPaths(ex, 'map@master');
    expect(perPage).toHaveLength(2);
    const licenseCounts = await Promise.all(perPage.map((d) => getText(ex, `map@master:${d}/license`)));
    expect(licenseCounts.sort()).toEqual(['2\n', '3\n']);
    expect(await getText(ex, 'reduce@master:/license')).toBe('5\n');
    expect(await getText(ex, 'reduce@master:/pachyderm')).toBe('1\n');
    await expectAllJobsSucceeded(ex);
  });

  it('part two: one more site, and only its page is mapped', async () => {
    freshTmp();
    expectOk(await ex.tusk(['put', 'file', 'urls@master', '-f', 'Github'], 'data'));
    expect(await listPaths(ex, 'scraper@master')).toEqual(['/Github', '/Wikipedia']);
    const [job] = await ex.json<{ processed: number; skipped: number }[]>(['list', 'job', '-p', 'map', '-n', '1']);
    expect([job!.processed, job!.skipped]).toEqual([1, 2]);
    expect(await getText(ex, 'reduce@master:/license')).toBe('6\n');
    expect(await getText(ex, 'reduce@master:/pachyderm')).toBe('2\n');
    await expectAllJobsSucceeded(ex);
  });
});
