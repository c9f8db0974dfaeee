// Directories as Merkle trees of content-defined pages (a prolly tree).
//
// A directory's sorted entries are cut into leaf pages after every entry whose name has "height"
// >= 1; a level-k page ends after a child whose last name has height >= k+1. Heights come from a
// hash of the name alone (each level 1/64 as likely as the one below), so the shape is a pure
// function of the set of names: the same directory always has the same root id, whatever edits
// led to it. Changing one entry rewrites only the pages on its path (O(log n) small pages), and a
// diff skips every subtree whose id is equal on both sides.
import { CorruptError } from '../errors.js';
import { hashBytes, ID_BYTES, type NodeId } from './hash.js';
import { nameBefore } from './name-order.js';
import { ByteReader, ByteWriter } from './varint.js';

export type EntryKind = 'file' | 'dir';

/** One name in a directory: a file (id = content id) or a subdirectory (id = its root page id). */
export interface Entry {
  readonly name: string;
  readonly kind: EntryKind;
  readonly id: Buffer;
  /** bytes of the file, or of every file below the directory */
  readonly size: number;
  /** 1 for a file, number of files below a directory */
  readonly files: number;
  /** datum that produced this file, for pipeline outputs */
  readonly datum?: string;
}

/** Reference to a page from its parent. */
export interface PageRef {
  readonly key: string; // first name in the subtree
  readonly lastHeight: number; // height of the last name in the subtree: decides where the parent cuts
  readonly id: NodeId;
  readonly entries: number;
  readonly size: number;
  readonly files: number;
}

export type Page = { level: 0; entries: Entry[] } | { level: number; children: PageRef[] };

/** Where pages are kept (the metadata db, in one transaction with the commit that uses them). */
export interface PageStore {
  getPage(id: NodeId): Buffer | undefined;
  putPage(id: NodeId, data: Buffer): void;
}

const LEAF = 1;
const INTERNAL = 2;
const FLAG_DIR = 1;
const FLAG_DATUM = 2;
const MAX_HEIGHT = 5;

const ASCII = /^[\x00-\x7f]*$/;

