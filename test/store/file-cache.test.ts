// The local file cache, a directory at a time: segments per directory in a real meta.db, newer
// ones overriding older ones, dropped once a walk has covered the whole directory, merged when
// single-file updates gather too many.
import { describe, expect, it } from 'vitest';
import { FileCache, type LocalStat } from '../../src/store/file-cache.js';
import type { ContentId } from '../../src/store/hash.js';
import { tempStores } from '../helpers.js';

const store = tempStores();
const db = () => store().core.db;

const T0 = 1_700_000_000_000.25;
const READ = T0 + 10_000; // read well after the files last changed
const stat = (ino: number, size = 100): LocalStat => ({ dev: 2049, ino, size, mtime: T0, ctime: T0 + 0.5 });
const id = (n: number) => Buffer.alloc(32, n) as ContentId;
const segments = (d: ReturnType<typeof db>, dir: string) => d.prepare('SELECT count(*) FROM file_cache WHERE dir = ?').pluck().get(dir) as number;

describe('file cache', () => {
  it('remembers content ids by directory and finds them only for the same file state', () => {
    const d = db();
    const cache = new FileCache(d);
    cache.record(
      [
        { path: '/data/a/one.txt', stat: stat(1), id: id(1) },
        { path: '/data/a/two.txt', stat: stat(2), id: id(2) },
        { path: '/data/b/ünï cödé.txt', stat: stat(3), id: id(3) },
      ],
      READ,
    );
    expect(segments(d, '/data/a')).toBe(1);
    const again = new FileCache(d); // a new command reads what the last one wrote
    expect(again.lookup('/data/a/one.txt', stat(1))).toEqual(id(1));
    expect(again.lookup('/data/a/two.txt', stat(2))).toEqual(id(2));
    expect(again.lookup('/data/b/ünï cödé.txt', stat(3))).toEqual(id(3));
    // any field that differs is a miss: the file may have changed
    expect(again.lookup('/data/a/one.txt', { ...stat(1), size: 101 })).toBeUndefined();
    expect(again.lookup('/data/a/one.txt', { ...stat(1), mtime: T0 + 1 })).toBeUndefined();
    expect(again.lookup('/data/a/one.txt', { ...stat(1), ctime: T0 + 1 })).toBeUndefined();
    expect(again.lookup('/data/a/one.txt', { ...stat(1), ino: 9 })).toBeUndefined();
    expect(again.lookup('/data/a/one.txt', { ...stat(1), dev: 1 })).toBeUndefined();
    expect(again.lookup('/data/a/three.txt', stat(1))).toBeUndefined();
    expect(again.lookup('/data/c/one.txt', stat(1))).toBeUndefined();
    const { rows, seq } = again.childrenOf('/data/a');
    expect([...rows.keys()].sort()).toEqual(['one.txt', 'two.txt']);
    expect(seq).toBe(1);
  });

  it('does not remember a file that changed within 2 s of being read (git’s racy rule), per file when told when', () => {
    const d = db();
    const cache = new FileCache(d);
    cache.record([{ path: '/data/new.txt', stat: stat(1), id: id(1) }], T0 + 1500);
    expect(segments(d, '/data')).toBe(0);
    cache.record(
      [
        { path: '/data/a.txt', stat: stat(1), id: id(1), readAt: T0 + 1999 },
        { path: '/data/b.txt', stat: stat(2), id: id(2), readAt: T0 + 2001 },
      ],
      READ,
    );
    const fresh = new FileCache(d);
    expect(fresh.lookup('/data/a.txt', stat(1))).toBeUndefined();
    expect(fresh.lookup('/data/b.txt', stat(2))).toEqual(id(2));
  });

  it('a newer segment overrides an older one name by name; a complete walk drops what came before it', () => {
    const d = db();
    const cache = new FileCache(d);
    cache.record([{ path: '/t/a', stat: stat(1), id: id(1) }, { path: '/t/gone', stat: stat(2), id: id(2) }], READ);
    cache.record([{ path: '/t/a', stat: stat(1, 200), id: id(7) }], READ);
    let dir = new FileCache(d).childrenOf('/t');
    expect(dir.seq).toBe(2);
    expect(dir.rows.get('a')!.content).toEqual(id(7));
    expect(dir.rows.has('gone')).toBe(true);
    // a put -r that walked all of /t (it saw only `a`) records its rows and drops segments ≤ 2
    cache.record([{ path: '/t/a', stat: stat(1, 300), id: id(8) }], READ, [{ dir: '/t', upTo: dir.seq }]);
    dir = new FileCache(d).childrenOf('/t');
    expect([...dir.rows.keys()]).toEqual(['a']);
    expect(dir.rows.get('a')!.content).toEqual(id(8));
    expect(segments(d, '/t')).toBe(1);
  });

  it('merges a directory’s segments once single-file updates gather more than 8', () => {
    const d = db();
    const cache = new FileCache(d);
    for (let i = 0; i < 20; i++) cache.record([{ path: `/many/f${i % 12}`, stat: stat(i), id: id(i) }], READ);
    expect(segments(d, '/many')).toBeLessThanOrEqual(8);
    const fresh = new FileCache(d);
    for (let i = 8; i < 20; i++) expect(fresh.lookup(`/many/f${i % 12}`, stat(i)), `f${i % 12}`).toEqual(id(i));
    expect(fresh.lookup('/many/f0', stat(0))).toBeUndefined(); // overridden by i = 12
  });

  it('a damaged or unknown segment is read as far as it is whole, never thrown on', () => {
    const d = db();
    const cache = new FileCache(d);
    cache.record([{ path: '/x/a', stat: stat(1), id: id(1) }, { path: '/x/b', stat: stat(2), id: id(2) }], READ);
    const blob = d.prepare('SELECT entries FROM file_cache WHERE dir = ?').pluck().get('/x') as Buffer;
    d.prepare('UPDATE file_cache SET entries = ? WHERE dir = ?').run(blob.subarray(0, blob.length - 5), '/x');
    expect([...new FileCache(d).childrenOf('/x').rows.keys()]).toEqual(['a']);
    d.prepare('UPDATE file_cache SET entries = ? WHERE dir = ?').run(Buffer.from([99, 1, 2, 3]), '/x');
    expect(new FileCache(d).childrenOf('/x').rows.size).toBe(0);
  });
});

