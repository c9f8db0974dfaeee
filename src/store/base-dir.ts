// The base commit's version of one directory, matched name by name against the entries a put -r
// walk builds for it, so that a re-put encodes, hashes and stores only the pages on the paths to
// what changed.
//
// Page cuts depend on names alone, and every page of the base began with the builder at a page
// boundary. So a base page whose entries all come back unchanged, begun with the builder at a
// boundary, is byte for byte the page a build from scratch would make: it is pushed whole, by its
// ref. While a page may still come back unchanged, what the walk gives for it is held (entries
// for a leaf, the refs of its unchanged children for an internal page: a page's worth per level,
// never a directory's); the first difference below it sends what its ancestors and it hold to the
// builder, and from there on entries go to the builder as they come. A page the end of the
// directory cut (not its names) is never pushed whole: from scratch, what follows it now would
// share its page.
//
// Moving along a loaded page is synchronous; `find` and `push` answer at once unless the next base
// entry lies on a page not yet read, and only then return a promise (a put of 100,000 files waits
// once per base page, not once per file).
import { CorruptError } from '../errors.js';
import type { NodeId } from './hash.js';
import { nameBefore } from './name-order.js';
import type { PageReader } from './page-store.js';
import { entriesEqual, refOfPage, type Entry, type Page, type PageRef, type TreeBuilder } from './tree.js';

interface Frame {
  level: number;
  ref: PageRef;
  /** a leaf's entries, or an internal page's children */
  items: readonly (Entry | PageRef)[];
  pos: number;
  /** began at a page boundary, and everything below it so far came back unchanged */
  clean: boolean;
  /** while clean: the entries (leaf) or unchanged children's refs (internal) given for it so far */
  held: (Entry | PageRef)[];
}

export class BaseDir {
  /** from the root page down to the leaf holding the next base entry; empty once the base is passed */
  private readonly stack: Frame[] = [];
  /** a base name the walk did not find, or found as the other kind: laying the built directory over the base is more than taking it */
  lost = false;

  /** the page to enter before the next base entry is known (set when a move leaves a page) */
  private pending: { ref: PageRef; level: number } | null = null;

  private constructor(
    private readonly reader: PageReader,
    private readonly builder: TreeBuilder,
  ) {}

  /** The base directory `root`, matched against what `builder` is given. */
  static async open(reader: PageReader, root: NodeId, builder: TreeBuilder): Promise<BaseDir> {
    const b = new BaseDir(reader, builder);
    const page = await reader.get(root);
    const ref = refOfPage(page, root);
    if (ref.entries > 0) {
      b.pending = { ref, level: page.level };
      await b.load();
    }
    return b;
  }

  /**
   * The base's entry named `name`, if it has one. Base names before it are passed over: the walk
   * did not find them (names arrive in order), so they are gone from this directory.
   */
  find(name: string): Entry | undefined | Promise<Entry | undefined> {
    for (;;) {
      if (this.pending) {
        const wait = this.load();
        if (wait !== undefined) return wait.then(() => this.find(name));
        continue;
      }
      const b = this.current();
      if (!b || !nameBefore(b.name, name)) return b?.name === name ? b : undefined;
      this.lost = true;
      this.differs();
      this.nextEntry();
    }
  }

  /** Add the walk's next entry (names in increasing order); a promise only when a base page had to be read. */
  push(e: Entry): void | Promise<void> {
    const b = this.find(e.name);
    if (b instanceof Promise) return b.then((found) => this.pushFound(e, found));
    this.pushFound(e, b);
  }

  private pushFound(e: Entry, b: Entry | undefined): void {
    const leaf = this.stack[this.stack.length - 1];
    if (!b || !leaf) {
      if (leaf) this.differs();
      this.builder.pushEntry(e);
      return;
    }
    if (b.kind !== e.kind) this.lost = true;
    // (a cached file that did not change comes back as the base's own entry)
    if (leaf.clean && (e === b || (entriesEqual(b, e) && b.files === e.files))) leaf.held.push(e);
    else {
      this.differs();
      this.builder.pushEntry(e);
    }
    this.nextEntry();
  }

  /** The walk is done with the directory: what is held goes to the builder; base names left are gone, their pages unread. */
  finish(): void {
    if (this.stack.length > 0) {
      this.lost = true;
      this.differs();
    }
    this.stack.length = 0;
    this.pending = null;
  }

  private current(): Entry | undefined {
    const leaf = this.stack[this.stack.length - 1];
    return leaf ? (leaf.items[leaf.pos] as Entry) : undefined;
  }

  /** Something below the current leaf differs: every page on its path is built, what they held goes to the builder in order. */
  private differs(): void {
    for (const f of this.stack) {
      if (!f.clean) continue;
      f.clean = false;
      for (const x of f.held) {
        if (f.level === 0) this.builder.pushEntry(x as Entry);
        else this.builder.pushRef(f.level - 1, x as PageRef);
      }
      f.held = [];
    }
  }

  private nextEntry(): void {
    for (;;) {
      const f = this.stack[this.stack.length - 1]!;
      if (++f.pos < f.items.length) break;
      this.stack.pop();
      this.done(f);
      if (this.stack.length === 0) return;
    }
    const parent = this.stack[this.stack.length - 1]!;
    if (parent.level > 0) this.pending = { ref: parent.items[parent.pos] as PageRef, level: parent.level - 1 };
  }

  /** All of a page's base entries are passed: an unchanged one cut by its names goes up whole. */
  private done(f: Frame): void {
    if (!f.clean) return;
    const parent = this.stack[this.stack.length - 1];
    if (f.ref.lastHeight < f.level + 1) {
      // cut by the end of the directory: its content goes to the builder, it is built again
      this.stack.push(f);
      this.differs();
      this.stack.pop();
    } else if (parent?.clean) parent.held.push(f.ref);
    else this.builder.pushRef(f.level, f.ref);
  }

  /**
   * Enter the pending page and go down its first children to a leaf: at once when the reader has
   * the pages at once, else in the promise returned.
   */
  private load(): Promise<void> | undefined {
    const { ref, level } = this.pending!;
    this.pending = null;
    return this.descend(ref, level);
  }

  private descend(ref: PageRef, level: number): Promise<void> | undefined {
    for (;;) {
      const got = this.reader.get(ref.id, { keepLeaf: false });
      if (got instanceof Promise) {
        const at = { ref, level };
        return got.then((page) => {
          const first = this.enter(page, at.ref, at.level);
          return first === undefined ? undefined : this.descend(first, at.level - 1);
        });
      }
      const first = this.enter(got, ref, level);
      if (first === undefined) return undefined;
      ref = first;
      level--;
    }
  }

  /** Push `page` (at `level`, named by `ref`) on the stack; its first child's ref when it is not a leaf. */
  private enter(page: Page, ref: PageRef, level: number): PageRef | undefined {
    if (page.level !== level) throw new CorruptError(`tree page ${ref.id.toString('hex')} is at level ${page.level}, its parent says ${level}`, 'run `tusk fsck` to see what is affected');
    const parent = this.stack[this.stack.length - 1];
    // under a page that is still unchanged, the build stands where the base's did: at a boundary
    const clean = parent ? parent.clean || this.builder.isAligned(level) : this.builder.isAligned(level);
    const items = page.level === 0 ? (page as { entries: Entry[] }).entries : (page as { children: PageRef[] }).children;
    this.stack.push({ level, ref, items, pos: 0, clean, held: [] });
    return level === 0 ? undefined : (items[0] as PageRef);
  }
}
