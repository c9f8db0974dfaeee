// `tusk fsck --remote NAME`: check a remote from its own objects. Every branch's update records
// and the bundles they name must be there and match their names; every tree page its id; every
// chunk the files need, and every base of those that are deltas, must be in an indexed pack that
// exists; with `verifyData`, every indexed chunk is read and checked against its BLAKE3 id.
// Reads only; never a listing of the whole bucket.
import { contentIdsOfPages, decodeDeltaRecord, deltaOfRecord, verifyChunkRecord, type DeltaRecord, type Store } from '../store/store.js';
import { TuskError } from '../errors.js';
import { packDeltaBases } from './delta-bases.js';
import { bundleKey, decodeBundle, decodeIndex, packKey, ROOT, type IndexEntry } from './layout.js';
import type { RequestCounts } from './object-store.js';
import { readBranch } from './refs.js';
import { ensureRemote, openSession, type RemoteSession } from './session.js';

export interface RemoteFsckProblem {
  subject: string;
  problem: string;
}

export interface RemoteFsckReport {
  remote: string;
  url: string;
  ok: boolean;
  /** remoteBacked: chunks this store left on the remote (lazy pulls), each checked to be indexed there; `deltaBases`: the delta bases the needed chunks lead to, each checked to be in an indexed pack that exists */
  checked: { branches: number; updates: number; bundles: number; packs: number; chunks: number; deltaBases: number; chunksVerified: number; remoteBacked: number };
  problems: RemoteFsckProblem[];
  requests: RequestCounts;
}

/** Bytes of base chunks kept while deltas are checked: past this the cache starts over. */
const BASE_CACHE_BYTES = 64 << 20;

/**
 * A chunk's bytes for checking deltas, each checked against its id: a chunk stored whole is read
 * from its pack by one ranged GET, a delta decoded against its bases (read the same way).
 */
function deltaBytes(
  os: RemoteSession['os'],
  chunks: ReadonlyMap<string, { pack: string; entry: IndexEntry }>,
  deltas: ReadonlyMap<string, { id: Buffer; sha: string; delta: DeltaRecord }>,
): (id: Buffer, depth: number) => Promise<Buffer> {
  const cache = new Map<string, Buffer>();
  let cached = 0;
  const bytesOf = async (id: Buffer, depth: number): Promise<Buffer> => {
    const k = id.toString('latin1');
    const hit = cache.get(k);
    if (hit) return hit;
    const hex = id.toString('hex').slice(0, 16);
    let data: Buffer;
    const d = deltas.get(k);
    if (d) {
      if (depth > 64) throw new Error(`the delta chain of chunk ${hex} does not end`);
      const bases: Buffer[] = [];
      for (const b of d.delta.bases) bases.push(await bytesOf(b, depth + 1));
      data = decodeDeltaRecord(id, d.delta, bases, `pack ${d.sha.slice(0, 16)}`);
    } else {
      const at = chunks.get(k);
      if (!at) throw new Error(`chunk ${hex} is the base of a delta and no pack index names it`);
      const record = await os.getRange(packKey(at.pack), at.entry.offset, at.entry.length);
      if (deltaOfRecord(id, record, `pack ${at.pack.slice(0, 16)}`)) throw new Error(`chunk ${hex} in pack ${at.pack.slice(0, 16)} is a delta its index read did not see`);
      data = verifyChunkRecord(id, record, `pack ${at.pack.slice(0, 16)}`);
    }
    if (cached + data.length > BASE_CACHE_BYTES) (cache.clear(), (cached = 0));
    cache.set(k, data);
    cached += data.length;
    return data;
  };
  return bytesOf;
}