describe('file cache rows read in place (put -r)', () => {
  it('gives each name its newest row across segments, as childrenOf does', () => {
    const d = db();
    const cache = new FileCache(d);
    cache.record([{ path: '/p/a', stat: stat(1), id: id(1) }, { path: '/p/b', stat: stat(2), id: id(2) }, { path: '/p/ü', stat: stat(3), id: id(3) }], READ);
    cache.record([{ path: '/p/b', stat: stat(4, 250), id: id(9) }], READ);
    const rows = new FileCache(d).rowsOf('/p');
    const old = new FileCache(d).childrenOf('/p');
    expect(rows.seq).toBe(old.seq);
    expect(rows.names).toBe(3);
    for (const [name, row] of old.rows) {
      const h = rows.find(name);
      expect(h, name).toBeGreaterThanOrEqual(0);
      expect(rows.stat(h)).toEqual({ dev: row.dev, ino: row.ino, size: row.size, mtime: row.mtime, ctime: row.ctime });
      expect(rows.bytes(h)).toBe(row.size);
      expect(rows.content(h)).toEqual(row.content);
      expect(rows.contentIs(h, row.content)).toBe(true);
      const fields = new Float64Array(6).fill(NaN);
      rows.statInto(h, fields, 1);
      expect([...fields]).toEqual([NaN, row.dev, row.ino, row.size, row.mtime, row.ctime]);
    }
    expect(rows.contentIs(rows.find('b'), id(2))).toBe(false); // overridden
    expect(rows.contentIs(rows.find('b'), id(9).subarray(0, 31))).toBe(false);
    expect(rows.find('c')).toBe(-1);
    expect(new FileCache(d).rowsOf('/nothing').names).toBe(0);
  });

  it('reads a damaged segment as far as it is whole, and the segments after it whole', () => {
    const d = db();
    const cache = new FileCache(d);
    cache.record([{ path: '/q/a', stat: stat(1), id: id(1) }, { path: '/q/b', stat: stat(2), id: id(2) }], READ);
    cache.record([{ path: '/q/c', stat: stat(3), id: id(3) }], READ);
    const first = d.prepare('SELECT entries FROM file_cache WHERE dir = ? AND seq = 1').pluck().get('/q') as Buffer;
    d.prepare('UPDATE file_cache SET entries = ? WHERE dir = ? AND seq = 1').run(first.subarray(0, first.length - 5), '/q');
    let rows = new FileCache(d).rowsOf('/q');
    expect(['a', 'b', 'c'].map((n) => rows.find(n) >= 0)).toEqual([true, false, true]);
    expect(rows.contentIs(rows.find('c'), id(3))).toBe(true);
    d.prepare('UPDATE file_cache SET entries = ? WHERE dir = ? AND seq = 1').run(Buffer.from([99, 1, 2, 3]), '/q');
    rows = new FileCache(d).rowsOf('/q');
    expect(rows.names).toBe(1);
    expect(rows.stat(rows.find('c'))).toEqual(stat(3));
  });
});

describe("file cache shared by processes (a team store's cache.db)", () => {
  it('picks the next segment number under the write lock: a record waiting on another process’s write lands after it, not on its number', async () => {
    const { spawn } = await import('node:child_process');
    const { createRequire } = await import('node:module');
    const path = await import('node:path');
    const { tempDir } = await import('../helpers.js');
    const { openCacheDb } = await import('../../src/store/meta-db.js');
    const file = path.join(tempDir('tusk-fc-'), 'cache.db');
    const d = openCacheDb(file);
    try {
      const cache = new FileCache(d);
      // another process takes the write lock, adds the directory's next segment, and commits a
      // moment later: until then only the committed state (no segment) is visible here
      const holder = spawn(
        process.execPath,
        [
          '-e',
          `const D = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
           const db = new D(${JSON.stringify(file)});
           db.exec('BEGIN IMMEDIATE');
           db.prepare('INSERT INTO file_cache (dir, seq, entries) VALUES (?, 1, ?)').run('/data/a', Buffer.alloc(0));
           process.stdout.write('held\\n');
           setTimeout(() => { db.exec('COMMIT'); db.close(); }, 300);`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`the lock holder exited ${code} before taking the lock`)));
      });
      // waits for the lock (busy timeout), then numbers its segment after the other's
      cache.record([{ path: '/data/a/one.txt', stat: stat(1), id: id(1) }], READ);
      expect(d.prepare('SELECT seq FROM file_cache WHERE dir = ? ORDER BY seq').pluck().all('/data/a')).toEqual([1, 2]);
      await new Promise((r) => holder.once('close', r));
    } finally {
      d.close();
    }
  });
});
