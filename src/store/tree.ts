// Directories as Merkle trees of content-defined pages (a prolly tree).
//
// A directory's sorted entries are cut into leaf pages after every entry whose name has "height"
// >= 1; a level-k page ends after a child whose last name has height >= k+1. Heights come from a
// hash of the name alone (each level 1/64 as likely as the one below), so the shape is a pure
// function of the set of names: the same directory always has the same root id, whatever edits
// led to it. Changing one entry rewrites only the pages on its path (O(log n) small pages), and a
// diff skips every subtree whose id is equal on both sides.
import { hashBytes, type NodeId } from './hash.js';
import { nameBefore } from './name-order.js';
import { encodePage, nameHeight, type Entry, type Page, type PageRef } from './page-format.js';
import type { PageReader, PageSink, StagedPages } from './page-store.js';

export type { Entry, EntryKind, Page, PageRef } from './page-format.js';

/**
 * Builds pages bottom-up as items arrive in name order; reused subtrees are pushed whole. Holds
 * only the pages not yet closed (about 64 entries per level): a directory of any size streams.
 * Pages go to a PageSink in memory, so pushing never waits; the sink's owner stores them.
 */
export class TreeBuilder {
  private readonly levels: (Entry | PageRef)[][] = [[]];

  constructor(private readonly sink: PageSink) {}

  /** true when nothing is pending at levels 0..k, so a finished level-k page can be reused as is */
  isAligned(k: number): boolean {
    for (let i = 0; i <= k && i < this.levels.length; i++) if (this.levels[i]!.length > 0) return false;
    return true;
  }

  pushEntry(e: Entry): void {
    this.levels[0]!.push(e);
    if (nameHeight(e.name) >= 1) this.close(0);
  }

  /** push a finished page of level k into level k+1 */
  pushRef(k: number, ref: PageRef): void {
    while (this.levels.length <= k + 1) this.levels.push([]);
    this.levels[k + 1]!.push(ref);
    if (ref.lastHeight >= k + 2) this.close(k + 1);
  }

  private close(k: number): void {
    const items = this.levels[k]!;
    this.levels[k] = [];
    this.pushRef(k, this.writePage(k, items));
  }

  private writePage(k: number, items: (Entry | PageRef)[]): PageRef {
    let page: Page;
    let entries = 0;
    let size = 0;
    let files = 0;
    let key: string;
    let lastHeight: number;
    if (k === 0) {
      const es = items as Entry[];
      page = { level: 0, entries: es };
      for (const e of es) {
        size += e.size;
        files += e.files;
      }
      entries = es.length;
      key = es[0]!.name;
      lastHeight = nameHeight(es[es.length - 1]!.name);
    } else {
      const cs = items as PageRef[];
      page = { level: k, children: cs };
      for (const c of cs) {
        size += c.size;
        files += c.files;
        entries += c.entries;
      }
      key = cs[0]!.key;
      lastHeight = cs[cs.length - 1]!.lastHeight;
    }
    const data = encodePage(page);
    const id = hashBytes(data) as NodeId;
    this.sink.putPage(id, data);
    return { key, lastHeight, id, entries, size, files };
  }

  /** Close every pending page; the root is the single page left at the top. Null when empty. */
  finish(): PageRef | null {
    for (let k = 0; ; k++) {
      const items = this.levels[k] ?? [];
      let higher = false;
      for (let j = k + 1; j < this.levels.length; j++) if (this.levels[j]!.length > 0) higher = true;
      if (!higher) {
        if (items.length === 0) return null;
        if (k > 0 && items.length === 1) return items[0] as PageRef;
      }
      if (items.length > 0) this.close(k);
    }
  }
}

/** An edit to one name of a directory: a new entry, or null to delete the name. */
export interface Edit {
  readonly name: string;
  readonly entry: Entry | null;
}

/** The empty directory's page (the root of an empty commit) and its ref. */
export function emptyPage(): { ref: PageRef; data: Buffer } {
  const data = encodePage({ level: 0, entries: [] });
  const id = hashBytes(data) as NodeId;
  return { ref: { key: '', lastHeight: 0, id, entries: 0, size: 0, files: 0 }, data };
}

/** Ref for an existing root page id (reads the page to learn its totals). */
export async function refOf(reader: PageReader, id: NodeId): Promise<PageRef> {
  return refOfPage(await reader.read(id), id);
}

export function refOfPage(page: Page, id: NodeId): PageRef {
  if (page.level === 0) {
    const es = (page as { entries: Entry[] }).entries;
    let size = 0;
    let files = 0;
    for (const e of es) {
      size += e.size;
      files += e.files;
    }
    return { key: es[0]?.name ?? '', lastHeight: es.length ? nameHeight(es[es.length - 1]!.name) : 0, id, entries: es.length, size, files };
  }
  const cs = (page as { children: PageRef[] }).children;
  let size = 0;
  let files = 0;
  let entries = 0;
  for (const c of cs) {
    size += c.size;
    files += c.files;
    entries += c.entries;
  }
  return { key: cs[0]!.key, lastHeight: cs[cs.length - 1]!.lastHeight, id, entries, size, files };
}

