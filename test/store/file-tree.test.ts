import { afterEach, describe, expect, it } from 'vitest';
import type { TuskError } from '../../src/errors.js';
import { applyPathEdits, collectBatches, dirEntry, globTree, lookupPath, rootEntry, walkFiles, walkTree, type PathEdit } from '../../src/store/file-tree.js';
import { withStagedPages } from '../../src/store/page-store.js';
import { hashBytes, type NodeId } from '../../src/store/hash.js';
import type { StoreCore } from '../../src/store/store-core.js';
import { refOf, type Entry } from '../../src/store/tree.js';
import { tempStore } from '../helpers.js';

let env: ReturnType<typeof tempStore> | undefined;
afterEach(() => {
  env?.cleanup();
  env = undefined;
});

function core(): StoreCore {
  env = tempStore();
  return env.store.core;
}

/** A file entry whose content is `content` (only its id and size matter to trees). */
function file(content: string): Entry {
  return { name: '', kind: 'file', id: hashBytes(Buffer.from(content)), size: content.length, files: 1 };
}

/** Apply edits the way the file service does: pages are written inside a transaction. */
async function apply(c: StoreCore, root: NodeId | null, edits: Record<string, Entry | null> | PathEdit[]): Promise<NodeId | null> {
  const list = Array.isArray(edits) ? edits : Object.entries(edits).map(([path, entry]) => ({ path, entry }));
  const ref = await c.unitOfWork(async () => withStagedPages(c, (pages) => applyPathEdits(pages, root, list)));
  return ref ? ref.id : null;
}

/** Every path below the root, directories marked with a trailing slash. */
async function listing(c: StoreCore, root: NodeId | null): Promise<string[]> {
  if (!root) return [];
  return (await collectBatches(walkTree(c.reader, root, '/'))).map((pe) => (pe.entry.kind === 'dir' ? `${pe.path}/` : pe.path));
}

async function thrown(fn: () => Promise<unknown>): Promise<TuskError> {
  try {
    await fn();
  } catch (err) {
    return err as TuskError;
  }
  throw new Error('expected an error');
}

// content is the path itself, so sizes are easy to add up
const FILES = ['/a/b/c/d.txt', '/a/b/e.txt', '/a/f.txt', '/dir/sub/z.txt', '/dir/x.txt', '/dir/y.csv', '/top.txt'];
const initial = () => Object.fromEntries(FILES.map((p) => [p, file(p)]));
const sizeOf = (paths: string[]) => paths.reduce((n, p) => n + p.length, 0);

