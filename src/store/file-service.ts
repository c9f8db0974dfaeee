// Files: put (local files, directories, streams, tars), get, list, glob, inspect, diff, copy,
// delete. Writes follow one protocol: chunks to packs, fsync, then one transaction that records
// chunks, contents, the new tree, the commit and the branch move.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { specialFileKind } from '../local-target.js';
import { ConflictError, CorruptError, InvalidArgumentError, NotFoundError, TuskError, localFileError } from '../errors.js';
import { killable } from '../signals.js';
import type { CommitRef, FileRef } from './address.js';
import type { ContentRecord } from './chunk-index.js';
import type { CommitRecord } from './commit-graph.js';
import { commitLabel, DEFAULT_BRANCH, emptyRoot, insertCommit, outputBranch, propagate, requireRepo, resolveCommit, toCommitInfo } from './commit-service.js';
import { crashPoint } from './crash-points.js';
import { resumeHasher } from './hash-state.js';
import { CHUNK_PROFILE_V1 } from './chunker.js';
import { enableDeltas, planDelta } from './delta-writes.js';
import { readRange, readRangeAsync } from './content-range.js';
import { anyRemoteBacked, ensureContents, type ContentWant } from './lazy-fetch.js';
import { appendingWriter, concatContents, ContentWriter, lookUpContents, readContent, readContentAsync, copiesNatively, writeContent, type ContentSink, type ReadContext } from './content-io.js';
import { localStat, type FileCache, type LocalStat } from './file-cache.js';
import { applyPathEdits, applyTreeOps, collectBatches, globTree, lookupPath, walkFiles, walkTree, type OverlayOp, type PathEdit, type PathEntry } from './file-tree.js';
import { BatchWriter, CHECKPOINT_ROWS, contentSink, entryKind, ingestLocal, ReadArena, readDirSorted, TreeIngest, type LinkPolicy, type LinkTarget, type LocalFile } from './local-tree.js';
import { StagedPages, withStagedPages } from './page-store.js';
import { hasGlobChars } from './glob.js';
import { EMPTY_CONTENT_ID, type ContentId, type NodeId } from './hash.js';
import type { Checkpoint, PackWriter } from './pack-writer.js';
import { WriteSession } from './write-session.js';
import { PARALLEL_MIN_BYTES } from './parallel-content.js';
import { PutBase } from './put-rebase.js';
import { cleanPath, escapeControlChars, joinPath, validateWritePath } from './paths.js';
import type { StoreCore } from './store-core.js';
import { diffEntries, entryPages, listEntries, type Entry } from './tree.js';
import type { CommitInfo, DiffEntry, FileInfo, OnProgress, PutResult, PutSource } from './types.js';
import { startContentWorker } from './worker-link.js';

const READ_BLOCK = 4 * 1024 * 1024;
/** get -r: files up to this size are written in batches (BatchWriter) */
const SMALL_WRITE = 1 << 20;
/**
 * Chunk rows a put of files (no tree) records at once: ~512 MiB of a big file, so a checkpoint's
 * fsync and transaction are noise beside the write. A tree checkpoints on its own (local-tree.ts);
 * its writer records at CHECKPOINT_ROWS, for a big file inside it.
 */
const FILE_CHECKPOINT_ROWS = 4096;

// ---------------------------------------------------------------------------------------------
// The write protocol

interface WriteTarget {
  repo: string;
  branch: string | null;
  /** the open commit written into, or null when the command makes its own commit */
  open: CommitRecord | null;
  head: CommitRecord | null;
}

/** Where a write goes: an open commit (given by id, or the open head of a branch), or a new commit on a branch. */
async function locateTarget(s: StoreCore, target: CommitRef): Promise<WriteTarget> {
  await requireRepo(s, target.repo);
  if (target.ancestry) throw new InvalidArgumentError(`cannot write to ${target.repo}@…${target.ancestry.op}${target.ancestry.n}: ancestry refers to finished commits`, 'write to a branch or an open commit');
  if (target.commit) {
    const c = await resolveCommit(s, target);
    if (c.finished !== null) throw new ConflictError(`commit ${commitLabel(c)} has already finished`, `write to a branch instead, e.g. ${c.repo}@${c.branch ?? DEFAULT_BRANCH}`);
    return { repo: c.repo, branch: c.branch, open: c, head: c };
  }
  const branch = target.branch ?? DEFAULT_BRANCH;
  if ((await s.graph.branchProvenance(target.repo, branch)).length > 0) throw outputBranch(target.repo, branch);
  const b = await s.graph.getBranch(target.repo, branch);
  const head = b ? (await s.graph.getCommit(target.repo, b.head))! : null;
  return { repo: target.repo, branch, open: head && head.finished === null ? head : null, head };
}

/**
 * Apply path edits to the target in one transaction. The base tree is read inside the
 * transaction, so concurrent writers to one branch each land on top of the other.
 */
async function commitEdits(
  s: StoreCore,
  target: CommitRef,
  build: (base: NodeId | null, t: WriteTarget) => Promise<readonly (PathEdit | OverlayOp)[]>,
  opts: { description?: string; beforeCommit?: () => Promise<void> } = {},
): Promise<{ commit: CommitRecord; finished: boolean }> {
  crashPoint('before-commit-txn');
  const done = await s.unitOfWork(async () => {
    const t = await locateTarget(s, target);
    const base = t.open ? t.open.root : (t.head?.root ?? null);
    const edits = await build(base, t);
    const ref = await withStagedPages(s, (pages) => applyTreeOps(pages, base, edits));
    const root = ref ? ref.id : await emptyRoot(s);
    await opts.beforeCommit?.();
    if (t.open) {
      await s.graph.setCommitRoot(t.repo, t.open.id, root, ref?.size ?? 0, ref?.files ?? 0);
      crashPoint('in-commit-txn');
      return { commit: (await s.graph.getCommit(t.repo, t.open.id))!, finished: false };
    }
    const c = await insertCommit(s, { repo: t.repo, branch: t.branch, parent: t.head, origin: 'USER', description: opts.description, finished: true });
    await s.graph.setCommitRoot(t.repo, c.id, root, ref?.size ?? 0, ref?.files ?? 0);
    await s.graph.setBranch(t.repo, t.branch!, c.id, Date.now());
    await propagate(s, t.repo, t.branch!, c.id);
    crashPoint('in-commit-txn');
    return { commit: (await s.graph.getCommit(t.repo, c.id))!, finished: true };
  });
  crashPoint('after-commit-txn');
  return done;
}

// ---------------------------------------------------------------------------------------------
// put file