/**
 * Apply sorted, de-duplicated edits to a directory rooted at `root` (null = empty directory).
 * Returns the new root, or null if the directory ends up empty. Pages off the edited paths are
 * reused by id without being read; the new pages are staged in `pages`.
 */
export async function applyEdits(pages: StagedPages, root: PageRef | null, edits: readonly Edit[]): Promise<PageRef | null> {
  const b = new TreeBuilder(pages);
  if (root === null || root.entries === 0) {
    for (const e of edits) if (e.entry) b.pushEntry(e.entry);
    return b.finish();
  }
  const rootPage = await pages.reader.read(root.id);
  await walk(pages.reader, b, root, rootPage.level, edits);
  return b.finish();
}

async function walk(reader: PageReader, b: TreeBuilder, ref: PageRef, level: number, edits: readonly Edit[]): Promise<void> {
  if (edits.length === 0 && b.isAligned(level) && ref.lastHeight >= level + 1) {
    b.pushRef(level, ref);
    return;
  }
  const got = reader.get(ref.id);
  const page = got instanceof Promise ? await got : got;
  if (page.level === 0) {
    mergeLeaf((page as { entries: Entry[] }).entries, edits, b);
    return;
  }
  const children = (page as { children: PageRef[] }).children;
  const slices: (readonly Edit[])[] = new Array(children.length);
  let ei = 0;
  for (let i = 0; i < children.length; i++) {
    const next = children[i + 1];
    const start = ei;
    // every edit before the next child's first key belongs to this child (the first child also
    // takes names that sort before everything)
    while (ei < edits.length && (next === undefined || nameBefore(edits[ei]!.name, next.key))) ei++;
    slices[i] = edits.slice(start, ei);
  }
  // the children that take edits are read in any case: ask for them at once
  const edited = children.filter((_, i) => slices[i]!.length > 0).map((c) => c.id);
  if (edited.length > 1) {
    const all = reader.getMany(edited);
    if (all instanceof Promise) await all;
  }
  for (let i = 0; i < children.length; i++) await walk(reader, b, children[i]!, level - 1, slices[i]!);
}

function mergeLeaf(entries: readonly Entry[], edits: readonly Edit[], b: TreeBuilder): void {
  let i = 0;
  let j = 0;
  while (i < entries.length || j < edits.length) {
    const e = entries[i];
    const d = edits[j];
    if (d === undefined || (e !== undefined && nameBefore(e.name, d.name))) {
      b.pushEntry(e!);
      i++;
    } else if (e === undefined || nameBefore(d.name, e.name)) {
      if (d.entry) b.pushEntry(d.entry);
      j++;
    } else {
      if (d.entry) b.pushEntry(d.entry);
      i++;
      j++;
    }
  }
}

/** Build a directory from entries already sorted by name. */
export function buildTree(sink: PageSink, sorted: Iterable<Entry>): PageRef | null {
  const b = new TreeBuilder(sink);
  for (const e of sorted) b.pushEntry(e);
  return b.finish();
}

/** Find one name in a directory: O(depth) page reads. */
export async function lookupEntry(reader: PageReader, rootId: NodeId, name: string): Promise<Entry | undefined> {
  let page = await reader.get(rootId);
  while (page.level > 0) {
    const cs = (page as { children: PageRef[] }).children;
    let lo = 0;
    let hi = cs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (!nameBefore(name, cs[mid]!.key)) lo = mid;
      else hi = mid - 1;
    }
    const next = reader.get(cs[lo]!.id);
    page = next instanceof Promise ? await next : next;
  }
  const es = (page as { entries: Entry[] }).entries;
  let lo = 0;
  let hi = es.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const n = es[mid]!.name;
    if (n === name) return es[mid];
    if (nameBefore(n, name)) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/**
 * Entries of a directory in name order, a page's worth at a time, starting after `after`
 * (exclusive) when given: the caller loops over each array without waiting, and waits once per
 * page. Lazy: the cursor holds one page per level (and the leaves it asked for ahead: the reader's
 * readAhead), so a walk
 * of any size needs the memory of a few pages, as long as `cacheLeaves: false` keeps the leaves
 * it passes out of the reader's cache. The arrays are the pages' own: read them, do not change them.
 */
