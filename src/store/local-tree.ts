// Local files into the store: one file read into a content writer, and whole directory trees
// streamed directory by directory (put -r, datum outputs). A tree is walked in name order while
// batches of its small files are read, and hashed, ahead on the content worker; each directory's
// pages are built as its entries arrive, so what is held is the open directories' unfinished
// pages and a few batches, never an entry per file. Rows that must wait for the commit (chunks,
// pages, file-cache entries) are recorded in bounded checkpoints.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConflictError, InvalidArgumentError, TuskError, localFileError } from '../errors.js';
import type { ContentRecord } from './chunk-index.js';
import { ContentWriter, type ContentSink } from './content-io.js';
import { CHUNK_PROFILE_V1 } from './chunker.js';
import type { CacheUpdate, DirRows, FileCache, LocalStat } from './file-cache.js';
import { batchError, CACHED_FIELDS, META_FIELDS, readFileBatch, ReadStatus, writeFileBatch, type ReadReply, type ReadRequest, type WriteFailure } from './file-batch.js';
import { lookupPath } from './file-tree.js';
import { EMPTY_CONTENT_ID, ID_BYTES, type ChunkId, type ContentId, type NodeId } from './hash.js';
import type { Checkpoint, PackWriter } from './pack-writer.js';
import type { DeltaPlan } from './delta-plan.js';
import { PARALLEL_MIN_BYTES, ParallelContentWriter } from './parallel-content.js';
import { nameSortKey } from './name-order.js';
import { escapeControlChars, isPlainName, MAX_PATH_BYTES, normalizeName, utf8Bytes, validateWritePath } from './paths.js';
import type { StoreCore } from './store-core.js';
import { BaseDir } from './base-dir.js';
import type { StagedPages } from './page-store.js';
import { TreeBuilder, type Entry, type PageRef } from './tree.js';
import { contentWorker, startContentWorker, type WorkerLink, type WorkerReply } from './worker-link.js';

const READ_BLOCK = 4 * 1024 * 1024;
const EOF_PROBE = Buffer.alloc(1);

export interface LocalFile {
  localPath: string;
  repoPath: string;
  /** compact: 100,000 fs.Stats objects (with their Date fields) cost ~40 MB */
  stat: LocalStat;
}

/**
 * Read buffers for small files, carved from one reusable slab. Chunks stay views into the slab
 * until the pack writer drains its queue, so the slab is only rewound right after a drain.
 * Saves an allocation (and most of the garbage collection) per file on trees of small files.
 */
export class ReadArena {
  static readonly MAX_FILE = 1 << 20;
  private readonly slab = Buffer.allocUnsafe(8 << 20);
  private pos = 0;
  constructor(private readonly writer: PackWriter) {}

  async take(n: number): Promise<Buffer> {
    if (this.pos + n > this.slab.length) {
      await this.writer.drain();
      this.pos = 0;
    }
    const b = this.slab.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** The writer for one new file: big files are cut and hashed on the content worker, the rest here. */
export function contentSink(writer: PackWriter, sizeHint: number, delta?: DeltaPlan): ContentSink {
  const link = sizeHint >= PARALLEL_MIN_BYTES ? contentWorker() : null;
  return link ? new ParallelContentWriter(writer, link, undefined, delta) : new ContentWriter(writer, undefined, delta);
}

/** Read a local file into a content writer; a file that changes while being read is an error, never a torn version. */
export async function ingestLocal(file: LocalFile, w: ContentSink, arena: ReadArena, onBytes: (n: number) => void): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(file.localPath, 'r');
  } catch (err) {
    w.abort();
    throw localFileError(err, file.localPath);
  }
  try {
    // the scan's stat is the "before": one fstat after reading proves the file held still
    const before = file.stat;
    let remaining = before.size;
    let grew = false;
    while (remaining > 0) {
      // small files come from the arena; big ones from the writer (a fresh buffer, or a block
      // that goes to the content worker), since chunks are views into it until they are stored
      const want = Math.min(READ_BLOCK, remaining);
      const buf = before.size <= ReadArena.MAX_FILE ? await arena.take(want) : await w.buffer(want);
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      await w.push(n === buf.length ? buf : buf.subarray(0, n));
      onBytes(n);
      remaining -= n;
    }
    if (remaining === 0) grew = fs.readSync(fd, EOF_PROBE, 0, 1, null) > 0;
    const after = fs.fstatSync(fd);
    if (grew || remaining !== 0 || after.size !== before.size || after.mtimeMs !== before.mtime || after.ino !== before.ino)
      throw new ConflictError(`${file.localPath} changed while it was being read`, 'retry when the file is no longer being written');
  } catch (err) {
    w.abort();
    if (err instanceof TuskError) throw err;
    throw localFileError(err, file.localPath);
  } finally {
    fs.closeSync(fd);
  }
}


// ---------------------------------------------------------------------------------------------
// Trees