/** Height of a name: trailing zero 6-bit groups of a 32-bit hash (murmur3 finalizer over FNV-1a of its UTF-8 bytes). */
export function nameHeight(name: string): number {
  let h = 0x811c9dc5;
  // an ASCII name's code units are its UTF-8 bytes: no encoding needed
  if (ASCII.test(name)) {
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  } else {
    for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  let height = 0;
  while (height < MAX_HEIGHT && (h & 63) === 0) {
    height++;
    h >>>= 6;
  }
  return height;
}

export function encodePage(page: Page): Buffer {
  const w = new ByteWriter();
  if (page.level === 0) {
    const { entries } = page as { entries: Entry[] };
    w.byte(LEAF);
    w.uint(entries.length);
    for (const e of entries) {
      w.str(e.name);
      w.byte((e.kind === 'dir' ? FLAG_DIR : 0) | (e.datum ? FLAG_DATUM : 0));
      w.bytes(e.id);
      w.uint(e.size);
      if (e.kind === 'dir') w.uint(e.files);
      if (e.datum) w.str(e.datum);
    }
  } else {
    const { children, level } = page as { level: number; children: PageRef[] };
    w.byte(INTERNAL);
    w.uint(level);
    w.uint(children.length);
    for (const c of children) {
      w.str(c.key);
      w.byte(c.lastHeight);
      w.bytes(c.id);
      w.uint(c.entries);
      w.uint(c.size);
      w.uint(c.files);
    }
  }
  return w.finish();
}

export function decodePage(data: Buffer, id?: NodeId): Page {
  try {
    const r = new ByteReader(data);
    const type = r.byte();
    if (type === LEAF) {
      const n = r.uint();
      const entries: Entry[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const name = r.str();
        const flags = r.byte();
        const eid = Buffer.from(r.bytes(ID_BYTES));
        const size = r.uint();
        const kind: EntryKind = flags & FLAG_DIR ? 'dir' : 'file';
        const files = kind === 'dir' ? r.uint() : 1;
        const datum = flags & FLAG_DATUM ? r.str() : undefined;
        entries[i] = datum ? { name, kind, id: eid, size, files, datum } : { name, kind, id: eid, size, files };
      }
      return { level: 0, entries };
    }
    if (type === INTERNAL) {
      const level = r.uint();
      const n = r.uint();
      const children: PageRef[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const key = r.str();
        const lastHeight = r.byte();
        const cid = Buffer.from(r.bytes(ID_BYTES)) as NodeId;
        children[i] = { key, lastHeight, id: cid, entries: r.uint(), size: r.uint(), files: r.uint() };
      }
      return { level, children };
    }
    throw new Error(`unknown page type ${type}`);
  } catch (err) {
    throw new CorruptError(`tree page ${id ? id.toString('hex') : '?'} cannot be decoded: ${(err as Error).message}`, 'run `tusk fsck`');
  }
}

/** Reads pages through a small decoded cache, verifying each page against its id. */
export class PageReader {
  private readonly cache = new Map<string, Page>();
  constructor(private readonly store: PageStore, private readonly cacheLimit = 4096) {}

  /** A verified page; `keepLeaf: false` leaves a leaf page out of the cache (a walk that reads each once). */
  read(id: NodeId, opts: { keepLeaf?: boolean } = {}): Page {
    const key = id.toString('hex');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const data = this.store.getPage(id);
    if (!data) throw new CorruptError(`tree page ${key} is missing`, 'run `tusk fsck` to see what is affected');
    if (!hashBytes(data).equals(id)) throw new CorruptError(`tree page ${key} does not match its id`, 'run `tusk fsck` to see what is affected');
    const page = decodePage(data, id);
    if (page.level === 0 && opts.keepLeaf === false) return page;
    if (this.cache.size >= this.cacheLimit) this.cache.clear();
    this.cache.set(key, page);
    return page;
  }
}

/**
 * Builds pages bottom-up as items arrive in name order; reused subtrees are pushed whole. Holds
 * only the pages not yet closed (about 64 entries per level): a directory of any size streams.
 */
export class TreeBuilder {
  private readonly levels: (Entry | PageRef)[][] = [[]];

  constructor(private readonly store: PageStore) {}

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
    this.store.putPage(id, data);
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

/** Root of an empty directory page (used for the root of an empty commit). */
export function writeEmptyPage(store: PageStore): PageRef {
  const data = encodePage({ level: 0, entries: [] });
  const id = hashBytes(data) as NodeId;
  store.putPage(id, data);
  return { key: '', lastHeight: 0, id, entries: 0, size: 0, files: 0 };
}

/** Ref for an existing root page id (reads the page to learn its totals). */
export function refOf(reader: PageReader, id: NodeId): PageRef {
  const page = reader.read(id);
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
 * reused by id without being read.
 */
export function applyEdits(reader: PageReader, store: PageStore, root: PageRef | null, edits: readonly Edit[]): PageRef | null {
  const b = new TreeBuilder(store);
  if (root === null || root.entries === 0) {
    for (const e of edits) if (e.entry) b.pushEntry(e.entry);
    return b.finish();
  }
  const rootPage = reader.read(root.id);
  walk(reader, b, root, rootPage.level, edits);
  return b.finish();
}

function walk(reader: PageReader, b: TreeBuilder, ref: PageRef, level: number, edits: readonly Edit[]): void {
  if (edits.length === 0 && b.isAligned(level) && ref.lastHeight >= level + 1) {
    b.pushRef(level, ref);
    return;
  }
  const page = reader.read(ref.id);
  if (page.level === 0) {
    mergeLeaf((page as { entries: Entry[] }).entries, edits, b);
    return;
  }
  const children = (page as { children: PageRef[] }).children;
  let ei = 0;
  for (let i = 0; i < children.length; i++) {
    const next = children[i + 1];
    const start = ei;
    // every edit before the next child's first key belongs to this child (the first child also
    // takes names that sort before everything)
    while (ei < edits.length && (next === undefined || nameBefore(edits[ei]!.name, next.key))) ei++;
    walk(reader, b, children[i]!, level - 1, edits.slice(start, ei));
  }
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
export function buildTree(store: PageStore, sorted: Iterable<Entry>): PageRef | null {
  const b = new TreeBuilder(store);
  for (const e of sorted) b.pushEntry(e);
  return b.finish();
}

/** Find one name in a directory: O(depth) page reads. */
export function lookupEntry(reader: PageReader, rootId: NodeId, name: string): Entry | undefined {
  let page = reader.read(rootId);
  while (page.level > 0) {
    const cs = (page as { children: PageRef[] }).children;
    let lo = 0;
    let hi = cs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (!nameBefore(name, cs[mid]!.key)) lo = mid;
      else hi = mid - 1;
    }
    page = reader.read(cs[lo]!.id);
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
 * Entries of a directory in name order, starting after `after` (exclusive) when given. Lazy: the
 * cursor holds one page per level, so a walk of any size needs the memory of a few pages, as long
 * as `cacheLeaves: false` keeps the leaves it passes out of the reader's cache.
 */
export function* iterateEntries(reader: PageReader, rootId: NodeId, after?: string, opts: { cacheLeaves?: boolean } = {}): Generator<Entry> {
  const cursor = new Cursor(reader, rootId, after, opts.cacheLeaves ?? true);
  for (let e = cursor.current(); e; e = cursor.next()) yield e;
}

/** A position in a tree: a stack of (page, index) from the root down to a leaf entry. */
class Cursor {
  private readonly stack: { items: (Entry | PageRef)[]; level: number; idx: number }[] = [];
  private readonly readOpts: { keepLeaf: boolean };

  constructor(private readonly reader: PageReader, rootId: NodeId, after?: string, cacheLeaves = true) {
    this.readOpts = { keepLeaf: cacheLeaves };
    this.descend(reader.read(rootId, this.readOpts), after);
    if (after !== undefined) {
      const cur = this.current();
      if (cur && !nameBefore(after, cur.name)) this.next();
    }
  }

  private descend(page: Page, after?: string): void {
    for (;;) {
      if (page.level === 0) {
        const es = (page as { entries: Entry[] }).entries;
        let idx = 0;
        if (after !== undefined) while (idx < es.length && !nameBefore(after, es[idx]!.name)) idx++;
        this.stack.push({ items: es, level: 0, idx });
        if (idx >= es.length && es.length > 0) this.advance();
        return;
      }
      const cs = (page as { children: PageRef[] }).children;
      let idx = 0;
      if (after !== undefined) while (idx + 1 < cs.length && !nameBefore(after, cs[idx + 1]!.key)) idx++;
      this.stack.push({ items: cs, level: page.level, idx });
      page = this.reader.read(cs[idx]!.id, this.readOpts);
    }
  }

  current(): Entry | undefined {
    const top = this.stack[this.stack.length - 1];
    if (!top || top.level !== 0) return undefined;
    return top.items[top.idx] as Entry | undefined;
  }

  /** move past the current leaf entry */
  next(): Entry | undefined {
    const top = this.stack[this.stack.length - 1];
    if (!top) return undefined;
    top.idx++;
    if (top.idx >= top.items.length) this.advance();
    return this.current();
  }

  /** the current position ran off the end of its page: climb to the next sibling and descend */
  private advance(): void {
    this.stack.pop();
    while (this.stack.length > 0) {
      const top = this.stack[this.stack.length - 1]!;
      top.idx++;
      if (top.idx < top.items.length) {
        this.descend(this.reader.read((top.items[top.idx] as PageRef).id, this.readOpts));
        return;
      }
      this.stack.pop();
    }
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

  /** skip the child subtree at stack depth d entirely */
  skip(d: number): void {
    this.stack.length = d + 1;
    const f = this.stack[d]!;
    f.idx++;
    if (f.idx < f.items.length) this.descend(this.reader.read((f.items[f.idx] as PageRef).id, this.readOpts));
    else this.advance();
  }
}

export type EntryChange =
  | { op: 'added'; entry: Entry }
  | { op: 'removed'; entry: Entry }
  | { op: 'changed'; before: Entry; after: Entry };

/** Differences between two directories, in name order; equal subtrees are skipped unread. */
export function* diffEntries(reader: PageReader, oldRoot: NodeId | null, newRoot: NodeId | null): Generator<EntryChange> {
  if (oldRoot && newRoot && oldRoot.equals(newRoot)) return;
  if (!oldRoot) {
    if (newRoot) for (const e of iterateEntries(reader, newRoot)) yield { op: 'added', entry: e };
    return;
  }
  if (!newRoot) {
    for (const e of iterateEntries(reader, oldRoot)) yield { op: 'removed', entry: e };
    return;
  }
  const a = new Cursor(reader, oldRoot);
  const b = new Cursor(reader, newRoot);
  for (;;) {
    const ea = a.current();
    const eb = b.current();
    if (!ea && !eb) return;
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
      yield { op: 'removed', entry: ea! };
      a.next();
    } else if (ea === undefined || nameBefore(eb.name, ea.name)) {
      yield { op: 'added', entry: eb };
      b.next();
    } else {
      if (!entriesEqual(ea, eb)) yield { op: 'changed', before: ea, after: eb };
      a.next();
      b.next();
    }
  }
}

export function entriesEqual(a: Entry, b: Entry): boolean {
  return a.kind === b.kind && a.size === b.size && a.id.equals(b.id) && (a.datum ?? '') === (b.datum ?? '');
}
