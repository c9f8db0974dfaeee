// readFileBatch on its own: what each file of a batch comes back as, and the proof that a file
// held still while it was read (one read of the stat's size, then an fstat) catching one that did not.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { CACHED_FIELDS, META_FIELDS, readFileBatch, readFileBatchJs, ReadStatus, type ReadRequest } from '../../src/store/file-batch.js';
import { hasNativeCopy, nativeReadBatch } from '../../src/store/native-io.js';
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

describe.runIf(hasNativeCopy())("the addon's batch reader (native-io.ts)", () => {
  it('returns what the JavaScript loop returns: statuses, stats, bytes, ids and errors', () => {
    const dir = tempDir();
    dirs.push(dir);
    const paths: string[] = [];
    // enough files to outgrow a 1 MiB buffer, of sizes around the hash and read limits
    for (let i = 0; i < 300; i++) {
      const f = path.join(dir, `f${i}`);
      fs.writeFileSync(f, Buffer.alloc([0, 1, 4095, 9000, (1 << 15) - 1, 1 << 15, (1 << 16) + 1][i % 7]!, i));
      paths.push(f);
    }
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    paths.push(path.join(dir, 'missing'), dir, fifo, path.join(dir, 'f1', 'under-a-file'), `${dir}/${'x'.repeat(5000)}`);
    const cached = new Float64Array(paths.length * CACHED_FIELDS).fill(NaN);
    // a stat that matches (not read), one that does not (read), and one for a missing file
    const setCached = (i: number, st: fs.Stats) => cached.set([st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs], i * CACHED_FIELDS);
    setCached(2, fs.statSync(paths[2]!));
    const st3 = fs.statSync(paths[3]!);
    setCached(3, { ...st3, mtimeMs: st3.mtimeMs + 1 } as fs.Stats);
    setCached(300, st3);
    const req: ReadRequest = { paths, cached, maxRead: 1 << 16, hashBelow: 1 << 15 };
    for (const spare of [null, new ArrayBuffer(4096)]) {
      const js = readFileBatchJs(req, spare && spare.slice(0));
      const c = nativeReadBatch(req, spare && spare.slice(0))!;
      expect(Array.from(c.meta.filter((_, k) => k % META_FIELDS !== 6))).toEqual(Array.from(js.meta.filter((_, k) => k % META_FIELDS !== 6)));
      expect(Buffer.from(c.ids).equals(Buffer.from(js.ids))).toBe(true);
      expect(c.errors).toEqual(js.errors);
      for (let i = 0; i < paths.length; i++) {
        const m = i * META_FIELDS;
        if (c.meta[m] !== ReadStatus.Read && c.meta[m] !== ReadStatus.Hashed) continue;
        const at = (r: typeof c) => Buffer.from(r.buf, r.meta[m + 6]!, r.meta[m + 3]!);
        expect(at(c).equals(at(js)), paths[i]).toBe(true);
      }
      expect(c.meta[2 * META_FIELDS]).toBe(ReadStatus.Cached);
      expect(c.meta[3 * META_FIELDS]).toBe(ReadStatus.Hashed);
      expect(c.errors.slice(300).map((e) => e?.code)).toEqual(['ENOENT', 'EISDIR', 'EINVAL', 'ENOTDIR', 'ENAMETOOLONG']);
    }
  });
});
