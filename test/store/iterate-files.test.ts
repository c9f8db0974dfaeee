// Store.iterateFiles: a directory's children one at a time from the tree's cursor. The first
// entries of a directory of many pages cost a few page reads, not a read of every page, and the
// whole walk equals listFiles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/errors.js';
import type { NodeId } from '../../src/store/hash.js';
import type { PutSource } from '../../src/store/types.js';
import { streamOf, tempStore } from '../helpers.js';

const FILES = 5000;
let env: ReturnType<typeof tempStore>;

describe('iterateFiles', () => {
  beforeAll(async () => {
    env = tempStore();
    await env.store.createRepo('r');
    const sources: PutSource[] = [];
    for (let i = 0; i < FILES; i++) sources.push({ kind: 'stream', stream: streamOf(`${i}\n`), repoPath: `/d/f${String(i).padStart(5, '0')}` });
    await env.store.putFiles({ repo: 'r', branch: 'master' }, sources);
  }, 60_000);
  afterAll(() => env?.cleanup());

  it('reads a few pages for the first entries of a directory of many pages', async () => {
    const { store } = env;
    const pages = new Set<string>();
    const getPage = store.core.pages.getPage;
    store.core.pages.getPage = (id: NodeId) => {
      pages.add(id.toString('hex'));
      return getPage(id);
    };
    try {
      const it = (await store.iterateFiles({ repo: 'r', branch: 'master', path: '/d' }))[Symbol.iterator]();
      const first = Array.from({ length: 10 }, () => it.next().value!.path);
      expect(first).toEqual(Array.from({ length: 10 }, (_, i) => `/d/f${String(i).padStart(5, '0')}`));
      const onFirst = pages.size;
      expect(onFirst).toBeLessThan(8); // the root, a page per level on the way down, the first leaf
      for (let r = it.next(); !r.done; r = it.next());
      expect(pages.size).toBeGreaterThan(FILES / 128); // the whole walk reads every leaf: many more
    } finally {
      store.core.pages.getPage = getPage;
    }
  });

  it('walks exactly what listFiles returns; a missing path fails before anything is returned', async () => {
    const { store } = env;
    expect([...(await store.iterateFiles({ repo: 'r', branch: 'master', path: '/d' }))]).toEqual(await store.listFiles({ repo: 'r', branch: 'master', path: '/d' }));
    await expect(store.iterateFiles({ repo: 'r', branch: 'master', path: '/nope' })).rejects.toThrow(NotFoundError);
  });

  it('leaves the leaf pages of a walk out of the page cache', async () => {
    const { store } = env;
    const reads: string[] = [];
    const getPage = store.core.pages.getPage;
    store.core.pages.getPage = (id: NodeId) => {
      reads.push(id.toString('hex'));
      return getPage(id);
    };
    try {
      for (const _ of (await store.iterateFiles({ repo: 'r', branch: 'master', path: '/d' })));
      const once = reads.length;
      for (const _ of (await store.iterateFiles({ repo: 'r', branch: 'master', path: '/d' })));
      // a second walk reads the leaves again: they were not kept
      expect(reads.length - once).toBeGreaterThan(FILES / 128);
    } finally {
      store.core.pages.getPage = getPage;
    }
  });
});
