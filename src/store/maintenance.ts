// fsck (prove every invariant, in plain words) and gc (reclaim what no commit references).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LockedError, TuskError } from '../errors.js';
import type { ContentRecord } from './chunk-index.js';
import { crashPoint } from './crash-points.js';
import { readChunk, readChunkAsync } from './content-io.js';
import { RemoteChunks } from './remote-chunks.js';
import { createHasher, EMPTY_CONTENT_ID, fromHex, hashBytes, type ChunkId, type ContentId, type NodeId } from './hash.js';
import { canCheckStates, resumeHasher } from './hash-state.js';
import { inputCacheLimit, trimInputCache, verifyInputCache } from './input-cache.js';
import { DeltaIndex } from './delta-store.js';
import { decodePage, type Entry, type Page, type PageRef } from './page-format.js';
import { encodeRecordHeader, PACK_MAGIC, RECORD_HEADER_BYTES } from './pack-format.js';
import { requireLocal, type LocalPackAccess } from './packs.js';
import { WriteSession } from './write-session.js';
import { DB_FILE, type StoreCore } from './store-core.js';
import type { FsckProblem, FsckReport, GcReport, OnProgress } from './types.js';

const hex = (b: Buffer) => b.toString('hex');

/** Children of a page: entries for leaves, page refs for internal pages. */
function pageItems(page: Page): { entries: Entry[]; refs: PageRef[] } {
  return page.level === 0 ? { entries: (page as { entries: Entry[] }).entries, refs: [] } : { entries: [], refs: (page as { children: PageRef[] }).children };
}

/**
 * Check every invariant the store relies on. With verifyData, also read and hash every chunk.
 * Pack bytes are reached through the pack contract only, so fsck runs on any pack backend; where
 * packs are local it reads them synchronously, which is what it always did.
 */
export async function fsck(s: StoreCore, opts: { verifyData?: boolean; onProgress?: OnProgress } = {}): Promise<FsckReport> {
  const run = new FsckRun(s, opts.onProgress);
  const packs = await run.checkPacks(opts.verifyData ?? false);
  await run.checkChunkPlaces(packs);
  await run.checkDeltaChains();
  if (opts.verifyData) await run.verifyChunks();
  await run.checkCommits();
  // the datum input cache: copies pipelines read instead of packs must hold what their ids say
  if (opts.verifyData) run.checked.cachedInputs = verifyInputCache(s.path, (id, problem) => run.report(`cached input ${id.slice(0, 16)}`, problem));
  if (opts.verifyData) await run.checkHasherStates();
  const remote = RemoteChunks.of(s.db).counts();
  run.checked.remoteChunks = remote.reduce((n, r) => n + r.absent, 0);
  return { ok: run.problems.length === 0, checked: run.checked, problems: run.problems, ...(remote.length > 0 ? { remote } : {}) };
}

/** A pack as recorded, with what its backend holds. */
interface PackSeen {
  name: string;
  size: number;
  onDisk: number | null;
}

/** One fsck: what it found so far, and each phase as a method (packs → chunk places → chunk bytes → commits and trees). */
class FsckRun {
  readonly problems: FsckProblem[] = [];
  readonly checked = { repos: 0, commits: 0, nodes: 0, contents: 0, chunks: 0, packs: 0, chunksVerified: 0, cachedInputs: 0, hasherStates: 0, remoteChunks: 0 };
  /** chunks left on a remote on purpose (lazy pulls): absent here, and no problem */
  private readonly remote: RemoteChunks;
  private readonly anyRemote: boolean;
  /** hex chunk ids found damaged, misplaced or unreadable */
  private readonly badChunks = new Set<string>();
  /** content id → what hashing its bytes found */
  private readonly badContents = new Map<string, string>();
  /** node id → whether its subtree has problems: a shared subtree is walked once */
  private readonly nodeState = new Map<string, boolean>();
  /** content id → its problem, or null */
  private readonly contentState = new Map<string, string | null>();

  constructor(
    private readonly s: StoreCore,
    private readonly onProgress?: OnProgress,
  ) {
    this.remote = RemoteChunks.of(s.db);
    this.anyRemote = this.remote.any();
  }

