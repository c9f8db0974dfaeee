// The local cache of pack blocks (src/store/pack-cache.ts): bounded by bytes, least recently
// used first out, whole files only, and shared safely by two processes writing and reading it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PackCache, packCacheLimit, PACK_CACHE_MAX_BYTES } from '../../src/store/pack-cache.js';
import { tempDir } from '../helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function cacheDir(): string {
  const d = tempDir('tusk-pack-cache-');
  dirs.push(d);
  return path.join(d, 'pack-cache');
}

const files = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : []);

describe('the pack block cache', () => {
  it('evicts the least recently used blocks once over its bound; a read makes a block recent', () => {
    const dir = cacheDir();
    const cache = new PackCache(dir, 2500);
    const old = new Date(Date.now() - 60_000);
    for (const [i, name] of ['aa11', 'bb22'].entries()) {
      cache.write(name, '0', Buffer.alloc(1000, i));
      fs.utimesSync(path.join(dir, name.slice(0, 2), `${name}.0`), old, new Date(old.getTime() + i * 1000));
    }
    expect(cache.read('aa11', '0')!.equals(Buffer.alloc(1000, 0))).toBe(true);
    cache.write('cc33', '0', Buffer.alloc(1000, 2));
    expect(cache.read('bb22', '0')).toBeUndefined();
    expect(cache.read('aa11', '0')).toBeDefined();
    expect(cache.read('cc33', '0')).toBeDefined();
    expect(cache.scan()).toEqual({ bytes: 2000, entries: 2 });
    // an entry bigger than the bound is not kept, and a bound of 0 keeps nothing
    cache.write('dd44', '0', Buffer.alloc(3000));
    expect(cache.read('dd44', '0')).toBeUndefined();
    new PackCache(dir, 0).write('ee55', '0', Buffer.alloc(10));
    expect(cache.read('ee55', '0')).toBeUndefined();
  });

  it('counts hits and misses across opens; clear empties it', () => {
    const dir = cacheDir();
    const a = new PackCache(dir, 1 << 20);
    a.write('aa11', '3', Buffer.from('x'));
    a.read('aa11', '3');
    a.read('aa11', '4');
    a.saveStats();
    const b = new PackCache(dir, 1 << 20);
    b.read('aa11', '3');
    expect(b.info()).toMatchObject({ entries: 1, bytes: 1, hits: 2, misses: 1 });
    expect(b.clear()).toEqual({ bytes: 1, entries: 1 });
    expect(b.info()).toMatchObject({ entries: 0, bytes: 0, hits: 0, misses: 0 });
  });

  it('reads its bound from TUSK_PACK_CACHE_MAX, and refuses a value that is not a size', () => {
    expect(packCacheLimit({})).toBe(PACK_CACHE_MAX_BYTES);
    expect(packCacheLimit({ TUSK_PACK_CACHE_MAX: '64M' })).toBe(64 * 1024 ** 2);
    expect(() => packCacheLimit({ TUSK_PACK_CACHE_MAX: 'lots' })).toThrow(expect.objectContaining({ code: 'E_INVALID', message: expect.stringContaining('TUSK_PACK_CACHE_MAX') }));
  });

  it('two processes writing, reading and evicting at once: every read is whole or a miss, and the bound holds', async () => {
    const dir = cacheDir();
    const entry = 64 * 1024;
    const bound = 20 * entry;
    const script = path.join(path.dirname(dir), 'worker.mjs');
    // each entry's bytes are a function of its name: a torn or mixed-up read shows
    fs.writeFileSync(
      script,
      `import { PackCache } from ${JSON.stringify(path.join(root, 'dist/store/pack-cache.js'))};
       const [dir, bound, size, seed] = process.argv.slice(2);
       const cache = new PackCache(dir, Number(bound));
       const bytesOf = (k) => Buffer.alloc(Number(size), k % 251);
       let hits = 0;
       for (let i = 0; i < 400; i++) {
         const k = (i * 7 + Number(seed)) % 60;
         const got = cache.read('ab' + String(k).padStart(4, '0'), '0');
         if (got) {
           if (!got.equals(bytesOf(k))) { console.error('torn read of', k); process.exit(1); }
           hits++;
         } else cache.write('ab' + String(k).padStart(4, '0'), '0', bytesOf(k));
       }
       console.log(hits);`,
    );
    const run = (seed: number) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const p = spawn(process.execPath, [script, dir, String(bound), String(entry), String(seed)]);
        let err = '';
        p.stderr.on('data', (d: Buffer) => (err += d.toString()));
        p.on('close', (code) => resolve({ code, err }));
      });
    const results = await Promise.all([run(0), run(3)]);
    for (const r of results) expect(r.code, r.err).toBe(0);
    const left = files(dir);
    expect(left.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const bytes = left.reduce((t, f) => t + fs.statSync(path.join(dir, f)).size, 0);
    // each process trims after its own writes; the other's last writes may land during that trim
    expect(bytes).toBeLessThanOrEqual(bound + 2 * entry);
  });
});