/** Files per read batch: big enough that a message per batch is noise, small enough to start soon. */
const BATCH_FILES = 256;
/** Batches read ahead of the one being stored. */
const BATCH_DEPTH = 3;
/**
 * Before a checkpoint (a transaction of thousands of rows plus an fsync, long enough to run many
 * batches) the worker is given this many more batches, up to CHECKPOINT_AHEAD_BYTES of them at
 * the largest batch buffer seen: with its usual two it idled through every checkpoint. Sized with
 * CHECKPOINT_ROWS: a checkpoint half as long needs half as many batches read meanwhile.
 */
const CHECKPOINT_AHEAD = 16;
const CHECKPOINT_AHEAD_BYTES = 24 << 20;
/** A batch with at most 1 file in this many uncached is read here; one that then read more sends the following batches to the worker. */
const STATS_ONLY_READS = 8;
/** Files up to this size are read in batches; bigger ones here, with ingestLocal (they are few). */
const BATCH_MAX_FILE = 64 * 1024;
/**
 * Rows (chunks, contents, pages, file-cache entries) staged before a checkpoint records them.
 * What is staged lives until its checkpoint, long enough for V8 to move it to the old generation,
 * where it lies as garbage until the next full collection; with the batches read ahead of each
 * checkpoint, this bounds most of put -r's memory beyond the process's own.
 */
export const CHECKPOINT_ROWS = 16_384;

export interface TreeIngestOptions {
  writer: PackWriter;
  arena: ReadArena;
  /** where finished pages wait for the next checkpoint or the commit */
  pages: StagedPages;
  /** null: every file is read (datum outputs) */
  cache: FileCache | null;
  /** the commit the put starts from: a cached content id it holds at the same path is known to be stored */
  base: NodeId | null;
  datum?: string;
  /** dereference symbolic links (pipeline outputs, as Pachyderm does), never looping */
  followLinks?: boolean;
  /** pipeline outputs: what each symbolic link (and each file reached through one) stands for */
  resolveLink?: (local: string) => LinkTarget;
  onWarning?: (msg: string) => void;
  onBytes: (n: number) => void;
  /** told after each checkpoint (tests count them) */
  onCheckpoint?: () => void;
  /** rows staged before a checkpoint (tests lower it) */
  checkpointRows?: number;
}

const FILE = 0;
const OPEN = 1;
const CLOSE = 2;
const REF = 3;

/** What a symbolic link in a datum's output stands for (TreeIngestOptions.resolveLink). */
export type LinkTarget =
  /**
   * maybe a file of the datum's inputs: stored by reference to its content, nothing read, once
   * `lookup` (a read of the input trees, made when the walk gets there) finds it; otherwise not
   * uploaded, and `otherwise` says why
   */
  | { kind: 'input-file'; lookup: () => Promise<{ id: Buffer; size: number } | undefined>; otherwise: string }
  /** a directory of the datum's inputs: entered, and each file in it resolved the same way */
  | { kind: 'input-dir'; real: string }
  /** a file or directory of the output itself, at this real path: read through the link */
  | { kind: 'output'; real: string; isDir: boolean }
  /** not uploaded; the message says why */
  | { kind: 'skip'; message: string };

/** How a walk treats symbolic links, and where it says what it skipped. */
export interface LinkPolicy {
  /** dereference symbolic links (pipeline outputs, as Pachyderm does), never looping */
  followLinks?: boolean;
  onWarning?: (msg: string) => void;
  /** directories entered through links so far (filled in as the walk goes) */
  seenDirs?: Set<string>;
}

/** A local directory entry and the name it has in a repo (its name in NFC). */
export interface LocalEntry {
  dirent: fs.Dirent;
  /** the name in the repo: NFC, so that a decomposed `é` from macOS is the same file as a precomposed one */
  name: string;
}

/**
 * A local directory's entries in repo-name order (the order trees are built in); a failure names
 * the directory. Two local names that are one repo name (the same text in two Unicode forms), and
 * names that are not UTF-8 (Node reads those bytes as U+FFFD), are refused, naming them.
 */
export function readDirSorted(dir: string): LocalEntry[] {
  let dirents: fs.Dirent[];
  try {
    dirents = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw localFileError(err, dir);
  }
  // one object per entry, sorted in place: a put walks every name of the tree through here
  const entries: (LocalEntry & { key: string })[] = new Array(dirents.length);
  let replaced = false;
  for (let i = 0; i < dirents.length; i++) {
    const d = dirents[i]!;
    const name = normalizeName(d.name);
    if (name.includes('\ufffd')) replaced = true;
    entries[i] = { dirent: d, name, key: nameSortKey(name) };
  }
  if (replaced) refuseNonUtf8(dir);
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 1; i < entries.length; i++) {
    const a = entries[i - 1]!;
    const b = entries[i]!;
    if (a.name === b.name) {
      throw new InvalidArgumentError(
        `${path.join(dir, escapeControlChars(a.dirent.name))} and ${path.join(dir, escapeControlChars(b.dirent.name))} are one name in the repo: "${escapeControlChars(a.name)}" (Unicode NFC)`,
        'rename or remove one of them: repo paths are stored in NFC, so the two would be one file',
      );
    }
  }
  return entries;
}

