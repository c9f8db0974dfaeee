// Laying a datum's input files out on disk under `<scratch>/pfs/<input name>/<path>`.
// Each content is read from packs (and verified) once into a store-wide cache, then hard-linked
// into every datum that needs it: 10,000 datums sharing a reference file read it once. A hard
// link is the cached file itself, so links go only to transforms that cannot write their inputs
// (`protectsInputs`); the others get a copy of their own (a reflink where the file system can).
// A file only appended to since the datum's last run is its cached earlier copy plus the new bytes.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromHex, type ContentId, type NodeId } from '../store/hash.js';
import { noteCached, type ContentWant, type Known, type StoreHandle } from '../store/store-handle.js';
import type { DatumFile } from './datums.js';

export { INPUT_CACHE_DIR as CACHE_DIR, inputCacheLimit, trimIfGrown } from '../store/store-handle.js';

/** Cache directories known to exist: one mkdir per directory per process, not per file. */
const madeDirs = new Set<string>();

/** Write a content (read from packs, verified) to a new read-only file at `target`; returns its bytes. */
async function writeContent(s: StoreHandle, id: string, target: string, describe: string, known?: Known): Promise<number> {
  const fd = fs.openSync(target, 'w', 0o444);
  let bytes = 0;
  try {
    bytes = await s.writeContent(fromHex(id) as ContentId, { describe: () => describe }, fd, undefined, undefined, known);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(target, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  return bytes;
}

/** Copy `from` to a temporary name beside `to`, then link it in as `to` (EEXIST if it exists). */
function linkCopy(from: string, to: string): void {
  const tmp = `${to}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.copyFileSync(from, tmp, fs.constants.COPYFILE_FICLONE);
    fs.linkSync(tmp, to);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** What an input file held in the datum's last run, when it has only been appended to since. */
export interface PriorContent {
  hash: string;
  size: number;
}

/**
 * A new content that extends `prior` (checked by chunk ids, see previous-run.ts), written to
 * `target` as the cached copy of `prior` followed by the new bytes, read from packs and verified
 * chunk by chunk: what a job after an append reads from packs is what was appended. undefined
 * when `prior` is not in the cache (the caller reads the whole content).
 */
async function extendCached(s: StoreHandle, f: { repo: string; commit: string; path: string; hash: string }, prior: PriorContent, target: string): Promise<number | undefined> {
  const old = s.cachedInputFile(prior.hash);
  const st = fs.statSync(old, { throwIfNoEntry: false });
  // only a cache file nobody wrote to (see place) and of the size recorded then
  if (!st || (st.mode & 0o222) !== 0 || st.size !== prior.size) return undefined;
  fs.rmSync(target, { force: true }); // never write through a link into another cached file
  try {
    fs.copyFileSync(old, target, fs.constants.COPYFILE_FICLONE);
  } catch (err) {
    // removed meanwhile by another runner bounding the cache: the caller reads the whole content
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let bytes = 0;
  try {
    bytes = await appendTail(s, target, f, prior);
  } catch (err) {
    fs.rmSync(target, { force: true });
    throw err;
  }
  return bytes;
}

/** Lay the cached `file` out at `target` (a link where the datum cannot write it, else a copy); false when it left the cache meanwhile. */
function layFromCache(file: string, target: string, share: boolean): boolean {
  if (share) {
    try {
      fs.linkSync(file, target);
      return true;
    } catch {
      // another filesystem or no hard links: copy (still from the cache, never from packs again)
    }
  }
  try {
    fs.copyFileSync(file, target, fs.constants.COPYFILE_FICLONE);
    if (!share) fs.chmodSync(target, 0o444);
    return true;
  } catch (err) {
    // removed meanwhile by another runner bounding the cache: the caller reads from packs
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.rmSync(target, { force: true });
    return false;
  }
}

/**
 * Grow the cached copy of `prior` into the cached copy of `f` (which extends it, see
 * previous-run.ts) by appending the new bytes, read from packs and verified chunk by chunk:
 * no copy of the earlier bytes. Only a copy nobody else holds is taken: it is first renamed to
 * a private name (a runner looking for it from then on reads packs instead), and given back if a
 * datum had linked it before. Returns bytes read from packs; undefined (nothing changed) when
 * the earlier copy is not in the cache or is held elsewhere. The earlier version leaves the
 * cache: a later datum that needs it reads it from packs.
 */
async function growCached(s: StoreHandle, f: { repo: string; commit: string; path: string; hash: string; size: number }, prior: PriorContent): Promise<number | undefined> {
  const old = s.cachedInputFile(prior.hash);
  const st = fs.statSync(old, { throwIfNoEntry: false });
  if (!st || (st.mode & 0o222) !== 0 || st.size !== prior.size || st.nlink !== 1) return undefined;
  const file = s.cachedInputFile(f.hash);
  const dir = path.dirname(file);
  if (!madeDirs.has(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(old, tmp);
  } catch {
    return undefined; // taken or removed by another runner since the stat above
  }
  try {
    // linked into a datum between the stat and the rename: that datum must keep the old bytes
    if (fs.statSync(tmp).nlink !== 1) {
      try {
        fs.linkSync(tmp, old);
      } catch {
        // cached again meanwhile
      }
      return undefined;
    }
    const bytes = await appendTail(s, tmp, f, prior);
    try {
      fs.linkSync(tmp, file);
      noteCached(bytes);
    } catch (err) {
      // EEXIST: another runner cached the new version first; it serves as well
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return bytes;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Put a content at `target`: a hard link to its cached copy, or, the first time, the content
 * read from packs and then linked into the cache. Writing the datum's file first and linking it
 * into the cache once complete needs no temporary name and no rename (a cold job creates one
 * file per content, not two names): the cache never shows a partial file. A content that only
 * extends one in the cache grows that cached copy into its own (growCached). Returns bytes read
 * from packs.
 */
async function place(
  s: StoreHandle,
  f: PlacedFile,
  target: string,
  share: boolean,
  prior?: () => Promise<PriorContent | undefined>,
  known?: Known,
): Promise<number> {
  if (f.empty) {
    fs.writeFileSync(target, '');
    return 0;
  }
  const file = s.cachedInputFile(f.hash);
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (trusted(st, f)) {
    if (layFromCache(file, target, share)) return 0;
  } else if (st) fs.rmSync(file, { force: true });
  const earlier = await prior?.();
  if (earlier) {
    const grown = await growCached(s, f, earlier);
    if (grown !== undefined && layFromCache(file, target, share)) return grown;
  }
  const bytes = (earlier && (await extendCached(s, f, earlier, target))) ?? (await writeContent(s, f.hash, target, `file ${f.path} in ${f.repo}@${f.commit}`, known));
  const dir = path.dirname(file);
  for (let tries = 0; tries < 2; tries++) {
    try {
      if (!madeDirs.has(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        madeDirs.add(dir);
      }
      // the datum's file becomes the cached copy only where the datum cannot write it; else a
      // copy is linked in once complete, so that the cache never shows a partial file either
      if (share) fs.linkSync(target, file);
      else linkCopy(target, file);
      noteCached(f.size);
      break;
    } catch (err) {
      // the directory went away (a store cleaned meanwhile): make it once more; anything else
      // (another runner cached it first, no hard links here) leaves the cache as it is
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') break;
      madeDirs.delete(dir);
    }
  }
  return bytes;
}

/**
 * Materialize every input file of a datum below `pfsDir`. `present`: directories known to exist
 * already (those the scratch tree kept), which need no mkdir. `prior`: what a file held in the
 * datum's last run, when it was only appended to since; asked only for a file the cache does not
 * hold. `placed`: collects the path of each file input laid out. `ahead`: what was looked up for
 * the datum's batch (lookUpInputs); only the files it lacks are looked up here. Returns bytes
 * read from packs.
 */
export async function materializeDatum(
  s: StoreHandle,
  files: readonly DatumFile[],
  pfsDir: string,
  present: ReadonlySet<string> = new Set(),
  share = true,
  prior: (f: DatumFile) => Promise<PriorContent | undefined> = async () => undefined,
  placed?: string[],
  ahead?: InputsAhead,
): Promise<number> {
  let downloaded = 0;
  const mkdir = (dir: string) => {
    if (!present.has(dir)) fs.mkdirSync(dir, { recursive: true });
  };
  // the datum's file inputs the cache does not hold, and that were not looked up with its batch: looked up together
  const fileInputs = files.filter((f) => f.type === 'file').map((f) => ({ ...f, empty: !!f.emptyFiles }));
  const known = await uncachedContents(s, ahead ? fileInputs.filter((f) => !ahead.records.has(fromHex(f.hash).toString('latin1'))) : fileInputs);
  for (const f of files) {
    const base = path.join(pfsDir, f.name);
    mkdir(base);
    if (f.type === 'file') {
      // a window holds files of several commits, one path maybe in each: a directory per commit
      const target = path.join(base, f.window ? f.commit : '', f.path);
      mkdir(path.dirname(target));
      downloaded += await place(s, { ...f, empty: !!f.emptyFiles }, target, share, () => prior(f), knownOf(known, f.hash) ?? knownOf(ahead, f.hash));
      placed?.push(target);
      continue;
    }
    const commit = await s.graph.getCommit(f.repo, f.commit);
    if (!commit?.root) continue;
    fs.mkdirSync(path.join(base, f.path), { recursive: true });
    // a directory's files a group at a time: the records of those the cache does not hold in one lookup
    let group: { target: string; file: PlacedFile }[] = [];
    const layGroup = async () => {
      const ahead = await uncachedContents(s, group.map((g) => g.file));
      for (const g of group) downloaded += await place(s, g.file, g.target, share, undefined, knownOf(ahead, g.file.hash));
      group = [];
    };
    for await (const batch of s.walkFiles(commit.root as NodeId, f.path)) for (const pe of batch) {
      const target = path.join(base, pe.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      group.push({ target, file: { repo: f.repo, commit: f.commit, path: pe.path, hash: pe.entry.id.toString('hex'), size: pe.entry.size, empty: !!f.emptyFiles } });
      if (group.length >= LAYOUT_GROUP) await layGroup();
    }
    await layGroup();
  }
  return downloaded;
}

/** A file input as it is laid out. */
interface PlacedFile {
  repo: string;
  commit: string;
  path: string;
  hash: string;
  size: number;
  empty: boolean;
}

/** Files of a directory input laid out per lookup of their records. */
const LAYOUT_GROUP = 512;

/** Whether a cache file is a copy nobody wrote to (mode and size unchanged): one that was written to is not trusted, and is re-created. */
function trusted(st: fs.Stats | undefined, f: { size: number }): st is fs.Stats {
  return st !== undefined && (st.mode & 0o222) === 0 && st.size === f.size;
}

/**
 * The records, and the chunk places, of the small files among `files` that the cache does not
 * hold: what laying them out reads from packs, in one lookup each for the lot. A big file looks
 * its chunks up a window at a time as it is read.
 */
async function uncachedContents(s: StoreHandle, files: readonly PlacedFile[]): Promise<Ahead | undefined> {
  const wanted = new Set<string>();
  for (const f of files) if (!f.empty && f.size <= LOOKUP_AHEAD_BYTES && !trusted(fs.statSync(s.cachedInputFile(f.hash), { throwIfNoEntry: false }), f)) wanted.add(f.hash);
  return wanted.size > 0 ? s.lookUpContents([...wanted].map((h) => fromHex(h) as ContentId)) : undefined;
}

/** The records and chunk places of a claimed batch's inputs, looked up together (lookUpInputs). */
export type InputsAhead = Ahead;

/**
 * The records and chunk places of the small file inputs of a batch of datums that the cache does
 * not hold: one lookup of each for the whole batch (two statements on a database), where each
 * datum would make its own. undefined when there is nothing to look up.
 */
export function lookUpInputs(s: StoreHandle, datums: readonly { inputs: readonly DatumFile[] }[]): Promise<InputsAhead | undefined> {
  return uncachedContents(
    s,
    datums.flatMap((d) => d.inputs.filter((f) => f.type === 'file').map((f) => ({ ...f, empty: !!f.emptyFiles }))),
  );
}

/** Files up to this size have their chunk places looked up with their group's. */
const LOOKUP_AHEAD_BYTES = 1 << 20;

/** What uncachedContents looked up. */
type Ahead = Awaited<ReturnType<StoreHandle['lookUpContents']>>;

function knownOf(ahead: Ahead | undefined, hash: string): Known | undefined {
  const record = ahead?.records.get(fromHex(hash).toString('latin1'));
  return record && ahead ? { record, places: ahead.places } : undefined;
}

/**
 * Fetch what a datum's inputs need from a remote first, where the store is a lazy clone
 * (lazy-fetch.ts): materializing reads synchronously. One query where nothing is remote-backed.
 */
export async function fetchDatumInputs(s: StoreHandle, files: readonly DatumFile[]): Promise<void> {
  if (!(await s.anyRemoteBacked())) return;
  const wants: ContentWant[] = [];
  for (const f of files) {
    if (f.type === 'file') {
      wants.push({ id: fromHex(f.hash) as ContentId, describe: () => `file ${f.path} in ${f.repo}@${f.commit}` });
      continue;
    }
    const commit = await s.graph.getCommit(f.repo, f.commit);
    if (!commit?.root) continue;
    for await (const batch of s.walkFiles(commit.root as NodeId, f.path)) for (const pe of batch) wants.push({ id: pe.entry.id as ContentId, describe: () => `file ${pe.path} in ${f.repo}@${f.commit}` });
  }
  await s.ensureContents(wants);
}

/** Append to the cached copy `file` (made writable for it, read-only again after) the bytes of `f` past `prior.size`; the bytes written. */
async function appendTail(s: StoreHandle, file: string, f: Pick<DatumFile, 'repo' | 'commit' | 'path' | 'hash'>, prior: PriorContent): Promise<number> {
  fs.chmodSync(file, 0o644);
  let bytes = 0;
  const fd = fs.openSync(file, 'a');
  try {
    for await (const b of s.readFrom(fromHex(f.hash) as ContentId, { describe: () => `file ${f.path} in ${f.repo}@${f.commit}` }, prior.size)) {
      for (let off = 0; off < b.length; ) off += fs.writeSync(fd, b, off, b.length - off);
      bytes += b.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(file, 0o444);
  return bytes;
}
