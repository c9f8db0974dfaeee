// Where tree pages are kept and how the tree code reaches them. The store answers in batches,
// asynchronously where it must (a network database), at once where a read is a function call
// (SQLite); the walkers in tree.ts ask once per page, or once for
// several pages, never once per entry. Pages are immutable and content-addressed, so the decoded
// cache in front of the store never goes stale.
import { CorruptError } from '../errors.js';
import { hashBytes, type NodeId } from './hash.js';
import { decodePage, type Page } from './page-format.js';

/** A page's id (BLAKE3 of its bytes) and its bytes. */
export interface StoredPage {
  readonly id: NodeId;
  readonly data: Buffer;
}

/** Where pages are kept: the metadata db's `nodes` (ChunkIndex), written in the unit that commits the tree using them. */
export interface PageStore {
  /**
   * Each page's bytes in the order asked, undefined for one not stored: one round trip for the lot.
   * A store where a read is a function call (SQLite) answers at once, with the array itself: the
   * walkers then go on without giving up their turn, as they did when pages were read synchronously.
   */
  getNodes(ids: readonly NodeId[]): (Buffer | undefined)[] | Promise<(Buffer | undefined)[]>;
  /** Store pages in one round trip; a page already stored is left as it is. Inside a unit of work. */
  putNodes(pages: readonly StoredPage[]): Promise<void>;
}

/** Where a TreeBuilder puts the pages it makes: at once, in memory, so that building a tree never waits. */
export interface PageSink {
  putPage(id: NodeId, data: Buffer): void;
}

/** Pages a flush hands the store at once: a round trip per thousand pages is noise beside encoding them. */
const FLUSH_PAGES = 1024;

/** The decoded pages shared by every reader of a store; cleared whole when full (pages are small, misses cheap). */
class PageCache {
  private readonly pages = new Map<string, Page>();
  constructor(private readonly limit: number) {}
  get(key: string): Page | undefined {
    return this.pages.get(key);
  }
  set(key: string, page: Page): void {
    if (this.pages.size >= this.limit) this.pages.clear();
    this.pages.set(key, page);
  }
}

export interface PageReaderOptions {
  /** decoded pages kept (4,096) */
  cacheLimit?: number;
  /**
   * Leaves a scan asks for at once (1): more where a read is a round trip (a network database),
   * 1 where it is a function call (SQLite), since pages asked for ahead are held until passed.
   */
  readAhead?: number;
}

/** Reads pages through the shared decoded cache (and a unit's staged pages first), verifying each stored page against its id. */
export class PageReader {
  private readonly cache: PageCache;
  readonly readAhead: number;
  private readonly staged: StagedPages | undefined;

  /** `shared`: the cache of the reader this one is `over`, and the staged pages it sees first */
  constructor(
    private readonly store: PageStore,
    opts: PageReaderOptions = {},
    shared?: { cache: PageCache; staged: StagedPages },
  ) {
    this.cache = shared?.cache ?? new PageCache(opts.cacheLimit ?? 4096);
    this.readAhead = opts.readAhead ?? 1;
    this.staged = shared?.staged;
  }

  /** A reader that also sees `staged` (pages written by this flow and not yet stored), sharing this one's cache. */
  over(staged: StagedPages): PageReader {
    return new PageReader(this.store, { readAhead: this.readAhead }, { cache: this.cache, staged });
  }

  /** A verified page; `keepLeaf: false` leaves a leaf page out of the cache (a walk that reads each once). */
  async read(id: NodeId, opts: { keepLeaf?: boolean } = {}): Promise<Page> {
    return this.get(id, opts);
  }

  /**
   * A verified page, at once when it is staged, cached or the store answers at once; a promise of
   * it only when the store must be waited for. The walkers wait only on a promise, so a walk over
   * SQLite reads its pages without one.
   */
  get(id: NodeId, opts: { keepLeaf?: boolean } = {}): Page | Promise<Page> {
    const hit = this.cached(id);
    if (hit) return hit;
    const datas = this.store.getNodes([id]);
    if (datas instanceof Promise) return datas.then((d) => this.admit(id, d[0], opts));
    return this.admit(id, datas[0], opts);
  }