/** A local source planned: single files (and, under -a, a directory's files one by one), or a directory streamed as a tree. */
type LocalPlan = { kind: 'files'; files: LocalFile[] } | { kind: 'tree'; localPath: string; repoPath: string };

/**
 * Check a local source before a byte is written, and plan it. A directory is streamed later, so
 * its names are checked as it is walked; a bad one then fails the put before anything is committed.
 */
function scanLocal(src: Extract<PutSource, { kind: 'local' }>, append: boolean, onWarning?: (msg: string) => void): LocalPlan {
  let st: fs.Stats;
  try {
    st = fs.statSync(src.localPath);
  } catch (err) {
    throw localFileError(err, src.localPath);
  }
  if (st.isDirectory()) {
    if (!src.recursive) throw new InvalidArgumentError(`${src.localPath} is a directory`, 'pass -r to put a directory and everything in it');
    // -a appends each file to what its path holds: those stay per-file edits
    if (!append) return { kind: 'tree', localPath: src.localPath, repoPath: cleanPath(src.repoPath) === '/' ? '/' : validateWritePath(src.repoPath) };
    const files: LocalFile[] = [];
    walkLocal(src.localPath, src.repoPath, files, { onWarning });
    return { kind: 'files', files };
  }
  if (!st.isFile()) throw new InvalidArgumentError(`${src.localPath} is not a regular file`, 'put regular files, or read it through stdin: tusk put file repo@branch:/path < FILE');
  return { kind: 'files', files: [{ localPath: src.localPath, repoPath: validateWritePath(src.repoPath), stat: localStat(st) }] };
}

/** Every regular file under `dir` with its stat: the per-file plan of `put -r -a`. */
function walkLocal(dir: string, repoDir: string, out: LocalFile[], links: LinkPolicy): void {
  for (const { dirent: d, name } of readDirSorted(dir)) {
    const local = path.join(dir, d.name);
    const repoPath = repoDir === '/' ? `/${name}` : `${repoDir}/${name}`;
    const kind = entryKind(d, local, links);
    if (kind === 'dir') walkLocal(local, repoPath, out, links);
    else if (kind === 'file') {
      let st: fs.Stats;
      try {
        st = fs.statSync(local);
      } catch (err) {
        throw localFileError(err, local);
      }
      out.push({ localPath: local, repoPath: validateWritePath(repoPath), stat: localStat(st) });
    }
  }
}

/**
 * Store a stream (a pipe, a tar entry). Its size is unknown until it ends, so the first
 * PARALLEL_MIN_BYTES are held back to choose the writer (`open` gets the size seen so far).
 * Pieces arrive in 16–64 KiB; they are copied into blocks of READ_BLOCK for the chunker.
 */
async function ingestStream(stream: AsyncIterable<Buffer | string>, open: (sizeHint: number) => Promise<ContentSink>, onBytes: (n: number) => void): Promise<ContentRecord> {
  const early: Buffer[] = [];
  let earlyBytes = 0;
  let w: ContentSink | null = null;
  let block: Buffer | null = null;
  let filled = 0;
  const put = async (piece: Buffer) => {
    for (let off = 0; off < piece.length; ) {
      block ??= await w!.buffer(READ_BLOCK);
      const n = piece.copy(block, filled, off);
      filled += n;
      off += n;
      if (filled === block.length) {
        await w!.push(block);
        onBytes(filled);
        block = null;
        filled = 0;
      }
    }
  };
  try {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (w) {
        await put(buf);
        continue;
      }
      early.push(buf);
      earlyBytes += buf.length;
      // likely big: let the worker boot while the rest of the first blocks arrive
      if (earlyBytes >= READ_BLOCK) startContentWorker();
      if (earlyBytes >= PARALLEL_MIN_BYTES) {
        w = await open(earlyBytes);
        for (const b of early.splice(0)) await put(b);
      }
    }
    if (!w) {
      // a small stream (most are): one buffer of exactly its size, never a READ_BLOCK each, which
      // 100,000 streamed files would keep alive until the pack writer drains
      w = await open(earlyBytes);
      if (earlyBytes > 0) {
        await w.push(early.length === 1 ? early[0]! : Buffer.concat(early, earlyBytes));
        onBytes(earlyBytes);
      }
    }
    if (block && filled > 0) {
      await w.push((block as Buffer).subarray(0, filled));
      onBytes(filled);
    }
    return await w.finish();
  } catch (err) {
    w?.abort();
    throw err;
  }
}

export interface PutOptions {
  append?: boolean;
  description?: string;
  onProgress?: OnProgress;
  onWarning?: (msg: string) => void;
  /** chunk rows a put of files records at once (tests lower it) */
  checkpointRows?: number;
}

function fileEntry(rec: { id: Buffer; size: number }, datum?: string): Entry {
  return { name: '', kind: 'file', id: rec.id, size: rec.size, files: 1, ...(datum ? { datum } : {}) };
}

/** The sources of a put, checked before a byte is written, and their total size when it is known. */
interface PutPlan {
  plans: LocalPlan[];
  hasTrees: boolean;
  /** undefined when a tree is put: its size is known only once it is walked */
  totalBytes: number | undefined;
}

/**
 * Check every source that can be checked before writing (a bad path or a missing file must leave
 * the store untouched) and plan the local ones.
 */
function planPut(sources: readonly PutSource[], append: boolean, warn: (msg: string) => void): PutPlan {
  const plans: LocalPlan[] = [];
  for (const src of sources) {
    if (src.kind === 'local') plans.push(scanLocal(src, append, warn));
    else if (src.kind === 'stream') validateWritePath(src.repoPath);
    else cleanPath(src.repoPath);
  }
  const hasTrees = plans.some((p) => p.kind === 'tree');
  let totalBytes: number | undefined = hasTrees ? undefined : 0;
  for (const p of plans) if (p.kind === 'files') for (const f of p.files) {
    if (totalBytes !== undefined) totalBytes += f.stat.size;
    if (f.stat.size >= PARALLEL_MIN_BYTES) startContentWorker();
  }
  return { plans, hasTrees, totalBytes };
}

