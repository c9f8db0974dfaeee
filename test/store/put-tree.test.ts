// put -r of whole directories: the tree built directory by directory must have exactly the ids
// the per-file path (one edit per file) gave, whatever the shape: nested, wide, empty files, files
// around the chunk size, a re-put over a tree that has other files, and a get -r round trip.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import type { Store } from '../../src/store/store.js';
import { seededBytes, streamOf, tempDir, tempStore } from '../helpers.js';

let env: ReturnType<typeof tempStore>;
const dirs: string[] = [];
afterEach(() => {
  env?.cleanup();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A seeded tree: 24 directories (some nested, one empty, one wide), sizes 0 B … 80 KiB. */
function makeTree(root: string, seed: number): number {
  let n = 0;
  const write = (rel: string, size: number) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), seededBytes(size, seed * 100_003 + n++));
  };
  for (let d = 0; d < 20; d++) for (let f = 0; f < 12; f++) write(`d${String(d).padStart(2, '0')}/f${f}.dat`, (d * 37 + f * 911) % 9000);
  for (let f = 0; f < 700; f++) write(`wide/e${String(f).padStart(4, '0')}`, f % 3 === 0 ? 0 : 100 + f);
  write('deep/a/b/c/leaf.txt', 5);
  write('deep/a/b/sib.bin', 40_000); // above the test profile's one-chunk size: cut into chunks
  write('deep/a/big.bin', 80_000);
  write('top.txt', 3);
  write('a.b', 7); // sorts before 'a/…' byte-wise but after it as a path: order must be by name
  write('a/x', 9);
  fs.mkdirSync(path.join(root, 'empty/inner'), { recursive: true });
  return n;
}

function tree(): string {
  const d = tempDir('tusk-put-tree-');
  dirs.push(d);
  return d;
}

const putDir = (store: Store, local: string, repoPath: string) =>
  store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'local', localPath: local, repoPath, recursive: true }]);

const rootHash = async (store: Store, p = '/') => (await store.inspectFile(parseFileRef(`r@master:${p}`))).hash;

