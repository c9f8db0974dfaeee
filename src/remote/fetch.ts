// Fetch, pull and clone: read each remote branch's update records back to a head this store
// has, fetch the bundles they name and the byte ranges of the packs holding missing chunks,
// verify every chunk and page against its id, and record everything in one local transaction
// (pull also fast-forwards the local branches in it). A failure leaves the store unchanged.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AlreadyExistsError, CorruptError } from '../errors.js';
import { initStore, openStore, type BranchMove, type Store, type TransferSet } from '../store/store.js';
import type { OnProgress } from '../store/types.js';
import { addRemote, type RemoteOptions } from './config.js';
import { DivergedError, NonFastForwardError } from './errors.js';
import { bundleKey, decodeBundle, packKey } from './layout.js';
import type { RequestCounts } from './object-store.js';
import { readBranch, updatesSince } from './refs.js';
import type { RemoteChunk } from './remote-index.js';
import { ensureRemote, openSession, parseTarget, readTracking, saveTracking, type RemoteSession } from './session.js';

export interface FetchedBranch {
  repo: string;
  branch: string;
  /** the remote head (null: the remote branch has no commit) */
  remote: string | null;
  /** the local head before (null: no such local branch) */
  local: string | null;
  status: 'up-to-date' | 'fetched' | 'fast-forwarded' | 'created' | 'ahead' | 'would fetch';
  commits: number;
}

export interface FetchResult {
  remote: string;
  url: string;
  dryRun: boolean;
  branches: FetchedBranch[];
  commits: number;
  chunks: number;
  /** bytes of pack data downloaded */
  bytes: number;
  /** chunks left on the remote, to be fetched when read (--lazy) */
  remoteBacked: number;
  /** object store requests made; absent for a team store remote */
  requests?: RequestCounts;
}

export interface FetchOptions {
  targets?: readonly string[];
  /** move local branches too (pull); fast-forward only */
  pull?: boolean;
  dryRun?: boolean;
  /** metadata only: file bytes stay on the remote until a read needs them (lazy clones) */
  lazy?: boolean;
  onProgress?: OnProgress;
}

/**
 * Ranges closer than this are read as one request; the gap is read and dropped. A range is read
 * as a stream, record by record, so its size costs no memory: at most 64 MiB (a whole pack).
 * Fewer, longer requests: a clone of a 1 GiB file is about one GET per pack. Eight at once: the
 * local pack writes block the event loop now and then, and more connections keep more bytes
 * arriving in the kernel's buffers meanwhile (four left the clone measurably slower).
 */
const MERGE_GAP = 1 << 20;
const MAX_RANGE = 64 << 20;
const RANGE_CONCURRENCY = 8;
/** Progress is reported at most once per this many bytes of a range. */
const PROGRESS_STEP = 4 << 20;

/** Remote branches named by `targets`, all of them when none are (one listing of `refs/`). */
async function remoteBranches(s: RemoteSession, targets: readonly string[] | undefined): Promise<{ repo: string; branch: string }[]> {
  const picks = targets && targets.length > 0 ? targets.map(parseTarget) : [{ repo: '', branch: undefined }];
  const out: { repo: string; branch: string }[] = [];
  for (const t of picks) {
    if (t.branch !== undefined) {
      out.push({ repo: t.repo, branch: t.branch });
      continue;
    }
    const seen = new Set<string>();
    for (const key of await s.os.list(t.repo ? `refs/${t.repo}/` : 'refs/')) {
      const [, repo, branch] = key.split('/');
      if (repo && branch && !seen.has(`${repo}@${branch}`)) {
        seen.add(`${repo}@${branch}`);
        out.push({ repo, branch });
      }
    }
  }
  return out;
}

export async function fetchRemote(store: Store, remoteName: string | undefined, opts: FetchOptions = {}): Promise<FetchResult> {
  const s = openSession(store, remoteName);
  try {
    return await fetchWith(store, s, opts);
  } finally {
    s.os.close();
  }
}

