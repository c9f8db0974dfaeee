// Whole-path operations over nested directory trees: lookup, batched edits, walks and globs.
// tree.ts handles one directory's pages; this module strings directories into a file system.
import { ConflictError } from '../errors.js';
import type { NodeId } from './hash.js';
import { compileGlob } from './glob.js';
import type { PageReader, StagedPages } from './page-store.js';
import { applyEdits, diffEntries, EntryCursor, entryPages, lookupEntry, refOf, type Edit, type Entry, type PageRef } from './tree.js';
import { compareNames, nameBefore } from './name-order.js';

// walks give batches; a caller that needs them all at once collects them (tree.ts)
export { collectBatches } from './tree.js';

/** Lay a directory tree over whatever is at `path` ('/' = the root): what it holds replaces, what it lacks stays. */
export interface OverlayOp {
  path: string;
  overlay: PageRef;
  /** a directory the overlay holds every name of, each as the same kind: laid over it, the overlay is the result */
  covers?: NodeId | null;
}

/** Replace (entry) or remove (null) one path. A directory entry replaces a whole subtree. */
export interface PathEdit {
  path: string; // cleaned, absolute, not '/'
  entry: Entry | null;
}

/** A file or directory found at a path. */
export interface PathEntry {
  path: string;
  entry: Entry;
}

/** The root directory of a commit as an Entry (so `/` can be listed and inspected like any dir). */
export async function rootEntry(reader: PageReader, root: NodeId): Promise<Entry> {
  const ref = await refOf(reader, root);
  return { name: '', kind: 'dir', id: root, size: ref.size, files: ref.files };
}

/** Entry at `path` (cleaned), or undefined. `/` is the root itself. */
export async function lookupPath(reader: PageReader, root: NodeId, path: string): Promise<Entry | undefined> {
  if (path === '/') return rootEntry(reader, root);
  let dir: Entry | undefined = { name: '', kind: 'dir', id: root, size: 0, files: 0 };
  for (const name of path.slice(1).split('/')) {
    if (!dir || dir.kind !== 'dir') return undefined;
    dir = await lookupEntry(reader, dir.id as NodeId, name);
  }
  return dir;
}

/** Directory entry for a subtree root. */
export function dirEntry(name: string, ref: PageRef): Entry {
  return { name, kind: 'dir', id: ref.id, size: ref.size, files: ref.files };
}

/**
 * Apply path edits to a root (null = empty), returning the new root ref (null = empty tree); the
 * new pages are staged in `pages`. Later edits of the same path win. A file where a directory is
 * (or the reverse) is a collision, as in Pachyderm; deleting a path that does not exist is a
 * no-op here (callers check first).
 */
export async function applyPathEdits(pages: StagedPages, root: NodeId | null, edits: readonly PathEdit[]): Promise<PageRef | null> {
  const last = new Map<string, Entry | null>();
  for (const e of edits) last.set(e.path, e.entry);
  const rel = [...last].map(([path, entry]) => ({ parts: path.slice(1).split('/'), path, entry }));
  return applyDir(pages, root ? await refOf(pages.reader, root) : null, rel);
}

/** Apply path edits and overlays in order (later ones win), as applyPathEdits does for edits alone. */
export async function applyTreeOps(pages: StagedPages, root: NodeId | null, ops: readonly (PathEdit | OverlayOp)[]): Promise<PageRef | null> {
  let ref: PageRef | null = root ? await refOf(pages.reader, root) : null;
  for (let i = 0; i < ops.length; ) {
    const op = ops[i]!;
    if ('overlay' in op) {
      ref = await overlayAt(pages, ref, op);
      i++;
      continue;
    }
    let j = i;
    while (j < ops.length && !('overlay' in ops[j]!)) j++;
    ref = await applyPathEdits(pages, ref ? ref.id : null, ops.slice(i, j) as PathEdit[]);
    i = j;
  }
  return ref;
}

async function overlayAt(pages: StagedPages, root: PageRef | null, op: OverlayOp): Promise<PageRef | null> {
  const reader = pages.reader;
  const covered = (id: Buffer) => op.covers?.equals(id) === true;
  if (op.path === '/') return root && covered(root.id) ? op.overlay : overlayDir(pages, root, op.overlay, '');
  const existing = root && root.entries > 0 ? await lookupPath(reader, root.id, op.path) : undefined;
  if (existing && existing.kind === 'file') throw collision(op.path);
  const merged = existing && !covered(existing.id) ? await overlayDir(pages, await refOf(reader, existing.id as NodeId), op.overlay, op.path) : op.overlay;
  return applyPathEdits(pages, root ? root.id : null, [{ path: op.path, entry: dirEntry('', merged) }]);
}