/** Put files into a branch (one new commit) or an open commit. */
export async function putFiles(s: StoreCore, target: CommitRef, sources: readonly PutSource[], opts: PutOptions = {}): Promise<PutResult> {
  const t0 = await locateTarget(s, target);
  // warnings (skipped links and special files) also travel in the result, so `--json` shows them
  const warnings: string[] = [];
  const warn = (msg: string) => {
    warnings.push(msg);
    opts.onWarning?.(msg);
  };
  const plan = planPut(sources, opts.append ?? false, warn);
  const run = new PutRun(s, await WriteSession.start(s), t0, plan, opts, warn);
  let failed = true;
  const put = async () => {
    for (const p of plan.plans) {
      if (p.kind === 'tree') await run.putTree(p);
      else for (const f of p.files) await run.putLocalFile(f);
    }
    for (const src of sources) {
      if (src.kind === 'stream') {
        const repoPath = validateWritePath(src.repoPath);
        run.addFile(repoPath, await ingestStream(src.stream as AsyncIterable<Buffer>, (hint) => run.newWriter(repoPath, hint), run.progress));
      } else if (src.kind === 'tar') {
        await ingestTar(src.stream, cleanPath(src.repoPath), run.newWriter, run.addFile, run.progress, warn);
      }
    }
    const { commit, finished } = await run.commit(target, opts.description);
    failed = false;
    return {
      repo: commit.repo,
      branch: commit.branch,
      commit: commit.id,
      finished,
      ...run.counts(),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  };
  try {
    // a tree's rows go in over several checkpoint units
    return await (plan.hasTrees ? s.manyUnits(put) : put());
  } finally {
    await run.session.close(failed);
  }
}

/** One put's write session and what it has staged for its commit: path edits, tree overlays, contents, file-cache rows. */
class PutRun {
  private readonly arena: ReadArena;
  private readonly cache: FileCache;
  private readonly pages: StagedPages;
  private readonly trees: TreeIngest | null;
  /** path edits and tree overlays, in source order: a later one wins where they overlap */
  private readonly ops: (PathEdit | OverlayOp)[] = [];
  private readonly contents: ContentRecord[] = [];
  private readonly cacheUpdates: { file: LocalFile; id: ContentId }[] = [];
  /** under -a, the content each path has so far in this put */
  private readonly pending = new Map<string, ContentRecord>();
  private readonly baseRoot: NodeId | null;
  /** what this put reads from its base, replayed in the transaction if the branch moved meanwhile */
  private readonly putBase: PutBase;
  private bytes = 0;
  private files = 0;
  private cachedFiles = 0;

  constructor(
    private readonly s: StoreCore,
    readonly session: WriteSession,
    private readonly t0: WriteTarget,
    private readonly plan: PutPlan,
    private readonly opts: PutOptions,
    warn: (msg: string) => void,
  ) {
    const { writer } = this.session;
    enableDeltas(s, writer); // delta hook: new versions of a file are stored against the old
    // a big file's chunk rows are recorded as it is read (unreferenced until the commit, which gc
    // leaves alone while this session's writer row lives), so memory does not grow with its size;
    // a checkpoint syncs the packs, which only packs on a local disk do mid-put
    if (s.packs.local)
      writer.checkpointEvery(opts.checkpointRows ?? (plan.hasTrees ? CHECKPOINT_ROWS : FILE_CHECKPOINT_ROWS), async () => {
        await writer.sync();
        let done: Checkpoint | undefined;
        // forget the rows only once the unit has committed: its body may run more than once
        if (await s.unitNow(async () => void (done = await writer.checkpoint()))) writer.forgetCheckpoint(done!);
      });
    this.arena = new ReadArena(writer);
    this.cache = s.localCache.fileCache();
    this.pages = new StagedPages(s.pages, s.reader);
    this.baseRoot = t0.open ? t0.open.root : (t0.head?.root ?? null);
    this.putBase = new PutBase(this.baseRoot);
    this.trees = plan.hasTrees
      ? new TreeIngest(s, { writer, arena: this.arena, pages: this.pages, cache: this.cache, base: this.baseRoot, onWarning: warn, onBytes: this.progress })
      : null;
  }

  readonly progress = (n: number): void => {
    this.bytes += n;
    const total = this.plan.totalBytes;
    this.opts.onProgress?.({ phase: 'write', done: this.bytes, ...(total !== undefined ? { total } : {}), unit: 'bytes' });
  };

  readonly addFile = (repoPath: string, rec: ContentRecord): void => {
    this.files++;
    this.contents.push(rec);
    if (this.opts.append) this.pending.set(repoPath, rec);
    this.ops.push({ path: repoPath, entry: fileEntry(rec) });
  };

  readonly newWriter = async (repoPath: string, sizeHint: number): Promise<ContentSink> => {
    const { writer } = this.session;
    const prev = this.opts.append ? await this.existing(repoPath) : undefined;
    // delta hook: a new version of a file that the base commit holds is stored against it
    if (!prev || prev.size === 0) return contentSink(writer, sizeHint, (this.opts.append ? null : await planDelta(this.s, this.baseRoot, repoPath, sizeHint)) ?? undefined);
    const ctx = { describe: () => `${this.t0.repo}:${repoPath}` };
    // Every earlier chunk is kept and the appended bytes start a chunk: when another writer moved
    // the branch meanwhile, put-rebase.ts replays this append on the new head by reusing exactly
    // the chunks after the old end, which needs them to start there (a re-chunked last chunk
    // would carry old bytes into the replay).
    // a big earlier content's kept hasher state spares reading it back (hash-state.ts)
    const resumed = resumeHasher(await this.s.index.getContentState(prev.id), prev.id, prev.size);
    if (resumed) return ContentWriter.continuing(writer, CHUNK_PROFILE_V1, { record: prev, bytes: [], lastChunkSize: 0, resumed });
    return ContentWriter.continuing(writer, CHUNK_PROFILE_V1, { record: prev, bytes: readContent(this.s.index, this.s.packs, prev.id, ctx), lastChunkSize: 0 });
  };

  /** For -a: the content a path already has, from this command or from the base commit. */
  private async existing(repoPath: string): Promise<ContentRecord | undefined> {
    const p = this.pending.get(repoPath);
    if (p) return p;
    const rec = await this.baseContent(repoPath);
    this.putBase.readForAppend(repoPath, rec);
    return rec;
  }

  private async baseContent(repoPath: string): Promise<ContentRecord | undefined> {
    if (!this.baseRoot) return undefined;
    const e = await lookupPath(this.s.reader, this.baseRoot, repoPath);
    if (!e) return undefined;
    if (e.kind !== 'file') throw new ConflictError(`file / directory path collision (${repoPath})`, 'a path cannot be both a file and a directory');
    return (await this.s.index.getContent(e.id as ContentId)) ?? { id: e.id as ContentId, size: 0, chunks: [] };
  }

  async putTree(plan: Extract<LocalPlan, { kind: 'tree' }>): Promise<void> {
    const ref = await this.trees!.ingest(plan.localPath, plan.repoPath);
    if (ref && ref.entries > 0) this.ops.push({ path: plan.repoPath, overlay: ref, covers: this.trees!.covered });
  }

  async putLocalFile(f: LocalFile): Promise<void> {
    if (!this.opts.append && (await this.putCached(f))) return;
    const w = await this.newWriter(f.repoPath, f.stat.size);
    await ingestLocal(f, w, this.arena, this.progress);
    const rec = await w.finish();
    this.addFile(f.repoPath, rec);
    if (!this.opts.append) this.cacheUpdates.push({ file: f, id: rec.id });
  }

  /** A file unchanged since it was last put, whose content the store still has: recorded without reading it. */
  private async putCached(f: LocalFile): Promise<boolean> {
    const hit = this.cache.lookup(path.resolve(f.localPath), f.stat);
    if (!hit) return false;
    // already at this path in the base commit: no edit at all
    const before = this.baseRoot ? await lookupPath(this.s.reader, this.baseRoot, f.repoPath) : undefined;
    if (before && before.kind === 'file' && before.id.equals(hit)) {
      this.putBase.skippedUnchanged(f.repoPath, fileEntry(before));
      this.files++;
      this.cachedFiles++;
      this.progress(before.size);
      return true;
    }
    const rec = hit.equals(EMPTY_CONTENT_ID) ? { id: hit, size: 0, chunks: [] } : await this.s.index.getContent(hit);
    if (!rec) return false;
    this.files++;
    this.ops.push({ path: f.repoPath, entry: fileEntry(rec) });
    this.cachedFiles++;
    this.progress(rec.size);
    return true;
  }

  /** Make the packs durable, then record everything staged and the commit in one unit of work. */
  async commit(target: CommitRef, description: string | undefined): Promise<{ commit: CommitRecord; finished: boolean }> {
    const { s, session, pending } = this;
    // before the transaction: a branch must never point at bytes not stored
    await session.makeDurable();
    const readAt = Date.now();
    return commitEdits(
      s,
      target,
      async (base) => {
        // the trees' last pages, before the overlays read them
        await this.pages.flush();
        // recorded first: replaying an append on a newer base reads this put's chunks
        await session.writer.record();
        await s.index.putContents(this.contents);
        const replay = await this.putBase.replayOn(base, {
          reader: s.reader,
          index: s.index,
          packs: s.packs,
          final: (p) => pending.get(p)!,
          describe: (p) => ({ describe: () => `${this.t0.repo}:${p}` }),
          fileEntry: (rec) => fileEntry(rec),
        });
        await s.index.putContents(replay.contents);
        return replay.edits.length > 0 ? [...this.ops, ...replay.edits] : this.ops;
      },
      {
        description,
        beforeCommit: async () => {
          await this.trees?.record(readAt);
          this.cache.record(this.cacheUpdates.map((u) => ({ path: path.resolve(u.file.localPath), stat: u.file.stat, id: u.id })), readAt);
          await session.end();
        },
      },
    );
  }

  /** The result's counts. */
  counts(): Pick<PutResult, 'files' | 'bytes' | 'storedBytes' | 'newChunks' | 'cachedFiles'> {
    const { writer } = this.session;
    return {
      files: this.files + (this.trees?.files ?? 0),
      bytes: this.bytes,
      storedBytes: writer.storedBytes,
      newChunks: writer.newChunks,
      cachedFiles: this.cachedFiles + (this.trees?.cachedFiles ?? 0),
    };
  }
}

/**
 * A file of a datum's output that is an earlier content followed by the bytes of a local file
 * (an output that only grew): stored without reading it back from disk or chunking it whole.
 */
export interface AppendedOutput {
  /** its path in the output tree */
  path: string;
  /** the content it starts with */
  base: ContentId;
  /** a local file holding the bytes that follow */
  tail: string;
}

/**
 * Store a local directory as a standalone tree, not a commit (a datum's output). Every file
 * entry is stamped with `datum`; links are followed. `appended` adds files stored as a content
 * plus new bytes. `beforeCommit` runs inside the transaction that records the tree, so the
 * caller can record what refers to it atomically.
 */
export async function writeLocalTree(
  s: StoreCore,
  dir: string,
  opts: {
    datum: string;
    /** outputs the transform handed over as an earlier content plus new bytes */
    appended?: readonly AppendedOutput[];
    beforeCommit: (root: NodeId | null, stats: { files: number; bytes: number }) => Promise<void>;
    /** what each symbolic link stands for (see LinkTarget); without it links are followed */
    resolveLink?: (local: string) => LinkTarget;
    /** told of each link not uploaded */
    onWarning?: (msg: string) => void;
  },
): Promise<{ root: NodeId | null; files: number; bytes: number }> {
  const session = await WriteSession.start(s);
  const { writer } = session;
  let failed = true;
  let bytes = 0;
  try {
    const trees: TreeIngest = new TreeIngest(s, {
      writer,
      arena: new ReadArena(writer),
      pages: new StagedPages(s.pages, s.reader),
      cache: null,
      base: null,
      datum: opts.datum,
      followLinks: true,
      resolveLink: opts.resolveLink,
      onWarning: opts.onWarning,
      onBytes: (n) => (bytes += n),
    });
    const ref = await trees.ingest(dir, '/');
    const appended: { path: string; rec: ContentRecord }[] = [];
    for (const a of opts.appended ?? []) {
      const rec = await storeAppended(s, writer, a);
      bytes += rec.size;
      appended.push({ path: a.path, rec });
    }
    await session.makeDurable();
    const root = await s.unitOfWork(async () => {
      await writer.record();
      await trees.record(Date.now());
      let r = ref && ref.entries > 0 ? ref.id : null;
      if (appended.length > 0) {
        await s.index.putContents(appended.map((a) => a.rec));
        const edits = appended.map((a) => ({ path: a.path, entry: fileEntry(a.rec, opts.datum) }));
        r = (await withStagedPages(s, (pages) => applyPathEdits(pages, r, edits)))?.id ?? null;
      }
      await opts.beforeCommit(r, { files: trees.files + appended.length, bytes });
      await session.end();
      return r;
    });
    failed = false;
    return { root, files: trees.files + appended.length, bytes };
  } finally {
    await session.close(failed);
  }
}

/** Store `a.base` followed by the bytes of `a.tail`: only the base's last chunk and the new bytes are chunked. */
async function storeAppended(s: StoreCore, writer: PackWriter, a: AppendedOutput): Promise<ContentRecord> {
  const ctx = { describe: () => `the earlier output ${a.path}` };
  const prev = await s.index.getContent(a.base);
  if (!prev) throw new CorruptError(`${ctx.describe()} cannot be read: its content record is missing`, 'run `tusk fsck` to list everything affected');
  const w = await appendingWriter(s.index, s.packs, writer, prev, ctx);
  const fd = fs.openSync(a.tail, 'r');
  try {
    for (;;) {
      // a fresh buffer per block: the writer's chunks view it until the pack writer drains
      const b = await w.buffer(APPEND_BLOCK);
      const n = fs.readSync(fd, b, 0, b.length, null);
      if (n === 0) break;
      await w.push(b.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return w.finish();
}

const APPEND_BLOCK = 1 << 20;

async function ingestTar(
  input: NodeJS.ReadableStream,
  prefix: string,
  newWriter: (repoPath: string, sizeHint: number) => Promise<ContentSink>,
  addFile: (repoPath: string, rec: ContentRecord) => void,
  progress: (n: number) => void,
  warn: (msg: string) => void,
): Promise<void> {
  const source = Readable.from(input as AsyncIterable<Buffer>);
  // gzip is recognised by its magic bytes, so `--untar` takes .tar and .tar.gz alike
  const first: Buffer | null = await new Promise((resolve, reject) => {
    source.once('readable', () => resolve(source.read(2) as Buffer | null));
    source.once('error', reject);
    source.once('end', () => resolve(null));
  });
  if (first) source.unshift(first);
  const stream = first && first[0] === 0x1f && first[1] === 0x8b ? source.pipe(createGunzip()) : source;
  const tarStream = createRequire(import.meta.url)('tar-stream') as typeof import('tar-stream');
  const extract = tarStream.extract();
  stream.pipe(extract);
  // archive name → what its file entry stored: a hard link entry holds no data, only the name of
  // an earlier entry whose content it shares
  const stored = new Map<string, ContentRecord>();
  const nameOf = (name: string) => name.split('/').filter((p) => p !== '' && p !== '.');
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const isFile = h.type === 'file' || h.type === 'contiguous-file';
      if (isFile || h.type === 'link') {
        const parts = nameOf(h.name);
        // never resolve `..` in an archive: it would write outside the target directory
        if (parts.includes('..')) validateWritePath(`/${h.name}`);
        const repoPath = validateWritePath(joinPath(prefix, parts.join('/')));
        if (isFile) {
          const rec = await ingestStream(entry as AsyncIterable<Buffer>, (hint) => newWriter(repoPath, hint), progress);
          stored.set(parts.join('/'), rec);
          addFile(repoPath, rec);
          continue;
        }
        entry.resume();
        // a hard link is a regular file with its target's content
        const target = stored.get(nameOf(h.linkname ?? '').join('/'));
        if (target) addFile(repoPath, target);
        else warn(`skipping hard link ${h.name} in the tar stream: its target ${h.linkname ?? '(none)'} is not a file earlier in the archive`);
      } else {
        entry.resume();
        // directories are implied by the files in them; anything else is said, never dropped silently
        if (h.type === 'symlink') warn(`skipping symbolic link ${h.name} -> ${h.linkname ?? ''} in the tar stream`);
        else if (h.type !== 'directory') warn(`skipping ${h.type} entry ${h.name} in the tar stream: only files and hard links are stored`);
      }
    }
  } catch (err) {
    if (err instanceof TuskError) throw err;
    throw new InvalidArgumentError(`cannot read tar stream: ${(err as Error).message}`, 'check that the file given with --untar is a tar (or tar.gz) archive');
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

/** What the store says of a path in a commit: the one shape listings, inspect, diff and the console use. */
export function toFileInfo(repo: string, commit: string, pe: { path: string; entry: Entry }): FileInfo {
  return {
    path: pe.path,
    type: pe.entry.kind,
    sizeBytes: pe.entry.size,
    files: pe.entry.files,
    hash: pe.entry.id.toString('hex'),
    repo,
    commit,
    datum: pe.entry.datum ?? null,
  };
}

function fileNotFound(c: CommitRecord, p: string): NotFoundError {
  return new NotFoundError('file', p, `file ${escapeControlChars(p)} not found in repo ${c.repo} at commit ${c.id}`);
}

function rootOf(s: StoreCore, c: CommitRecord): Promise<NodeId> {
  return c.root ? Promise.resolve(c.root) : emptyRoot(s);
}

/** Entries a (possibly glob) path names: the glob's matches, or the one entry at a literal path. */
async function matchPath(s: StoreCore, c: CommitRecord, p: string): Promise<PathEntry[]> {
  const root = c.root;
  if (!root) return [];
  // a glob over a big tree may never give the event loop a turn (pages on SQLite answer at once): Ctrl-C must still stop it
  if (hasGlobChars(p)) return killable(() => collectBatches(globTree(s.reader, root, p)));
  const clean = cleanPath(p);
  const e = await lookupPath(s.reader, root, clean);
  return e ? [{ path: clean, entry: e }] : [];
}

/**
 * A damaged or missing tree page found while resolving `p` names the commit and path, as damaged
 * file contents do: "file /a in r@master=… cannot be read: tree page … does not match its id".
 */
async function inCommit<T>(c: CommitRecord, p: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CorruptError && !err.message.includes(c.id)) throw new CorruptError(`${readCtx(c, p).describe()} cannot be read: ${err.message}`, err.hint, { cause: err });
    throw err;
  }
}

/** Children of a directory, the file itself, or the matches of a glob, collected. */
export async function listFiles(s: StoreCore, ref: FileRef): Promise<FileInfo[]> {
  return collectBatches(await iterateFiles(s, ref));
}

/**
 * What listFiles returns, a page of a directory at a time: a directory's children come from the
 * tree's cursor as they are asked for, so a directory of any size costs a few pages before its first entry and
 * bounded memory after; `after` starts a directory's walk past that name (a page of a listing).
 * A path that does not exist fails here, before anything is returned; a damaged page later in the
 * directory fails the `next()` that reaches it.
 */
export async function iterateFiles(s: StoreCore, ref: FileRef, opts: { after?: string } = {}): Promise<AsyncIterable<FileInfo[]>> {
  const c = await resolveCommit(s, ref);
  const p = ref.path ?? '/';
  if (hasGlobChars(p)) return once((await inCommit(c, p, () => matchPath(s, c, p))).map((pe) => toFileInfo(c.repo, c.id, pe)));
  const clean = cleanPath(p);
  const e = await inCommit(c, clean, async () => lookupPath(s.reader, await rootOf(s, c), clean));
  if (!e) {
    if (clean === '/') return once([]);
    throw fileNotFound(c, clean);
  }
  if (e.kind === 'file') return once([toFileInfo(c.repo, c.id, { path: clean, entry: e })]);
  // Leaves are read past the page cache: a listing visits each once, and caching them would hold
  // thousands of pages of a directory nobody reads twice.
  const children = entryPages(s.reader, e.id as NodeId, opts.after, { cacheLeaves: false });
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const r = await inCommit(c, clean, () => children.next());
        if (r.done) return;
        // a stored name is one clean path element: no cleanPath needed (a million calls of it show)
        yield r.value.map((e) => toFileInfo(c.repo, c.id, { path: clean === '/' ? `/${e.name}` : `${clean}/${e.name}`, entry: e }));
      }
    },
  };
}

