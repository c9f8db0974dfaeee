// fsck (prove every invariant, in plain words) and gc (reclaim what no commit references).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LockedError, TuskError } from '../errors.js';
import { splitIds } from './chunk-index.js';
import { crashPoint } from './crash-points.js';
import { readChunk } from './content-io.js';
import { createHasher, EMPTY_CONTENT_ID, fromHex, hashBytes, type ChunkId, type ContentId, type NodeId } from './hash.js';
import { canCheckStates, resumeHasher } from './hash-state.js';
import { inputCacheLimit, trimInputCache, verifyInputCache } from './input-cache.js';
import { DeltaIndex } from './delta-store.js';
import { decodePage, type Entry, type Page, type PageRef } from './tree.js';
import { Codec, encodeRecordHeader, PACK_MAGIC, RECORD_HEADER_BYTES } from './pack-format.js';
import { DB_FILE, PACKS_DIR, type StoreCore } from './store-core.js';
import type { FsckProblem, FsckReport, GcReport, OnProgress } from './types.js';

const hex = (b: Buffer) => b.toString('hex');

/** Children of a page: entries for leaves, page refs for internal pages. */
function pageItems(page: Page): { entries: Entry[]; refs: PageRef[] } {
  return page.level === 0 ? { entries: (page as { entries: Entry[] }).entries, refs: [] } : { entries: [], refs: (page as { children: PageRef[] }).children };
}