  report(subject: string, problem: string): void {
    this.problems.push({ subject, problem });
  }

  /** Every recorded pack's committed size must be in the backend. */
  async checkPacks(verifyData: boolean): Promise<Map<number, PackSeen>> {
    const { packs } = this.s;
    const byId = new Map<number, PackSeen>();
    for (const p of await this.s.index.listPacks()) {
      this.checked.packs++;
      const onDisk = packs.local ? packs.local.sizeOf(p.name) : await packs.size(p.name);
      byId.set(p.id, { name: p.name, size: p.size, onDisk });
      if (onDisk === null) {
        if (p.size > 0) this.report(`pack ${p.name}`, 'is missing from disk');
      } else if (onDisk < p.size) this.report(`pack ${p.name}`, `is truncated: ${onDisk} bytes on disk, ${p.size} committed`);
      else if (verifyData && p.size >= PACK_MAGIC.length && !(await packs.getRange(p.name, 0, PACK_MAGIC.length)).equals(PACK_MAGIC))
        this.report(`pack ${p.name}`, 'has a damaged header (not a tusk pack?)');
    }
    return byId;
  }

  /** Every chunk's record must lie inside its pack's committed bytes, and inside what the backend holds. */
  async checkChunkPlaces(packs: Map<number, PackSeen>): Promise<void> {
    for await (const c of this.s.index.iterateChunkPlaces()) {
      this.checked.chunks++;
      const p = packs.get(c.pack);
      const end = c.offset + RECORD_HEADER_BYTES + c.storedLen;
      let problem: string | null = null;
      if (!p) problem = `refers to pack #${c.pack}, which is not recorded`;
      else if (end > p.size) problem = `lies past the committed end of pack ${p.name}`;
      // what a lost or cut pack takes with it shows without reading a byte
      else if (p.onDisk === null) problem = `is in pack ${p.name}, which is missing`;
      else if (end > p.onDisk) problem = `lies past the end of pack ${p.name} on disk (truncated)`;
      if (problem) {
        this.report(`chunk ${hex(c.id).slice(0, 16)}`, problem);
        this.badChunks.add(hex(c.id));
      }
    }
  }

  /**
   * Delta hook: a delta chunk needs its row and its bases; a chunk whose chain is broken is bad,
   * and so is every chunk stored against it.
   */
  async checkDeltaChains(): Promise<void> {
    const { index } = this.s;
    const bases = new DeltaIndex(this.s.db).allBases();
    for await (const c of index.deltaChunkIds()) {
      if (!bases.has(hex(c))) {
        this.report(`chunk ${hex(c).slice(0, 16)}`, 'is stored as a delta but has no delta row (its base is unknown to gc)');
        this.badChunks.add(hex(c));
      }
    }
    const named = new Map<string, ChunkId>();
    for (const list of bases.values()) for (const base of list) named.set(base, Buffer.from(base, 'hex') as ChunkId);
    const here = await index.existingChunks([...named.values()]);
    for (const [id, list] of bases) {
      for (const base of list) {
        if (here.has(named.get(base)!.toString('latin1'))) continue;
        this.report(`chunk ${id.slice(0, 16)}`, `is stored against base chunk ${base.slice(0, 16)}, which is missing`);
        this.badChunks.add(id);
      }
    }
    for (let grew = true; grew; ) {
      grew = false;
      for (const [id, list] of bases) if (!this.badChunks.has(id) && list.some((b) => this.badChunks.has(b))) {
        this.badChunks.add(id);
        grew = true;
      }
    }
  }