/** One batch, as an AsyncIterable of batches. */
function once<T>(batch: T[]): AsyncIterable<T[]> {
  return {
    async *[Symbol.asyncIterator]() {
      if (batch.length > 0) yield batch;
    },
  };
}

export async function globFiles(s: StoreCore, ref: FileRef): Promise<FileInfo[]> {
  const c = await resolveCommit(s, ref);
  return (await inCommit(c, ref.path ?? '/', () => matchPath(s, c, ref.path ?? '/'))).map((pe) => toFileInfo(c.repo, c.id, pe));
}

export async function inspectFile(s: StoreCore, ref: FileRef): Promise<FileInfo> {
  const c = await resolveCommit(s, ref);
  const p = ref.path ?? '/';
  const matches = await inCommit(c, p, () => matchPath(s, c, p));
  if (matches.length === 0) {
    if (cleanPath(p) === '/') return toFileInfo(c.repo, c.id, { path: '/', entry: { name: '', kind: 'dir', id: await rootOf(s, c), size: 0, files: 0 } });
    throw fileNotFound(c, p);
  }
  if (matches.length > 1) throw new InvalidArgumentError(`${escapeControlChars(p)} matched ${matches.length} files`, 'inspect one file at a time, or use `tusk glob file`');
  return toFileInfo(c.repo, c.id, matches[0]!);
}