/**
 * `top` laid over `base`, one directory at a time: equal subtrees are kept unread, a file with the
 * content the base already has keeps the base's entry, names only the base has stay.
 */
async function overlayDir(pages: StagedPages, base: PageRef | null, top: PageRef, prefix: string): Promise<PageRef> {
  if (!base || base.entries === 0 || base.id.equals(top.id)) return top;
  const reader = pages.reader;
  const edits: Edit[] = [];
  // pages the two share (a re-put reuses the base's unchanged ones) are skipped, not compared
  for await (const changes of diffEntries(reader, base.id, top.id)) {
    for (const c of changes) {
      if (c.op === 'removed') continue; // names only the base has stay
      if (c.op === 'added') {
        edits.push({ name: c.entry.name, entry: c.entry });
        continue;
      }
      const { before: was, after: e } = c;
      const p = `${prefix}/${e.name}`;
      if (was.kind !== e.kind) throw collision(p);
      if (e.kind === 'file') {
        if (!was.id.equals(e.id) || was.size !== e.size) edits.push({ name: e.name, entry: e });
      } else {
        const [wasRef, eRef] = await Promise.all([refOf(reader, was.id as NodeId), refOf(reader, e.id as NodeId)]);
        edits.push({ name: e.name, entry: dirEntry(e.name, await overlayDir(pages, wasRef, eRef, p)) });
      }
    }
  }
  return (await applyEdits(pages, base, edits)) ?? top;
}

interface RelEdit {
  parts: string[];
  path: string;
  entry: Entry | null;
}

async function applyDir(pages: StagedPages, dir: PageRef | null, edits: RelEdit[]): Promise<PageRef | null> {
  const reader = pages.reader;
  const groups = new Map<string, { direct?: RelEdit; deeper: RelEdit[] }>();
  for (const e of edits) {
    const name = e.parts[0]!;
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { deeper: [] }));
    if (e.parts.length === 1) g.direct = e;
    else g.deeper.push({ ...e, parts: e.parts.slice(1) });
  }
  const out: Edit[] = [];
  for (const [name, g] of groups) {
    const existing = dir && dir.entries > 0 ? await lookupEntry(reader, dir.id, name) : undefined;
    if (g.deeper.length === 0) {
      const d = g.direct!;
      if (d.entry === null) {
        if (existing) out.push({ name, entry: null });
      } else {
        if (existing && existing.kind !== d.entry.kind) throw collision(d.path);
        out.push({ name, entry: { ...d.entry, name } });
      }
      continue;
    }
    const base = g.direct ? g.direct.entry : existing;
    if (base && base.kind === 'file') {
      if (g.deeper.every((e) => e.entry === null)) {
        if (g.direct) out.push({ name, entry: { ...base, name } });
        continue;
      }
      throw collision(g.deeper.find((e) => e.entry !== null)!.path);
    }
    const sub = await applyDir(pages, base ? await refOf(reader, base.id as NodeId) : null, g.deeper);
    if (sub && sub.entries > 0) out.push({ name, entry: dirEntry(name, sub) });
    else if (existing || g.direct) out.push({ name, entry: null });
  }
  out.sort((a, b) => compareNames(a.name, b.name));
  return applyEdits(pages, dir, out);
}

function collision(path: string): ConflictError {
  return new ConflictError(`file / directory path collision (${path})`, 'a path cannot be both a file and a directory; delete one of them first');
}

/**
 * Every entry below a directory, depth first in name order, directories before their contents:
 * in batches (the entries of a page up to a directory's), so a caller waits once per page. One
 * generator for the whole walk, with a cursor per open directory: a batch from deep down passes
 * through no generator per level above it.
 */
export async function* walkTree(reader: PageReader, dirId: NodeId, prefix: string, opts: { maxDepth?: number } = {}): AsyncGenerator<PathEntry[]> {
  const maxDepth = opts.maxDepth ?? Infinity;
  if (maxDepth <= 0) return;
  const cursorOpts = { keepLeaf: true, ahead: reader.readAhead };
  const stack: { cursor: EntryCursor; prefix: string; depth: number }[] = [{ cursor: await EntryCursor.open(reader, dirId, undefined, cursorOpts), prefix, depth: maxDepth }];
  let out: PathEntry[] = [];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    const wait = f.cursor.settle();
    if (wait !== undefined) await wait;
    const run = f.cursor.restOfLeaf();
    if (run === undefined) {
      stack.pop();
      continue;
    }
    let i = 0;
    let sub: PathEntry | undefined;
    for (; i < run.length; i++) {
      const e = run[i]!;
      const pe = { path: f.prefix === '/' ? `/${e.name}` : `${f.prefix}/${e.name}`, entry: e };
      out.push(pe);
      if (e.kind === 'dir' && f.depth > 1) {
        sub = pe;
        break;
      }
    }
    if (sub === undefined) {
      f.cursor.skipLeaf();
      if (out.length > 0) yield out;
      out = [];
      continue;
    }
    f.cursor.advance(i + 1);
    yield out;
    out = [];
    stack.push({ cursor: await EntryCursor.open(reader, sub.entry.id as NodeId, undefined, cursorOpts), prefix: sub.path, depth: f.depth - 1 });
  }
}

