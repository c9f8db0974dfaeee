// An in-memory PageStore for tree tests: counts what is asked of it, and can answer a macrotask
// later, as a network database does, so that a walker that relied on an answer at once shows, or
// at once, with the array itself, as SQLite does.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { NodeId } from '../../src/store/hash.js';
import { PageReader, StagedPages, type PageStore, type StoredPage } from '../../src/store/page-store.js';

export class MemPages implements PageStore {
  readonly pages = new Map<string, Buffer>();
  /** pages stored that were not there before, and their bytes */
  writes = 0;
  bytesWritten = 0;
  /** calls of getNodes, and the ids they asked for */
  reads = 0;
  pagesRead = 0;

  constructor(private readonly opts: { late?: boolean; now?: boolean } = {}) {}

  getNodes(ids: readonly NodeId[]): (Buffer | undefined)[] | Promise<(Buffer | undefined)[]> {
    this.reads++;
    this.pagesRead += ids.length;
    const answer = () => ids.map((id) => this.pages.get(id.toString('hex')));
    if (this.opts.now) return answer();
    return this.opts.late ? nextTurn().then(answer) : Promise.resolve().then(answer);
  }

  async putNodes(list: readonly StoredPage[]): Promise<void> {
    if (this.opts.late) await nextTurn();
    for (const { id, data } of list) {
      const k = id.toString('hex');
      if (!this.pages.has(k)) {
        this.writes++;
        this.bytesWritten += data.length;
      }
      this.pages.set(k, data);
    }
  }
}

/** A MemPages with its reader, and a way to stage, build and store pages in one step. */
export function memTrees(opts: { late?: boolean; now?: boolean; readAhead?: number } = {}) {
  const store = new MemPages(opts);
  const reader = new PageReader(store, { readAhead: opts.readAhead });
  return {
    store,
    reader,
    /** Run `fn` over a fresh staged set, then store what it staged; `staged` is how many pages that was. */
    async write<T>(fn: (pages: StagedPages) => T | Promise<T>): Promise<{ value: T; staged: number }> {
      const pages = new StagedPages(store, reader);
      const value = await fn(pages);
      await pages.flush();
      return { value, staged: pages.size };
    },
  };
}