function readCtx(c: CommitRecord, p: string): ReadContext {
  return { describe: () => `file ${p} in ${commitLabel(c)}` };
}

export interface GetOptions {
  output?: string;
  recursive?: boolean;
  offset?: number;
  /** read only this many bytes from `offset` (one file, not -r): only the chunks that hold them */
  length?: number;
  stdout?: NodeJS.WritableStream;
  onProgress?: OnProgress;
}

/** One file a get writes: where it is in the commit, and the local path it goes to (null: the output stream). */
interface GetItem {
  repoPath: string;
  local: string | null;
  entry: Entry;
}

/** What a get writes, checked before a byte is: the commit, the files in walk order (produced as it goes), their total size. */
async function planGet(s: StoreCore, ref: FileRef, opts: GetOptions): Promise<{ c: CommitRecord; items: AsyncIterable<GetItem[]>; total: number }> {
  const c = await resolveCommit(s, ref);
  const p = ref.path ?? '/';
  const where = `${c.repo}@${c.branch ?? ''}=${c.id}`;
  if (opts.recursive && !opts.output) throw new InvalidArgumentError('an output path needs to be specified when using the --recursive flag', 'add -o DIR');
  if (opts.recursive && opts.length !== undefined) throw new InvalidArgumentError('--length reads a range of one file and cannot be used with --recursive', 'drop -r, or drop --length to get the whole tree');
  const matches = await inCommit(c, p, () => matchPath(s, c, p));
  if (matches.length === 0) throw fileNotFound(c, p);
  if (!opts.recursive) {
    if (matches.length > 1) throw new InvalidArgumentError(`couldn't download ${escapeControlChars(p)} from ${where}: matched multiple files. Try again with the -r flag`, 'add -r -o DIR');
    if (matches[0]!.entry.kind !== 'file')
      throw new InvalidArgumentError(`couldn't download ${escapeControlChars(p)} from ${where}: cannot get directory or non-regular file. Try again with the -r flag`, 'add -r -o DIR');
  }
  const root = await rootOf(s, c);
  const multi = matches.length > 1;
  // a tree of any size is never listed whole: a page's files at a time
  const items = async function* (): AsyncGenerator<GetItem[]> {
    for (const m of matches) {
      if (m.entry.kind === 'file') {
        yield [{ repoPath: m.path, local: opts.output ? (opts.recursive && multi ? path.join(opts.output, m.path) : opts.output) : null, entry: m.entry }];
        continue;
      }
      const base = multi ? path.join(opts.output!, m.path) : opts.output!;
      const files = walkFiles(s.reader, root, m.path);
      for (;;) {
        const r = await inCommit(c, m.path, () => files.next());
        if (r.done) break;
        yield r.value.map((pe) => ({ repoPath: pe.path, local: path.join(base, m.path === '/' ? pe.path : pe.path.slice(m.path.length)), entry: pe.entry }));
      }
    }
  };
  // a directory's entry holds the size of everything below it
  return { c, items: items(), total: matches.reduce((n, m) => n + m.entry.size, 0) };
}

