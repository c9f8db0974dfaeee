// A re-put reuses the base commit's unchanged pages and trusts the file cache; what it commits
// must still be exactly what a put from scratch of the same files gives: the same root id after
// edits in many directories, files removed locally (kept in the commit, as put -r overlays), a
// file replaced by a directory and back, a mode change, files changed too recently for the cache
// to trust, and a cached file the commit holds with other content.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import type { Store } from '../../src/store/store.js';
import { seededBytes, tempDir, tempStore } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function dir(): string {
  const d = tempDir('tusk-reput-');
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function store(): Store {
  const env = tempStore();
  cleanups.push(env.cleanup);
  return env.store;
}

const putDir = (s: Store, local: string) => s.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'local', localPath: local, repoPath: '/t', recursive: true }]);
const treeHash = async (s: Store) => (await s.inspectFile(parseFileRef('r@master:/t'))).hash;

/** The root a fresh store gives for the files under `local`: no base commit, no file cache. */
async function scratchHash(local: string): Promise<string> {
  const s = store();
  await s.createRepo('r');
  await putDir(s, local);
  return treeHash(s);
}

/** `dirs` directories of 140 files (a few leaf pages each), one of `wide`, and a nested one. */
function makeTree(root: string, dirs: number, wide: number): number {
  let n = 0;
  const write = (rel: string, size: number) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), seededBytes(size, ++n));
  };
  for (let d = 0; d < dirs; d++) for (let f = 0; f < 140; f++) write(`d${String(d).padStart(2, '0')}/f${String(f).padStart(4, '0')}`, 1 + ((d * 131 + f * 17) % 300));
  for (let f = 0; f < wide; f++) write(`wide/w${String(f).padStart(5, '0')}`, 1 + (f % 50));
  write('deep/a/b/c.txt', 12);
  return n;
}

/** Write `rel` under both the work tree and the mirror of what the commit should hold. */
function both(src: string, want: string, fn: (root: string) => void): void {
  fn(src);
  fn(want);
}

describe('re-put against the base commit', () => {
  it('commits the root a put from scratch gives, whatever changed since', async () => {
    const s = store();
    await s.createRepo('r');
    const src = dir();
    const want = dir(); // what /t must hold: put -r lays the work tree over what the commit has
    const files = makeTree(src, 8, 500);
    fs.cpSync(src, want, { recursive: true });
    // the file cache trusts only files changed more than 2 s before they were read
    await new Promise((r) => setTimeout(r, 2100));
    await putDir(s, src);
    expect(await treeHash(s)).toBe(await scratchHash(want));

    // edits in many directories (one file each, a few sizes kept), new files in the middle and at the ends
    both(src, want, (root) => {
      for (let d = 0; d < 8; d++) fs.writeFileSync(path.join(root, `d${String(d).padStart(2, '0')}/f${String(d * 6).padStart(4, '0')}`), `edit ${d}`);
      fs.writeFileSync(path.join(root, 'wide/w00300'), seededBytes(1 + (300 % 50), 999)); // same size
      fs.writeFileSync(path.join(root, 'wide/w00300x'), 'between');
      fs.writeFileSync(path.join(root, 'wide/a-first'), 'first');
      fs.writeFileSync(path.join(root, 'wide/z-last'), 'last');
      fs.writeFileSync(path.join(root, 'deep/a/b/new.txt'), 'new');
    });
    let r = await putDir(s, src);
    expect(r.files).toBe(files + 4);
    expect(r.cachedFiles).toBe(files - 9); // only what changed was read
    expect(await treeHash(s)).toBe(await scratchHash(want));

    // files and a directory removed from the work tree stay in the commit; a mode change is no change
    fs.rmSync(path.join(src, 'd05/f0010'));
    fs.rmSync(path.join(src, 'wide/w00000'));
    fs.rmSync(path.join(src, 'wide/w00499'));
    fs.rmSync(path.join(src, 'd07'), { recursive: true });
    fs.chmodSync(path.join(src, 'd06/f0001'), 0o755);
    fs.chmodSync(path.join(want, 'd06/f0001'), 0o755);
    const before = await treeHash(s);
    r = await putDir(s, src);
    expect(await treeHash(s)).toBe(before);
    expect(await treeHash(s)).toBe(await scratchHash(want));

    // a file replaced by a directory (the commit's file removed first: put -r alone refuses the
    // collision), then the directory by a file again
    const swap = async (make: (root: string) => void) => {
      await s.deleteFiles(parseFileRef('r@master:/t/d03/f0005'), { recursive: true });
      both(src, want, (root) => {
        fs.rmSync(path.join(root, 'd03/f0005'), { recursive: true });
        make(root);
      });
      await putDir(s, src);
      expect(await treeHash(s)).toBe(await scratchHash(want));
    };
    await swap((root) => {
      fs.mkdirSync(path.join(root, 'd03/f0005'));
      fs.writeFileSync(path.join(root, 'd03/f0005/inner.txt'), 'inside');
    });
    await swap((root) => fs.writeFileSync(path.join(root, 'd03/f0005'), 'a file again'));
  });

  it('takes an unchanged file from the cache, not from the commit, where the commit holds other content at its path', async () => {
    const s = store();
    await s.createRepo('r');
    const src = dir();
    const files = makeTree(src, 2, 0);
    await new Promise((r) => setTimeout(r, 2100));
    await putDir(s, src);
    // the commit's file is replaced from elsewhere (same size, other bytes): the work tree's file,
    // and the cache's row for it, are as they were
    const other = path.join(dir(), 'other');
    const { size } = fs.statSync(path.join(src, 'd01/f0007'));
    fs.writeFileSync(other, seededBytes(size, 777));
    await s.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'local', localPath: other, repoPath: '/t/d01/f0007', recursive: false }]);
    expect(await treeHash(s)).not.toBe(await scratchHash(src));
    // the cached id is still stored, so nothing is read; what is committed is the work tree's file
    const r = await putDir(s, src);
    expect(r.cachedFiles).toBe(files);
    expect(await treeHash(s)).toBe(await scratchHash(src));
  });

  it('reads again a file changed too recently for the cache to trust it (git’s racily clean rule)', async () => {
    const s = store();
    await s.createRepo('r');
    const src = dir();
    const files = makeTree(src, 2, 0);
    await new Promise((r) => setTimeout(r, 2100));
    await putDir(s, src);
    // rewritten with the same size and its old mtime put back: a file system with coarse
    // timestamps would show no change of mtime or size at all
    const f = path.join(src, 'd01/f0100');
    const { atime, mtime, size } = fs.statSync(f);
    fs.writeFileSync(f, seededBytes(size, 4242));
    fs.utimesSync(f, atime, mtime);
    let r = await putDir(s, src);
    expect(r.cachedFiles).toBe(files - 1);
    // read within the same 2 s it was written: not remembered, so the next put, with nothing
    // changed at all, reads it once more rather than trust a stat it cannot tell from a later edit
    r = await putDir(s, src);
    expect(r.cachedFiles).toBe(files - 1);
    // and what it committed is the new content
    expect(await treeHash(s)).toBe(await scratchHash(src));
  });
});