/** Throw for the first name in `dir` whose bytes are not UTF-8. */
function refuseNonUtf8(dir: string): void {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const raw of fs.readdirSync(dir, { encoding: 'buffer' })) {
    try {
      decoder.decode(raw);
    } catch {
      throw new InvalidArgumentError(
        `${path.join(dir, raw.toString('utf8'))} invalid: its name is not UTF-8 (bytes ${raw.toString('hex')})`,
        'rename it with a UTF-8 name (e.g. `convmv -f latin1 -t utf8`); tusk stores names as UTF-8 text',
      );
    }
  }
}

/**
 * What a directory entry is to a put: a directory to enter, a regular file to read, or null when
 * it is skipped (with a warning). Links are not followed unless the policy says so: following
 * could read outside the tree or loop; when followed, a directory reached twice is a loop.
 */
export function entryKind(d: fs.Dirent, local: string, policy: LinkPolicy): 'dir' | 'file' | null {
  let isDir = d.isDirectory();
  let isFile = d.isFile();
  if (d.isSymbolicLink()) {
    if (!policy.followLinks) {
      policy.onWarning?.(`skipping symbolic link ${local}`);
      return null;
    }
    try {
      const t = fs.statSync(local);
      isDir = t.isDirectory();
      isFile = t.isFile();
    } catch {
      policy.onWarning?.(`skipping dangling symbolic link ${local}`);
      return null;
    }
  }
  if (isDir) {
    if (policy.followLinks) {
      const real = fs.realpathSync(local);
      const seen = (policy.seenDirs ??= new Set());
      if (seen.has(real)) {
        policy.onWarning?.(`skipping ${local}: symbolic link loop`);
        return null;
      }
      seen.add(real);
    }
    return 'dir';
  }
  if (isFile) return 'file';
  policy.onWarning?.(`skipping ${local}: not a regular file`);
  return null;
}

/**
 * The content worker for a stream of batches: the first batch starts it and is handled on this
 * thread while it boots (a small tree never waits for it); from the second on, batches go to it.
 * Under TUSK_WORKER=0, or when it cannot run, every batch is handled here.
 */
class BatchWorker {
  link: WorkerLink | null = null;
  job = 0;
  private inline = process.env.TUSK_WORKER === '0';

  /** The worker for the `n`-th batch (1 for the first), or null: handle it here. */
  for(n: number): WorkerLink | null {
    if (this.link || this.inline) return this.link;
    if (n === 1) startContentWorker();
    else {
      this.link = contentWorker();
      if (this.link) this.job = this.link.open();
      else this.inline = true;
    }
    return this.link;
  }

  /** Forget the job: replies still on their way (after an error) are dropped. */
  close(): void {
    this.link?.close(this.job);
    this.link = null;
  }
}

/** `name` in the repo directory `dir`: built only where needed (a file's path only for the rare name that needs the full check). */
function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** One step of the walk, in the order the tree is built. A file names its batch and place in it. */
type WalkEvent =
  /** `cached`: the handle of its row in its directory's cache rows, or -1 */
  | { t: typeof FILE; name: string; local: string; batch: number; idx: number; cached: number }
  /** `local`: the directory on disk; `cache`: what its file-cache segments held when the walk entered it */
  | { t: typeof OPEN; name: string; local: string; cache: DirCacheState }
  | { t: typeof CLOSE }
  /** a file stored by reference to content the store holds */
  | { t: typeof REF; name: string; lookup: () => Promise<{ id: Buffer; size: number } | undefined>; otherwise: string };

interface WalkFrame {
  local: string;
  entries: LocalEntry[];
  i: number;
  /** every name from the walk's root to here is a plain name: file paths need no full check */
  plain: boolean;
  /** entered through a link into the datum's inputs: its entries resolve as links do */
  viaInput: boolean;
  repo: string;
  /** UTF-8 bytes of `repo` below the root ('/' counts 0): a file's path length without building its path */
  repoBytes: number;
  cache: DirRows | null;
  cacheState: DirCacheState;
}

/** A directory's file-cache segments as the walk found them: the newest one, how many names they held, and their rows. */
interface DirCacheState {
  seq: number;
  names: number;
  rows: DirRows | null;
}

interface BuildFrame {
  name: string;
  repo: string;
  local: string;
  cache: DirCacheState;
  /**
   * Its files found in the cache, unchanged (local path, and the handle of the cache row, which
   * their stat equals): written again only if the directory lost a name. Two lists of what the
   * walk holds anyway, not a new row per file: those, held until the directory is built, outlived
   * the young generation only to be dropped in most directories.
   */
  hits: string[];
  hitRows: number[];
  /** its files read (new, changed, or not trusted from the cache) */
  read: number;
  /** of those, the ones its cache segments named */
  readCached: number;
  builder: TreeBuilder;
  /** this directory in the base commit, matched against the entries built (null: the base has none) */
  base: BaseDir | null;
}

