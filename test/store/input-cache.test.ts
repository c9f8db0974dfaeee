// The cache of datum inputs (`<store>/cache`) is bounded: gc drops the files of contents it
// deleted and stray temporary names, and trimming keeps at most TUSK_INPUT_CACHE_MAX bytes, the
// least recently used files going first. A job bounds it once it has ended.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatumFile } from '../../src/pipeline/datums.js';
import { CACHE_DIR, materializeDatum } from '../../src/pipeline/materialize.js';
import { parseFileRef } from '../../src/store/address.js';
import { INPUT_CACHE_MAX_BYTES, inputCacheLimit, trimInputCache } from '../../src/store/input-cache.js';
import type { Store } from '../../src/store/store.js';
import { seededBytes, streamOf, tempStore } from '../helpers.js';
import { withStoreDir } from '../cli/cli-helpers.js';

let env: ReturnType<typeof tempStore> | undefined;
afterEach(() => {
  env?.cleanup();
  env = undefined;
});

async function fileInput(store: Store, repoPath: string, data: Buffer): Promise<DatumFile> {
  await store.putFiles({ repo: 'in', branch: 'master' }, [{ kind: 'stream', stream: streamOf(data), repoPath }], {});
  const info = await store.inspectFile(parseFileRef(`in@master:${repoPath}`));
  return { name: 'in', repo: 'in', branch: 'master', commit: info.commit, path: repoPath, type: 'file', hash: info.hash, size: info.sizeBytes };
}

const cachedNames = (storeDir: string): string[] => {
  const root = path.join(storeDir, CACHE_DIR);
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).flatMap((d) => fs.readdirSync(path.join(root, d))).sort();
};