export async function* entryPages(reader: PageReader, rootId: NodeId, after?: string, opts: { cacheLeaves?: boolean } = {}): AsyncGenerator<readonly Entry[]> {
  const cursor = await EntryCursor.open(reader, rootId, after, { keepLeaf: opts.cacheLeaves ?? true, ahead: reader.readAhead });
  for (let run = cursor.restOfLeaf(); run; run = cursor.restOfLeaf()) {
    yield run;
    cursor.skipLeaf();
    const wait = cursor.settle();
    if (wait !== undefined) await wait;
  }
}

/** Every entry of a directory in name order (a whole directory in memory: for small ones and tests). */
export async function listEntries(reader: PageReader, rootId: NodeId): Promise<Entry[]> {
  return collectBatches(entryPages(reader, rootId));
}

/** Every item a batched walk gives, in one array (for callers that need them all at once). */
export async function collectBatches<T>(batches: AsyncIterable<readonly T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of batches) for (const x of batch) out.push(x);
  return out;
}

interface Frame {
  items: readonly (Entry | PageRef)[];
  level: number;
  idx: number;
  /** children read ahead (level 1 only): pages of items[aheadAt…] */
  ahead?: Page[];
  aheadAt?: number;
}

/**
 * A position in a tree: a stack of (page, index) from the root down to a leaf entry. Moving along
 * a loaded leaf is synchronous; when a move leaves the page, `ready` turns false and `settle`
 * reads the pages that lead to the next entry: at once when the reader has them at once, in a
 * promise only when a page must be waited for.
 */
export class EntryCursor {
  private readonly stack: Frame[] = [];
  private readonly readOpts: { keepLeaf: boolean };

  private constructor(
    private readonly reader: PageReader,
    opts: { keepLeaf: boolean; ahead: number },
    private readonly ahead = opts.ahead,
  ) {
    this.readOpts = { keepLeaf: opts.keepLeaf };
  }

  static async open(reader: PageReader, rootId: NodeId, after: string | undefined, opts: { keepLeaf: boolean; ahead: number }): Promise<EntryCursor> {
    const c = new EntryCursor(reader, opts);
    let page = await reader.get(rootId, c.readOpts);
    for (;;) {
      if (page.level === 0) {
        const es = (page as { entries: Entry[] }).entries;
        let idx = 0;
        if (after !== undefined) while (idx < es.length && !nameBefore(after, es[idx]!.name)) idx++;
        c.stack.push({ items: es, level: 0, idx });
        break;
      }
      const cs = (page as { children: PageRef[] }).children;
      let idx = 0;
      if (after !== undefined) while (idx + 1 < cs.length && !nameBefore(after, cs[idx + 1]!.key)) idx++;
      const f: Frame = { items: cs, level: page.level, idx };
      c.stack.push(f);
      page = await c.child(f);
    }
    await c.settle();
    if (after !== undefined) {
      const cur = c.current();
      if (cur && !nameBefore(after, cur.name)) {
        c.next();
        await c.settle();
      }
    }
    return c;
  }

  /** the current entry is loaded (or the walk is over): current() and next() may be used without settle() */
  get ready(): boolean {
    const top = this.stack[this.stack.length - 1];
    return !top || (top.level === 0 && top.idx < top.items.length);
  }

  current(): Entry | undefined {
    const top = this.stack[this.stack.length - 1];
    if (!top || top.level !== 0) return undefined;
    return top.items[top.idx] as Entry | undefined;
  }

  /** move past the current leaf entry (then settle() when no longer ready) */
  next(): void {
    const top = this.stack[this.stack.length - 1];
    if (top) top.idx++;
  }

  /** The current leaf's entries from the current one on; undefined at the end. */
  restOfLeaf(): readonly Entry[] | undefined {
    const top = this.stack[this.stack.length - 1];
    if (!top || top.level !== 0 || top.idx >= top.items.length) return undefined;
    return (top.idx === 0 ? top.items : top.items.slice(top.idx)) as readonly Entry[];
  }

  /** move past the next `n` entries of the current leaf (no further than its end; then settle()) */
  advance(n: number): void {
    const top = this.stack[this.stack.length - 1];
    if (top) top.idx = Math.min(top.idx + n, top.items.length);
  }

  /** move past the rest of the current leaf */
  skipLeaf(): void {
    const top = this.stack[this.stack.length - 1];
    if (top) top.idx = top.items.length;
  }