/**
 * Streams one local directory tree into pages; see the module comment. `ingest` returns the root
 * page of the tree (null when it holds no file); the caller records the staged rows with record()
 * in its commit transaction.
 */
export class TreeIngest {
  files = 0;
  cachedFiles = 0;
  /** records of files cut into several chunks (one-chunk files need none) */
  private contents: ContentRecord[] = [];
  private cacheRows: CacheUpdate[] = [];
  /** directories built whole since the last record(): their older cache segments can go */
  private cacheComplete: { dir: string; upTo: number }[] = [];
  /** most rows staged at once (tests check the bound) */
  peakStaged = 0;
  /**
   * The base commit's directory the last ingest() matched, when the tree it built holds every name
   * of it, each as the same kind: laying that tree over this directory gives the tree itself.
   */
  covered: NodeId | null = null;

  private readonly worker = new BatchWorker();
  private readonly stack: WalkFrame[] = [];
  private readonly queue: WalkEvent[] = [];
  private qpos = 0;
  private readonly links: LinkPolicy;
  private readonly resolveLink: ((local: string) => LinkTarget) | undefined;
  // the batch being filled by the walk
  private openPaths: string[] = [];
  private openCached = new Float64Array(BATCH_FILES * CACHED_FIELDS).fill(NaN);
  /** files of the open batch that have a cache row */
  private openHits = 0;
  private nextBatch = 0;
  /** batches offered to the content worker (the first of them starts it) */
  private offered = 0;
  /** a batch that looked cached read many of its files: the tree is being changed, the worker reads */
  private readHeavy = false;
  private sent = 0;
  /** replies received and not yet used, by batch number (a batch read on this thread is here at once) */
  private readonly ready = new Map<number, ReadReply>();
  /** batches on the worker, in the order it replies */
  private readonly onWorker: number[] = [];
  /** batches walked and not yet given to the worker, in order */
  private readonly held: { seq: number; req: ReadRequest; buf: ArrayBuffer | null }[] = [];
  private current: ReadReply | null = null;
  private currentSeq = -1;
  private readonly spare: ArrayBuffer[] = [];
  private readonly hashBelow: number;
  /** the open pack's write-back was started for the coming checkpoint */
  private flushedAhead = false;
  /** the largest batch buffer seen: bounds the bytes read ahead of a checkpoint */
  private batchBytes = 1 << 20;

  constructor(
    private readonly s: StoreCore,
    private readonly o: TreeIngestOptions,
  ) {
    // a file below the minimum chunk size is one chunk: its id is the hash of its bytes
    this.hashBelow = CHUNK_PROFILE_V1.minSize;
    this.links = { followLinks: o.followLinks, onWarning: o.onWarning };
    this.resolveLink = o.resolveLink;
  }

  /** Rows waiting for a checkpoint or the commit. */
  get staged(): number {
    return this.o.writer.unrecorded + this.contents.length + this.cacheRows.length + this.o.pages.size;
  }

  /**
   * Record what is staged so far, unreferenced until the commit: packs fsynced first (a recorded
   * chunk must never point at bytes not on disk), then one transaction with the writer's rows and
   * ours.
   */
  private async checkpoint(): Promise<void> {
    await this.o.writer.sync();
    let written: Checkpoint | undefined;
    const done = await this.s.unitNow(async () => {
      written = await this.o.writer.checkpoint();
      await this.record(Date.now());
    });
    if (done) {
      this.o.writer.forgetCheckpoint(written!);
      this.forgetRecorded();
      this.o.onCheckpoint?.();
    }
  }

  /**
   * Record staged contents, file-cache rows and pages: inside the transaction, after the writer's
   * rows. They stay staged (a unit of work may run its body again) until `forgetRecorded`.
   */
  async record(readAtMs: number): Promise<void> {
    await this.s.index.putContents(this.contents);
    this.o.cache?.record(this.cacheRows, readAtMs, this.cacheComplete);
    await this.o.pages.flush();
  }

  /** Drop what `record` wrote, once its transaction has committed. */
  forgetRecorded(): void {
    this.contents = [];
    this.cacheRows = [];
    this.cacheComplete = [];
    this.o.pages.forget();
  }

