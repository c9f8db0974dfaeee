// The store's cache of datum input files: one read-only file per content id, under
// `cache/<first two hex digits>/<id>`, read from packs once and hard-linked into every datum
// that needs it. Only transforms that cannot write their inputs get the links (a read-only
// /pfs, in-process readers); others get copies. `fsck --verify-data` hashes every cached file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHasher } from './hash.js';

export const INPUT_CACHE_DIR = 'cache';

/** Where the cached copy of a content lives. */
export function cachedInputFile(storeDir: string, id: string): string {
  return path.join(storeDir, INPUT_CACHE_DIR, id.slice(0, 2), id);
}

/** BLAKE3 of a file's bytes, hex, read a block at a time. */
function hashFile(file: string): string {
  const h = createHasher();
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest().toString('hex');
}

/**
 * Hash every cached input against its name. A copy that does not match (changed by something
 * that could write it) is removed, so the next datum reads the content from packs again, and is
 * reported through `onBad`. Returns how many files were checked.
 */
export function verifyInputCache(storeDir: string, onBad: (id: string, problem: string) => void): number {
  const root = path.join(storeDir, INPUT_CACHE_DIR);
  let checked = 0;
  let dirs: string[];
  try {
    dirs = fs.readdirSync(root);
  } catch {
    return 0;
  }
  for (const d of dirs.sort()) {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(root, d));
    } catch {
      continue;
    }
    for (const id of names.sort()) {
      const file = path.join(root, d, id);
      checked++;
      let actual: string;
      try {
        actual = hashFile(file);
      } catch (err) {
        onBad(id, `cannot be read: ${(err as Error).message}`);
        continue;
      }
      if (actual === id) continue;
      try {
        fs.rmSync(file, { force: true });
        onBad(id, 'its bytes do not match its content id (removed: the next datum that needs it reads it from packs)');
      } catch (err) {
        onBad(id, `its bytes do not match its content id, and it cannot be removed (${(err as Error).message}): remove ${file}`);
      }
    }
  }
  return checked;
}