/** Bytes written so far, told to onProgress. */
class GetProgress {
  bytes = 0;
  constructor(
    private readonly total: number,
    private readonly onProgress?: OnProgress,
  ) {}

  add(n: number): void {
    this.bytes += n;
    this.onProgress?.({ phase: 'read', done: this.bytes, total: this.total, unit: 'bytes' });
  }
}

/** Write a file to stdout or a local path, or a tree to a local directory (-r). Content is verified as it is read. */
export async function getFile(s: StoreCore, ref: FileRef, opts: GetOptions): Promise<{ files: number; bytes: number }> {
  const { c, items, total } = await planGet(s, ref, opts);
  const progress = new GetProgress(total, opts.onProgress);
  const madeDirs = new Set<string>();
  const offset = opts.offset ?? 0;
  // where packs are not local, every file takes the contract's path (ranged reads)
  const local = s.packs.local !== undefined;
  const batches = opts.recursive && local ? new BatchWriter() : null;
  let files = 0;
  try {
    for await (const group of fileGroups(s, items, (f) => ({ id: f.entry.id as ContentId, describe: readCtx(c, f.repoPath).describe, end: opts.length === undefined ? undefined : offset + opts.length }))) {
      await group.fetched;
      // the small files of a tree: their records and chunk places in one lookup each for the group
      const known = batches ? await lookUpContents(s.index, group.files.filter((f) => f.local !== null && f.entry.size <= SMALL_WRITE).map((f) => f.entry.id as ContentId)) : null;
      for (const f of group.files) {
        files++;
        const ctx = readCtx(c, f.repoPath);
        const id = f.entry.id as ContentId;
        const out = opts.stdout ?? process.stdout;
        // range hook: --length reads only the chunks that hold the range (content-range.ts)
        if (opts.length !== undefined) {
          const parts = local ? readRange(s.index, s.packs, id, ctx, offset, opts.length) : readRangeAsync(s.index, s.packs, id, ctx, offset, opts.length);
          if (f.local === null) await toStream(parts, out, false, progress);
          else
            await intoLocalFile(f.local, false, madeDirs, async (fd) => {
              for await (const b of parts) {
                writeAll(fd, b);
                progress.add(b.length);
              }
            });
          continue;
        }
        if (!local) {
          if (f.local === null) await toStream(readContentAsync(s.index, s.packs, id, ctx, offset), out, false, progress);
          else await intoLocalFile(f.local, opts.recursive ?? false, madeDirs, async (fd) => {
            for await (const b of readContentAsync(s.index, s.packs, id, ctx, offset)) {
              writeAll(fd, b);
              progress.add(b.length);
            }
          });
          continue;
        }
        // Buffers may be reused (saving ~70 MiB of garbage on a big file) when each is done with before
        // the next is asked for: a file written here with writeSync, or our own stdout, whose write
        // callback comes once the bytes are out. Another stream may hold on to what it is given.
        const transient = f.local === null ? out === process.stdout : !(opts.recursive && f.entry.size <= SMALL_WRITE);
        if (f.entry.size >= PARALLEL_MIN_BYTES && (f.local === null || !copiesNatively(f.entry.size, offset))) startContentWorker();
        if (f.local !== null && batches && f.entry.size <= SMALL_WRITE) {
          // Small files of a tree: read and verified here (looked up with the rest of their group),
          // created and written in batches by the worker meanwhile.
          const parts: Buffer[] = [];
          for await (const b of readContent(s.index, s.packs, id, ctx, offset, { record: known?.records.get(id.toString('latin1')), places: known?.places })) parts.push(b);
          let size = 0;
          for (const p of parts) size += p.length;
          batches.add(path.dirname(f.local), f.local, parts, size);
          progress.add(size);
        } else if (f.local === null) await toStream(readContent(s.index, s.packs, id, ctx, offset, { transient }), out, transient, progress);
        else
          await intoLocalFile(f.local, opts.recursive ?? false, madeDirs, async (fd) => {
            await writeContent(s.index, s.packs, id, ctx, fd, offset, (n) => progress.add(n));
          });
      }
    }
    batches?.finish();
  } finally {
    batches?.close();
  }
  return { files, bytes: progress.bytes };
}