  async ingest(localRoot: string, repoRoot: string): Promise<PageRef | null> {
    this.nextBatch = 0;
    this.sent = 0;
    this.offered = 0;
    this.openHits = 0;
    this.readHeavy = false;
    this.currentSeq = -1;
    this.current = null;
    this.ready.clear();
    this.onWorker.length = 0;
    this.held.length = 0;
    this.queue.length = 0;
    this.qpos = 0;
    try {
      const root = path.resolve(localRoot);
      this.enter(root, repoRoot, repoRoot.split('/').every((n) => n === '' || isPlainName(n)));
      const frame = async (name: string, repo: string, local: string, cache: DirCacheState, base: Entry | undefined): Promise<BuildFrame> => {
        const builder = new TreeBuilder(this.o.pages);
        return { name, repo, local, cache, hits: [], hitRows: [], read: 0, readCached: 0, builder, base: base?.kind === 'dir' ? await BaseDir.open(this.s.reader, base.id as NodeId, builder) : null };
      };
      const baseRoot = this.o.base ? await lookupPath(this.s.reader, this.o.base, repoRoot) : undefined;
      const frames: BuildFrame[] = [await frame('', repoRoot, root, this.stack[0]!.cacheState, baseRoot)];
      // a promise only when the base directory's next page has to be read
      const add = (f: BuildFrame, e: Entry): void | Promise<void> => (f.base ? f.base.push(e) : f.builder.pushEntry(e));
      let lost = false;
      const done = (f: BuildFrame) => {
        if (!f.base) return;
        f.base.finish();
        if (f.base.lost) lost = true;
      };
      this.covered = null;
      // A directory whose every file came from the cache, and every cached name was one of them, is
      // what its segments say already: nothing to write (a re-put of an unchanged tree writes no
      // cache rows). One that still has every cached name needs only the files it read, in a
      // segment over the older ones (a newer segment overrides by name; record() merges them once
      // there are many): rewriting every unchanged row of every directory that gained a file was
      // a tenth of a small re-put. Otherwise (names gone) its files all go into a new segment,
      // and the older ones can go.
      const built = (f: BuildFrame) => {
        if (!this.o.cache || (f.read === 0 && f.hits.length === f.cache.names)) return;
        if (f.hits.length + f.readCached === f.cache.names) return;
        const rows = f.cache.rows!;
        for (let i = 0; i < f.hits.length; i++) this.cacheRows.push({ path: f.hits[i]!, stat: rows.stat(f.hitRows[i]!), id: rows.content(f.hitRows[i]!) as ContentId });
        if (f.cache.seq > 0) this.cacheComplete.push({ dir: f.local, upTo: f.cache.seq });
      };
      for (let ev = this.pull(); ev; ev = this.pull()) {
        const top = frames[frames.length - 1]!;
        if (ev.t === OPEN) {
          const found = top.base?.find(ev.name);
          frames.push(await frame(ev.name, top.repo === '/' ? `/${ev.name}` : `${top.repo}/${ev.name}`, ev.local, ev.cache, found instanceof Promise ? await found : found));
        } else if (ev.t === REF) {
          const found = await ev.lookup();
          if (!found) {
            this.links.onWarning?.(ev.otherwise);
            continue;
          }
          this.files++;
          const wait = add(top, this.entry(ev.name, found.id, found.size));
          if (wait instanceof Promise) await wait;
        } else if (ev.t === CLOSE) {
          frames.pop();
          built(top);
          done(top);
          const sub = top.builder.finish();
          if (sub && sub.entries > 0) await add(frames[frames.length - 1]!, { name: top.name, kind: 'dir', id: sub.id, size: sub.size, files: sub.files });
        } else {
          await add(top, await this.file(ev, top));
        }
      }
      await this.release();
      built(frames[0]!);
      done(frames[0]!);
      if (baseRoot?.kind === 'dir' && !lost) this.covered = baseRoot.id as NodeId;
      return frames[0]!.builder.finish();
    } finally {
      this.worker.close();
    }
  }

  // -- the walk (runs ahead of the build by up to BATCH_DEPTH batches)

  private enter(local: string, repo: string, plain: boolean, viaInput = false): void {
    const entries = readDirSorted(local);
    const cache = this.o.cache ? this.o.cache.rowsOf(local) : null;
    const rows = cache && cache.names > 0 ? cache : null;
    this.stack.push({ local, entries, i: 0, plain, viaInput, repo, repoBytes: repo === '/' ? 0 : utf8Bytes(repo), cache: rows, cacheState: { seq: cache?.seq ?? 0, names: cache?.names ?? 0, rows } });
  }

