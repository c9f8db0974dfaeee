// Laying a datum's input files out on disk under `<scratch>/pfs/<input name>/<path>`.
// Each content is read from packs (and verified) once into a store-wide cache, then hard-linked
// into every datum that needs it: 10,000 datums sharing a reference file read it once.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readContent } from '../store/content-io.js';
import { walkFiles } from '../store/file-tree.js';
import { EMPTY_CONTENT_ID, fromHex, type ContentId, type NodeId } from '../store/hash.js';
import type { StoreCore } from '../store/store-core.js';
import type { DatumFile } from './datums.js';

export const CACHE_DIR = 'cache';

/** Path of a cached, read-only copy of a content, writing it first if missing. */
function cachedContent(s: StoreCore, id: string, describe: string): { file: string; fresh: number } {
  const file = path.join(s.path, CACHE_DIR, id.slice(0, 2), id);
  try {
    const st = fs.statSync(file);
    // a cache file someone wrote to (its mode lets root do it) is not trusted: re-create it
    if ((st.mode & 0o222) === 0) return { file, fresh: 0 };
    fs.rmSync(file, { force: true });
  } catch {
    // not cached yet
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'w', 0o444);
  let bytes = 0;
  try {
    const cid = fromHex(id) as ContentId;
    if (!cid.equals(EMPTY_CONTENT_ID))
      for (const b of readContent(s.index, s.packs, cid, { describe: () => describe })) {
        let off = 0;
        while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
        bytes += b.length;
      }
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  return { file, fresh: bytes };
}

function place(s: StoreCore, f: { repo: string; commit: string; path: string; hash: string; empty: boolean }, target: string): number {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (f.empty) {
    fs.writeFileSync(target, '');
    return 0;
  }
  const { file, fresh } = cachedContent(s, f.hash, `file ${f.path} in ${f.repo}@${f.commit}`);
  try {
    fs.linkSync(file, target);
  } catch {
    // another filesystem or no hard links: copy (still from the cache, never from packs again)
    fs.copyFileSync(file, target);
  }
  return fresh;
}

/** Materialize every input file of a datum below `pfsDir`. Returns bytes read from packs. */
export function materializeDatum(s: StoreCore, files: readonly DatumFile[], pfsDir: string): number {
  let downloaded = 0;
  for (const f of files) {
    const base = path.join(pfsDir, f.name);
    fs.mkdirSync(base, { recursive: true });
    if (f.type === 'file') {
      downloaded += place(s, { ...f, empty: !!f.emptyFiles }, path.join(base, f.path));
      continue;
    }
    const commit = s.graph.getCommit(f.repo, f.commit);
    if (!commit?.root) continue;
    fs.mkdirSync(path.join(base, f.path), { recursive: true });
    for (const pe of walkFiles(s.reader, commit.root as NodeId, f.path))
      downloaded += place(s, { repo: f.repo, commit: f.commit, path: pe.path, hash: pe.entry.id.toString('hex'), empty: !!f.emptyFiles }, path.join(base, pe.path));
  }
  return downloaded;
}
