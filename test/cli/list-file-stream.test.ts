// `tusk list file` streams: on a directory of several tree pages it prints, in table, --json and
// -o yaml form, exactly what rendering the whole listing at once prints, and it prints rows as it
// reads them — a damaged page half-way through leaves the rows before it on stdout, then fails
// with E_CORRUPT (exit 5) naming the directory.
import * as path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/store/hash.js';
import { openStore, type LocalStore as Store } from '../../src/store/store.js';
import type { PutSource } from '../../src/store/types.js';
import type { Page, PageRef } from '../../src/store/tree.js';
import { WIDTH_ROWS } from '../../src/ui/table.js';
import { fileTable } from '../../src/ui/views.js';
import { streamOf } from '../helpers.js';
import { expectOk, type StoreDir, withStoreDir } from './cli-helpers.js';

// more rows than the table takes its widths from, and many leaf pages (about 64 names each)
const FILES = 3 * WIDTH_ROWS;
const name = (i: number) => `f${String(i).padStart(5, '0')}.txt`;

let s: StoreDir;
let store: Store;

const list = async (ref: string) => await store.listFiles({ repo: 'docs', branch: 'master', path: ref });
const rootPage = async (dir: string): Promise<Page> => store.core.reader.read(Buffer.from((await store.inspectFile({ repo: 'docs', branch: 'master', path: dir })).hash, 'hex') as NodeId);

describe('list file streams', () => {
  beforeAll(async () => {
    s = await withStoreDir();
    store = openStore({ path: path.join(s.dir, '.tusk') });
    await store.createRepo('docs');
    const sources: PutSource[] = [];
    // sizes from 0 B to a few KiB, so the SIZE column takes several widths and units
    for (let i = 0; i < FILES; i++) sources.push({ kind: 'stream', stream: streamOf('x'.repeat((i * 37) % 3000)), repoPath: `/many/${name(i)}` });
    sources.push({ kind: 'stream', stream: streamOf('nested\n'), repoPath: '/many/sub/inner.txt' });
    sources.push({ kind: 'stream', stream: streamOf('a\n'), repoPath: '/small/a.txt' });
    sources.push({ kind: 'stream', stream: streamOf('bb\n'), repoPath: '/small/longer-name.csv' });
    sources.push({ kind: 'stream', stream: streamOf('d\n'), repoPath: '/small/d/x' });
    await store.putFiles({ repo: 'docs', branch: 'master' }, sources, { description: 'a paged and a small directory' });
  }, 60_000);

  afterAll(() => {
    store?.close();
    s?.cleanup();
  });

  it('the paged directory spans several levels of pages', async () => {
    expect(await list('/many')).toHaveLength(FILES + 1);
    expect((await rootPage('/many')).level).toBeGreaterThan(0);
  });

  for (const dir of ['/small', '/many', '/']) {
    it(`${dir}: the table, --json and -o yaml equal the whole listing rendered at once`, async () => {
      const files = await list(dir);
      const ref = `docs@master:${dir}`;
      expect(expectOk(await s.tusk(['list', 'file', ref])).stdout).toBe(fileTable(files));
      expect(expectOk(await s.tusk(['list', 'file', ref, '--json'])).stdout).toBe(JSON.stringify(files, null, 2) + '\n');
      expect(expectOk(await s.tusk(['list', 'file', ref, '--raw', '-o', 'yaml'])).stdout).toBe(stringify(files));
    });
  }

  it('an empty listing prints the header, [] or an empty YAML list', async () => {
    expectOk(await s.tusk(['create', 'repo', 'empty']));
    expectOk(await s.tusk(['create', 'branch', 'empty@master']));
    expect(expectOk(await s.tusk(['list', 'file', 'empty@master'])).stdout).toBe(fileTable([]));
    expect(expectOk(await s.tusk(['list', 'file', 'empty@master', '--json'])).stdout).toBe('[]\n');
    expect(expectOk(await s.tusk(['list', 'file', 'empty@master', '--raw', '-o', 'yaml'])).stdout).toBe(stringify([]));
  });

  it('prints the rows before a damaged page, then fails with E_CORRUPT naming the directory', async () => {
    const files = await list('/many');
    // the first leaf of the root's last child: a page well past the first rows
    let page = await rootPage('/many');
    let ref: PageRef | undefined;
    while (page.level > 0) {
      const children = (page as { children: PageRef[] }).children;
      ref = ref === undefined ? children[children.length - 1]! : children[0]!;
      page = await store.core.reader.read(ref.id);
    }
    const firstLost = files.findIndex((f) => f.path === `/many/${ref!.key}`);
    expect(firstLost).toBeGreaterThan(WIDTH_ROWS);
    const good = store.core.db.prepare('SELECT data FROM nodes WHERE id = ?').get(ref!.id) as { data: Buffer };
    const damaged = Buffer.from(good.data);
    damaged[damaged.length - 1] ^= 0xff;
    store.core.db.prepare('UPDATE nodes SET data = ? WHERE id = ?').run(damaged, ref!.id);
    try {
      const table = await s.tusk(['list', 'file', 'docs@master:/many']);
      expect(table.code, table.describe()).toBe(5);
      expect(table.stderr).toMatch(/file \/many in docs@master=\w+ cannot be read: tree page \w+ does not match its id/);
      expect(table.stdout).toBe(fileTable(files).split('\n').slice(0, firstLost + 1).join('\n') + '\n');

      const json = await s.tusk(['list', 'file', 'docs@master:/many', '--json']);
      expect(json.code, json.describe()).toBe(5);
      const whole = JSON.stringify(files, null, 2);
      const printed = whole.slice(0, whole.indexOf(`{\n    "path": "/many/${ref!.key}"`) - 4);
      // the array so far, then the error document
      expect(json.stdout.startsWith(printed)).toBe(true);
      expect(JSON.parse(json.stdout.slice(printed.length))).toMatchObject({ error: { code: 'E_CORRUPT' } });
    } finally {
      store.core.db.prepare('UPDATE nodes SET data = ? WHERE id = ?').run(good.data, ref!.id);
    }
  });
});