describe('bounding the cache of datum inputs', () => {
  it('drops the least recently used files first, down to the bound', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('in');
    const files = [];
    for (const [i, name] of ['a', 'b', 'c'].entries()) files.push(await fileInput(store, `/${name}`, seededBytes(10_000, i + 1)));
    for (const [i, f] of files.entries()) await materializeDatum(store.handle, [f], path.join(env.dir, `d${i}`, 'pfs'));
    expect(cachedNames(store.core.path)).toEqual(files.map((f) => f.hash).sort());
    // `a` was used last: its access time is after the others' change times
    const cachedA = path.join(store.core.path, CACHE_DIR, files[0]!.hash.slice(0, 2), files[0]!.hash);
    const later = new Date(Date.now() + 3600_000);
    fs.utimesSync(cachedA, later, fs.statSync(cachedA).mtime);

    const untouched = trimInputCache(store.core.path, { maxBytes: 30_000 });
    expect(untouched).toEqual({ filesRemoved: 0, bytesRemoved: 0, filesKept: 3, bytesKept: 30_000 });
    const trimmed = trimInputCache(store.core.path, { maxBytes: 15_000 });
    expect(trimmed).toEqual({ filesRemoved: 2, bytesRemoved: 20_000, filesKept: 1, bytesKept: 10_000 });
    expect(cachedNames(store.core.path)).toEqual([files[0]!.hash]);
    // a datum whose input left the cache reads it from packs again, and caches it again
    expect(await materializeDatum(store.handle, [files[1]!], path.join(env.dir, 'again', 'pfs'))).toBe(10_000);
    expect(fs.readFileSync(path.join(env.dir, 'again', 'pfs', 'in', 'b')).equals(seededBytes(10_000, 2))).toBe(true);
    expect(cachedNames(store.core.path)).toEqual([files[0]!.hash, files[1]!.hash].sort());
  });

  it('gc drops cached files whose content it deleted, and temporary names left for over an hour', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('in');
    await store.createRepo('keep');
    const gone = await fileInput(store, '/gone', seededBytes(20_000, 5));
    await store.putFiles({ repo: 'keep', branch: 'master' }, [{ kind: 'stream', stream: streamOf(seededBytes(30_000, 6)), repoPath: '/kept' }], {});
    const keptInfo = await store.inspectFile(parseFileRef('keep@master:/kept'));
    const kept: DatumFile = { name: 'keep', repo: 'keep', branch: 'master', commit: keptInfo.commit, path: '/kept', type: 'file', hash: keptInfo.hash, size: keptInfo.sizeBytes };
    await materializeDatum(store.handle, [gone, kept], path.join(env.dir, 'd', 'pfs'));
    const dir = path.join(store.core.path, CACHE_DIR, kept.hash.slice(0, 2));
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    fs.writeFileSync(path.join(dir, `${kept.hash}.123-abcd`), 'half a copy');
    fs.utimesSync(path.join(dir, `${kept.hash}.123-abcd`), hourAgo, hourAgo);
    fs.writeFileSync(path.join(dir, `${kept.hash}.456-ef01`), 'a copy being made now');
    expect(cachedNames(store.core.path)).toHaveLength(4);

    await store.deleteRepo('in');
    const rep = await store.gc();
    expect(rep.cacheFilesRemoved).toBe(2);
    expect(rep.cacheBytesRemoved).toBe(20_000 + 'half a copy'.length);
    expect(cachedNames(store.core.path)).toEqual([kept.hash, `${kept.hash}.456-ef01`]);
    expect((await store.gc()).cacheFilesRemoved).toBe(0);
  });

  it('reads its bound from TUSK_INPUT_CACHE_MAX, and refuses a value that is not a size', () => {
    expect(inputCacheLimit({})).toBe(INPUT_CACHE_MAX_BYTES);
    expect(inputCacheLimit({ TUSK_INPUT_CACHE_MAX: '0' })).toBe(0);
    expect(inputCacheLimit({ TUSK_INPUT_CACHE_MAX: '1500' })).toBe(1500);
    expect(inputCacheLimit({ TUSK_INPUT_CACHE_MAX: '512M' })).toBe(512 * 1024 ** 2);
    expect(inputCacheLimit({ TUSK_INPUT_CACHE_MAX: '2GiB' })).toBe(2 * 1024 ** 3);
    expect(() => inputCacheLimit({ TUSK_INPUT_CACHE_MAX: 'lots' })).toThrow(expect.objectContaining({ code: 'E_INVALID', message: expect.stringContaining('TUSK_INPUT_CACHE_MAX') }));
    expect(() => inputCacheLimit({ TUSK_INPUT_CACHE_MAX: '-1' })).toThrow(/not a size/);
  });

  it('a job leaves at most TUSK_INPUT_CACHE_MAX bytes cached; gc with a bad bound is a usage error', () =>
    withStoreDir(async (s) => {
      await s.json(['create', 'repo', 'in']);
      fs.writeFileSync(path.join(s.dir, 'a.bin'), seededBytes(50_000, 7));
      await s.json(['put', 'file', 'in@master:/a.bin', '-f', path.join(s.dir, 'a.bin')]);
      fs.writeFileSync(
        path.join(s.dir, 'copy.json'),
        JSON.stringify({ pipeline: { name: 'copy' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'cp /pfs/in/* /pfs/out/'] } }),
      );
      const store = path.join(s.dir, '.tusk');
      await s.json(['create', 'pipeline', '-f', path.join(s.dir, 'copy.json'), '--wait'], { env: { TUSK_INPUT_CACHE_MAX: '0' } });
      expect((await s.json<{ state: string }[]>(['list', 'job', '-p', 'copy']))[0]!.state).toBe('JOB_SUCCESS');
      expect(cachedNames(store)).toEqual([]);
      fs.writeFileSync(path.join(s.dir, 'b.bin'), seededBytes(60_000, 8));
      await s.json(['put', 'file', 'in@master:/b.bin', '-f', path.join(s.dir, 'b.bin'), '--wait']);
      expect(cachedNames(store)).toHaveLength(1);
      const bad = await s.tusk(['gc', '--json'], { env: { TUSK_INPUT_CACHE_MAX: 'lots' } });
      expect(bad.code, bad.describe()).toBe(2);
      expect(bad.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'E_INVALID', message: expect.stringContaining('TUSK_INPUT_CACHE_MAX') });
      expect(cachedNames(store)).toHaveLength(1);
    }));
});
