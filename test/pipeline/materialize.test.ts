// Laying out a datum's inputs: the first datum to need a content reads it from packs and links
// its file into the store-wide cache; later ones hard-link the cached copy.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatumFile } from '../../src/pipeline/datums.js';
import { CACHE_DIR, materializeDatum } from '../../src/pipeline/materialize.js';
import { parseFileRef } from '../../src/store/address.js';
import type { Store } from '../../src/store/store.js';
import { streamOf, tempStore } from '../helpers.js';

let env: ReturnType<typeof tempStore>;
afterEach(() => env?.cleanup());

async function fileInput(store: Store, repoPath: string, data: string): Promise<DatumFile> {
  await store.putFiles({ repo: 'in', branch: 'master' }, [{ kind: 'stream', stream: streamOf(data), repoPath }], {});
  const info = await store.inspectFile(parseFileRef(`in@master:${repoPath}`));
  return { name: 'in', repo: 'in', branch: 'master', commit: info.commit, path: repoPath, type: 'file', hash: info.hash, size: info.sizeBytes };
}

/** A CSV of several chunks (so that the chunks before the old end need not be read) and rows appended to it. */
function appendedCsv(): { base: Buffer; added: string } {
  return { base: Buffer.from(Array.from({ length: 60_000 }, (_, i) => `row ${i},${(i * 7919) % 1000}\n`).join('')), added: 'row new,1\nrow newer,2\n' };
}