  /**
   * Climb off finished pages and descend to the next entry, reading the pages on the way.
   * Undefined when that is done; a promise when a page had to be waited for.
   */
  settle(): Promise<void> | undefined {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) return undefined;
      if (top.idx >= top.items.length) {
        this.stack.pop();
        const parent = this.stack[this.stack.length - 1];
        if (parent) parent.idx++;
        continue;
      }
      if (top.level === 0) return undefined;
      const page = this.child(top);
      if (page instanceof Promise) return this.settleAfter(page);
      this.enter(page);
    }
  }

  private async settleAfter(page: Promise<Page>): Promise<void> {
    this.enter(await page);
    await this.settle();
  }

  private enter(page: Page): void {
    this.stack.push(page.level === 0 ? { items: (page as { entries: Entry[] }).entries, level: 0, idx: 0 } : { items: (page as { children: PageRef[] }).children, level: page.level, idx: 0 });
  }

  /** The page of `f`'s current child; a level-1 page's leaves are asked for the reader's readAhead at a time. */
  private child(f: Frame): Page | Promise<Page> {
    const ref = f.items[f.idx] as PageRef;
    if (f.level !== 1 || this.ahead <= 1) return this.reader.get(ref.id, this.readOpts);
    const at = f.aheadAt ?? 0;
    if (f.ahead && f.idx >= at && f.idx < at + f.ahead.length) return f.ahead[f.idx - at]!;
    const pages = this.reader.getMany(
      f.items.slice(f.idx, f.idx + this.ahead).map((r) => (r as PageRef).id),
      this.readOpts,
    );
    const keep = (ps: Page[]): Page => {
      f.ahead = ps;
      f.aheadAt = f.idx;
      return ps[0]!;
    };
    return pages instanceof Promise ? pages.then(keep) : keep(pages);
  }

  /** Subtrees (largest first) that begin exactly at the current entry, as [stack depth, id]. */
  startingSubtrees(): [number, string][] {
    const out: [number, string][] = [];
    // depth d's child idx starts at current iff all deeper idx are 0
    let allZeroBelow = true;
    const starts: boolean[] = new Array(this.stack.length).fill(false);
    for (let d = this.stack.length - 1; d >= 0; d--) {
      starts[d] = allZeroBelow;
      allZeroBelow = allZeroBelow && this.stack[d]!.idx === 0;
    }
    for (let d = 0; d < this.stack.length - 1; d++) {
      if (!starts[d]) continue;
      const f = this.stack[d]!;
      out.push([d, (f.items[f.idx] as PageRef).id.toString('hex')]);
    }
    return out;
  }

  /** skip the child subtree at stack depth d entirely (then settle()) */
  skip(d: number): void {
    this.stack.length = d + 1;
    this.stack[d]!.idx++;
  }
}

export type EntryChange =
  | { op: 'added'; entry: Entry }
  | { op: 'removed'; entry: Entry }
  | { op: 'changed'; before: Entry; after: Entry };

/**
 * Differences between two directories, in name order, in batches (the changes found between two
 * page reads); equal subtrees are skipped unread.
 */
export async function* diffEntries(reader: PageReader, oldRoot: NodeId | null, newRoot: NodeId | null): AsyncGenerator<EntryChange[]> {
  if (oldRoot && newRoot && oldRoot.equals(newRoot)) return;
  if (!oldRoot) {
    if (newRoot) for await (const page of entryPages(reader, newRoot)) yield page.map((entry) => ({ op: 'added', entry }));
    return;
  }
  if (!newRoot) {
    for await (const page of entryPages(reader, oldRoot)) yield page.map((entry) => ({ op: 'removed', entry }));
    return;
  }
  // no reading ahead: the leaves a scan would ask for may be skipped as equal
  const opts = { keepLeaf: true, ahead: 1 };
  // one side after the other: a page both sides share is then read once, the second from the cache
  const a = await EntryCursor.open(reader, oldRoot, undefined, opts);
  const b = await EntryCursor.open(reader, newRoot, undefined, opts);
  let out: EntryChange[] = [];
  for (;;) {
    if (!a.ready || !b.ready) {
      if (out.length > 0) {
        yield out;
        out = [];
      }
      const wa = a.settle();
      if (wa !== undefined) await wa;
      const wb = b.settle();
      if (wb !== undefined) await wb;
    }
    const ea = a.current();
    const eb = b.current();
    if (!ea && !eb) break;
    if (ea && eb) {
      const sa = a.startingSubtrees();
      if (sa.length > 0) {
        const sb = new Map(b.startingSubtrees().map(([d, id]) => [id, d]));
        const match = sa.find(([, id]) => sb.has(id));
        if (match) {
          a.skip(match[0]);
          b.skip(sb.get(match[1])!);
          continue;
        }
      }
    }
    if (eb === undefined || (ea !== undefined && nameBefore(ea.name, eb.name))) {
      out.push({ op: 'removed', entry: ea! });
      a.next();
    } else if (ea === undefined || nameBefore(eb.name, ea.name)) {
      out.push({ op: 'added', entry: eb });
      b.next();
    } else {
      if (!entriesEqual(ea, eb)) out.push({ op: 'changed', before: ea, after: eb });
      a.next();
      b.next();
    }
  }
  if (out.length > 0) yield out;
}

export function entriesEqual(a: Entry, b: Entry): boolean {
  return a.kind === b.kind && a.size === b.size && a.id.equals(b.id) && (a.datum ?? '') === (b.datum ?? '');
}