describe('file tree: path edits', () => {
  it('creates deep paths and their directories, with sizes and file counts that add up', async () => {
    const c = core();
    const root = (await apply(c, null, initial()))!;
    // GOLDEN: a pure function of the names, content ids and the page encoding
    expect(root.toString('hex')).toBe(GOLDEN_ROOT);
    expect(await listing(c, root)).toEqual([
      '/a/',
      '/a/b/',
      '/a/b/c/',
      '/a/b/c/d.txt',
      '/a/b/e.txt',
      '/a/f.txt',
      '/dir/',
      '/dir/sub/',
      '/dir/sub/z.txt',
      '/dir/x.txt',
      '/dir/y.csv',
      '/top.txt',
    ]);
    const r = (await lookupPath(c.reader, root, '/'))!;
    expect(r).toMatchObject({ kind: 'dir', size: sizeOf(FILES), files: 7 });
    expect(r.id).toEqual(root);
    expect((await lookupPath(c.reader, root, '/a'))).toMatchObject({ name: 'a', kind: 'dir', size: sizeOf(FILES.slice(0, 3)), files: 3 });
    expect((await lookupPath(c.reader, root, '/a/b'))).toMatchObject({ kind: 'dir', size: sizeOf(FILES.slice(0, 2)), files: 2 });
    expect((await lookupPath(c.reader, root, '/a/b/c'))).toMatchObject({ kind: 'dir', size: '/a/b/c/d.txt'.length, files: 1 });
    expect((await lookupPath(c.reader, root, '/dir'))).toMatchObject({ kind: 'dir', size: sizeOf(FILES.slice(3, 6)), files: 3 });
    // every directory's totals are the sum over its children
    for (const pe of await collectBatches(walkTree(c.reader, root, '/'))) {
      if (pe.entry.kind !== 'dir') continue;
      const kids = (await collectBatches(walkTree(c.reader, pe.entry.id as NodeId, pe.path, { maxDepth: 1 }))).map((k) => k.entry);
      expect(pe.entry.size, pe.path).toBe(kids.reduce((n, k) => n + k.size, 0));
      expect(pe.entry.files, pe.path).toBe(kids.reduce((n, k) => n + k.files, 0));
      expect((await refOf(c.reader, pe.entry.id as NodeId))).toMatchObject({ size: pe.entry.size, files: pe.entry.files });
    }
  });

  it('looks up files, directories and missing paths', async () => {
    const c = core();
    const root = (await apply(c, null, initial()))!;
    expect((await lookupPath(c.reader, root, '/a/b/c/d.txt'))).toEqual({ ...file('/a/b/c/d.txt'), name: 'd.txt' });
    expect((await lookupPath(c.reader, root, '/top.txt'))).toEqual({ ...file('/top.txt'), name: 'top.txt' });
    expect((await lookupPath(c.reader, root, '/nope'))).toBeUndefined();
    expect((await lookupPath(c.reader, root, '/a/nope/d.txt'))).toBeUndefined();
    expect((await lookupPath(c.reader, root, '/top.txt/below'))).toBeUndefined();
    expect((await lookupPath(c.reader, root, '/a/b/c/d'))).toBeUndefined();
    expect((await collectBatches(walkFiles(c.reader, root, '/a'))).map((pe) => pe.path)).toEqual(['/a/b/c/d.txt', '/a/b/e.txt', '/a/f.txt']);
    expect((await collectBatches(walkFiles(c.reader, root, '/top.txt'))).map((pe) => pe.path)).toEqual(['/top.txt']);
    expect((await collectBatches(walkFiles(c.reader, root, '/nope')))).toEqual([]);
  });

  it('has one root id per file system, whatever edits led to it', async () => {
    const c = core();
    const whole = await apply(c, null, initial());
    let step: NodeId | null = null;
    for (const p of [...FILES].reverse()) step = await apply(c, step, { [p]: file(p) });
    expect(step).toEqual(whole);
    // with a detour through other content and an extra file that is deleted again
    let detour = await apply(c, null, { ...initial(), '/a/f.txt': file('old'), '/tmp/x': file('x') });
    detour = await apply(c, detour, { '/a/f.txt': file('/a/f.txt'), '/tmp/x': null });
    expect(detour).toEqual(whole);
  });

  it('replaces a file, rewriting only the directories on its path', async () => {
    const c = core();
    const root = (await apply(c, null, initial()))!;
    const next = (await apply(c, root, { '/a/b/e.txt': file('a much longer new content') }))!;
    expect(next).not.toEqual(root);
    expect((await lookupPath(c.reader, next, '/a/b/e.txt'))).toEqual({ ...file('a much longer new content'), name: 'e.txt' });
    expect((await lookupPath(c.reader, next, '/a/b/c'))!.id).toEqual((await lookupPath(c.reader, root, '/a/b/c'))!.id);
    expect((await lookupPath(c.reader, next, '/dir'))!.id).toEqual((await lookupPath(c.reader, root, '/dir'))!.id);
    expect((await lookupPath(c.reader, next, '/a/b'))!.id).not.toEqual((await lookupPath(c.reader, root, '/a/b'))!.id);
    expect((await rootEntry(c.reader, next)).size).toBe(sizeOf(FILES) - '/a/b/e.txt'.length + 'a much longer new content'.length);
    // the old root is untouched
    expect((await lookupPath(c.reader, root, '/a/b/e.txt'))).toEqual({ ...file('/a/b/e.txt'), name: 'e.txt' });
    // the same content again changes nothing
    expect(await apply(c, next, { '/a/b/e.txt': file('a much longer new content') })).toEqual(next);
  });

  it('later edits of the same path win', async () => {
    const c = core();
    const root = (await apply(c, null, [
      { path: '/x', entry: file('1') },
      { path: '/x', entry: file('2') },
      { path: '/y', entry: file('y') },
      { path: '/y', entry: null },
    ]))!;
    expect(await listing(c, root)).toEqual(['/x']);
    expect((await lookupPath(c.reader, root, '/x'))!.id).toEqual(hashBytes(Buffer.from('2')));
  });

  it('deleting the last file of a directory removes the directory, up to the root', async () => {
    const c = core();
    let root = await apply(c, null, initial());
    root = await apply(c, root, { '/a/b/c/d.txt': null });
    expect((await lookupPath(c.reader, root!, '/a/b/c'))).toBeUndefined();
    expect(await listing(c, root)).toEqual(['/a/', '/a/b/', '/a/b/e.txt', '/a/f.txt', '/dir/', '/dir/sub/', '/dir/sub/z.txt', '/dir/x.txt', '/dir/y.csv', '/top.txt']);
    root = await apply(c, root, { '/a/b/e.txt': null, '/dir/sub/z.txt': null });
    expect(await listing(c, root)).toEqual(['/a/', '/a/f.txt', '/dir/', '/dir/x.txt', '/dir/y.csv', '/top.txt']);
    expect((await lookupPath(c.reader, root!, '/a'))).toMatchObject({ size: '/a/f.txt'.length, files: 1 });
    // deleting a whole directory at once
    root = await apply(c, root, { '/dir': null });
    expect(await listing(c, root)).toEqual(['/a/', '/a/f.txt', '/top.txt']);
    // a path that does not exist: a no-op here
    expect(await apply(c, root, { '/nope': null, '/a/nope/x': null, '/top.txt/x': null })).toEqual(root);
    // everything gone: the empty tree
    expect(await apply(c, root, { '/a/f.txt': null, '/top.txt': null })).toBeNull();
  });

  it('a directory entry replaces a whole subtree (copy), and delete-plus-add in one batch rebuilds it', async () => {
    const c = core();
    const root = (await apply(c, null, initial()))!;
    const dir = (await lookupPath(c.reader, root, '/dir'))!;
    const copied = (await apply(c, root, { '/a/b/copy': dirEntry('ignored', (await refOf(c.reader, dir.id as NodeId))) }))!;
    expect((await lookupPath(c.reader, copied, '/a/b/copy'))).toEqual({ ...dir, name: 'copy' });
    expect((await lookupPath(c.reader, copied, '/a/b/copy/sub/z.txt'))).toEqual({ ...file('/dir/sub/z.txt'), name: 'z.txt' });
    expect((await lookupPath(c.reader, copied, '/a'))).toMatchObject({ files: 3 + 3, size: sizeOf(FILES.slice(0, 3)) + dir.size });

    const rebuilt = (await apply(c, root, { '/dir': null, '/dir/new.txt': file('new') }))!;
    expect((await listing(c, rebuilt)).filter((p) => p.startsWith('/dir'))).toEqual(['/dir/', '/dir/new.txt']);
  });

  it('rejects a file where a directory is, and a directory where a file is (E_CONFLICT)', async () => {
    const c = core();
    const root = (await apply(c, null, initial()))!;
    const cases: Record<string, Entry | null>[] = [
      { '/dir': file('now a file') }, // file over a directory
      { '/a/b': file('x') },
      { '/top.txt/x': file('x') }, // a directory where a file is
      { '/a/f.txt/deeper/still': file('x') },
      { '/top.txt': dirEntry('top.txt', await refOf(c.reader, (await lookupPath(c.reader, root, '/dir'))!.id as NodeId)) },
      { '/new': file('f'), '/new/x': file('x') }, // both in one batch
      { '/new/x': file('x'), '/new': file('f') },
    ];
    for (const edits of cases) {
      const err = await thrown(() => apply(c, root, edits));
      expect(err.code, JSON.stringify(Object.keys(edits))).toBe('E_CONFLICT');
      expect(err.message).toMatch(/^file \/ directory path collision \(\/.+\)$/);
    }
    expect((await thrown(() => apply(c, root, { '/dir': file('x') }))).message).toBe('file / directory path collision (/dir)');
    expect((await thrown(() => apply(c, root, { '/top.txt/x': file('x') }))).message).toBe('file / directory path collision (/top.txt/x)');
    // failed edits leave the old root as it was; a directory may replace a file deleted in the same batch
    expect(await listing(c, root)).toHaveLength(12);
    const swapped = (await apply(c, root, { '/top.txt': null, '/top.txt/inner': file('i') }))!;
    expect((await lookupPath(c.reader, swapped, '/top.txt'))).toMatchObject({ kind: 'dir', files: 1 });
  });
});