  /** One walk step; false when the walk is over. */
  private step(): boolean {
    const f = this.stack[this.stack.length - 1];
    if (!f) return false;
    if (f.i >= f.entries.length) {
      this.stack.pop();
      if (this.stack.length > 0) this.queue.push({ t: CLOSE });
      return true;
    }
    const { dirent: d, name } = f.entries[f.i++]!;
    const local = f.local === '/' ? `/${d.name}` : `${f.local}/${d.name}`;
    let viaInput = f.viaInput;
    // a link's own path may not lead anywhere on this side of the namespace (`/pfs/...`)
    let readAt = local;
    let kind: 'dir' | 'file' | null;
    if (this.resolveLink && (f.viaInput || d.isSymbolicLink())) {
      const target = this.resolveLink(local);
      if (target.kind === 'skip') {
        this.links.onWarning?.(target.message);
        return true;
      }
      if (target.kind === 'input-file') {
        if (!f.plain || !isPlainName(name) || utf8Bytes(childPath(f.repo, name)) > MAX_PATH_BYTES) validateWritePath(childPath(f.repo, name));
        this.queue.push({ t: REF, name, lookup: target.lookup, otherwise: target.otherwise });
        return true;
      }
      const isDir = target.kind === 'input-dir' || target.isDir;
      if (isDir) {
        const seen = (this.links.seenDirs ??= new Set());
        if (seen.has(target.real)) {
          this.links.onWarning?.(`skipping ${local}: symbolic link loop`);
          return true;
        }
        seen.add(target.real);
      }
      kind = isDir ? 'dir' : 'file';
      viaInput = target.kind === 'input-dir';
      readAt = target.real;
    } else kind = entryKind(d, local, this.links);
    if (kind === 'dir') {
      this.enter(readAt, childPath(f.repo, name), f.plain && isPlainName(name), viaInput);
      this.queue.push({ t: OPEN, name, local: readAt, cache: this.stack[this.stack.length - 1]!.cacheState });
    } else if (kind === 'file') {
      // the full check only when a name needs it: it costs more than reading a small file
      if (!f.plain || !isPlainName(name) || f.repoBytes + 1 + utf8Bytes(name) > MAX_PATH_BYTES) validateWritePath(childPath(f.repo, name));
      const row = f.cache ? f.cache.find(d.name) : -1;
      const idx = this.openPaths.length;
      if (row >= 0) {
        f.cache!.statInto(row, this.openCached, idx * CACHED_FIELDS);
        this.openHits++;
      }
      this.openPaths.push(readAt);
      this.queue.push({ t: FILE, name, local: readAt, batch: this.nextBatch, idx, cached: row });
      if (this.openPaths.length === BATCH_FILES) this.send();
    }
    return true;
  }

  private send(): void {
    if (this.openPaths.length === 0) return;
    const n = this.openPaths.length;
    const req: ReadRequest = { paths: this.openPaths, cached: this.openCached.slice(0, n * CACHED_FIELDS), maxRead: BATCH_MAX_FILE, hashBelow: this.hashBelow };
    const buf = this.spare.pop() ?? null;
    this.openPaths = [];
    this.openCached.fill(NaN);
    // (Nearly) every file cached: most likely a stat each and little to read, which costs less here
    // than the round trip to the worker (and a re-put of a tree that changed little never starts it).
    const statsOnly = !this.readHeavy && (n - this.openHits) * STATS_ONLY_READS <= n;
    this.openHits = 0;
    const seq = this.nextBatch++;
    this.sent++;
    if (statsOnly) {
      const reply = readFileBatch(req, buf);
      this.ready.set(seq, reply);
      let read = 0;
      for (let i = 0; i < n; i++) if (reply.meta[i * META_FIELDS] !== ReadStatus.Cached) read++;
      if (read * STATS_ONLY_READS > n) this.readHeavy = true;
    } else if (this.worker.for(++this.offered)) {
      this.held.push({ seq, req, buf });
      this.feedWorker();
    } else this.ready.set(seq, readFileBatch(req, buf));
  }

  /**
   * Keep two batches on the worker, taking its replies without waiting. Batches beyond those wait
   * here, and this thread reads one itself only when it would otherwise wait for the worker
   * (replyFor): reading and hashing small files is the larger share of put -r, and reading a batch
   * here whenever the worker had two queued kept this thread busy with reads while the worker
   * idled (bench/README.md, "Figures behind the code").
   */
  private feedWorker(depth = 2): void {
    const { link, job } = this.worker;
    for (let r = link!.tryReceive(job); r; r = link!.tryReceive(job)) this.take(r);
    while (this.onWorker.length < depth && this.held.length > 0) {
      const { seq, req, buf } = this.held.shift()!;
      link!.post({ kind: 'read-files', job, req, buf }, buf ? [buf] : []);
      this.onWorker.push(seq);
    }
  }

  private take(r: WorkerReply): void {
    if (r.kind !== 'files-read') throw new Error(`unexpected ${r.kind}`);
    if (r.reply.buf.byteLength > this.batchBytes) this.batchBytes = r.reply.buf.byteLength;
    this.ready.set(this.onWorker.shift()!, r.reply);
  }

  /** Walk on until `ahead` batches past the one being stored are sent (or the walk ends). */
  private walkAhead(ahead: number): void {
    while (this.sent - this.currentSeq - 1 < ahead && this.queue.length - this.qpos < ahead * BATCH_FILES * 2 && this.step());
  }

  /** Walk further ahead and hand the worker more batches, so that it reads on through a checkpoint. */
  private topUp(): void {
    if (!this.worker.link) return;
    const ahead = Math.max(BATCH_DEPTH, Math.min(CHECKPOINT_AHEAD, Math.floor(CHECKPOINT_AHEAD_BYTES / this.batchBytes)));
    this.walkAhead(ahead);
    this.feedWorker(ahead);
  }

  /** The next event, walking ahead so that BATCH_DEPTH batches are being read meanwhile. */
  private pull(): WalkEvent | undefined {
    this.walkAhead(BATCH_DEPTH);
    if (this.qpos === this.queue.length) {
      while (this.step() && this.queue.length === this.qpos);
      if (this.qpos === this.queue.length) return undefined;
    }
    const ev = this.queue[this.qpos++]!;
    if (this.qpos > 4096) {
      this.queue.splice(0, this.qpos);
      this.qpos = 0;
    }
    return ev;
  }

