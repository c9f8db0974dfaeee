// A local directory against a commit: what differs (`tusk status`) and making it equal
// (`tusk checkout`). Local files are identified by content id (BLAKE3 of the bytes, the same id
// the store uses), taken from the store's file cache when (dev, inode, size, mtime, ctime) are
// unchanged, so an unchanged tree costs one stat per file and no reads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConflictError, InvalidArgumentError, NotFoundError, localFileError } from '../errors.js';
import type { CommitRecord } from '../store/commit-graph.js';
import { createHasher, EMPTY_CONTENT_ID, type ContentId, type NodeId } from '../store/hash.js';
import { cleanPath } from '../store/paths.js';
import { commitLabel, type Entry, type StoreHandle } from '../store/store-handle.js';
import { isWithin, realLocation } from './config.js';
import { scanDir, type ScannedFile } from './local-scan.js';

const READ_BLOCK = 1 << 20;

export type ChangeKind = 'modified' | 'added' | 'deleted';

/** One path that differs: `added` is only local, `deleted` only in the commit. */
export interface WorktreeChange {
  /** relative to the compared directory, `/`-separated */
  path: string;
  change: ChangeKind;
}

/** A local directory compared with a directory of a commit. */
export interface Comparison {
  /** sorted by path */
  changes: WorktreeChange[];
  /** the local directory exists */
  exists: boolean;
  /** local files looked at */
  scanned: number;
  /** local files read and hashed (not answered by the file cache) */
  hashed: number;
  /** the local files, in walk order */
  files: ScannedFile[];
  /** the commit's files below the compared path, by relative path */
  remote: Map<string, Entry>;
  /** content id of a local file (hashing it, or from the cache) */
  idOf(rel: string): ContentId;
}

/** The root of `c` and the directory `repoPath` in it (null = nothing there). */
async function remoteFiles(s: StoreHandle, c: CommitRecord, repoPath: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const root = c.root as NodeId | null;
  if (!root) return out;
  const top = await s.lookupPath(root, repoPath);
  if (!top) {
    if (repoPath === '/') return out;
    throw new NotFoundError('file', repoPath, `${repoPath} not found in ${commitLabel(c)}`);
  }
  if (top.kind === 'file') throw new InvalidArgumentError(`${repoPath} in ${commitLabel(c)} is a file, not a directory`, 'check out its directory, or use `tusk get file`');
  const prefix = repoPath === '/' ? 1 : repoPath.length + 1;
  for await (const batch of s.walkFiles(root, repoPath)) for (const pe of batch) out.set(pe.path.slice(prefix), pe.entry);
  return out;
}

