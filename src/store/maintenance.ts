// fsck (prove every invariant, in plain words) and gc (reclaim what no commit references).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LockedError, TuskError } from '../errors.js';
import { WRITER_LEASE_MS, type ContentRecord, type PackUsage } from './chunk-index.js';
import { lookUpPlaces, type Places } from './chunk-places.js';
import { readChunk, readChunkAsync } from './content-io.js';
import type { RemoteChunkIndex } from './remote-chunks.js';
import { createHasher, EMPTY_CONTENT_ID, fromHex, hashBytes, type ChunkId, type ContentId, type NodeId } from './hash.js';
import { canCheckStates, resumeHasher } from './hash-state.js';
import { cachedContents, inputCacheLimit, trimInputCache, verifyInputCache } from './input-cache.js';
import { decodePage, type Entry, type Page, type PageRef } from './page-format.js';
import { PACK_MAGIC, RECORD_HEADER_BYTES } from './pack-format.js';
import { bytesSaved, isSparse, rewritePack } from './pack-rewrite.js';
import type { LocalPackAccess } from './packs.js';
import { DB_FILE, type StoreCore } from './store-core.js';
import type { FsckProblem, FsckReport, GcReport, OnProgress } from './types.js';

const hex = (b: Buffer) => b.toString('hex');

