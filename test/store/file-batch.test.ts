// readFileBatch on its own: what each file of a batch comes back as, and the proof that a file
// held still while it was read (one read of the stat's size, then an fstat) catching one that did not.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CACHED_FIELDS, META_FIELDS, readFileBatch, ReadStatus } from '../../src/store/file-batch.js';
import { hashBytes, ID_BYTES } from '../../src/store/hash.js';
import { tempDir } from '../helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function batch(paths: string[], maxRead = 1 << 16, hashBelow = 1 << 15) {
  return readFileBatch({ paths, cached: new Float64Array(paths.length * CACHED_FIELDS).fill(NaN), maxRead, hashBelow }, null);
}

describe('readFileBatch', () => {
  it('reads each file whole, hashes the one-chunk ones, defers big ones and names failures', () => {
    const dir = tempDir();
    dirs.push(dir);
    const sizes = [0, 1, 4096, (1 << 15) - 1, 1 << 15, (1 << 16) + 1];
    const files = sizes.map((n, i) => {
      const f = path.join(dir, `f${i}`);
      fs.writeFileSync(f, Buffer.alloc(n, i + 1));
      return f;
    });
    const r = batch([...files, path.join(dir, 'missing'), dir]);
    const status = (i: number) => r.meta[i * META_FIELDS];
    const bytesOf = (i: number) => Buffer.from(r.buf, r.meta[i * META_FIELDS + 6]!, r.meta[i * META_FIELDS + 3]!);
    expect(sizes.map((_, i) => status(i))).toEqual([ReadStatus.Read, ReadStatus.Hashed, ReadStatus.Hashed, ReadStatus.Hashed, ReadStatus.Read, ReadStatus.Deferred]);
    for (let i = 0; i < 5; i++) expect(bytesOf(i).equals(fs.readFileSync(files[i]!))).toBe(true);
    for (const i of [1, 2, 3]) expect(Buffer.from(r.ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES)).equals(hashBytes(fs.readFileSync(files[i]!)))).toBe(true);
    expect(r.meta[5 * META_FIELDS + 3]).toBe((1 << 16) + 1);
    expect(status(6)).toBe(ReadStatus.Failed);
    expect(r.errors[6]?.code).toBe('ENOENT');
    expect(status(7)).toBe(ReadStatus.Failed);
    expect(r.errors[7]?.code).toBe('EISDIR');
  });

  it('reports a file holding more than its stat said as changed, not as a shorter file', () => {
    // /proc files stat as size 0 and read as more: what a file growing between the stat and
    // the read looks like
    const r = batch(['/proc/self/status']);
    expect(r.meta[0]).toBe(ReadStatus.Changed);
  });
});
