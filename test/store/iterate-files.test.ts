// Store.iterateFiles: a directory's children a page at a time from the tree's cursor. The first
// entries of a directory of many pages cost a few round trips to the page store, not a read of
// every page, and the whole walk equals listFiles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/errors.js';
import type { NodeId } from '../../src/store/hash.js';
import type { PageStore } from '../../src/store/page-store.js';
import { collectBatches } from '../../src/store/file-tree.js';
import type { FileInfo, PutSource } from '../../src/store/types.js';
import { streamOf, tempStore } from '../helpers.js';

const FILES = 5000;
let env: ReturnType<typeof tempStore>;

/** Watch the store's page reads (`seen` gets each id asked for) while `fn` runs. */
async function watchingPages(pages: PageStore, seen: (ids: readonly NodeId[]) => void, fn: () => Promise<void>): Promise<void> {
  const getNodes = pages.getNodes;
  pages.getNodes = (ids) => {
    seen(ids);
    return getNodes.call(pages, ids);
  };
  try {
    await fn();
  } finally {
    pages.getNodes = getNodes;
  }
}

describe('iterateFiles', () => {
  beforeAll(async () => {
    env = tempStore();
    await env.store.createRepo('r');
    const sources: PutSource[] = [];
    for (let i = 0; i < FILES; i++) sources.push({ kind: 'stream', stream: streamOf(`${i}\n`), repoPath: `/d/f${String(i).padStart(5, '0')}` });
    await env.store.putFiles({ repo: 'r', branch: 'master' }, sources);
  }, 60_000);
  afterAll(() => env?.cleanup());

  it('asks the page store a few times for the first entries of a directory of many pages', async () => {
    const { store } = env;
    const pages = new Set<string>();
    let asked = 0;
    await watchingPages(
      store.core.pages,
      (ids) => {
        asked++;
        for (const id of ids) pages.add(id.toString('hex'));
      },
      async () => {
        const it = (await store.iterateFiles({ repo: 'r', branch: 'master', path: '/d' }))[Symbol.asyncIterator]();
        const first = ((await it.next()).value as FileInfo[]).slice(0, 10).map((f) => f.path);
        expect(first).toEqual(Array.from({ length: 10 }, (_, i) => `/d/f${String(i).padStart(5, '0')}`));
        // the root, a page per level on the way down, the first leaf
        expect(asked).toBeLessThan(8);
        expect(pages.size).toBeLessThan(8);
        let batches = 1;
        for (let r = await it.next(); !r.done; r = await it.next()) batches++;
        expect(pages.size).toBeGreaterThan(FILES / 128); // the whole walk reads every leaf: many more
        expect(batches).toBeGreaterThan(FILES / 128); // a leaf's entries at a time
      },
    );
  });

  it('walks exactly what listFiles returns; a missing path fails before anything is returned', async () => {
    const { store } = env;
    expect(await collectBatches(await store.iterateFiles({ repo: 'r', branch: 'master', path: '/d' }))).toEqual(await store.listFiles({ repo: 'r', branch: 'master', path: '/d' }));
    await expect(store.iterateFiles({ repo: 'r', branch: 'master', path: '/nope' })).rejects.toThrow(NotFoundError);
  });

  it('leaves the leaf pages of a walk out of the page cache', async () => {
    const { store } = env;
    const reads: string[] = [];
    await watchingPages(
      store.core.pages,
      (ids) => reads.push(...ids.map((id) => id.toString('hex'))),
      async () => {
        for await (const _ of await store.iterateFiles({ repo: 'r', branch: 'master', path: '/d' }));
        const once = reads.length;
        for await (const _ of await store.iterateFiles({ repo: 'r', branch: 'master', path: '/d' }));
        // a second walk reads the leaves again: they were not kept
        expect(reads.length - once).toBeGreaterThan(FILES / 128);
      },
    );
  });
});
