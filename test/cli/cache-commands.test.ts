// `tusk cache info` and `tusk cache clear` through the built CLI, on a store whose packs are
// local: the datum input cache is what they show and empty there (the pack cache is empty).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CacheCleared, CacheInfo } from '../../src/app/caches.js';
import { seededBytes } from '../helpers.js';
import { withStoreDir } from './cli-helpers.js';

describe('tusk cache', () => {
  it('info shows what the input cache holds and its bound; clear empties it and the store still reads', () =>
    withStoreDir(async (s) => {
      await s.json(['create', 'repo', 'in']);
      const data = seededBytes(50_000, 7);
      fs.writeFileSync(path.join(s.dir, 'a.bin'), data);
      await s.json(['put', 'file', 'in@master:/a.bin', '-f', path.join(s.dir, 'a.bin')]);
      fs.writeFileSync(
        path.join(s.dir, 'copy.json'),
        JSON.stringify({ pipeline: { name: 'copy' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'cp /pfs/in/* /pfs/out/'] } }),
      );
      await s.json(['create', 'pipeline', '-f', path.join(s.dir, 'copy.json'), '--wait']);

      const info = await s.json<CacheInfo>(['cache', 'info'], { env: { TUSK_INPUT_CACHE_MAX: '512M', TUSK_PACK_CACHE_MAX: '1G' } });
      expect(info.inputs).toMatchObject({ files: 1, bytes: data.length, maxBytes: 512 * 1024 ** 2 });
      expect(info.packs).toMatchObject({ blocks: 0, bytes: 0, maxBytes: 1024 ** 3 });
      const text = await s.tusk(['cache', 'info']);
      expect(text.code, text.describe()).toBe(0);
      expect(text.stdout).toMatch(/^inputs\t.*\t1 files\t/m);

      const cleared = await s.json<CacheCleared>(['cache', 'clear']);
      expect(cleared.inputs).toEqual({ files: 1, bytes: data.length });
      expect((await s.json<CacheInfo>(['cache', 'info'])).inputs).toMatchObject({ files: 0, bytes: 0 });
      const out = path.join(s.dir, 'out.bin');
      await s.json(['get', 'file', 'copy@master:/a.bin', '-o', out]);
      expect(fs.readFileSync(out).equals(data)).toBe(true);
    }));

  it('a bound that is not a size is a usage error naming the variable', () =>
    withStoreDir(async (s) => {
      const bad = await s.tusk(['cache', 'info', '--json'], { env: { TUSK_PACK_CACHE_MAX: 'lots' } });
      expect(bad.code, bad.describe()).toBe(2);
      expect(bad.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'E_INVALID', message: expect.stringContaining('TUSK_PACK_CACHE_MAX') });
    }));
});