/** Files a get reads together: their records are looked up in one go, and a lazy clone fetches their remote-backed chunks in one go (neighbours in one request), at most this many bytes at a time. */
const FETCH_GROUP_BYTES = 64 << 20;
const FETCH_GROUP_FILES = 4096;

/**
 * `items` in groups, each with the promise that fetches what the group needs from a remote
 * (lazy-fetch.ts; null where nothing is remote-backed): the caller awaits it, then reads the
 * group's files, looking their records up together.
 */
async function* fileGroups(s: StoreCore, items: AsyncIterable<GetItem[]>, want: (f: GetItem) => ContentWant): AsyncGenerator<{ files: GetItem[]; fetched: Promise<unknown> | null }> {
  // asked once per get, after its commit was resolved: a lazy pull that added the commit
  // recorded its remote-backed chunks in the same unit
  const remote = await anyRemoteBacked(s);
  let group: GetItem[] = [];
  let bytes = 0;
  const flush = () => {
    const g = { files: group, fetched: remote ? ensureContents(s, group.map(want)) : null };
    group = [];
    bytes = 0;
    return g;
  };
  for await (const batch of items) {
    for (const f of batch) {
      group.push(f);
      bytes += f.entry.size;
      if (bytes >= FETCH_GROUP_BYTES || group.length >= FETCH_GROUP_FILES) yield flush();
    }
  }
  if (group.length > 0) yield flush();
}

/** Write a file's bytes to a stream, honouring backpressure; a transient buffer is waited out before the next is read. */
async function toStream(bytes: Iterable<Buffer> | AsyncIterable<Buffer>, out: NodeJS.WritableStream, transient: boolean, progress: GetProgress): Promise<void> {
  for await (const b of bytes) {
    if (transient) await new Promise<void>((resolve, reject) => out.write(b, (err) => (err ? reject(err) : resolve())));
    else if (!out.write(b)) await new Promise((r) => out.once('drain', r));
    progress.add(b.length);
  }
}

function writeAll(fd: number, b: Buffer): void {
  for (let done = 0; done < b.length; ) done += fs.writeSync(fd, b, done, b.length - done);
}

/**
 * Create a local file and let `write` fill it. A single file goes to a temp name and is renamed, so
 * a failed read never leaves a half file where a good one was. A tree (-r) is written in place (a
 * rename per file doubles the cost of 100,000 small files); a failed file is removed.
 */
async function intoLocalFile(local: string, inPlace: boolean, madeDirs: Set<string>, write: (fd: number) => void | Promise<void>): Promise<void> {
  const dir = path.dirname(local);
  if (!madeDirs.has(dir)) {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw localFileError(err, dir, 'write');
    }
    madeDirs.add(dir);
  }
  // a device (`-o /dev/null`) is written into: never renamed over, never removed. A FIFO or a
  // socket cannot take the positioned writes a file gets: refused, not replaced by a file.
  const kind = specialFileKind(local);
  if (kind === 'fifo' || kind === 'socket') {
    throw new InvalidArgumentError(`${local} is a ${kind === 'fifo' ? 'FIFO' : 'socket'}: -o writes files and devices`, `leave out -o and redirect standard output into it (\`tusk get file REF > ${local}\`)`);
  }
  const special = kind === 'device';
  const tmp = inPlace || special ? local : `${local}.tusk-${process.pid}-${randomBytes(4).toString('hex')}`;
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w');
  } catch (err) {
    throw localFileError(err, local, 'write');
  }
  try {
    await write(fd);
    fs.closeSync(fd);
    if (tmp !== local) fs.renameSync(tmp, local);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    if (!special) fs.rmSync(tmp, { force: true });
    if (err instanceof TuskError) throw err;
    throw localFileError(err, local, 'write');
  }
}

// ---------------------------------------------------------------------------------------------
// diff, copy, delete