describe('put -r of a directory tree', () => {
  it('gives the golden tree ids, and the same ids as putting every file by itself', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    const src = tree();
    const files = makeTree(src, 1);
    const r = await putDir(store, src, '/t');
    expect(r.files).toBe(files);
    expect(await rootHash(store, '/t')).toBe(GOLDEN.tree1);
    expect(await rootHash(store, '/t/wide')).toBe(GOLDEN.wide1);

    // the same files put one stream at a time into another repo build the same tree
    await store.createRepo('s');
    const sources = [] as Parameters<Store['putFiles']>[1][number][];
    const walk = (dir: string, rel: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name), `${rel}/${e.name}`);
        else sources.push({ kind: 'stream', stream: streamOf(fs.readFileSync(path.join(dir, e.name))), repoPath: `/t${rel}/${e.name}` });
      }
    };
    walk(src, '');
    await store.putFiles({ repo: 's', branch: 'master' }, sources);
    expect((await store.inspectFile(parseFileRef('s@master:/t'))).hash).toBe(GOLDEN.tree1);
  });

  it('a second put over an existing tree keeps files only the commit has, replaces changed ones and reads only those', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    const src = tree();
    makeTree(src, 2);
    await putDir(store, src, '/t');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf('only in the commit'), repoPath: '/t/d03/extra.txt' }]);
    // the file cache trusts only files whose ctime is older than its racy window (2 s)
    await new Promise((r) => setTimeout(r, 2100));
    await putDir(store, src, '/t');
    fs.writeFileSync(path.join(src, 'd05/f1.dat'), 'changed');
    fs.writeFileSync(path.join(src, 'd05/new.dat'), 'new');
    // too recent to trust (a modification time ahead of the clock) however long the puts below take
    // on a busy machine, until the test makes them old enough
    const fresh = ['d05/f1.dat', 'd05/new.dat'].map((f) => path.join(src, f));
    const ahead = new Date(Date.now() + 3_600_000);
    for (const f of fresh) fs.utimesSync(f, ahead, ahead);
    const r = await putDir(store, src, '/t');
    expect(r.cachedFiles).toBe(r.files - 2);
    expect(r.newChunks).toBe(2);
    // each put walked every directory whole: the cache holds one segment per directory, not one per put
    const perDir = store.core.db.prepare('SELECT count(*) FROM file_cache GROUP BY dir').pluck().all() as number[];
    expect(perDir.length).toBeGreaterThan(1);
    expect(Math.max(...perDir)).toBe(1);
    // and that segment still holds the files the last put found in the cache; directories where
    // nothing changed keep their segments as they are (nothing is written for them)
    const segments = () => store.core.db.prepare('SELECT dir, seq FROM file_cache ORDER BY dir, seq').all() as { dir: string; seq: number }[];
    const before = segments();
    const again = await putDir(store, src, '/t');
    expect(again.cachedFiles).toBe(again.files - 2); // the two just written are too recent to trust
    const changedDir = path.join(fs.realpathSync(src), 'd05');
    expect(segments().filter((r) => r.dir !== changedDir)).toEqual(before.filter((r) => r.dir !== changedDir));
    // the changed directory still has every name it had: only the files it read would be written,
    // and those two are too recent to remember, so its segment stays as it was too
    expect(segments()).toEqual(before);
    // once they are old enough, the next put adds a segment of just those two over the
    // directory's (a newer one overrides by name) rather than rewriting all of it
    const now = new Date();
    for (const f of fresh) fs.utimesSync(f, now, now);
    await new Promise((r) => setTimeout(r, 2100));
    const third = await putDir(store, src, '/t');
    expect(third.cachedFiles).toBe(third.files - 2);
    expect(segments().filter((r) => r.dir === changedDir).length).toBe(2);
    expect(segments().filter((r) => r.dir !== changedDir)).toEqual(before.filter((r) => r.dir !== changedDir));
    const fourth = await putDir(store, src, '/t');
    expect(fourth.cachedFiles).toBe(fourth.files);
    // a name gone from the directory: it is written whole again, one segment, without that name
    fs.rmSync(path.join(src, 'd05/new.dat'));
    const fifth = await putDir(store, src, '/t');
    expect(fifth.cachedFiles).toBe(fifth.files);
    expect(segments().filter((r) => r.dir === changedDir).length).toBe(1);
    const sixth = await putDir(store, src, '/t');
    expect(sixth.cachedFiles).toBe(sixth.files);
    expect((await store.listFiles(parseFileRef('r@master:/t/d03'))).map((f) => path.basename(f.path))).toContain('extra.txt');
    const names = async (p: string) => (await store.listFiles(parseFileRef(`r@master:${p}`))).map((f) => path.basename(f.path));
    expect(await names('/t/d05')).toContain('new.dat');
    expect(await rootHash(store, '/t')).toBe(GOLDEN.tree2Edited);
  });

  it('a file where the commit has a directory is a collision, and the branch does not move', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf('x'), repoPath: '/t/top.txt/inner' }]);
    const head = (await store.inspectFile(parseFileRef('r@master:/'))).hash;
    const src = tree();
    makeTree(src, 3);
    const walPages = store.core.db.pragma('wal_autocheckpoint', { simple: true });
    await expect(putDir(store, src, '/t')).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect((await store.inspectFile(parseFileRef('r@master:/'))).hash).toBe(head);
    // the tree put's WAL setting does not outlive it, failed or not
    expect(store.core.db.pragma('wal_autocheckpoint', { simple: true })).toBe(walPages);
    await putDir(store, src, '/u');
    expect(store.core.db.pragma('wal_autocheckpoint', { simple: true })).toBe(walPages);
  });

  it('gets a tree back byte for byte with get -r, empty files included', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    const src = tree();
    makeTree(src, 4);
    await putDir(store, src, '/t');
    const out = path.join(tree(), 'out');
    const got = await store.getFile(parseFileRef('r@master:/t'), { output: out, recursive: true });
    const want = new Map<string, Buffer>();
    const read = (base: string, rel: string, into: Map<string, Buffer>) => {
      for (const e of fs.readdirSync(path.join(base, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) read(base, r, into);
        else into.set(r, fs.readFileSync(path.join(base, r)));
      }
    };
    read(src, '', want);
    const have = new Map<string, Buffer>();
    read(out, '', have);
    expect([...have.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, v] of want) expect(have.get(k)!.equals(v), k).toBe(true);
    expect(got.files).toBe(want.size);
    // a tree holds no empty directories: get -r makes none
    expect(fs.existsSync(path.join(out, 'empty'))).toBe(false);
  });
});

