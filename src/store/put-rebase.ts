// What a put read from its base commit, so that its edits can be replayed on a newer base.
//
// A put writes its bytes before its transaction (chunks to packs, fsync) and reads the base it
// builds on at the start: `-a` continues the content a path had, and a file the cache knows to be
// unchanged since it was put needs no edit at all. Another writer may move the branch in between.
// Inside the transaction, where the branch cannot move, the put compares the base it read with
// the current one; where they differ, every edit that depended on the old base is redone on the
// new one: an append becomes "what the path holds now" + "the bytes this put appended" (the
// appended chunks are reused, the whole-file id is hashed again), and a skipped file becomes an
// explicit edit. Nothing is read twice when the base did not move, the usual case.
import { ConflictError, CorruptError } from '../errors.js';
import type { ChunkIndex, ContentRecord } from './chunk-index.js';
import { lookUpPlaces } from './chunk-places.js';
import { concatContents, readChunk, readContent, type ReadContext } from './content-io.js';
import { lookupPath, type PathEdit } from './file-tree.js';
import { EMPTY_CONTENT_ID, type ContentId, type NodeId } from './hash.js';
import type { Packs } from './packs.js';
import type { PageReader } from './page-store.js';
import type { Entry } from './tree.js';

export class PutBase {
  /** per appended path: what the base held there (undefined: nothing) */
  private readonly appendedTo = new Map<string, ContentRecord | undefined>();
  /** files left out because the base already held the same content */
  private readonly skipped: { path: string; entry: Entry }[] = [];

  constructor(readonly root: NodeId | null) {}

  /** An append to `path` read `prev` from the base (first time only: later appends in the same put continue this put's own content). */
  readForAppend(path: string, prev: ContentRecord | undefined): void {
    if (!this.appendedTo.has(path)) this.appendedTo.set(path, prev);
  }

  /** `path` was not edited because the base held `entry` there already. */
  skippedUnchanged(path: string, entry: Entry): void {
    this.skipped.push({ path, entry });
  }

  /**
   * The extra edits that make this put's result hold on `current` (the base read inside the
   * commit's transaction). `final` gives the content an appended path ended with in this put.
   * Call inside the transaction, after the put's chunks are recorded in the index.
   */
  async replayOn(
    current: NodeId | null,
    deps: { reader: PageReader; index: ChunkIndex; packs: Packs; final: (path: string) => ContentRecord; describe: (path: string) => ReadContext; fileEntry: (rec: ContentRecord) => Entry },
  ): Promise<{ edits: PathEdit[]; contents: ContentRecord[] }> {
    const edits: PathEdit[] = [];
    const contents: ContentRecord[] = [];
    if (sameRoot(current, this.root)) return { edits, contents };
    for (const s of this.skipped) {
      const now = current ? await lookupPath(deps.reader, current, s.path) : undefined;
      if (!now || now.kind !== s.entry.kind || !now.id.equals(s.entry.id)) edits.push({ path: s.path, entry: s.entry });
    }
    for (const [path, read] of this.appendedTo) {
      const now = current ? await lookupPath(deps.reader, current, path) : undefined;
      if (now && now.kind !== 'file') throw new ConflictError(`file / directory path collision (${path})`, 'a path cannot be both a file and a directory');
      const before = read && read.size > 0 ? read : undefined;
      const nowId = now && now.size > 0 ? (now.id as ContentId) : undefined;
      if (!before && !nowId) continue;
      if (before && nowId && nowId.equals(before.id)) continue;
      const ctx = deps.describe(path);
      const base = nowId ? await deps.index.getContent(nowId) : undefined;
      if (nowId && !base) throw new CorruptError(`${ctx.describe()} cannot be read: its content is missing from the index`, 'run `tusk fsck` to list everything affected');
      const final = deps.final(path);
      // the appended part: the put's chunks after those it continued (a prefix is reused as is)
      const tail: ContentRecord = { id: EMPTY_CONTENT_ID, size: final.size - (before?.size ?? 0), chunks: final.chunks.slice(before?.chunks.length ?? 0) };
      const rec = await concatContents([base, tail], (async function* () {
        if (base) yield* readContent(deps.index, deps.packs, base.id, ctx);
        const places = await lookUpPlaces(deps.index, tail.chunks);
        for (const c of tail.chunks) yield await readChunk(deps.index, deps.packs, c, ctx, undefined, { places });
      })());
      contents.push(rec);
      edits.push({ path, entry: deps.fileEntry(rec) });
    }
    return { edits, contents };
  }
}

function sameRoot(a: NodeId | null, b: NodeId | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}