/** Check every invariant the store relies on. With verifyData, also read and hash every chunk. */
export function fsck(s: StoreCore, opts: { verifyData?: boolean; onProgress?: OnProgress } = {}): FsckReport {
  const problems: FsckProblem[] = [];
  const report = (subject: string, problem: string) => problems.push({ subject, problem });
  const checked = { repos: 0, commits: 0, nodes: 0, contents: 0, chunks: 0, packs: 0, chunksVerified: 0, cachedInputs: 0, hasherStates: 0 };
  const db = s.db;

  // packs: committed size must be on disk
  const packs = db.prepare('SELECT id, name, size FROM packs').all() as { id: number; name: string; size: number }[];
  const packById = new Map<number, { name: string; size: number; onDisk: number | null }>();
  for (const p of packs) {
    checked.packs++;
    const onDisk = s.packs.size(p.name);
    packById.set(p.id, { ...p, onDisk });
    if (onDisk === null) {
      if (p.size > 0) report(`pack ${p.name}`, 'is missing from disk');
    } else if (onDisk < p.size) report(`pack ${p.name}`, `is truncated: ${onDisk} bytes on disk, ${p.size} committed`);
    else if (opts.verifyData && p.size >= PACK_MAGIC.length && !s.packs.read(p.name, 0, PACK_MAGIC.length).equals(PACK_MAGIC))
      report(`pack ${p.name}`, 'has a damaged header (not a tusk pack?)');
  }

  // chunk index: every location inside its pack's committed bytes; optionally verify bytes
  const badChunks = new Set<string>();
  for (const c of db.prepare('SELECT id, pack, offset, stored_len AS storedLen FROM chunks').iterate() as IterableIterator<{ id: Buffer; pack: number; offset: number; storedLen: number }>) {
    checked.chunks++;
    const p = packById.get(c.pack);
    if (!p) {
      report(`chunk ${hex(c.id).slice(0, 16)}`, `refers to pack #${c.pack}, which is not recorded`);
      badChunks.add(hex(c.id));
    } else if (c.offset + RECORD_HEADER_BYTES + c.storedLen > p.size) {
      report(`chunk ${hex(c.id).slice(0, 16)}`, `lies past the committed end of pack ${p.name}`);
      badChunks.add(hex(c.id));
    } else if (p.onDisk === null) {
      // what a lost or cut pack takes with it shows without reading a byte
      report(`chunk ${hex(c.id).slice(0, 16)}`, `is in pack ${p.name}, which is missing`);
      badChunks.add(hex(c.id));
    } else if (c.offset + RECORD_HEADER_BYTES + c.storedLen > p.onDisk) {
      report(`chunk ${hex(c.id).slice(0, 16)}`, `lies past the end of pack ${p.name} on disk (truncated)`);
      badChunks.add(hex(c.id));
    }
  }
  // delta hook: a delta chunk needs its row and its base; a chunk whose chain is broken is bad,
  // and so is every chunk stored against it
  const bases = new DeltaIndex(db).allBases();
  for (const c of db.prepare(`SELECT id FROM chunks WHERE codec = ${Codec.Delta}`).pluck().iterate() as IterableIterator<Buffer>) {
    if (!bases.has(hex(c))) {
      report(`chunk ${hex(c).slice(0, 16)}`, 'is stored as a delta but has no delta row (its base is unknown to gc)');
      badChunks.add(hex(c));
    }
  }
  const hasChunk = db.prepare('SELECT 1 FROM chunks WHERE id = ?').pluck();
  for (const [id, list] of bases) {
    for (const base of list) {
      if (hasChunk.get(Buffer.from(base, 'hex')) !== undefined) continue;
      report(`chunk ${id.slice(0, 16)}`, `is stored against base chunk ${base.slice(0, 16)}, which is missing`);
      badChunks.add(id);
    }
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const [id, list] of bases) if (!badChunks.has(id) && list.some((b) => badChunks.has(b))) {
      badChunks.add(id);
      grew = true;
    }
  }
  const badContents = new Map<string, string>(); // content id → what hashing its bytes found
  if (opts.verifyData) {
    const ids = db.prepare('SELECT id FROM chunks').pluck().all() as Buffer[];
    const verified = new Set<string>();
    const verify = (id: Buffer): Buffer | null => {
      const key = hex(id);
      if (badChunks.has(key) || !s.index.getChunk(id as ChunkId)) return null; // reported, or reported per file
      let data: Buffer | null = null;
      try {
        data = readChunk(s.index, s.packs, id as ChunkId, { describe: () => `chunk ${key.slice(0, 16)}` });
      } catch (err) {
        if (!(err instanceof TuskError)) throw err;
        badChunks.add(key);
        report(`chunk ${key.slice(0, 16)}`, err.message.replace(/^chunk \w+ cannot be read: /, 'damaged: '));
      }
      if (!verified.has(key)) {
        verified.add(key);
        checked.chunksVerified++;
        if (checked.chunksVerified % 256 === 0) opts.onProgress?.({ phase: 'read', done: checked.chunksVerified, total: ids.length, unit: 'files' });
      }
      return data;
    };
    // Contents with a chunk list first: their chunks, read once here, must also hash to the
    // content id together, or the list itself is wrong (reordered, swapped, another file's).
    for (const row of db.prepare('SELECT id, chunks FROM contents').all() as { id: Buffer; chunks: Buffer | null }[]) {
      if (!row.chunks || row.chunks.length === 0) continue;
      const h = createHasher();
      let complete = true;
      for (const cid of splitIds(row.chunks)) {
        const data = verify(cid);
        if (!data) {
          complete = false;
          break;
        }
        h.update(data);
      }
      if (complete && !h.digest().equals(row.id)) badContents.set(hex(row.id), 'its chunks do not hash to its id: the chunk list is wrong');
    }
    for (const id of ids) if (!verified.has(hex(id))) verify(id);
  }

  // trees and contents, reported per commit and path; each node is checked once, and a subtree
  // that holds nothing bad is not walked again for the next commit that shares it
  const nodeState = new Map<string, boolean>(); // node id → subtree has problems
  const contentState = new Map<string, string | null>(); // content id → problem or null
  const checkContent = (id: Buffer): string | null => {
    const key = hex(id);
    const known = contentState.get(key);
    if (known !== undefined) return known;
    let problem: string | null = null;
    if (!id.equals(EMPTY_CONTENT_ID)) {
      checked.contents++;
      const rec = s.index.getContent(id as ContentId);
      if (!rec) problem = 'its content record is missing';
      else {
        const chunks = rec.chunks;
        const row = rec;
        let total = 0;
        for (const cid of chunks) {
          const loc = s.index.getChunk(cid);
          if (!loc) {
            problem = `chunk ${hex(cid).slice(0, 16)} is missing`;
            break;
          }
          if (badChunks.has(hex(cid))) {
            problem = `chunk ${hex(cid).slice(0, 16)} is damaged`;
            break;
          }
          total += loc.rawLen;
        }
        if (!problem && total !== row.size) problem = `its chunks hold ${total} bytes, ${row.size} recorded`;
        if (!problem) problem = badContents.get(key) ?? null;
      }
    }
    contentState.set(key, problem);
    return problem;
  };
  const walkDir = (id: NodeId, where: string, subject: (p: string) => string): boolean => {
    const key = hex(id);
    if (nodeState.get(key) === false) return false;
    let bad = false;
    const data = s.index.getNode(id);
    if (!data) {
      report(subject(where), `directory page ${key.slice(0, 16)} is missing`);
      nodeState.set(key, true);
      return true;
    }
    if (!hashBytes(data).equals(id)) {
      report(subject(where), `directory page ${key.slice(0, 16)} does not match its id`);
      nodeState.set(key, true);
      return true;
    }
    let page: Page;
    try {
      page = decodePage(data, id);
    } catch (err) {
      report(subject(where), `directory page ${key.slice(0, 16)} cannot be decoded: ${(err as Error).message}`);
      nodeState.set(key, true);
      return true;
    }
    if (!nodeState.has(key)) checked.nodes++;
    const { entries, refs } = pageItems(page);
    for (const r of refs) if (walkDir(r.id, where, subject)) bad = true;
    for (const e of entries) {
      const p = where === '/' ? `/${e.name}` : `${where}/${e.name}`;
      if (e.kind === 'file') {
        const problem = checkContent(e.id);
        if (problem) {
          report(subject(p), problem);
          bad = true;
        }
      } else if (walkDir(e.id as NodeId, p, subject)) bad = true;
    }
    nodeState.set(key, bad);
    return bad;
  };

  const repos = new Set(s.graph.listRepos().map((r) => r.name));
  checked.repos = repos.size;
  for (const b of s.graph.allBranches()) {
    if (!s.graph.getCommit(b.repo, b.head)) report(`branch ${b.repo}@${b.name}`, `points at commit ${b.head}, which does not exist`);
  }
  for (const c of s.graph.iterateAllCommits()) {
    checked.commits++;
    const label = `${c.repo}@${c.id}`;
    if (!repos.has(c.repo)) report(`commit ${label}`, `belongs to repo ${c.repo}, which does not exist`);
    if (c.parent && !s.graph.getCommit(c.repo, c.parent)) report(`commit ${label}`, `has parent ${c.parent}, which does not exist`);
    for (const p of s.graph.commitProvenance(c.repo, c.id))
      if (!s.graph.getCommit(p.from_repo, p.from_commit)) report(`commit ${label}`, `has provenance ${p.from_repo}@${p.from_commit}, which does not exist`);
    if (!c.root) {
      report(`commit ${label}`, 'has no root tree');
      continue;
    }
    walkDir(c.root, '/', (p) => `${label}:${p}`);
  }
  // the datum input cache: copies pipelines read instead of packs must hold what their ids say
  if (opts.verifyData) checked.cachedInputs = verifyInputCache(s.path, (id, problem) => report(`cached input ${id.slice(0, 16)}`, problem));
  // kept hasher states (hash-state.ts): never used unless they digest to their content's id, but
  // one that does not is damage worth knowing of; it is removed, and an append hashes that content again
  if (opts.verifyData && canCheckStates()) {
    for (const st of s.index.contentStates()) {
      checked.hasherStates++;
      if (st.size !== null && resumeHasher(st.state, st.content, st.size)) continue;
      let removed = true;
      try {
        s.index.deleteContentState(st.content);
      } catch {
        removed = false; // a store this user can only read
      }
      const what = st.size === null ? 'its content is gone' : 'does not digest to its content id';
      report(`hasher state of content ${hex(st.content).slice(0, 16)}`, `${what} (${removed ? 'removed' : 'not removed: the store is read-only here'}; an append to that content hashes it again)`);
    }
  }
  return { ok: problems.length === 0, checked, problems };
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
  const packsDir = path.join(s.path, PACKS_DIR);
  for (const name of s.packs.list()) add(path.join(packsDir, name.slice(0, 2), `${name}.pack`));
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
export function gc(s: StoreCore, opts: { waitMs?: number } = {}): GcReport {
  const before = storeBytes(s);
  const db = s.db;
  const rep: GcReport = { chunksRemoved: 0, contentsRemoved: 0, nodesRemoved: 0, packsRemoved: 0, packsRewritten: 0, bytesReclaimed: 0, storeBytesBefore: before, storeBytesAfter: before, cacheFilesRemoved: 0, cacheBytesRemoved: 0 };
  const cacheLimit = inputCacheLimit();
  const waitMs = opts.waitMs ?? GC_WAIT_MS;
  const deadline = Date.now() + waitMs;

  let repackList: { id: number; name: string }[] | null;
  for (;;) {
    repackList = sweep(s, rep);
    if (repackList) break;
    if (Date.now() >= deadline) {
      const live = s.index.liveWriters().length;
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
  const onDisk = s.packs.list();
  const known = new Set(db.prepare('SELECT name FROM packs').pluck().all() as string[]);
  for (const name of onDisk) if (!known.has(name)) {
    s.packs.remove(name);
    rep.packsRemoved++;
  }
  for (const p of repackList) if (repack(s, p)) rep.packsRewritten++;
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

/** Mark and sweep in one transaction; null (nothing done) while a write session is alive. Returns the packs to rewrite. */
function sweep(s: StoreCore, rep: GcReport): { id: number; name: string }[] | null {
  const db = s.db;
  return s.graph.transaction(() => {
    if (s.index.liveWriters().length > 0) return null;
    // mark
    const nodes = new Set<string>();
    const contents = new Set<string>();
    const chunks = new Set<string>();
    const markDir = (id: NodeId) => {
      const key = hex(id);
      if (nodes.has(key)) return;
      nodes.add(key);
      const data = s.index.getNode(id);
      if (!data) return; // fsck's business; gc only keeps what is reachable
      const { entries, refs } = pageItems(decodePage(data, id));
      for (const r of refs) markDir(r.id);
      for (const e of entries) {
        if (e.kind === 'dir') markDir(e.id as NodeId);
        else if (!contents.has(hex(e.id))) {
          contents.add(hex(e.id));
          const rec = s.index.getContent(e.id as ContentId);
          if (rec) for (const c of rec.chunks) chunks.add(hex(c));
        }
      }
    };
    for (const root of s.graph.allRoots()) markDir(root);
    // datum outputs are kept for later jobs to reuse, even when no commit holds them any more
    for (const root of s.jobs.allDatumOutputs()) markDir(root);
    // delta hook: a kept chunk keeps the chain of bases it is stored against
    const bases = new DeltaIndex(db).allBases();
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
    // sweep (collect first: a table cannot be modified while it is being iterated)
    const sweep = (table: string, keep: Set<string>) => {
      const dead = (db.prepare(`SELECT id FROM ${table}`).pluck().all() as Buffer[]).filter((id) => !keep.has(hex(id)));
      const del = db.prepare(`DELETE FROM ${table} WHERE id = ?`);
      for (const id of dead) del.run(id);
      return dead.length;
    };
    rep.nodesRemoved = sweep('nodes', nodes);
    rep.contentsRemoved = sweep('contents', contents);
    rep.chunksRemoved = sweep('chunks', chunks);
    db.prepare('DELETE FROM chunk_deltas WHERE id NOT IN (SELECT id FROM chunks)').run();
    // a kept profile (profile-cache.ts) is worth nothing once its content is gone; a one-chunk
    // content has no contents row, its id is the chunk's
    db.prepare('DELETE FROM profiles WHERE content NOT IN (SELECT id FROM contents) AND content NOT IN (SELECT id FROM chunks)').run();
    // so is a kept hasher state (hash-state.ts); only multi-chunk contents have one
    db.prepare('DELETE FROM content_states WHERE content NOT IN (SELECT id FROM contents)').run();
    // packs: empty ones go, sparse ones are rewritten, leased ones are left to their writer
    const stats = db
      .prepare(
        `SELECT p.id, p.name, p.size, p.lease_owner AS owner, COUNT(c.id) AS n, COALESCE(SUM(c.stored_len + ${RECORD_HEADER_BYTES}), 0) AS live
         FROM packs p LEFT JOIN chunks c ON c.pack = p.id GROUP BY p.id`,
      )
      .all() as { id: number; name: string; size: number; owner: string | null; n: number; live: number }[];
    const toRemove: string[] = [];
    const toRepack: { id: number; name: string }[] = [];
    for (const p of stats) {
      if (p.owner !== null && s.index.isWriterAlive(p.owner)) continue;
      if (p.n === 0) {
        db.prepare('DELETE FROM packs WHERE id = ?').run(p.id);
        toRemove.push(p.name);
      } else if (p.live < (p.size - PACK_MAGIC.length) * REPACK_BELOW) toRepack.push({ id: p.id, name: p.name });
      else {
        // cut a crashed writer's uncommitted tail
        const onDisk = s.packs.size(p.name);
        if (onDisk !== null && onDisk > p.size) fs.truncateSync(path.join(s.path, PACKS_DIR, p.name.slice(0, 2), `${p.name}.pack`), p.size);
      }
    }
    for (const name of toRemove) s.packs.remove(name);
    rep.packsRemoved = toRemove.length;
    // A pack about to be rewritten is sealed now, in the sweep's transaction: a writer starting
    // while it is copied must not append to it (its new chunks would point at a pack gc deletes).
    const seal = db.prepare('UPDATE packs SET sealed = 1 WHERE id = ?');
    for (const p of toRepack) seal.run(p.id);
    return toRepack;
  });
}

/** Copy a pack's live chunks into a fresh pack, then drop the old one. */
function repack(s: StoreCore, old: { id: number; name: string }): boolean {
  const owner = `gc-${process.pid}`;
  s.index.addWriter(owner);
  const row = s.index.claimPack(owner, Number.MAX_SAFE_INTEGER, { fresh: true });
  const appender = s.packs.openAppender(row.name, row.size, PACK_MAGIC);
  try {
    const chunks = s.db.prepare('SELECT id, offset, stored_len AS storedLen, raw_len AS rawLen, codec FROM chunks WHERE pack = ?').all(old.id) as {
      id: Buffer;
      offset: number;
      storedLen: number;
      rawLen: number;
      codec: Codec;
    }[];
    const moved: { id: Buffer; offset: number }[] = [];
    for (const c of chunks) {
      const rec = s.packs.read(old.name, c.offset, RECORD_HEADER_BYTES + c.storedLen);
      // copy the payload as stored; the header is rebuilt so a damaged one is not propagated
      const at = appender.append([encodeRecordHeader(c.id, c.codec, c.rawLen, c.storedLen), rec.subarray(RECORD_HEADER_BYTES)]);
      moved.push({ id: c.id, offset: at });
    }
    appender.sync();
    crashPoint('in-gc-repack');
    s.graph.transaction(() => {
      const upd = s.db.prepare('UPDATE chunks SET pack = ?, offset = ? WHERE id = ? AND pack = ?');
      for (const m of moved) upd.run(row.id, m.offset, m.id, old.id);
      s.index.commitPack(row.id, appender.length, true);
      s.db.prepare('DELETE FROM packs WHERE id = ?').run(old.id);
      s.index.removeWriter(owner);
    });
    s.packs.remove(old.name);
    return true;
  } finally {
    appender.close();
    try {
      s.index.removeWriter(owner);
    } catch {
      // already removed in the transaction
    }
  }
}