async function fetchWith(store: Store, s: RemoteSession, opts: FetchOptions): Promise<FetchResult> {
  const { os } = s;
  await ensureRemote(os, false);
  const tracking = readTracking(s.dir);
  const targets = await remoteBranches(s, opts.targets);
  const branches: FetchedBranch[] = [];
  const bundles: string[] = [];
  const moves: BranchMove[] = [];
  for (const t of targets) {
    const state = await readBranch(os, s.updates, t.repo, t.branch);
    if (state.diverged) throw new DivergedError({ repo: t.repo, branch: t.branch, heads: state.diverged.tips.map((x) => x.head) });
    const remote = state.tipBody?.head ?? null;
    let local: string | null = null;
    try {
      local = (await store.inspectBranch(t.repo, t.branch)).head;
    } catch {
      local = null;
    }
    const entry: FetchedBranch = { repo: t.repo, branch: t.branch, remote, local, status: 'up-to-date', commits: 0 };
    branches.push(entry);
    if (remote === null) continue;
    const updates = await updatesSince(s.updates, state, (head) => store.hasCommit(t.repo, head));
    for (const u of updates) for (const b of u.bundles) if (!bundles.includes(b)) bundles.push(b);
    if (updates.length > 0) entry.status = opts.dryRun ? 'would fetch' : 'fetched';
    if (!opts.pull || local === remote) continue;
    if (local !== null && (await store.hasCommit(t.repo, remote)) && (await store.isAncestor(t.repo, remote, local))) {
      entry.status = 'ahead';
      continue;
    }
    // whether the remote head descends from the local one is checked when it has arrived, in
    // the transaction that moves the branch (TransferImport.commit)
    entry.status = opts.dryRun ? 'would fetch' : local === null ? 'created' : 'fast-forwarded';
    moves.push({ repo: t.repo, branch: t.branch, head: remote, expect: local });
  }

  const set: TransferSet = { repos: [], pipelines: [], jobs: [], commits: [], pages: [], contents: [] };
  for (const b of bundles) {
    const buf = await os.get(bundleKey(b));
    if (!buf) throw new CorruptError(`remote bundle ${b.slice(0, 16)} is missing at ${os.url}`, 'the remote is incomplete; push again from a store that has these commits');
    const part = decodeBundle(buf, b);
    set.repos.push(...part.repos);
    set.pipelines!.push(...(part.pipelines ?? []));
    set.jobs!.push(...(part.jobs ?? []));
    set.commits.push(...part.commits);
    set.pages.push(...part.pages);
    set.contents.push(...part.contents);
  }
  const result: FetchResult = { remote: s.config.name, url: s.config.url, dryRun: opts.dryRun === true, branches, commits: 0, chunks: 0, bytes: 0, remoteBacked: 0, requests: os.requests };
  if (opts.dryRun) {
    result.commits = (await store.hasCommits(set.commits)).filter((has) => !has).length;
    return result;
  }
  // a full pull also fetches what lazy pulls left on this remote
  const backlog = opts.lazy ? [] : await store.remoteBacked(s.config.name);
  if (set.commits.length === 0 && moves.length === 0 && backlog.length === 0) return result;

  const imp = await store.openImport();
  try {
    let need = await imp.neededChunks(set);
    if (opts.lazy) {
      // the index objects are metadata: cached now, they let a later read find its chunks with no listing
      await s.index.cache();
      result.remoteBacked = await imp.leaveOnRemote(s.config.name, need);
      need = [];
    } else if (backlog.length > 0) {
      const seen = new Set(need.map((id) => id.toString('latin1')));
      need = [...need, ...backlog.filter((id) => !seen.has(id.toString('latin1')))];
      imp.settle(s.config.name);
    }
    if (need.length > 0) {
      await s.index.load();
      const onRecord = (id: Buffer, rec: Buffer, pack: string) => imp.addRecord(id, rec, `remote pack ${pack.slice(0, 16)} at ${os.url}`);
      // deltas name their bases only once they arrive: fetch those the store lacks, until none
      for (let batch = need; batch.length > 0; batch = await imp.missingBases()) {
        const before = result.bytes;
        result.bytes += await fetchChunks(s, batch, onRecord, opts.onProgress && ((p) => opts.onProgress!({ ...p, done: before + p.done })));
        result.chunks += batch.length;
      }
    }
    result.commits = (
      await imp.commit(set, moves, (m) =>
      new NonFastForwardError(
        `local ${m.repo}@${m.branch} (${m.expect}) and the remote's (${m.head}) have diverged`,
        'keep the local commits on another branch (`tusk create branch`), then `tusk delete branch` this one and pull again',
        { repo: m.repo, branch: m.branch, local: m.expect, remote: m.head },
      ),
      )
    ).commits;
  } finally {
    await imp.abort();
  }
  for (const b of branches) {
    if (b.remote === null) continue;
    tracking[`${b.repo}@${b.branch}`] = b.remote;
    const c = set.commits.filter((x) => x.repo === b.repo).length;
    b.commits = c;
  }
  saveTracking(s.dir, tracking);
  return result;
}