  /** The reply holding file `idx` of batch `seq`; moving on from a batch stores what views its buffer first. */
  private async replyFor(seq: number): Promise<ReadReply> {
    if (seq === this.nextBatch) this.send();
    while (this.currentSeq < seq) {
      await this.release();
      const next = this.currentSeq + 1;
      if (this.worker.link && !this.ready.has(next)) this.feedWorker();
      if (this.held[0]?.seq === next) {
        // needed now and not started by the worker: read it here
        const { req, buf } = this.held.shift()!;
        this.ready.set(next, readFileBatch(req, buf));
      }
      while (!this.ready.has(next)) {
        // the worker has it: rather than wait, read the batch it would get last
        const last = this.held.pop();
        if (last) this.ready.set(last.seq, readFileBatch(last.req, last.buf));
        else this.take(this.worker.link!.receive(this.worker.job));
        if (this.worker.link) this.feedWorker();
      }
      if (this.worker.link) this.feedWorker();
      this.current = this.ready.get(next)!;
      this.ready.delete(next);
      this.currentSeq++;
      const limit = this.o.checkpointRows ?? CHECKPOINT_ROWS;
      const staged = this.staged;
      // where packs are objects a checkpoint cannot make them durable synchronously: the rows
      // then wait for the commit, which uploads the packs first
      if (staged >= limit && this.o.writer.canCheckpoint) {
        this.topUp();
        await this.checkpoint();
        this.flushedAhead = false;
      } else if (!this.flushedAhead && staged >= limit * 0.75) {
        // the checkpoint's fsync then finds most of the pack written back already
        await this.o.writer.flushAhead();
        this.flushedAhead = true;
      }
    }
    return this.current!;
  }

  private async release(): Promise<void> {
    if (!this.current) return;
    // chunks queued in the pack writer are views into the batch's buffer: store them before it goes back
    await this.o.writer.drain();
    this.spare.push(this.current.buf);
    this.current = null;
  }

  // -- the build

  private async file(ev: Extract<WalkEvent, { t: typeof FILE }>, dir: BuildFrame): Promise<Entry> {
    const r = await this.replyFor(ev.batch);
    const m = ev.idx * META_FIELDS;
    const status = r.meta[m]!;
    this.files++;
    const staged = this.staged;
    if (staged > this.peakStaged) this.peakStaged = staged;
    if (status === ReadStatus.Failed) throw localFileError(batchError(r.errors[ev.idx]!), ev.local);
    if (status === ReadStatus.Changed) throw new ConflictError(`${ev.local} changed while it was being read`, 'retry when the file is no longer being written');
    // unchanged: the stat equals the cached row's, so the row stands for it (no object per file)
    let known = status === ReadStatus.Cached ? this.cachedEntry(dir.cache.rows!, ev.cached, ev.name, dir) : null;
    if (known instanceof Promise) known = await known;
    if (known) {
      this.cachedFiles++;
      this.o.onBytes(known.size);
      if (this.o.cache) {
        dir.hits.push(ev.local);
        dir.hitRows.push(ev.cached);
      }
      return known;
    }
    const stat: LocalStat = { dev: r.meta[m + 1]!, ino: r.meta[m + 2]!, size: r.meta[m + 3]!, mtime: r.meta[m + 4]!, ctime: r.meta[m + 5]! };
    let rec: ContentRecord;
    if (stat.size === 0) rec = { id: EMPTY_CONTENT_ID, size: 0, chunks: [] };
    else if (status === ReadStatus.Hashed) {
      const id = Buffer.from(r.ids.buffer, r.ids.byteOffset + ev.idx * ID_BYTES, ID_BYTES) as ChunkId;
      this.o.writer.add(id, new Uint8Array(r.buf, r.meta[m + 6]!, stat.size));
      rec = { id: id as unknown as ContentId, size: stat.size, chunks: [id] };
    } else if (status === ReadStatus.Read) {
      const w = new ContentWriter(this.o.writer);
      await w.push(Buffer.from(r.buf, r.meta[m + 6]!, stat.size));
      rec = await w.finish();
    } else {
      // Deferred (bigger than a batch takes), or cached content the store no longer has
      const w = contentSink(this.o.writer, stat.size);
      await ingestLocal({ localPath: ev.local, repoPath: '', stat }, w, this.o.arena, () => {});
      rec = await w.finish();
    }
    this.o.onBytes(stat.size);
    if (rec.chunks.length > 1) this.contents.push(rec);
    dir.read++;
    if (ev.cached >= 0) dir.readCached++;
    if (this.o.cache) this.cacheRows.push({ path: ev.local, stat, id: rec.id });
    return this.entry(ev.name, rec.id, rec.size);
  }

  private entry(name: string, id: Buffer, size: number): Entry {
    return this.o.datum ? { name, kind: 'file', id, size, files: 1, datum: this.o.datum } : { name, kind: 'file', id, size, files: 1 };
  }