describe('materializeDatum', () => {
  it('reads a content from packs once, then links the cached copy into every datum', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('in');
    const f = await fileInput(store, '/src/a.txt', 'row a\n');
    const cached = path.join(store.core.path, CACHE_DIR, f.hash.slice(0, 2), f.hash);
    const pfs = (n: number) => path.join(env.dir, `d${n}`, 'pfs');

    expect(await materializeDatum(store.handle, [f], pfs(1))).toBe(6);
    const first = path.join(pfs(1), 'in', 'src', 'a.txt');
    expect(fs.readFileSync(first, 'utf8')).toBe('row a\n');
    // the datum's file became the cache entry: read-only, one inode, no temporary left behind
    expect(fs.statSync(cached).ino).toBe(fs.statSync(first).ino);
    expect(fs.statSync(cached).mode & 0o777).toBe(0o444);
    expect(fs.readdirSync(path.dirname(cached))).toEqual([f.hash]);

    // the first datum's copy going away leaves the cache whole
    fs.rmSync(path.join(env.dir, 'd1'), { recursive: true });
    expect(await materializeDatum(store.handle, [f], pfs(2))).toBe(0);
    expect(fs.statSync(path.join(pfs(2), 'in', 'src', 'a.txt')).ino).toBe(fs.statSync(cached).ino);
  });

  it('lays a file only appended to out as the cached earlier copy plus the new bytes, read from packs', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('in');
    const { base, added } = appendedCsv();
    const before = await fileInput(store, '/e.csv', base.toString());
    const pfs = (n: number) => path.join(env.dir, `d${n}`, 'pfs');
    expect(await materializeDatum(store.handle, [before], pfs(1))).toBe(base.length);
    const now = await fileInput(store, '/e.csv', base.toString() + added);
    const prior = async (f: DatumFile) => (f.hash === now.hash ? { hash: before.hash, size: before.size } : undefined);
    expect(await materializeDatum(store.handle, [now], pfs(2), new Set(), true, prior)).toBe(Buffer.byteLength(added));
    const laid = path.join(pfs(2), 'in', 'e.csv');
    expect(fs.readFileSync(laid, 'utf8')).toBe(base.toString() + added);
    const cached = (h: string) => path.join(store.core.path, CACHE_DIR, h.slice(0, 2), h);
    expect(fs.statSync(cached(now.hash)).ino).toBe(fs.statSync(laid).ino);
    expect(fs.statSync(laid).mode & 0o777).toBe(0o444);
    expect(fs.readFileSync(cached(before.hash)).equals(base)).toBe(true);

    // an earlier copy that is not in the cache (or was written to): the whole content is read
    const again = await fileInput(store, '/e.csv', base.toString() + added + added);
    fs.chmodSync(cached(now.hash), 0o644);
    expect(await materializeDatum(store.handle, [again], pfs(3), new Set(), true, async () => ({ hash: now.hash, size: now.size }))).toBe(again.size);
    expect(fs.readFileSync(path.join(pfs(3), 'in', 'e.csv'), 'utf8')).toBe(base.toString() + added + added);
  });

  it('grows the earlier cached copy into the new one when no datum holds it: no copy of the earlier bytes', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('in');
    const { base, added } = appendedCsv();
    const before = await fileInput(store, '/e.csv', base.toString());
    const pfs = (n: number) => path.join(env.dir, `d${n}`, 'pfs');
    const cached = (h: string) => path.join(store.core.path, CACHE_DIR, h.slice(0, 2), h);
    await materializeDatum(store.handle, [before], pfs(1), new Set(), true);
    const earlier = fs.statSync(cached(before.hash)).ino;
    // the datum that had the earlier version laid out is gone: only the cache holds that file
    fs.rmSync(path.join(env.dir, 'd1'), { recursive: true });
    const now = await fileInput(store, '/e.csv', base.toString() + added);
    const prior = async (f: DatumFile) => (f.hash === now.hash ? { hash: before.hash, size: before.size } : undefined);
    expect(await materializeDatum(store.handle, [now], pfs(2), new Set(), true, prior)).toBe(Buffer.byteLength(added));
    const laid = path.join(pfs(2), 'in', 'e.csv');
    expect(fs.readFileSync(laid, 'utf8')).toBe(base.toString() + added);
    // the same inode, grown: the earlier version left the cache, no temporary name is left
    expect(fs.statSync(cached(now.hash)).ino).toBe(earlier);
    expect(fs.statSync(laid).ino).toBe(earlier);
    expect(fs.statSync(laid).mode & 0o777).toBe(0o444);
    expect(fs.existsSync(cached(before.hash))).toBe(false);
    expect(fs.readdirSync(path.dirname(cached(now.hash))).filter((n) => n.includes('.'))).toEqual([]);
    // a datum that copies its inputs (it may write them) gets a copy of the grown file
    const more = await fileInput(store, '/e.csv', base.toString() + added + added);
    fs.rmSync(path.join(env.dir, 'd2'), { recursive: true });
    expect(await materializeDatum(store.handle, [more], pfs(3), new Set(), false, async () => ({ hash: now.hash, size: now.size }))).toBe(Buffer.byteLength(added));
    expect(fs.readFileSync(path.join(pfs(3), 'in', 'e.csv'), 'utf8')).toBe(base.toString() + added + added);
    expect(fs.statSync(path.join(pfs(3), 'in', 'e.csv')).ino).not.toBe(fs.statSync(cached(more.hash)).ino);
    expect(fs.readFileSync(cached(more.hash), 'utf8')).toBe(base.toString() + added + added);
  });

  it('skips the mkdir of directories said to exist, and makes the others', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('in');
    const f = await fileInput(store, '/deep/er/b.txt', 'b\n');
    const pfs = path.join(env.dir, 'd', 'pfs');
    // said to exist but missing: the file cannot be placed, which shows the mkdir was skipped
    await expect(materializeDatum(store.handle, [f], pfs, new Set([path.join(pfs, 'in'), path.join(pfs, 'in', 'deep', 'er')]))).rejects.toThrow(/ENOENT/);
    expect(await materializeDatum(store.handle, [f], pfs)).toBe(2);
    expect(fs.readFileSync(path.join(pfs, 'in', 'deep', 'er', 'b.txt'), 'utf8')).toBe('b\n');
  });

  it('re-creates a cache entry someone made writable, from packs', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('in');
    const f = await fileInput(store, '/c.txt', 'original\n');
    const cached = path.join(store.core.path, CACHE_DIR, f.hash.slice(0, 2), f.hash);
    await materializeDatum(store.handle, [f], path.join(env.dir, 'd1', 'pfs'));
    fs.rmSync(path.join(env.dir, 'd1'), { recursive: true });
    fs.chmodSync(cached, 0o644);
    fs.writeFileSync(cached, 'tampered\n');

    expect(await materializeDatum(store.handle, [f], path.join(env.dir, 'd2', 'pfs'))).toBe(9);
    expect(fs.readFileSync(path.join(env.dir, 'd2', 'pfs', 'in', 'c.txt'), 'utf8')).toBe('original\n');
    expect(fs.readFileSync(cached, 'utf8')).toBe('original\n');
    expect(fs.statSync(cached).mode & 0o777).toBe(0o444);
  });
});