  /** Read and hash every chunk once; a content's chunk list must hash to the content's id. */
  async verifyChunks(): Promise<void> {
    const { index, packs } = this.s;
    const ids = await index.allChunkIds();
    const verified = new Set<string>();
    const verify = async (id: ChunkId): Promise<Buffer | null> => {
      const key = hex(id);
      if (this.badChunks.has(key) || !index.getChunk(id)) return null; // reported, or reported per file
      let data: Buffer | null = null;
      const ctx = { describe: () => `chunk ${key.slice(0, 16)}` };
      try {
        data = packs.local ? readChunk(index, packs, id, ctx) : await readChunkAsync(index, packs, id, ctx);
      } catch (err) {
        if (!(err instanceof TuskError)) throw err;
        this.badChunks.add(key);
        this.report(`chunk ${key.slice(0, 16)}`, err.message.replace(/^chunk \w+ cannot be read: /, 'damaged: '));
      }
      if (!verified.has(key)) {
        verified.add(key);
        this.checked.chunksVerified++;
        if (this.checked.chunksVerified % 256 === 0) this.onProgress?.({ phase: 'read', done: this.checked.chunksVerified, total: ids.length, unit: 'files' });
      }
      return data;
    };
    // Contents with a chunk list first: their chunks, read once here, must also hash to the
    // content id together, or the list itself is wrong (reordered, swapped, another file's).
    for (const content of await index.allChunkLists()) {
      const h = createHasher();
      let complete = true;
      for (const cid of content.chunks) {
        const data = await verify(cid);
        if (!data) {
          complete = false;
          break;
        }
        h.update(data);
      }
      if (complete && !h.digest().equals(content.id)) this.badContents.set(hex(content.id), 'its chunks do not hash to its id: the chunk list is wrong');
    }
    for (const id of ids) if (!verified.has(hex(id))) await verify(id);
  }

  /** Branches, commits, provenance, and each commit's tree, reported per commit and path. */
  async checkCommits(): Promise<void> {
    const { graph } = this.s;
    const repos = new Set((await graph.listRepos()).map((r) => r.name));
    this.checked.repos = repos.size;
    for (const b of await graph.allBranches()) {
      if (!(await graph.getCommit(b.repo, b.head))) this.report(`branch ${b.repo}@${b.name}`, `points at commit ${b.head}, which does not exist`);
    }
    for await (const c of graph.iterateAllCommits()) {
      this.checked.commits++;
      const label = `${c.repo}@${c.id}`;
      if (!repos.has(c.repo)) this.report(`commit ${label}`, `belongs to repo ${c.repo}, which does not exist`);
      if (c.parent && !(await graph.getCommit(c.repo, c.parent))) this.report(`commit ${label}`, `has parent ${c.parent}, which does not exist`);
      for (const p of await graph.commitProvenance(c.repo, c.id))
        if (!(await graph.getCommit(p.fromRepo, p.fromCommit))) this.report(`commit ${label}`, `has provenance ${p.fromRepo}@${p.fromCommit}, which does not exist`);
      if (!c.root) {
        this.report(`commit ${label}`, 'has no root tree');
        continue;
      }
      await this.walkDir(c.root, '/', (p) => `${label}:${p}`);
    }
  }

  /** Check a directory's pages and files; true when its subtree has problems. A clean subtree shared by later commits is not walked again. */
  private async walkDir(id: NodeId, where: string, subject: (p: string) => string): Promise<boolean> {
    const key = hex(id);
    if (this.nodeState.get(key) === false) return false;
    const page = await this.loadPage(id, key, () => subject(where));
    if (!page) {
      this.nodeState.set(key, true);
      return true;
    }
    if (!this.nodeState.has(key)) this.checked.nodes++;
    let bad = false;
    const { entries, refs } = pageItems(page);
    for (const r of refs) if (await this.walkDir(r.id, where, subject)) bad = true;
    for (const e of entries) {
      const p = where === '/' ? `/${e.name}` : `${where}/${e.name}`;
      if (e.kind === 'file') {
        const problem = this.checkContent(e.id);
        if (problem) {
          this.report(subject(p), problem);
          bad = true;
        }
      } else if (await this.walkDir(e.id as NodeId, p, subject)) bad = true;
    }
    this.nodeState.set(key, bad);
    return bad;
  }