export async function fsckRemote(store: Store, name: string | undefined, opts: { verifyData?: boolean } = {}): Promise<RemoteFsckReport> {
  const s = openSession(store, name);
  const { os } = s;
  const problems: RemoteFsckProblem[] = [];
  const checked = { branches: 0, updates: 0, bundles: 0, packs: 0, chunks: 0, deltaBases: 0, chunksVerified: 0, remoteBacked: 0 };
  const note = (subject: string, err: unknown) => problems.push({ subject, problem: err instanceof TuskError ? err.message : String((err as Error).message ?? err) });
  try {
    await ensureRemote(os, false);
    // branches and the bundles their whole history names
    const branches = new Set<string>();
    for (const key of await os.list('refs/')) {
      const [, repo, branch] = key.split('/');
      if (repo && branch) branches.add(`${repo}@${branch}`);
    }
    const bundles = new Set<string>();
    for (const rb of branches) {
      const [repo, branch] = rb.split('@') as [string, string];
      checked.branches++;
      try {
        const state = await readBranch(os, s.updates, repo, branch);
        if (state.diverged) problems.push({ subject: `branch ${rb}`, problem: `diverged: heads ${state.diverged.tips.map((t) => t.head).join(' and ')}` });
        for (let id = state.tip; id !== ROOT; ) {
          const parent = state.parentOf.get(id)!;
          const body = await s.updates.body(repo, branch, parent, id);
          checked.updates++;
          for (const b of body.bundles) bundles.add(b);
          id = parent;
        }
      } catch (err) {
        note(`branch ${rb}`, err);
      }
    }
    const listed = new Map<string, string>();
    const contents: Buffer[] = [];
    for (const b of bundles) {
      checked.bundles++;
      try {
        const buf = await os.get(bundleKey(b));
        if (!buf) throw new Error('missing');
        const set = decodeBundle(buf, b);
        for (const c of set.contents) listed.set(c.id, c.chunks);
        contents.push(...contentIdsOfPages(set.pages));
      } catch (err) {
        note(`bundle ${b.slice(0, 16)}`, err);
      }
    }

    // packs and their indexes, read fresh (a cached copy says nothing of the remote's state now)
    const packs = new Set((await os.list('packs/')).map((k) => k.slice('packs/'.length, -'.pack'.length)));
    const chunks = new Map<string, { pack: string; entry: IndexEntry }>();
    const indexes = new Map<string, IndexEntry[]>();
    for (const key of await os.list('index/')) {
      const sha = key.slice('index/'.length);
      checked.packs++;
      try {
        const buf = await os.get(key);
        if (!buf) throw new Error('missing');
        const entries = decodeIndex(buf, sha);
        indexes.set(sha, entries);
        if (!packs.has(sha)) problems.push({ subject: `pack ${sha.slice(0, 16)}`, problem: 'indexed but missing' });
        // a chunk two packs hold is there while either pack is
        for (const e of entries) {
          const k = e.id.toString('latin1');
          const held = chunks.get(k);
          if (!held || (!packs.has(held.pack) && packs.has(sha))) chunks.set(k, { pack: sha, entry: e });
        }
      } catch (err) {
        note(`index ${sha.slice(0, 16)}`, err);
      }
    }
    const need = new Set<string>();
    for (const c of contents) {
      const hex = c.toString('hex');
      const list = listed.get(hex);
      const ids = list === undefined ? [c] : Array.from({ length: list.length / 64 }, (_, i) => Buffer.from(list.slice(i * 64, i * 64 + 64), 'hex'));
      for (const id of ids) need.add(id.toString('latin1'));
    }
    for (const k of need) {
      checked.chunks++;
      if (!chunks.has(k)) problems.push({ subject: `chunk ${Buffer.from(k, 'latin1').toString('hex').slice(0, 16)}`, problem: 'a file needs it and no pack index names it' });
    }
    // what this store left on the remote (lazy pulls) must be there too: its reads fetch it from here
    for (const id of await store.remoteBacked(s.config.name)) {
      checked.remoteBacked++;
      if (!chunks.has(id.toString('latin1'))) problems.push({ subject: `chunk ${id.toString('hex').slice(0, 16)}`, problem: 'this store left it on the remote (a lazy pull) and no pack index names it' });
    }
    // a delta a file needs is readable only with its bases, and theirs, down the chain: the
    // index objects name them (an index of the first format is answered by its pack's records)
    const short = (k: string) => Buffer.from(k, 'latin1').toString('hex').slice(0, 16);
    const basesOf = new Map<string, Map<string, Buffer[]>>();
    const seen = new Set(need);
    const queue = [...need];
    while (queue.length > 0) {
      const k = queue.pop()!;
      const at = chunks.get(k);
      if (!at || !packs.has(at.pack)) continue;
      let inPack = basesOf.get(at.pack);
      if (!inPack) {
        try {
          inPack = await packDeltaBases(os, s.dir, at.pack, indexes.get(at.pack)!);
        } catch (err) {
          note(`pack ${at.pack.slice(0, 16)}`, err);
          inPack = new Map();
        }
        basesOf.set(at.pack, inPack);
      }
      for (const id of inPack.get(k) ?? []) {
        const b = id.toString('latin1');
        if (seen.has(b)) continue;
        seen.add(b);
        checked.deltaBases++;
        const held = chunks.get(b);
        if (!held) problems.push({ subject: `chunk ${short(b)}`, problem: `the base of delta chunk ${short(k)}, and no pack index names it` });
        else if (!packs.has(held.pack)) problems.push({ subject: `chunk ${short(b)}`, problem: `the base of delta chunk ${short(k)}, and its pack ${held.pack.slice(0, 16)} is missing` });
        else queue.push(b);
      }
    }

    if (opts.verifyData) {
      // chunks stored whole are checked as their pack is read; deltas (kept, they are small)
      // once every pack has been, against their bases' bytes
      const deltas = new Map<string, { id: Buffer; sha: string; delta: DeltaRecord }>();
      for (const [sha, entries] of indexes) {
        if (!packs.has(sha) || entries.length === 0) continue;
        const end = Math.max(...entries.map((e) => e.offset + e.length));
        try {
          const buf = await os.getRange(packKey(sha), 0, end);
          for (const e of entries) {
            try {
              const record = buf.subarray(e.offset, e.offset + e.length);
              const delta = deltaOfRecord(e.id, record, `pack ${sha.slice(0, 16)}`);
              if (delta) deltas.set(e.id.toString('latin1'), { id: e.id, sha, delta: { ...delta, payload: Buffer.from(delta.payload) } });
              else (verifyChunkRecord(e.id, record, `pack ${sha.slice(0, 16)}`), checked.chunksVerified++);
            } catch (err) {
              note(`pack ${sha.slice(0, 16)}`, err);
            }
          }
        } catch (err) {
          note(`pack ${sha.slice(0, 16)}`, err);
        }
      }
      const bytesOf = deltaBytes(os, chunks, deltas);
      for (const d of deltas.values()) {
        try {
          await bytesOf(d.id, 0);
          checked.chunksVerified++;
        } catch (err) {
          note(`pack ${d.sha.slice(0, 16)}`, err);
        }
      }
    }
    return { remote: s.config.name, url: s.config.url, ok: problems.length === 0, checked, problems, requests: os.requests };
  } finally {
    os.close();
  }
}