// Recorded with the per-file put (one path edit per file), before the tree was built directory by
// directory: a change in how pages are cut or encoded shows up here.
const GOLDEN = {
  tree1: '816d185ec7ef572a5dc4a550d0aef820b82522b76a2feaec5d2acb9782ab9c4a',
  wide1: 'd1ecc4f531289001b61ca6fb601da4464a368b10dc5d06f6daa31bcdf88a1a2b',
  tree2Edited: '9f8959bedc855eee64ed8baa9c4b327aac5cefda13fd2aa25e2e4042f8b88153',
};

describe('put -r memory', () => {
  it('batches read on this thread and on the worker, in whatever mix, build the tree a single thread builds', async () => {
    // 6,000 files = 24 batches: which thread reads each depends on timing (the main thread reads
    // one itself whenever the worker is two behind); the tree must not
    const src = tree();
    for (let d = 0; d < 30; d++) {
      fs.mkdirSync(path.join(src, `d${d}`));
      for (let f = 0; f < 200; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), seededBytes((d * 200 + f) % 3000, d * 1000 + f));
    }
    const hashes: string[] = [];
    for (const worker of ['1', '0']) {
      const before = process.env.TUSK_WORKER;
      process.env.TUSK_WORKER = worker;
      try {
        env?.cleanup();
        env = tempStore();
        await env.store.createRepo('r');
        expect((await putDir(env.store, src, '/t')).files).toBe(6000);
        hashes.push((await rootHash(env.store, '/t')));
      } finally {
        if (before === undefined) delete process.env.TUSK_WORKER;
        else process.env.TUSK_WORKER = before;
      }
    }
    expect(hashes[0]).toBe(hashes[1]);
  });

  it('holds a bounded number of rows whatever the file count: checkpoints record them as the walk goes', async () => {
    const { PackWriter } = await import('../../src/store/pack-writer.js');
    const { ReadArena, TreeIngest } = await import('../../src/store/local-tree.js');
    const { StagedPages } = await import('../../src/store/page-store.js');
    const { FileCache } = await import('../../src/store/file-cache.js');
    env = tempStore();
    const s = env.store.core;
    const src = tree();
    const files = 1500;
    for (let d = 0; d < 15; d++) {
      fs.mkdirSync(path.join(src, `d${d}`));
      for (let f = 0; f < files / 15; f++) fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), seededBytes(200 + f, d * 1000 + f));
    }
    await s.index.addWriter('t');
    const writer = new PackWriter(s.index, s.packs, 't');
    const bound = 200;
    let checkpoints = 0;
    const ingest: InstanceType<typeof TreeIngest> = new TreeIngest(s, {
      writer,
      arena: new ReadArena(writer),
      pages: new StagedPages(s.pages, s.reader),
      cache: new FileCache(s.db),
      base: null,
      onBytes: () => {},
      checkpointRows: bound,
      onCheckpoint: () => checkpoints++,
    });
    const ref = await ingest.ingest(src, '/');
    await writer.sync();
    await s.unitOfWork(async () => {
      await writer.record();
      await ingest.record(Date.now());
    });
    await writer.close(false);
    expect(ref!.files).toBe(files);
    // rows staged never exceed the bound by more than one batch (256 files, two rows each, and their pages)
    expect(ingest.peakStaged).toBeLessThan(bound + 3 * 256);
    expect(checkpoints).toBeGreaterThanOrEqual(Math.floor((2 * files) / (bound + 3 * 256)));
    // what the checkpoints recorded is the whole tree: every chunk is in the index
    expect(s.db.prepare('SELECT COUNT(*) FROM chunks').pluck().get()).toBe(files);
    // and the tree is the one a walk without checkpoints (nor the read-ahead before each) builds
    await s.index.addWriter('u');
    const again = new PackWriter(s.index, s.packs, 'u');
    const whole = await new TreeIngest(s, { writer: again, arena: new ReadArena(again), pages: new StagedPages(s.pages, s.reader), cache: null, base: null, onBytes: () => {} }).ingest(src, '/');
    await again.close(false);
    expect(whole!.id.equals(ref!.id)).toBe(true);
  });
});