  /** A directory page, present, matching its id and decodable; null (reported) otherwise. */
  private async loadPage(id: NodeId, key: string, subject: () => string): Promise<Page | null> {
    const data = await this.s.index.getNode(id);
    if (!data) {
      this.report(subject(), `directory page ${key.slice(0, 16)} is missing`);
      return null;
    }
    if (!hashBytes(data).equals(id)) {
      this.report(subject(), `directory page ${key.slice(0, 16)} does not match its id`);
      return null;
    }
    try {
      return decodePage(data, id);
    } catch (err) {
      this.report(subject(), `directory page ${key.slice(0, 16)} cannot be decoded: ${(err as Error).message}`);
      return null;
    }
  }

  /**
   * Kept hasher states (hash-state.ts): never used unless they digest to their content's id, but
   * one that does not is damage worth knowing of; it is removed, and an append hashes that content again.
   */
  async checkHasherStates(): Promise<void> {
    if (!canCheckStates()) return;
    for (const st of await this.s.index.contentStates()) {
      this.checked.hasherStates++;
      if (st.size !== null && resumeHasher(st.state, st.content, st.size)) continue;
      let removed = true;
      try {
        await this.s.index.deleteContentState(st.content);
      } catch {
        removed = false; // a store this user can only read
      }
      const what = st.size === null ? 'its content is gone' : 'does not digest to its content id';
      this.report(`hasher state of content ${hex(st.content).slice(0, 16)}`, `${what} (${removed ? 'removed' : 'not removed: the store is read-only here'}; an append to that content hashes it again)`);
    }
  }

  /** What is wrong with a file's content (its record, its chunks, their sizes, its hash), or null. Each content is checked once. */
  private checkContent(id: Buffer): string | null {
    const key = hex(id);
    const known = this.contentState.get(key);
    if (known !== undefined) return known;
    let problem: string | null = null;
    if (!id.equals(EMPTY_CONTENT_ID)) {
      this.checked.contents++;
      const rec = this.s.index.getContent(id as ContentId);
      problem = rec ? (this.chunkProblem(rec) ?? this.badContents.get(key) ?? null) : 'its content record is missing';
    }
    this.contentState.set(key, problem);
    return problem;
  }

  private chunkProblem(rec: ContentRecord): string | null {
    let total = 0;
    let remote = false;
    // the content's chunks located in one lookup, not one per chunk
    const locs = this.s.index.getChunks(rec.chunks);
    for (const cid of rec.chunks) {
      const loc = locs.get(cid.toString('latin1'));
      if (!loc) {
        // a lazy pull left it on a remote: `fsck --remote NAME` checks it is there
        if (this.anyRemote && this.remote.anyBacked([cid])) {
          remote = true;
          continue;
        }
        return `chunk ${hex(cid).slice(0, 16)} is missing`;
      }
      if (this.badChunks.has(hex(cid))) return `chunk ${hex(cid).slice(0, 16)} is damaged`;
      total += loc.rawLen;
    }
    // the sizes of chunks not here are not known: the file's size is checked when it is fetched
    return remote || total === rec.size ? null : `its chunks hold ${total} bytes, ${rec.size} recorded`;
  }
}

function storeBytes(s: StoreCore): number {
  let total = 0;
  const add = (f: string) => {
    try {
      total += fs.statSync(f).size;
    } catch {
      // absent (e.g. no WAL right now)
    }
  };
  for (const suffix of ['', '-wal', '-shm']) add(path.join(s.path, DB_FILE + suffix));
  const local = requireLocal(s.packs, 'measuring the store');
  for (const name of local.names()) total += local.sizeOf(name) ?? 0;
  return total;
}

/** Packs whose live bytes fall below this share of their size are rewritten. */
const REPACK_BELOW = 0.5;

/** How long gc waits for running writes to finish before it gives up with E_LOCKED. */
export const GC_WAIT_MS = 10_000;
const GC_POLL_MS = 25;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Delete tree pages, contents and chunks no commit references; rewrite packs that became mostly
 * garbage; cut tails left by crashed writers. Never sweeps while a writer is active (a writer may
 * have decided to reuse a chunk that is unreferenced at this moment): it waits, polling, for a
 * moment with no write session — up to `waitMs` (GC_WAIT_MS by default) — and then gives up with
 * E_LOCKED. Waiting is friendlier than failing at once: a `tusk gc` typed while a put finishes
 * just runs a moment later. The check and the sweep are one transaction, and a writer registers
 * (which needs that lock) before it looks up any chunk, so no writer can slip in between.
 */