function hashLocal(file: string): { id: ContentId; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw localFileError(err, file);
  }
  try {
    const h = createHasher();
    const buf = Buffer.allocUnsafe(READ_BLOCK);
    let size = 0;
    for (let n; (n = fs.readSync(fd, buf, 0, READ_BLOCK, null)) > 0; ) {
      h.update(buf.subarray(0, n));
      size += n;
    }
    return { id: (size === 0 ? EMPTY_CONTENT_ID : h.digest()) as ContentId, size };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Compare local `dir` with `repoPath` of commit `c`. Files of equal size are compared by content
 * id; ids computed here are remembered in the store's file cache (the one `put file` uses), so
 * the next status or put does not read them again.
 */
export async function compareDir(s: StoreHandle, dir: string, c: CommitRecord, repoPath: string): Promise<Comparison> {
  const abs = path.resolve(dir);
  const st = fs.statSync(abs, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new InvalidArgumentError(`${dir} is not a directory`, 'give a directory to compare with');
  const remote = await remoteFiles(s, c, cleanPath(repoPath));
  const { files, exists } = scanDir(abs);
  const cache = s.fileCache();
  const byRel = new Map<string, ScannedFile>();
  for (const f of files) byRel.set(f.rel, f);
  const ids = new Map<string, ContentId>();
  const fresh: { key: string; f: ScannedFile; id: ContentId; readAt: number }[] = [];
  let hashed = 0;
  const idOf = (rel: string): ContentId => {
    const known = ids.get(rel);
    if (known) return known;
    const f = byRel.get(rel);
    if (!f) throw new InvalidArgumentError(`${rel} is not a local file here`);
    const key = path.join(abs, rel);
    let id = cache.lookup(key, f);
    if (!id) {
      const readAt = Date.now();
      id = hashLocal(key).id;
      hashed++;
      fresh.push({ key, f, id, readAt });
    }
    ids.set(rel, id);
    return id;
  };
  const changes: WorktreeChange[] = [];
  for (const f of files) {
    const r = remote.get(f.rel);
    if (!r) changes.push({ path: f.rel, change: 'added' });
    else if (r.size !== f.size || !idOf(f.rel).equals(r.id)) changes.push({ path: f.rel, change: 'modified' });
  }
  for (const rel of remote.keys()) if (!byRel.has(rel)) changes.push({ path: rel, change: 'deleted' });
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const result: Comparison = {
    changes,
    exists,
    scanned: files.length,
    get hashed() {
      return hashed;
    },
    files,
    remote,
    idOf,
  };
  if (fresh.length > 0 && !s.readonly) {
    const rows = fresh.splice(0).map((u) => ({ path: u.key, stat: u.f, id: u.id, readAt: u.readAt }));
    const now = Date.now();
    await s.unitOfWork(async () => cache.record(rows, now));
  }
  return result;
}

export interface CheckoutResult {
  repo: string;
  branch: string | null;
  commit: string;
  /** directory in the commit that was checked out */
  path: string;
  /** local directory written */
  dir: string;
  written: number;
  removed: number;
  unchanged: number;
  bytes: number;
}

/**
 * Make local `dir` hold exactly `repoPath` of commit `c`: write what differs or is missing, remove
 * local files the commit does not have. Refuses (E_CONFLICT) to overwrite or remove a local file
 * whose content is not in the store, unless `force`: checkout never loses data silently.
 */
export async function checkoutDir(s: StoreHandle, c: CommitRecord, repoPath: string, dir: string, opts: { force?: boolean } = {}): Promise<CheckoutResult> {
  const abs = path.resolve(dir);
  const clean = cleanPath(repoPath);
  const cmp = await compareDir(s, abs, c, clean);
  const lost: string[] = [];
  for (const ch of cmp.changes) {
    if (ch.change === 'deleted') continue;
    const id = cmp.idOf(ch.path);
    if (!id.equals(EMPTY_CONTENT_ID) && !s.index.hasContent(id)) lost.push(ch.path);
  }
  if (lost.length > 0 && !opts.force) {
    const shown = lost.slice(0, 5).join(', ') + (lost.length > 5 ? `, … (${lost.length} files)` : '');
    throw new ConflictError(
      `checkout would overwrite or remove local changes not saved in tusk: ${shown} in ${dir}`,
      'put them into a repo first (`tusk put file -r`), or pass --force to discard them',
    );
  }
  // A directory inside `dir` may be a symbolic link (the scan does not follow them): writing or
  // removing through it would touch files elsewhere. Checked for every change before any is made.
  const realAbs = realLocation(abs);
  for (const ch of cmp.changes) {
    const real = realLocation(path.dirname(path.join(abs, ch.path)));
    if (!isWithin(realAbs, real))
      throw new InvalidArgumentError(
        `checkout would write ${ch.path} through a symbolic link to ${real}, outside ${dir}`,
        `replace the link with a directory (or remove it), then run the checkout again`,
      );
  }
  // a lazy clone fetches the bytes to write first: a remote out of reach changes nothing here
  const describe = (p: string) => () => `file ${clean === '/' ? '' : clean}/${p} in ${commitLabel(c)}`;
  if (s.anyRemoteBacked()) await s.ensureContents(cmp.changes.filter((ch) => ch.change !== 'added').map((ch) => ({ id: cmp.remote.get(ch.path)!.id as ContentId, describe: describe(ch.path) })));
  let removed = 0;
  const dirs = new Set<string>();
  for (const ch of cmp.changes) {
    if (ch.change !== 'added') continue;
    const file = path.join(abs, ch.path);
    try {
      fs.rmSync(file, { force: true });
    } catch (err) {
      throw localFileError(err, file);
    }
    removed++;
    for (let d = path.dirname(file); d.length > abs.length; d = path.dirname(d)) dirs.add(d);
  }
  // deepest first: a directory emptied by the removals goes too (one that still holds something stays)
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(d);
    } catch {
      // not empty, or already gone
    }
  }
  let written = 0;
  let bytes = 0;
  fs.mkdirSync(abs, { recursive: true });
  for (const ch of cmp.changes) {
    if (ch.change === 'added') continue;
    const entry = cmp.remote.get(ch.path)!;
    const file = path.join(abs, ch.path);
    const tmp = `${file}.tusk-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const fd = fs.openSync(tmp, 'w');
      try {
        for (const b of s.readContent(entry.id as ContentId, { describe: describe(ch.path) })) {
          let off = 0;
          while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
          bytes += b.length;
        }
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      if (err instanceof Error && 'code' in err && typeof (err as NodeJS.ErrnoException).syscall === 'string') throw localFileError(err, file);
      throw err;
    }
    written++;
  }
  return { repo: c.repo, branch: c.branch, commit: c.id, path: clean, dir: abs, written, removed, unchanged: cmp.scanned - removed - cmp.changes.filter((x) => x.change === 'modified').length, bytes };
}