  /**
   * The entry of an unchanged cached file (row `h` of `rows`) when its content is still stored
   * (the base commit holds it at this path, or the index has it); null when it is not. Where the
   * base holds it, the base's own entry is the entry: equal in every field, and nothing is built
   * for a file that did not change.
   */
  private cachedEntry(rows: DirRows, h: number, name: string, dir: BuildFrame): Entry | null | Promise<Entry | null> {
    // a promise only when the base's next page has to be read
    const b = dir.base?.find(name);
    if (b instanceof Promise) return b.then((e) => this.cachedAs(e, rows, h, name));
    return this.cachedAs(b, rows, h, name);
  }

  private cachedAs(b: Entry | undefined, rows: DirRows, h: number, name: string): Entry | null | Promise<Entry | null> {
    const size = rows.bytes(h);
    if (b && b.kind === 'file' && rows.contentIs(h, b.id)) return b.size === size && b.files === 1 && b.datum === this.o.datum ? b : this.entry(name, b.id, size);
    const id = rows.content(h);
    if (id.equals(EMPTY_CONTENT_ID)) return this.entry(name, id, size);
    return this.s.index.hasContent(id as ContentId).then((yes) => (yes ? this.entry(name, id, size) : null));
  }
}

// ---------------------------------------------------------------------------------------------
// Writing trees out (get -r)

/** Bytes per write batch (a file bigger than this travels alone). */
const WRITE_BATCH_BYTES = 4 << 20;
/** Write batches queued on the worker while this thread reads and verifies the next. */
const WRITE_DEPTH = 2;

/**
 * Writes a tree's small files in batches, on the content worker when the tree is big enough
 * (file creation is most of get -r, and one thread creating files in order does it best: many at
 * once only contend for the directory), here otherwise. Directories are made as the batches reach
 * them. Holds at most WRITE_DEPTH + 1 batches.
 */
export class BatchWriter {
  private readonly worker = new BatchWorker();
  private sent = 0;
  private buf: ArrayBuffer | null = null;
  private used = 0;
  private paths: string[] = [];
  private ends: number[] = [];
  private dirs: string[] = [];
  private lastDir: string | null = null;
  private readonly spare: ArrayBuffer[] = [];
  /** paths and dirs of the batches on the worker, oldest first: to name what failed */
  private readonly inFlight: { paths: string[]; dirs: string[] }[] = [];

  /** Queue one file: its bytes are copied, so `parts` may be reused at once. */
  add(dir: string, file: string, parts: readonly Uint8Array[], size: number): void {
    if (this.buf && this.used + size > this.buf.byteLength && this.paths.length > 0) this.flush();
    if (!this.buf || this.used + size > this.buf.byteLength) {
      const b = this.spare.pop();
      this.buf = b && b.byteLength >= size ? b : new ArrayBuffer(Math.max(WRITE_BATCH_BYTES, size));
      this.used = 0;
    }
    if (dir !== this.lastDir) {
      this.dirs.push(dir);
      this.lastDir = dir;
    }
    const bytes = new Uint8Array(this.buf);
    for (const p of parts) {
      bytes.set(p, this.used);
      this.used += p.length;
    }
    this.paths.push(file);
    this.ends.push(this.used);
  }

  private flush(): void {
    if (this.paths.length === 0 && this.dirs.length === 0) return;
    const req = { dirs: this.dirs, paths: this.paths, ends: Float64Array.from(this.ends), buf: this.buf! };
    this.buf = null;
    this.paths = [];
    this.ends = [];
    this.dirs = [];
    const link = this.worker.for(++this.sent);
    if (!link) {
      const failure = writeFileBatch(req);
      this.spare.push(req.buf);
      if (failure) throw failed(failure, req);
      return;
    }
    this.inFlight.push({ paths: req.paths, dirs: req.dirs });
    link.post({ kind: 'write-files', job: this.worker.job, req }, [req.buf]);
    while (this.inFlight.length > WRITE_DEPTH) this.collect();
  }

  private collect(): void {
    const r = this.worker.link!.receive(this.worker.job);
    if (r.kind !== 'files-written') throw new Error(`unexpected ${r.kind}`);
    const batch = this.inFlight.shift()!;
    this.spare.push(r.buf);
    if (r.failure) throw failed(r.failure, batch);
  }

  /** Write what is queued and wait for every batch. */
  finish(): void {
    try {
      this.flush();
      while (this.inFlight.length > 0) this.collect();
    } finally {
      this.close();
    }
  }

  /** Stop without waiting (after an error): batches still on the worker are written, their replies dropped. */
  close(): void {
    this.worker.close();
    this.inFlight.length = 0;
  }
}

function failed(f: NonNullable<WriteFailure>, batch: { paths: string[]; dirs: string[] }): TuskError {
  return localFileError(batchError(f.error), f.at >= 0 ? batch.paths[f.at]! : batch.dirs[-1 - f.at]!);
}