/** Files that differ between two commits under a path: '-' old versions, '+' new versions. */
export async function diffFiles(s: StoreCore, newRef: FileRef, oldRef?: FileRef, opts: { shallow?: boolean } = {}): Promise<DiffEntry[]> {
  const nc = await resolveCommit(s, newRef);
  const oc = oldRef ? await resolveCommit(s, oldRef) : nc.parent ? (await s.graph.getCommit(nc.repo, nc.parent))! : null;
  const np = cleanPath(newRef.path ?? '/');
  const op = cleanPath(oldRef?.path ?? np);
  const ne = nc.root ? await lookupPath(s.reader, nc.root, np) : undefined;
  const oe = oc?.root ? await lookupPath(s.reader, oc.root, op) : undefined;
  const out: DiffEntry[] = [];
  const add = (sign: '+' | '-', c: CommitRecord, pe: PathEntry) => out.push({ op: sign, ...toFileInfo(c.repo, c.id, pe) });
  const expand = async (sign: '+' | '-', c: CommitRecord, pe: PathEntry) => {
    if (pe.entry.kind === 'file' || opts.shallow) add(sign, c, pe);
    else for await (const batch of walkTree(s.reader, pe.entry.id as NodeId, pe.path)) for (const f of batch) if (f.entry.kind === 'file') add(sign, c, f);
  };
  const walk = async (oldDir: Entry | undefined, newDir: Entry | undefined, oPath: string, nPath: string): Promise<void> => {
    if (!oldDir || oldDir.kind === 'file' || !newDir || newDir.kind === 'file') {
      if (oldDir && newDir && oldDir.id.equals(newDir.id)) return;
      if (oldDir) await expand('-', oc!, { path: oPath, entry: oldDir });
      if (newDir) await expand('+', nc, { path: nPath, entry: newDir });
      return;
    }
    for await (const changes of diffEntries(s.reader, oldDir.id as NodeId, newDir.id as NodeId)) {
      // the root pages of the subdirectories this batch descends into, asked for at once
      const below: NodeId[] = [];
      for (const ch of changes) {
        if (ch.op !== 'changed') {
          if (ch.entry.kind === 'dir' && !opts.shallow) below.push(ch.entry.id as NodeId);
        } else if (ch.before.kind === 'dir' && ch.after.kind === 'dir' && !opts.shallow) below.push(ch.before.id as NodeId, ch.after.id as NodeId);
      }
      if (below.length > 1) await s.reader.getMany(below);
      for (const ch of changes) {
        if (ch.op === 'added') {
          if (ch.entry.kind === 'file' || opts.shallow) add('+', nc, { path: joinPath(nPath, ch.entry.name), entry: ch.entry });
          else await expand('+', nc, { path: joinPath(nPath, ch.entry.name), entry: ch.entry });
        } else if (ch.op === 'removed') {
          if (ch.entry.kind === 'file' || opts.shallow) add('-', oc!, { path: joinPath(oPath, ch.entry.name), entry: ch.entry });
          else await expand('-', oc!, { path: joinPath(oPath, ch.entry.name), entry: ch.entry });
        } else if (ch.before.kind === 'dir' && ch.after.kind === 'dir' && !opts.shallow) await walk(ch.before, ch.after, joinPath(oPath, ch.before.name), joinPath(nPath, ch.after.name));
        else {
          add('-', oc!, { path: joinPath(oPath, ch.before.name), entry: ch.before });
          add('+', nc, { path: joinPath(nPath, ch.after.name), entry: ch.after });
        }
      }
    }
  };
  await walk(oe, ne, op, np);
  return out;
}

/** Copy a file or directory into a branch or open commit by reference: no bytes move. */
export async function copyFile(s: StoreCore, src: FileRef, dst: FileRef, opts: { append?: boolean } = {}): Promise<CommitInfo> {
  const sc = await resolveCommit(s, src);
  const sp = cleanPath(src.path ?? '/');
  const se = sc.root ? await lookupPath(s.reader, sc.root, sp) : undefined;
  if (!se) throw fileNotFound(sc, sp);
  const dp = validateWritePath(dst.path ?? sp);
  if (opts.append && se.kind !== 'file') throw new InvalidArgumentError('--append copies only files', 'copy the directory without -a');
  const { commit } = await commitEdits(s, dst, async (base) => {
    if (!opts.append) return [{ path: dp, entry: { ...se, name: '' } }];
    const prev = base ? await lookupPath(s.reader, base, dp) : undefined;
    if (!prev) return [{ path: dp, entry: { ...se, name: '' } }];
    if (prev.kind !== 'file') throw new ConflictError(`file / directory path collision (${dp})`, 'a path cannot be both a file and a directory');
    // appended content: old chunks then source chunks; the new whole-file id needs both read once
    const both = await s.index.getContents([prev.id as ContentId, se.id as ContentId]);
    const rec = await concatContents(
      [both.get(prev.id.toString('latin1')), both.get(se.id.toString('latin1'))],
      (async function* () {
        yield* readContent(s.index, s.packs, prev.id as ContentId, readCtx(sc, dp));
        yield* readContent(s.index, s.packs, se.id as ContentId, readCtx(sc, sp));
      })(),
    );
    await s.index.putContents([rec]);
    return [{ path: dp, entry: fileEntry(rec) }];
  });
  return toCommitInfo(s, commit);
}

/** Delete files (a glob may name several); directories need `recursive`. */
export async function deleteFiles(s: StoreCore, ref: FileRef, opts: { recursive?: boolean } = {}): Promise<CommitInfo> {
  const p = ref.path;
  if (p === undefined || cleanPath(p) === '/') {
    if (!opts.recursive) throw new InvalidArgumentError('a file path is required', 'name the file, e.g. repo@master:/file.txt, or pass -r with :/ to empty the commit');
  }
  const { commit } = await commitEdits(s, ref, async (base, t) => {
    const c = { repo: t.repo, branch: t.branch, id: t.open?.id ?? t.head?.id ?? '' } as CommitRecord;
    const matches: PathEntry[] = [];
    if (base) {
      if (p !== undefined && hasGlobChars(p)) matches.push(...(await killable(() => collectBatches(globTree(s.reader, base, p)))));
      else {
        const clean = cleanPath(p ?? '/');
        const e = await lookupPath(s.reader, base, clean);
        if (e) matches.push({ path: clean, entry: e });
      }
    }
    if (matches.length === 0) throw fileNotFound(c, p ?? '/');
    for (const m of matches) if (m.entry.kind === 'dir' && !opts.recursive) throw new InvalidArgumentError(`${m.path} is a directory`, 'pass -r to delete a directory and everything in it');
    if (matches.some((m) => m.path === '/')) return (await listEntries(s.reader, base!)).map((e) => ({ path: `/${e.name}`, entry: null }));
    return matches.map((m) => ({ path: m.path, entry: null }));
  });
  return toCommitInfo(s, commit);
}