export async function gc(s: StoreCore, opts: { waitMs?: number } = {}): Promise<GcReport> {
  // cutting tails and rewriting packs in place are local operations; a bucket's packs are
  // collected by whatever owns the bucket
  const local = requireLocal(s.packs, '`tusk gc`');
  const before = storeBytes(s);
  const db = s.db;
  const rep: GcReport = { chunksRemoved: 0, contentsRemoved: 0, nodesRemoved: 0, packsRemoved: 0, packsRewritten: 0, bytesReclaimed: 0, storeBytesBefore: before, storeBytesAfter: before, cacheFilesRemoved: 0, cacheBytesRemoved: 0 };
  const cacheLimit = inputCacheLimit();
  const waitMs = opts.waitMs ?? GC_WAIT_MS;
  const deadline = Date.now() + waitMs;

  let repackList: { id: number; name: string }[] | null;
  for (;;) {
    const swept = await sweep(s, local);
    if (swept) {
      // the pack files whose rows the sweep dropped go once it has committed
      for (const name of swept.toRemove) local.removeNow(name);
      Object.assign(rep, swept.counts, { packsRemoved: swept.toRemove.length });
      repackList = swept.toRepack;
      break;
    }
    if (Date.now() >= deadline) {
      const live = (await s.index.liveWriters()).length;
      throw new LockedError(
        `cannot collect garbage while ${live} write${live === 1 ? ' is' : 's are'} in progress${waitMs > 0 ? ` (waited ${Math.round(waitMs / 1000)} s)` : ''}`,
        'retry when the running puts have finished',
      );
    }
    sleepSync(GC_POLL_MS);
  }
  // packs on disk that no row knows (their rows went with the sweep). List the files before
  // reading the rows: a writer creates a pack's row (committed) before its file, so a file seen
  // here whose row is not read just after is truly nobody's — the other order could delete a
  // pack a writer has just created.
  const onDisk = local.names();
  const known = new Set((await s.index.listPacks()).map((p) => p.name));
  for (const name of onDisk) if (!known.has(name)) {
    local.removeNow(name);
    rep.packsRemoved++;
  }
  for (const p of repackList) if (await repack(s, local, p)) rep.packsRewritten++;
  // cached datum inputs of contents swept above, and the oldest past the cache's bound
  const trim = trimInputCache(s.path, { maxBytes: cacheLimit, isStored: (id) => s.index.hasContent(fromHex(id) as ContentId) });
  rep.cacheFilesRemoved = trim.filesRemoved;
  rep.cacheBytesRemoved = trim.bytesRemoved;
  db.pragma('wal_checkpoint(TRUNCATE)');
  const freelist = db.pragma('freelist_count', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  if (freelist > pages / 4) db.exec('VACUUM');
  rep.storeBytesAfter = storeBytes(s);
  rep.bytesReclaimed = Math.max(0, before - rep.storeBytesAfter);
  return rep;
}

/**
 * Mark and sweep in one unit of work; null (nothing done) while a write session is alive.
 * Returns what it removed, the pack files to delete and the packs to rewrite.
 */
async function sweep(
  s: StoreCore,
  local: LocalPackAccess,
): Promise<{ counts: Pick<GcReport, 'nodesRemoved' | 'contentsRemoved' | 'chunksRemoved'>; toRemove: string[]; toRepack: { id: number; name: string }[] } | null> {
  return s.unitOfWork(async () => {
    if ((await s.index.liveWriters()).length > 0) return null;
    // mark
    const nodes = new Set<string>();
    const contents = new Set<string>();
    const chunks = new Set<string>();
    const markDir = async (id: NodeId): Promise<void> => {
      const key = hex(id);
      if (nodes.has(key)) return;
      nodes.add(key);
      const data = await s.index.getNode(id);
      if (!data) return; // fsck's business; gc only keeps what is reachable
      const { entries, refs } = pageItems(decodePage(data, id));
      for (const r of refs) await markDir(r.id);
      for (const e of entries) {
        if (e.kind === 'dir') await markDir(e.id as NodeId);
        else if (!contents.has(hex(e.id))) {
          contents.add(hex(e.id));
          const rec = s.index.getContent(e.id as ContentId);
          if (rec) for (const c of rec.chunks) chunks.add(hex(c));
        }
      }
    };
    for (const root of await s.graph.allRoots()) await markDir(root);
    // datum outputs are kept for later jobs to reuse, even when no commit holds them any more
    for (const root of await s.jobs.allDatumOutputs()) await markDir(root);
    // delta hook: a kept chunk keeps the chain of bases it is stored against
    const bases = new DeltaIndex(s.db).allBases();
    if (bases.size > 0) {
      const todo = [...chunks];
      for (let key = todo.pop(); key !== undefined; key = todo.pop()) {
        for (const b of bases.get(key) ?? []) {
          if (chunks.has(b)) continue;
          chunks.add(b);
          todo.push(b);
        }
      }
    }
    const kept = (id: Buffer, keep: Set<string>) => keep.has(hex(id));
    const counts = {
      nodesRemoved: await s.index.sweepNodes((id) => kept(id, nodes)),
      contentsRemoved: await s.index.sweepContents((id) => kept(id, contents)),
      chunksRemoved: await s.index.sweepChunks((id) => kept(id, chunks)),
    };
    await s.index.dropOrphanProfiles();
    await s.index.dropOrphanDeltasAndStates();
    // packs: empty ones go, sparse ones are rewritten, leased ones are left to their writer
    const toRemove: string[] = [];
    const toRepack: { id: number; name: string }[] = [];
    const cache = RemoteChunks.of(s.db);
    for (const p of await s.index.packUsage()) {
      if (p.owner !== null && (await s.index.isWriterAlive(p.owner))) continue;
      if (p.chunks === 0) {
        await s.index.deletePack(p.id);
        toRemove.push(p.name);
      } else if (p.live < (p.size - PACK_MAGIC.length) * REPACK_BELOW && !cache.isCachePack(p.id)) toRepack.push({ id: p.id, name: p.name });
      else {
        // cut a crashed writer's uncommitted tail, under the write lock so that no writer appends
        // meanwhile; cutting to the committed length again is harmless if the body runs again
        const onDisk = local.sizeOf(p.name);
        if (onDisk !== null && onDisk > p.size) local.truncate(p.name, p.size);
      }
    }
    // A pack about to be rewritten is sealed now, in the sweep's transaction: a writer starting
    // while it is copied must not append to it (its new chunks would point at a pack gc deletes).
    for (const p of toRepack) await s.index.sealPack(p.id);
    return { counts, toRemove, toRepack };
  });
}

/** Copy a pack's live chunks into a fresh pack, then drop the old one. */
async function repack(s: StoreCore, local: LocalPackAccess, old: { id: number; name: string }): Promise<boolean> {
  const session = await WriteSession.start(s, `gc-${process.pid}`);
  const row = await s.index.claimPack(session.id, Number.MAX_SAFE_INTEGER, { fresh: true });
  const appender = local.openAppender(row.name, row.size, PACK_MAGIC);
  let failed = true;
  try {
    const chunks = await s.index.chunksInPack(old.id);
    const moved: { id: ChunkId; offset: number }[] = [];
    for (const c of chunks) {
      const rec = local.read(old.name, c.offset, RECORD_HEADER_BYTES + c.storedLen);
      // copy the payload as stored; the header is rebuilt so a damaged one is not propagated
      const at = appender.append([encodeRecordHeader(c.id, c.codec, c.rawLen, c.storedLen), rec.subarray(RECORD_HEADER_BYTES)]);
      moved.push({ id: c.id, offset: at });
    }
    appender.sync();
    crashPoint('in-gc-repack');
    await s.unitOfWork(async () => {
      await s.index.moveChunks(old.id, row.id, moved);
      await s.index.commitPack(row.id, appender.length, true);
      await s.index.deletePack(old.id);
      await session.end();
    });
    failed = false;
    local.removeNow(old.name);
    return true;
  } finally {
    appender.close();
    await session.close(failed);
  }
}