/** Every file (not directory) at or below `path`, in batches as walkTree gives them. */
export async function* walkFiles(reader: PageReader, root: NodeId, path: string): AsyncGenerator<PathEntry[]> {
  const top = await lookupPath(reader, root, path);
  if (!top) return;
  if (top.kind === 'file') {
    yield [{ path, entry: top }];
    return;
  }
  for await (const batch of walkTree(reader, top.id as NodeId, path)) {
    const files = batch.filter((pe) => pe.entry.kind === 'file');
    if (files.length > 0) yield files;
  }
}

/** Entries whose path matches a glob, in path order, in batches. The walk starts at the literal prefix and stops at the glob's depth. */
export async function* globTree(reader: PageReader, root: NodeId, pattern: string): AsyncGenerator<PathEntry[]> {
  const g = compileGlob(pattern);
  if (g.pattern === '/') {
    yield [{ path: '/', entry: await rootEntry(reader, root) }];
    return;
  }
  if (g.isLiteral) {
    const e = await lookupPath(reader, root, g.literalPrefix);
    if (e) yield [{ path: g.literalPrefix, entry: e }];
    return;
  }
  const start = await lookupPath(reader, root, g.literalPrefix);
  if (!start) return;
  if (start.kind === 'file') {
    if (g.match(g.literalPrefix)) yield [{ path: g.literalPrefix, entry: start }];
    return;
  }
  if (g.literalPrefix !== '/' && g.match(g.literalPrefix)) yield [{ path: g.literalPrefix, entry: start }];
  // Without `**` a match cannot be deeper than the pattern has segments: do not walk further.
  const depth = g.pattern.includes('**') ? Infinity : g.pattern.split('/').length - (g.literalPrefix === '/' ? 1 : g.literalPrefix.split('/').length);
  const matching = (batch: readonly PathEntry[]) => batch.filter((pe) => g.match(pe.path));
  const head = nameHead(g.pattern, g.literalPrefix);
  if (head === '') {
    for await (const batch of walkTree(reader, start.id as NodeId, g.literalPrefix, { maxDepth: depth })) {
      const hits = matching(batch);
      if (hits.length > 0) yield hits;
    }
    return;
  }
  // The first globbed name starts with a literal (`/dir/e00123??`): seek to it in the sorted
  // directory instead of reading every entry, so a page of a huge directory costs a page.
  const join = (name: string) => (g.literalPrefix === '/' ? `/${name}` : `${g.literalPrefix}/${name}`);
  const exact = await lookupEntry(reader, start.id as NodeId, head);
  // the names that start with `head`, a page's worth at a time (the exact name first)
  const runs = async function* (): AsyncGenerator<readonly Entry[]> {
    if (exact) yield [exact];
    for await (const page of entryPages(reader, start.id as NodeId, head)) {
      let end = 0;
      while (end < page.length && page[end]!.name.startsWith(head)) end++;
      yield end === page.length ? page : page.slice(0, end);
      if (end < page.length) return;
    }
  };
  for await (const es of runs()) {
    let out: PathEntry[] = [];
    for (const e of es) {
      const p = join(e.name);
      if (g.match(p)) out.push({ path: p, entry: e });
      if (e.kind === 'dir' && depth > 1) {
        if (out.length > 0) yield out;
        out = [];
        for await (const batch of walkTree(reader, e.id as NodeId, p, { maxDepth: depth - 1 })) {
          const hits = matching(batch);
          if (hits.length > 0) yield hits;
        }
      }
    }
    if (out.length > 0) yield out;
  }
}


/** The literal characters a pattern's first globbed name starts with ('' when unknown). */
function nameHead(pattern: string, literalPrefix: string): string {
  const rest = literalPrefix === '/' ? pattern.slice(1) : pattern.slice(literalPrefix.length + 1);
  const seg = rest.split('/')[0] ?? '';
  let head = '';
  for (const c of seg) {
    // escapes and extglob prefixes (`@(`, `+(`, …) make the literal run ambiguous: no seek then
    if ('*?[]{}!()@+^\\'.includes(c)) break;
    head += c;
  }
  return head;
}
