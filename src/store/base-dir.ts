// The base commit's version of one directory, matched name by name against the entries a put -r
// walk builds for it. A leaf page whose every entry comes back unchanged is pushed to the builder
// whole, by its id, when the builder is at a page boundary: the page it would rebuild from those
// entries is byte for byte that one (page cuts depend on names alone), so a re-put encodes,
// hashes and stores only the pages around what changed. A leaf that lost, gained or changed a
// name goes to the builder entry by entry, as a put from scratch would build it.
import { nameBefore } from './name-order.js';
import type { NodeId } from './hash.js';
import { entriesEqual, leafPages, type Entry, type Leaf, type PageReader, type TreeBuilder } from './tree.js';

export class BaseDir {
  private readonly leaves: Generator<Leaf>;
  private leaf: Leaf | undefined;
  private pos = 0;
  /** every entry of the current leaf so far came back unchanged, and nothing came in between */
  private clean = true;
  /** the walk's entries in the current leaf's range, held until the leaf is decided */
  private pending: Entry[] = [];
  /** a base name the walk did not find, or found as the other kind: laying the built directory over the base is more than taking it */
  lost = false;

  constructor(reader: PageReader, root: NodeId, private readonly builder: TreeBuilder) {
    this.leaves = leafPages(reader, root);
    this.nextLeaf();
  }

  /**
   * The base's entry named `name`, if it has one. Base names before it are passed over: the walk
   * did not find them (names arrive in order), so they are gone from this directory.
   */
  find(name: string): Entry | undefined {
    for (;;) {
      const b = this.leaf?.entries[this.pos];
      if (!b || !nameBefore(b.name, name)) return b?.name === name ? b : undefined;
      this.clean = false;
      this.lost = true;
      this.advance();
    }
  }

  /** Add the walk's next entry (names in increasing order). */
  push(e: Entry): void {
    const b = this.find(e.name);
    if (!this.leaf) {
      this.builder.pushEntry(e);
      return;
    }
    this.pending.push(e);
    if (!b) {
      this.clean = false;
      return;
    }
    if (!entriesEqual(b, e) || b.files !== e.files) this.clean = false;
    if (b.kind !== e.kind) this.lost = true;
    this.advance();
  }

  /** The walk is done with the directory: held entries go to the builder; base names left are gone, their pages unread. */
  finish(): void {
    if (this.leaf && this.pos < this.leaf.entries.length) this.lost = true;
    for (const e of this.pending) this.builder.pushEntry(e);
    this.pending = [];
    this.leaf = undefined;
    this.leaves.return(undefined);
  }

  private advance(): void {
    const leaf = this.leaf!;
    if (++this.pos < leaf.entries.length) return;
    // a leaf ending in a name of height 0 was cut by the end of the directory, not by its names:
    // from scratch, what follows it now would share its page
    if (this.clean && leaf.ref.lastHeight >= 1 && this.builder.isAligned(0)) this.builder.pushRef(0, leaf.ref);
    else for (const e of this.pending) this.builder.pushEntry(e);
    this.pending = [];
    this.nextLeaf();
  }

  private nextLeaf(): void {
    const r = this.leaves.next();
    this.leaf = r.done ? undefined : r.value;
    this.pos = 0;
    this.clean = true;
  }
}
