// `tusk gc --remote NAME`: reclaim the packs no branch of a remote needs, in two phases so that it
// is safe while others push (docs/remotes.md, "Garbage collection"). A first run lists the packs
// no live branch needs in an immutable `gc/<time>-<nonce>.json` object; from then on every push
// treats their chunks as absent (it sends a chunk again rather than reuse one there).
// A later run, once the list is older than the grace period (longer than any push lasts), deletes
// the listed packs that are still not needed, each index before its pack.
import { randomBytes } from 'node:crypto';
import { pageLinks, type Store } from '../store/store.js';
import { CorruptError } from '../errors.js';
import { packDeltaBases } from './delta-bases.js';
import { DivergedError } from './errors.js';
import { bundleKey, decodeBundle, decodeIndex, indexKey, packKey, ROOT, type IndexEntry } from './layout.js';
import type { ObjectStore, RequestCounts } from './object-store.js';
import { readBranch } from './refs.js';
import { GC_PREFIX, readGcLists, type GcList } from './remote-index.js';
import { ensureRemote, openSession, type RemoteSession } from './session.js';

/** How long a list waits before its packs are deleted, unless told: longer than any push lasts. */
export const DEFAULT_GRACE_S = 24 * 3600;

export interface RemoteGcReport {
  remote: string;
  url: string;
  /** packs listed for deletion by this run (phase one) */
  listed: string[];
  /** packs deleted by this run (phase two), and their bytes */
  deleted: string[];
  /** listed packs a branch needs again, not deleted */
  kept: string[];
  /** lists younger than the grace period, still waiting */
  waiting: number;
  requests: RequestCounts;
}

export async function gcRemote(store: Store, name: string | undefined, opts: { graceS?: number } = {}): Promise<RemoteGcReport> {
  const s = openSession(store, name);
  const { os } = s;
  const grace = (opts.graceS ?? DEFAULT_GRACE_S) * 1000;
  try {
    await ensureRemote(os, false);
    const lists = await readGcLists(os);
    const { unneeded, packs } = await unneededPacks(s, new Set(lists.flatMap((l) => l.list.packs)));
    const report: RemoteGcReport = { remote: s.config.name, url: s.config.url, listed: [], deleted: [], kept: [], waiting: 0, requests: os.requests };
    const now = Date.now();
    for (const { key, list } of lists) {
      if (now - list.time < grace) {
        report.waiting++;
        continue;
      }
      for (const p of list.packs) {
        if (!unneeded.has(p)) {
          if (packs.has(p)) report.kept.push(p);
          continue;
        }
        // the index first: from then on no reader trusts the pack
        await os.delete(indexKey(p));
        await os.delete(packKey(p));
        report.deleted.push(p);
        unneeded.delete(p);
      }
      await os.delete(key);
    }
    if (report.waiting === 0 && unneeded.size > 0) {
      const list: GcList = { time: now, packs: [...unneeded].sort() };
      await os.put(`${GC_PREFIX}${now}-${randomBytes(8).toString('hex')}.json`, Buffer.from(JSON.stringify(list)));
      report.listed = list.packs;
    }
    return report;
  } finally {
    os.close();
  }
}

/**
 * The packs (by name) that no live branch needs: no chunk a file of a live branch's history is
 * made of, nor a base of such a chunk stored as a delta, nor of a base's base; and packs without
 * an index (left by an interrupted push). A diverged branch stops gc: which head counts is not
 * gc's to decide.
 */