/** Download the records of `ids` by byte ranges of the packs holding them; returns the bytes read. */
export async function fetchChunks(s: RemoteSession, ids: readonly Buffer[], onRecord: (id: Buffer, record: Buffer, pack: string) => void | Promise<void>, onProgress?: OnProgress): Promise<number> {
  const byPack = new Map<string, { id: Buffer; at: RemoteChunk }[]>();
  for (const id of ids) {
    const at = s.index.find(id);
    if (!at) throw new CorruptError(`chunk ${id.toString('hex').slice(0, 16)} is in no pack index at ${s.os.url}`, 'the remote is incomplete; push again from a store that has the data');
    const list = byPack.get(at.pack) ?? [];
    list.push({ id, at });
    byPack.set(at.pack, list);
  }
  const ranges: { pack: string; offset: number; end: number; items: { id: Buffer; at: RemoteChunk }[] }[] = [];
  for (const [pack, items] of byPack) {
    items.sort((a, b) => a.at.offset - b.at.offset);
    let cur: (typeof ranges)[number] | undefined;
    for (const it of items) {
      const end = it.at.offset + it.at.length;
      if (cur && it.at.offset - cur.end <= MERGE_GAP && end - cur.offset <= MAX_RANGE) {
        cur.end = Math.max(cur.end, end);
        cur.items.push(it);
      } else {
        cur = { pack, offset: it.at.offset, end, items: [it] };
        ranges.push(cur);
      }
    }
  }
  let bytes = 0;
  let next = 0;
  const worker = async () => {
    while (next < ranges.length) {
      const r = ranges[next++]!;
      // each record is copied out of the arriving pieces into a buffer of its own (the import
      // keeps it until written); gaps between records are skipped
      let at = r.offset;
      let item = 0;
      let record: Buffer | null = null;
      let filled = 0;
      let reported = r.offset;
      for await (const piece of s.os.readRange(packKey(r.pack), r.offset, r.end - r.offset)) {
        for (let p = 0; p < piece.length && item < r.items.length; ) {
          const it = r.items[item]!;
          if (record === null) {
            if (at + p < it.at.offset) {
              p = Math.min(piece.length, it.at.offset - at);
              continue;
            }
            record = Buffer.allocUnsafe(it.at.length);
            filled = 0;
          }
          const n = Math.min(it.at.length - filled, piece.length - p);
          piece.copy(record, filled, p, p + n);
          filled += n;
          p += n;
          if (filled === it.at.length) {
            // the receiver may be writing a batch: this range waits, the others read on
            await onRecord(it.id, record, r.pack);
            record = null;
            item++;
          }
        }
        at += piece.length;
        bytes += piece.length;
        if (at - reported >= PROGRESS_STEP) ((reported = at), onProgress?.({ phase: 'read', unit: 'bytes', done: bytes }));
      }
      onProgress?.({ phase: 'read', unit: 'bytes', done: bytes });
    }
  };
  await Promise.all(Array.from({ length: Math.min(RANGE_CONCURRENCY, ranges.length) }, worker));
  return bytes;
}

export interface CloneResult extends FetchResult {
  /** the new store's directory */
  path: string;
}

/**
 * Make a store in `dir` with the remote as `origin`, and pull every branch into it (by `pull`,
 * which a remote that is not an object store brings; by fetchRemote otherwise).
 */
export async function cloneRemote(
  url: string,
  dir: string,
  opts: RemoteOptions & { lazy?: boolean; onProgress?: OnProgress } = {},
  pull?: (store: Store) => Promise<FetchResult>,
): Promise<CloneResult> {
  const target = path.resolve(dir);
  if (fs.existsSync(path.join(target, '.tusk'))) throw new AlreadyExistsError(`${target} already holds a tusk store`, 'clone into a new directory, or run `tusk pull` there');
  const existed = fs.existsSync(target);
  const { path: storePath } = initStore(target);
  let ok = false;
  try {
    const { onProgress, lazy, ...remoteOpts } = opts;
    addRemote(storePath, 'origin', url, remoteOpts);
    const store = openStore({ path: storePath });
    try {
      const r = pull ? await pull(store) : await fetchRemote(store, 'origin', { pull: true, lazy, onProgress });
      ok = true;
      return { ...r, path: target };
    } finally {
      store.close();
    }
  } finally {
    // a failed clone leaves nothing behind
    if (!ok) fs.rmSync(existed ? storePath : target, { recursive: true, force: true });
  }
}