  /**
   * Verified pages in the order asked; those neither staged nor cached are asked of the store at
   * once. Answered at once (as `get`) when no page has to be waited for.
   */
  getMany(ids: readonly NodeId[], opts: { keepLeaf?: boolean } = {}): Page[] | Promise<Page[]> {
    const out: Page[] = new Array(ids.length);
    const missing: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const hit = this.cached(ids[i]!);
      if (hit) out[i] = hit;
      else missing.push(i);
    }
    if (missing.length === 0) return out;
    const fill = (datas: readonly (Buffer | undefined)[]): Page[] => {
      for (let k = 0; k < missing.length; k++) out[missing[k]!] = this.admit(ids[missing[k]!]!, datas[k], opts);
      return out;
    };
    const datas = this.store.getNodes(missing.map((i) => ids[i]!));
    return datas instanceof Promise ? datas.then(fill) : fill(datas);
  }

  /** A stored page's bytes verified against its id, decoded, and cached (a leaf only when `keepLeaf` allows). */
  private admit(id: NodeId, data: Buffer | undefined, opts: { keepLeaf?: boolean }): Page {
    if (!data) throw new CorruptError(`tree page ${id.toString('hex')} is missing`, 'run `tusk fsck` to see what is affected');
    if (!hashBytes(data).equals(id)) throw new CorruptError(`tree page ${id.toString('hex')} does not match its id`, 'run `tusk fsck` to see what is affected');
    const page = decodePage(data, id);
    if (page.level !== 0 || opts.keepLeaf !== false) this.cache.set(id.toString('latin1'), page);
    return page;
  }

  /** A page staged by this flow (decoded each time: it may never be stored) or in the cache. */
  private cached(id: NodeId): Page | undefined {
    const staged = this.staged?.get(id);
    if (staged) return decodePage(staged, id);
    return this.cache.get(id.toString('latin1'));
  }
}

/**
 * Pages written by one flow and not yet stored: a TreeBuilder puts them here without waiting,
 * `reader` reads them back before they are stored, and `flush` hands them to the store in batches
 * inside the unit of work. They stay staged after a flush: a unit's body may run again, and then
 * writes them again; `forget` drops them once the unit has committed.
 */
export class StagedPages implements PageSink {
  private readonly staged = new Map<string, StoredPage>();
  /** reads the staged pages, then the store's */
  readonly reader: PageReader;

  constructor(
    private readonly store: PageStore,
    reader: PageReader,
  ) {
    this.reader = reader.over(this);
  }

  get size(): number {
    return this.staged.size;
  }

  get(id: NodeId): Buffer | undefined {
    return this.staged.size === 0 ? undefined : this.staged.get(id.toString('latin1'))?.data;
  }

  putPage(id: NodeId, data: Buffer): void {
    this.staged.set(id.toString('latin1'), { id, data });
  }

  /** Store every staged page; inside the unit of work that commits the trees using them. */
  async flush(): Promise<void> {
    let batch: StoredPage[] = [];
    for (const p of this.staged.values()) {
      batch.push(p);
      if (batch.length >= FLUSH_PAGES) {
        await this.store.putNodes(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await this.store.putNodes(batch);
  }

  /** Drop the staged pages once the unit that stored them has committed. */
  forget(): void {
    this.staged.clear();
  }
}

/**
 * Run `fn` with pages staged over `core`'s store, then store what it wrote: for a change of trees
 * made inside one unit of work (the staged set is the attempt's own, so a rerun starts afresh).
 */
export async function withStagedPages<T>(core: { readonly pages: PageStore; readonly reader: PageReader }, fn: (pages: StagedPages) => Promise<T>): Promise<T> {
  const pages = new StagedPages(core.pages, core.reader);
  const value = await fn(pages);
  await pages.flush();
  return value;
}