async function unneededPacks(s: RemoteSession, doomed: ReadonlySet<string>): Promise<{ unneeded: Set<string>; packs: Set<string> }> {
  const { os } = s;
  // every bundle of every live branch's updates, also those before a forced update: a force
  // that moved a branch back to an ancestor sent nothing, its commits' data came earlier
  const bundles = new Set<string>();
  const heads: { repo: string; id: string }[] = [];
  const seen = new Set<string>();
  for (const key of await os.list('refs/')) {
    const [, repo, branch] = key.split('/');
    if (!repo || !branch || seen.has(`${repo}@${branch}`)) continue;
    seen.add(`${repo}@${branch}`);
    const state = await readBranch(os, s.updates, repo, branch);
    if (state.diverged) throw new DivergedError({ repo, branch, heads: state.diverged.tips.map((t) => t.head) });
    if (state.tipBody) heads.push({ repo, id: state.tipBody.head });
    for (let id = state.tip; id !== ROOT; ) {
      const parent = state.parentOf.get(id)!;
      for (const b of (await s.updates.body(repo, branch, parent, id)).bundles) bundles.add(b);
      id = parent;
    }
  }
  const commits = new Map<string, { parent: string | null; root: string | null; inputs: { repo: string; commit: string }[] }>();
  const pages = new Map<string, string>();
  const listed = new Map<string, string>();
  for (const b of bundles) {
    const buf = await os.get(bundleKey(b));
    if (!buf) throw new CorruptError(`remote bundle ${b.slice(0, 16)} is missing at ${os.url}`, 'run `tusk fsck --remote`; gc deletes nothing while the remote is incomplete');
    const set = decodeBundle(buf, b);
    for (const c of set.commits) commits.set(`${c.repo}@${c.id}`, { parent: c.parent, root: c.root, inputs: c.provenance });
    for (const [hex, b64] of set.pages) pages.set(hex, b64);
    for (const c of set.contents) listed.set(c.id, c.chunks);
  }
  // what the heads reach now: commits by parent and provenance, their trees, their files' chunks
  const live = new Set<string>();
  const doneCommits = new Set<string>();
  const donePages = new Set<string>();
  const commitQueue = heads.map((h) => `${h.repo}@${h.id}`);
  const pageQueue: string[] = [];
  while (commitQueue.length > 0) {
    const key = commitQueue.pop()!;
    if (doneCommits.has(key)) continue;
    doneCommits.add(key);
    const c = commits.get(key);
    if (!c) throw new CorruptError(`commit ${key} of a remote branch is in no bundle at ${os.url}`, 'run `tusk fsck --remote`; gc deletes nothing while the remote is incomplete');
    const repo = key.slice(0, key.indexOf('@'));
    if (c.parent) commitQueue.push(`${repo}@${c.parent}`);
    for (const p of c.inputs) commitQueue.push(`${p.repo}@${p.commit}`);
    if (c.root) pageQueue.push(c.root);
  }
  while (pageQueue.length > 0) {
    const hex = pageQueue.pop()!;
    if (donePages.has(hex)) continue;
    donePages.add(hex);
    const b64 = pages.get(hex);
    if (b64 === undefined) throw new CorruptError(`tree page ${hex.slice(0, 16)} of a remote branch is in no bundle at ${os.url}`, 'run `tusk fsck --remote`; gc deletes nothing while the remote is incomplete');
    const links = pageLinks(hex, b64);
    pageQueue.push(...links.pages);
    for (const f of links.files) {
      const list = listed.get(f.toString('hex'));
      if (list === undefined) live.add(f.toString('latin1'));
      else for (let i = 0; i < list.length; i += 64) live.add(Buffer.from(list.slice(i, i + 64), 'hex').toString('latin1'));
    }
  }

  const packs = new Set((await os.list('packs/')).map((k) => k.slice('packs/'.length, -'.pack'.length)));
  const indexes = new Map<string, IndexEntry[]>();
  for (const key of await os.list('index/')) {
    const sha = key.slice('index/'.length);
    const buf = await os.get(key);
    if (buf) indexes.set(sha, decodeIndex(buf, sha));
  }
  // which pack holds each live chunk; a pack holding one is kept, and the bases of the deltas it
  // holds are live too (read from its records once, then cached: packs never change)
  const where = new Map<string, string[]>();
  for (const [sha, entries] of indexes) {
    for (const e of entries) {
      const k = e.id.toString('latin1');
      const list = where.get(k);
      if (list) list.push(sha);
      else where.set(k, [sha]);
    }
  }
  const kept = new Set<string>();
  const queue = [...live];
  while (queue.length > 0) {
    const k = queue.pop()!;
    // one pack per chunk is enough: one no gc list names, where there is one
    const holders = where.get(k) ?? [];
    const pick = holders.find((sha) => kept.has(sha)) ?? holders.find((sha) => !doomed.has(sha)) ?? holders[0];
    for (const sha of pick === undefined ? [] : [pick]) {
      if (kept.has(sha)) continue;
      kept.add(sha);
      for (const bases of (await packDeltaBases(os, s.dir, sha, indexes.get(sha)!)).values()) {
        for (const id of bases) {
          const b = id.toString('latin1');
          if (!live.has(b)) (live.add(b), queue.push(b));
        }
      }
    }
  }
  const unneeded = new Set<string>();
  for (const p of packs) if (!kept.has(p)) unneeded.add(p);
  return { unneeded, packs };
}