/** Chunks fsck --verify-data looks up per query (with the chains under their deltas). */
const VERIFY_LOOKUP = 500;
/** Contents gc looks up per query while it marks the chunks it keeps. */
const MARK_LOOKUP = 2000;
/** Tree pages gc's mark asks the index for at once. */
const MARK_PAGES = 256;

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
  const run = new FsckRun(s, await s.remoteChunks.any(), opts.onProgress);
  const packs = await run.checkPacks(opts.verifyData ?? false);
  await run.checkChunkPlaces(packs);
  await run.checkDeltaChains();
  if (opts.verifyData) await run.verifyChunks();
  await run.checkCommits();
  // the datum input cache: copies pipelines read instead of packs must hold what their ids say
  if (opts.verifyData) run.checked.cachedInputs = verifyInputCache(s.path, (id, problem) => run.report(`cached input ${id.slice(0, 16)}`, problem));
  if (opts.verifyData) await run.checkHasherStates();
  const remote = await s.remoteChunks.counts();
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
  private readonly remote: RemoteChunkIndex;
  /** hex chunk ids found damaged, misplaced or unreadable */
  private readonly badChunks = new Set<string>();
  /** content id → what hashing its bytes found */
  private readonly badContents = new Map<string, string>();
  /** node id → whether its subtree has problems: a shared subtree is walked once */
  private readonly nodeState = new Map<string, boolean>();
  /** content id → its problem, or null */
  private readonly contentState = new Map<string, string | null>();

  /** `anyRemote`: whether the store has remote-backed chunks (a lazy clone), asked once when fsck starts */
  constructor(
    private readonly s: StoreCore,
    private readonly anyRemote: boolean,
    private readonly onProgress?: OnProgress,
  ) {
    this.remote = s.remoteChunks;
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
    const bases = await index.deltaBases();
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
    // `places`: where the chunks of a batch lie, and the chains under their deltas, looked up together
    const verify = async (id: ChunkId, places: Places): Promise<Buffer | null> => {
      const key = hex(id);
      const loc = places.get(id.toString('latin1'));
      if (this.badChunks.has(key) || !loc) return null; // reported, or reported per file
      let data: Buffer | null = null;
      const ctx = { describe: () => `chunk ${key.slice(0, 16)}` };
      try {
        data = packs.local ? await readChunk(index, packs, id, ctx, loc, { places }) : await readChunkAsync(index, packs, id, ctx, loc);
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
      const places = await lookUpPlaces(index, content.chunks);
      for (const cid of content.chunks) {
        const data = await verify(cid, places);
        if (!data) {
          complete = false;
          break;
        }
        h.update(data);
      }
      if (complete && !h.digest().equals(content.id)) this.badContents.set(hex(content.id), 'its chunks do not hash to its id: the chunk list is wrong');
    }
    for (let i = 0; i < ids.length; i += VERIFY_LOOKUP) {
      const batch = ids.slice(i, i + VERIFY_LOOKUP).filter((id) => !verified.has(hex(id)));
      if (batch.length === 0) continue;
      const places = await lookUpPlaces(index, batch);
      for (const id of batch) await verify(id, places);
    }
  }

  /** Branches, commits, provenance, and each commit's tree, reported per commit and path. */
  async checkCommits(): Promise<void> {
    const { graph } = this.s;
    const repos = new Set((await graph.listRepos()).map((r) => r.name));
    this.checked.repos = repos.size;
    // every reference to a missing commit in one query, not a lookup per branch, parent and provenance
    const dangling = new Map<string, string[]>();
    for (const d of await graph.danglingRefs()) {
      if (d.kind === 'head') {
        this.report(`branch ${d.repo}@${d.name}`, `points at commit ${d.target}, which does not exist`);
        continue;
      }
      const key = `${d.repo}@${d.name}`;
      const problem = d.kind === 'parent' ? `has parent ${d.target}, which does not exist` : `has provenance ${d.targetRepo}@${d.target}, which does not exist`;
      const list = dangling.get(key);
      if (list) list.push(problem);
      else dangling.set(key, [problem]);
    }
    for await (const c of graph.iterateAllCommits()) {
      this.checked.commits++;
      const label = `${c.repo}@${c.id}`;
      if (!repos.has(c.repo)) this.report(`commit ${label}`, `belongs to repo ${c.repo}, which does not exist`);
      for (const problem of dangling.get(label) ?? []) this.report(`commit ${label}`, problem);
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
    await this.checkContents(entries.filter((e) => e.kind === 'file').map((e) => e.id));
    for (const e of entries) {
      const p = where === '/' ? `/${e.name}` : `${where}/${e.name}`;
      if (e.kind === 'file') {
        const problem = this.contentState.get(hex(e.id)) ?? null;
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

  /**
   * What is wrong with each file content of a page (its record, its chunks, their sizes, its
   * hash), or null, into contentState. Each content is checked once; a page's records are looked
   * up in one query, their chunks in one more, and on a lazy clone the chunks not here in a third.
   */
  private async checkContents(ids: readonly Buffer[]): Promise<void> {
    const todo = new Map<string, ContentId>();
    for (const id of ids) {
      const key = hex(id);
      if (this.contentState.has(key)) continue;
      if (id.equals(EMPTY_CONTENT_ID)) this.contentState.set(key, null);
      else todo.set(key, id as ContentId);
    }
    if (todo.size === 0) return;
    const records = await this.s.index.getContents([...todo.values()]);
    const chunks: ChunkId[] = [];
    for (const rec of records.values()) for (const c of rec.chunks) chunks.push(c);
    const locs = await this.s.index.getChunks(chunks);
    const missing = chunks.filter((c) => !locs.has(c.toString('latin1')));
    const backed = this.anyRemote && missing.length > 0 ? await this.remote.backed(missing) : new Set<string>();
    for (const [key, id] of todo) {
      this.checked.contents++;
      const rec = records.get(id.toString('latin1'));
      this.contentState.set(key, rec ? (this.chunkProblem(rec, locs, backed) ?? this.badContents.get(key) ?? null) : 'its content record is missing');
    }
  }

  /** `backed`: the chunks of the page not here that a lazy pull left on a remote, as latin1 keys */
  private chunkProblem(rec: ContentRecord, locs: Places, backed: ReadonlySet<string>): string | null {
    let total = 0;
    let remote = false;
    for (const cid of rec.chunks) {
      const loc = locs.get(cid.toString('latin1'));
      if (!loc) {
        // a lazy pull left it on a remote: `fsck --remote NAME` checks it is there
        if (backed.has(cid.toString('latin1'))) {
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
  // packs in a bucket are not measured here (a request per pack): gc counts those it deletes
  const local = s.packs.local;
  if (local) for (const name of local.names()) total += local.sizeOf(name) ?? 0;
  return total;
}

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
 *
 * Packs in a bucket are removed (objects, sums, and their blocks in the local cache) when no
 * chunk row names them; a sparse one is rewritten as a new object (pack-rewrite.ts), as a sparse
 * local pack is. `dryRun`: the same sweep, rolled back, and nothing deleted or rewritten: the
 * report says what would go.
 */
export async function gc(s: StoreCore, opts: { waitMs?: number; dryRun?: boolean } = {}): Promise<GcReport> {
  // cutting tails is a local operation
  const local = s.packs.local;
  const dryRun = opts.dryRun ?? false;
  const before = storeBytes(s);
  const rep: GcReport = {
    chunksRemoved: 0,
    contentsRemoved: 0,
    nodesRemoved: 0,
    packsRemoved: 0,
    packsRewritten: 0,
    bytesReclaimed: 0,
    storeBytesBefore: before,
    storeBytesAfter: before,
    cacheFilesRemoved: 0,
    cacheBytesRemoved: 0,
    removedPacks: [],
    rewrittenPacks: [],
    ...(dryRun ? { dryRun } : {}),
  };
  const cacheLimit = inputCacheLimit();
  const waitMs = opts.waitMs ?? GC_WAIT_MS;
  const deadline = Date.now() + waitMs;
  // bytes of the packs removed (a bucket's objects: what the local measure does not see)
  let packBytes = 0;
  const removePack = async (name: string) => {
    const size = local ? local.sizeOf(name) : await s.packs.size(name);
    packBytes += size ?? 0;
    rep.removedPacks.push(name);
    if (dryRun) return;
    if (local) local.removeNow(name);
    else await s.packs.remove(name);
  };

  let repackList: Swept['toRepack'];
  for (;;) {
    const swept = await sweep(s, local, dryRun);
    if (swept) {
      // the pack files whose rows the sweep dropped go once it has committed
      for (const name of swept.toRemove) await removePack(name);
      Object.assign(rep, swept.counts);
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
  // packs that no row knows (their rows went with the sweep, or a writer died between its
  // upload and its row's removal). List them before reading the rows: a writer creates a pack's
  // row (committed) before its file or object, so one seen here whose row is not read just after
  // is truly nobody's — the other order could delete a pack a writer has just created.
  const listed: string[] = [];
  if (local) listed.push(...local.names());
  else for await (const name of s.packs.list()) listed.push(name);
  const known = new Set((await s.index.listPacks()).map((p) => p.name));
  // in a dry run the swept rows are still there, and the packs they name already listed
  for (const name of rep.removedPacks) known.add(name);
  const now = Date.now();
  for (const name of listed) {
    if (known.has(name)) continue;
    // in a bucket, where writers on other machines upload, an object is also spared while its
    // name (the time its row was made) is younger than a writer's lease
    if (!local && now - packMadeAt(name) < WRITER_LEASE_MS) continue;
    await removePack(name);
  }
  rep.packsRemoved = rep.removedPacks.length;
  rep.rewrittenPacks = repackList.map((p) => p.name);
  rep.packsRewritten = repackList.length;
  if (dryRun) {
    rep.bytesReclaimed = packBytes + repackList.reduce((sum, p) => sum + bytesSaved(p), 0);
    return rep;
  }
  for (const p of repackList) packBytes += await rewritePack(s, p);
  // cached datum inputs of contents swept above, and the oldest past the cache's bound
  const cached = cachedContents(s.path);
  const stored = await s.index.getContents(cached.map((id) => fromHex(id) as ContentId));
  const trim = trimInputCache(s.path, { maxBytes: cacheLimit, gone: new Set(cached.filter((id) => !stored.has(fromHex(id).toString('latin1')))) });
  rep.cacheFilesRemoved = trim.filesRemoved;
  rep.cacheBytesRemoved = trim.bytesRemoved;
  s.compact();
  rep.storeBytesAfter = storeBytes(s);
  rep.bytesReclaimed = Math.max(0, before - rep.storeBytesAfter) + (local ? 0 : packBytes);
  return rep;
}

/** When a pack's row was made, from its name (claimPack: 12 hex digits of ms, then random); 0 when it does not say. */
function packMadeAt(name: string): number {
  const t = Number.parseInt(name.slice(0, 12), 16);
  return /^[0-9a-f]{12}/.test(name) && Number.isFinite(t) ? t : 0;
}

/** Thrown to roll a dry run's sweep back, carrying what it found. */
class DryRun<T> extends Error {
  constructor(readonly found: T) {
    super('dry run');
  }
}

/**
 * Mark and sweep in one unit of work; null (nothing done) while a write session is alive.
 * Returns what it removed, the pack files to delete and the packs to rewrite.
 */
type Swept = { counts: Pick<GcReport, 'nodesRemoved' | 'contentsRemoved' | 'chunksRemoved'>; toRemove: string[]; toRepack: Pick<PackUsage, 'id' | 'name' | 'size' | 'live'>[] };

async function sweep(s: StoreCore, local: LocalPackAccess | undefined, dryRun: boolean): Promise<Swept | null> {
  try {
    return await sweepUnit(s, local, dryRun);
  } catch (err) {
    if (err instanceof DryRun) return err.found as Swept;
    throw err;
  }
}

async function sweepUnit(s: StoreCore, local: LocalPackAccess | undefined, dryRun: boolean): Promise<Swept | null> {
  return s.unitOfWork(async () => {
    if ((await s.index.liveWriters()).length > 0) return null;
    // mark
    const nodes = new Set<string>();
    const contents = new Set<string>();
    const chunks = new Set<string>();
    // every page below the roots, asked for MARK_PAGES at a time (a round trip per batch on a network index)
    const markFrom = async (roots: Iterable<NodeId>): Promise<void> => {
      const stack = [...roots];
      while (stack.length > 0) {
        const ids: NodeId[] = [];
        while (stack.length > 0 && ids.length < MARK_PAGES) {
          const id = stack.pop()!;
          const key = hex(id);
          if (nodes.has(key)) continue;
          nodes.add(key);
          ids.push(id);
        }
        const datas = await s.index.getNodes(ids);
        for (let i = 0; i < ids.length; i++) {
          const data = datas[i];
          if (!data) continue; // fsck's business; gc only keeps what is reachable
          const { entries, refs } = pageItems(decodePage(data, ids[i]!));
          for (const r of refs) stack.push(r.id);
          for (const e of entries) {
            if (e.kind === 'dir') stack.push(e.id as NodeId);
            else contents.add(hex(e.id));
          }
        }
      }
    };
    await markFrom(await s.graph.allRoots());
    // datum outputs are kept for later jobs to reuse, even when no commit holds them any more
    await markFrom(await s.jobs.allDatumOutputs());
    // the kept contents' chunks, their records looked up MARK_LOOKUP at a time
    const reached = [...contents];
    for (let i = 0; i < reached.length; i += MARK_LOOKUP) {
      const records = await s.index.getContents(reached.slice(i, i + MARK_LOOKUP).map((k) => fromHex(k) as ContentId));
      for (const rec of records.values()) for (const c of rec.chunks) chunks.add(hex(c));
    }
    // delta hook: a kept chunk keeps the chain of bases it is stored against
    const bases = await s.index.deltaBases();
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
    // lazy clones: a chunk left on a remote that no commit needs any more is not fetched by a full pull, nor counted
    if (await s.remoteChunks.any()) await s.remoteChunks.sweep(chunks);
    await s.index.dropOrphanProfiles();
    await s.index.dropOrphanDeltasAndStates();
    // packs: empty ones go, sparse ones are rewritten, leased ones are left to their writer
    const toRemove: string[] = [];
    const toRepack: Swept['toRepack'] = [];
    // the lazy cache's packs are evicted whole, never rewritten
    const cachePacks = new Set((await s.remoteChunks.cachePacks()).map((p) => p.id));
    for (const p of await s.index.packUsage()) {
      if (p.owner !== null && (await s.index.isWriterAlive(p.owner))) continue;
      if (p.chunks === 0) {
        await s.index.deletePack(p.id);
        toRemove.push(p.name);
      } else if (isSparse(p) && !cachePacks.has(p.id)) toRepack.push({ id: p.id, name: p.name, size: p.size, live: p.live });
      else {
        // cut a crashed writer's uncommitted tail, under the write lock so that no writer appends
        // meanwhile; cutting to the committed length again is harmless if the body runs again
        const onDisk = local && !dryRun ? local.sizeOf(p.name) : null;
        if (onDisk !== null && onDisk > p.size) local!.truncate(p.name, p.size);
      }
    }
    // A pack about to be rewritten is sealed now, in the sweep's transaction: a writer starting
    // while it is copied must not append to it (its new chunks would point at a pack gc deletes).
    for (const p of toRepack) await s.index.sealPack(p.id);
    // a dry run leaves the metadata as it was: the unit is rolled back
    if (dryRun) throw new DryRun<Swept>({ counts, toRemove, toRepack });
    return { counts, toRemove, toRepack };
  });
}