describe('file tree: globs', () => {
  const globbed = async (c: StoreCore, root: NodeId, pattern: string) => (await collectBatches(globTree(c.reader, root, pattern))).map((pe) => (pe.entry.kind === 'dir' ? `${pe.path}/` : pe.path));

  it('matches /, /*, /*/*, /** and extension globs in path order', async () => {
    const c = core();
    const root = (await apply(c, null, initial()))!;
    const rootOnly = (await collectBatches(globTree(c.reader, root, '/')));
    expect(rootOnly.map((pe) => pe.path)).toEqual(['/']);
    expect(rootOnly[0]!.entry).toMatchObject({ kind: 'dir', size: sizeOf(FILES), files: 7 });
    expect(rootOnly[0]!.entry.id).toEqual(root);

    expect(await globbed(c, root, '/*')).toEqual(['/a/', '/dir/', '/top.txt']);
    expect(await globbed(c, root, '*')).toEqual(['/a/', '/dir/', '/top.txt']);
    expect(await globbed(c, root, '/*/*')).toEqual(['/a/b/', '/a/f.txt', '/dir/sub/', '/dir/x.txt', '/dir/y.csv']);
    expect(await globbed(c, root, '/*/*/*')).toEqual(['/a/b/c/', '/a/b/e.txt', '/dir/sub/z.txt']);
    expect(await globbed(c, root, '/**')).toEqual(await listing(c, root));
    expect(await globbed(c, root, '/dir/*.txt')).toEqual(['/dir/x.txt']);
    expect(await globbed(c, root, '/dir/*')).toEqual(['/dir/sub/', '/dir/x.txt', '/dir/y.csv']);
    expect(await globbed(c, root, '/**.txt')).toEqual(['/a/b/c/d.txt', '/a/b/e.txt', '/a/f.txt', '/dir/sub/z.txt', '/dir/x.txt', '/top.txt']);
    expect(await globbed(c, root, '/a/**')).toEqual(['/a/b/', '/a/b/c/', '/a/b/c/d.txt', '/a/b/e.txt', '/a/f.txt']);
    expect(await globbed(c, root, '/*/*.csv')).toEqual(['/dir/y.csv']);
    expect(await globbed(c, root, '/nope/*')).toEqual([]);
    expect(await globbed(c, root, '/top.txt/*')).toEqual([]);
  });

  it('treats literal patterns as lookups', async () => {
    const c = core();
    const root = (await apply(c, null, initial()))!;
    expect(await globbed(c, root, '/dir/x.txt')).toEqual(['/dir/x.txt']);
    expect(await globbed(c, root, '/dir')).toEqual(['/dir/']);
    expect(await globbed(c, root, '/a/b/')).toEqual(['/a/b/']);
    expect(await globbed(c, root, '/dir/nope.txt')).toEqual([]);
    const [hit] = (await collectBatches(globTree(c.reader, root, '/a/b/c/d.txt')));
    expect(hit!.entry).toEqual({ ...file('/a/b/c/d.txt'), name: 'd.txt' });
  });

  it('works on a directory big enough to span several pages', async () => {
    const c = core();
    const edits: Record<string, Entry> = {};
    for (let i = 0; i < 3000; i++) edits[`/big/f${String(i).padStart(5, '0')}.${i % 3 === 0 ? 'csv' : 'txt'}`] = file(`c${i}`);
    edits['/other.txt'] = file('o');
    const root = (await apply(c, null, edits))!;
    const big = (await lookupPath(c.reader, root, '/big'))!;
    expect((await c.reader.read(big.id as NodeId)).level).toBeGreaterThan(0);
    expect(big.files).toBe(3000);
    expect(await globbed(c, root, '/big/*.csv')).toHaveLength(1000);
    expect((await globbed(c, root, '/big/*.csv'))[0]).toBe('/big/f00000.csv');
    expect(await globbed(c, root, '/*')).toEqual(['/big/', '/other.txt']);
    expect((await lookupPath(c.reader, root, '/big/f02999.txt'))).toEqual({ ...file('c2999'), name: 'f02999.txt' });
    const fewer = (await apply(c, root, { '/big/f01501.txt': null }))!;
    expect((await lookupPath(c.reader, fewer, '/big'))).toMatchObject({ files: 2999, size: big.size - 'c1501'.length });
  });
});

const GOLDEN_ROOT = 'c76648dbf3e245694c46d2f9315c12835336ef7812bd1dedfd93e800005bf493';
