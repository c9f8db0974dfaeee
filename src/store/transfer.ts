// What a remote transfer needs from the local store, and nothing more: the commits, tree pages,
// content records and chunk records that some commits reach (export), and an import that verifies
// every chunk and page against its id, writes chunks to packs and records all the rest in one
// transaction. src/remote reaches the store through the façade methods built on this file.
import { randomBytes } from 'node:crypto';
import { ConflictError, CorruptError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { splitIds } from './chunk-index.js';
import { propagate } from './commit-service.js';
import { commitAncestry, type CommitRecord as StoredCommit } from './commit-graph.js';
import { EMPTY_CONTENT_ID, hashBytes, type ChunkId, type ContentId, type NodeId } from './hash.js';
import { lookUpPlaces } from './chunk-places.js';
import { readChunk, readChunkAsync } from './content-io.js';
import { deltaBases } from './delta-codec.js';
import { enableDeltas } from './delta-writes.js';
import { Codec, decodeRecordHeader, encodeRecordHeader, RECORD_HEADER_BYTES } from './pack-format.js';
import { PackWriter } from './pack-writer.js';
import type { StoreCore } from './store-core.js';
import { decodePage } from './page-format.js';
import { TERMINAL_JOB_STATES, type JobRecord, type JobState, type PipelineRecord } from './job-records.js';
import type { CommitOrigin } from './types.js';
import { decodeHeldDeltas, deltaOfRecord, type HeldDelta } from './delta-records.js';
import { compress, decompress } from './zstd.js';

export { decodeDeltaRecord, deltaOfRecord, type DeltaRecord } from './delta-records.js';

/** A commit as it travels: its row (root as hex) and the exact input commits it was made from. */
export interface CommitRecord {
  repo: string;
  id: string;
  branch: string | null;
  parent: string | null;
  origin: CommitOrigin;
  description: string;
  started: number;
  finishing: number | null;
  finished: number;
  root: string | null;
  size: number;
  files: number;
  error: string | null;
  provenance: { repo: string; commit: string; branch: string | null }[];
}

export interface RepoRecord {
  name: string;
  type: string;
  description: string;
  created: number;
}

/** A multi-chunk file's chunk list (a one-chunk file needs none: its id is its chunk's). */
export interface ContentListing {
  id: string;
  size: number;
  chunks: string;
}

/** The pipeline that made output commits that travel: its spec, and its output branch's declared inputs. */
export interface PipelineEntry {
  name: string;
  version: number;
  /** the decoded spec, as JSON text */
  spec: string;
  raw: string;
  salt: string;
  output_branch: string;
  stopped: number;
  created: number;
  updated: number;
  inputs: { repo: string; branch: string }[];
}

/**
 * The finished job that made an output commit that travels (id: that commit's id): its record
 * without the runner's lease, with the byte counts under the bundle format's own names (the
 * format on remotes does not change with the record's field names).
 */
export type JobEntry = Omit<JobRecord, 'downloadBytes' | 'uploadBytes' | 'runner' | 'leaseUntil'> & { download_bytes: number; upload_bytes: number };

function pipelineEntry(p: PipelineRecord, inputs: { repo: string; branch: string }[]): PipelineEntry {
  const { outputBranch, stopped, spec, ...rest } = p;
  return { ...rest, spec: JSON.stringify(spec), output_branch: outputBranch, stopped: stopped ? 1 : 0, inputs };
}

function jobEntry(j: JobRecord): JobEntry {
  const { downloadBytes, uploadBytes, runner: _r, leaseUntil: _l, ...rest } = j;
  return { ...rest, download_bytes: downloadBytes, upload_bytes: uploadBytes };
}

/** Everything some commits reach that a receiver lacks, but the chunk bytes. */
export interface TransferSet {
  repos: RepoRecord[];
  /** absent in bundles pushed before pipelines travelled */
  pipelines?: PipelineEntry[];
  jobs?: JobEntry[];
  /** parents before children */
  commits: CommitRecord[];
  /** [page id hex, page bytes base64] */
  pages: [string, string][];
  contents: ContentListing[];
}

export interface ExportResult {
  set: TransferSet;
  /** every chunk the new contents are made of (the caller asks the remote which it lacks) */
  chunks: Buffer[];
}

/** A branch head: the commit, and whether it is finished (only finished commits travel). */
export async function branchHead(s: StoreCore, repo: string, branch: string): Promise<string> {
  const b = await s.graph.getBranch(repo, branch);
  if (!b) throw new NotFoundError('branch', `${repo}@${branch}`);
  const c = await s.graph.getCommit(repo, b.head);
  if (!c) throw new CorruptError(`branch ${repo}@${branch} points at a missing commit ${b.head}`, 'run `tusk fsck`');
  if (c.finished === null) throw new InvalidArgumentError(`${repo}@${branch} has an open commit ${b.head}`, `finish it first: \`tusk finish commit ${repo}@${branch}\``);
  return b.head;
}

/** The ids of `id` and its ancestors in `repo`, newest first (see commitAncestry). */
export async function* ancestorIds(s: StoreCore, repo: string, id: string): AsyncGenerator<string> {
  for await (const c of commitAncestry(s.graph, repo, id)) yield c.id;
}

/** Whether `ancestor` is `id` or one of its ancestors, in `repo`. */
export async function isAncestor(s: StoreCore, repo: string, ancestor: string, id: string): Promise<boolean> {
  for await (const c of ancestorIds(s, repo, id)) if (c === ancestor) return true;
  return false;
}

/** A local commit's root page id (hex), null for an empty commit. */
export async function commitRoot(s: StoreCore, repo: string, id: string): Promise<string | null> {
  return (await s.graph.getCommit(repo, id))?.root?.toString('hex') ?? null;
}

/** Whether the local store has this commit. */
export async function hasCommit(s: StoreCore, repo: string, id: string): Promise<boolean> {
  return (await s.graph.getCommit(repo, id)) !== undefined;
}

/** Whether the local store has each of these commits, in their order: one query for all. */
export async function hasCommits(s: StoreCore, keys: readonly { repo: string; id: string }[]): Promise<boolean[]> {
  return (await s.graph.getCommits(keys)).map((c) => c !== undefined);
}

/**
 * What `heads` reach that the receiver lacks. `isKnown` says which commits the receiver has
 * (the walk stops there); `knownRoots` are trees it has, whose pages are not sent again. Input
 * commits named by provenance travel with their history, so provenance never dangles.
 */
export async function exportCommits(
  s: StoreCore,
  heads: readonly { repo: string; id: string }[],
  isKnown: (repo: string, id: string) => boolean | Promise<boolean>,
  knownRoots: readonly string[],
): Promise<ExportResult> {
  const included = new Set<string>();
  const ordered: CommitRecord[] = [];
  const repos = new Map<string, RepoRecord>();
  // depth-first, parents and inputs first, so the list can be recorded in order
  const visit = async (repo: string, head: string): Promise<void> => {
    const chain: StoredCommit[] = [];
    // the commit the walk needs next; null once it reaches what the other side has, or a first commit
    let want: string | null = head;
    const reached = async (id: string) => included.has(`${repo}@${id}`) || (await isKnown(repo, id));
    if (await reached(head)) want = null;
    else
      for await (const row of commitAncestry(s.graph, repo, head)) {
        if (row.finished === null) throw new InvalidArgumentError(`commit ${repo}@${row.id} is still open`, `finish it first: \`tusk finish commit ${repo}@${row.id}\``);
        included.add(`${repo}@${row.id}`);
        chain.push(row);
        want = row.parent;
        if (want === null || (await reached(want))) {
          want = null;
          break;
        }
      }
    // the ancestry ended at a commit the store lacks
    if (want !== null) throw new CorruptError(`commit ${repo}@${want} is missing from the local store`, 'run `tusk fsck`');
    const links = await s.graph.commitLinks(repo, chain.map((r) => r.id));
    for (const row of chain.reverse()) {
      const prov = links.get(row.id)!.provenance;
      for (const p of prov) await visit(p.fromRepo, p.fromCommit);
      if (!repos.has(row.repo)) {
        const r = await s.graph.getRepo(row.repo);
        if (r) repos.set(r.name, { name: r.name, type: r.type, description: r.description, created: r.created });
      }
      ordered.push({
        repo: row.repo,
        id: row.id,
        branch: row.branch,
        parent: row.parent,
        origin: row.origin,
        description: row.description,
        started: row.started,
        finishing: row.finishing,
        finished: row.finished!,
        root: row.root ? row.root.toString('hex') : null,
        size: row.size,
        files: row.files,
        error: row.error,
        provenance: prov.map((p) => ({ repo: p.fromRepo, commit: p.fromCommit, branch: p.fromBranch })),
      });
    }
  };
  for (const h of heads) await visit(h.repo, h.id);

  // the pipelines and finished jobs that made the output commits, so the receiver can say what
  // made them (a job's id is its output commit's id, a pipeline's name its output repo's)
  const pipelines = new Map<string, PipelineEntry>();
  const jobs: JobEntry[] = [];
  // a job lives and dies with its pipeline: the commits of a repo no pipeline writes are not asked about
  const pipelineOf = new Map<string, PipelineRecord | undefined>();
  for (const c of ordered) {
    if (!pipelineOf.has(c.repo)) pipelineOf.set(c.repo, await s.jobs.getPipeline(c.repo));
    const p = pipelineOf.get(c.repo);
    if (!p) continue;
    const job = await s.jobs.getJob(c.repo, c.id);
    if (!job || !TERMINAL_JOB_STATES.includes(job.state)) continue;
    jobs.push(jobEntry(job));
    if (!pipelines.has(p.name)) pipelines.set(p.name, pipelineEntry(p, await s.graph.branchProvenance(p.name, p.outputBranch)));
  }

  const skip = new Set<string>();
  for (const root of knownRoots) await walkPages(s, Buffer.from(root, 'hex') as NodeId, skip, () => {}, () => {});
  const pages: [string, string][] = [];
  const contents: ContentListing[] = [];
  const chunkSeen = new Set<string>();
  const chunks: Buffer[] = [];
  // the contents the new pages name, looked up CONTENT_LOOKUP at a time once the pages are walked
  const named = new Map<string, ContentId>();
  for (const c of ordered) {
    if (!c.root) continue;
    await walkPages(
      s,
      Buffer.from(c.root, 'hex') as NodeId,
      skip,
      (id, data) => pages.push([id.toString('hex'), data.toString('base64')]),
      (content) => {
        if (!content.equals(EMPTY_CONTENT_ID)) named.set(content.toString('latin1'), content as ContentId);
      },
    );
  }
  const ids = [...named.values()];
  for (let i = 0; i < ids.length; i += CONTENT_LOOKUP) {
    const slice = ids.slice(i, i + CONTENT_LOOKUP);
    const records = await s.index.getContents(slice);
    for (const content of slice) {
      const rec = records.get(content.toString('latin1'));
      if (!rec) throw new CorruptError(`file content ${content.toString('hex').slice(0, 16)} is missing from the local store`, 'run `tusk fsck`');
      if (!(rec.chunks.length === 1 && rec.chunks[0]!.equals(rec.id))) {
        contents.push({ id: rec.id.toString('hex'), size: rec.size, chunks: Buffer.concat(rec.chunks).toString('hex') });
      }
      for (const ch of rec.chunks) {
        const k = ch.toString('latin1');
        if (chunkSeen.has(k)) continue;
        chunkSeen.add(k);
        chunks.push(ch);
      }
    }
  }
  return { set: { repos: [...repos.values()], pipelines: [...pipelines.values()], jobs, commits: ordered, pages, contents }, chunks };
}

/** Pages walkPages asks the index for at once. */
const WALK_PAGES = 256;

/** Visit every page below `root` not in `seen` (adding them), and every file content id they hold once per new page. */
async function walkPages(s: StoreCore, root: NodeId, seen: Set<string>, onPage: (id: NodeId, data: Buffer) => void, onFile: (content: Buffer) => void): Promise<void> {
  const stack: NodeId[] = [root];
  while (stack.length > 0) {
    // the pages waiting are asked for together: a round trip per batch, not per page
    const ids: NodeId[] = [];
    while (stack.length > 0 && ids.length < WALK_PAGES) {
      const id = stack.pop()!;
      const key = id.toString('latin1');
      if (seen.has(key)) continue;
      seen.add(key);
      ids.push(id);
    }
    const datas = await s.index.getNodes(ids);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const data = datas[i];
      if (!data) throw new CorruptError(`tree page ${id.toString('hex').slice(0, 16)} is missing from the local store`, 'run `tusk fsck`');
      onPage(id, data);
      const page = decodePage(data, id);
      if (page.level === 0) {
        for (const e of (page as { entries: { kind: string; id: Buffer }[] }).entries) {
          if (e.kind === 'dir') stack.push(e.id as NodeId);
          else onFile(e.id);
        }
      } else {
        for (const c of (page as { children: { id: NodeId }[] }).children) stack.push(c.id);
      }
    }
  }
}

/** Contents looked up per query while a push lists what it sends. */
const CONTENT_LOOKUP = 2000;

/**
 * Chunk records as stored (header and payload), in the order asked: what a remote pack holds.
 * `whole`: a chunk stored as a delta comes decoded, as a zstd record of its own, for a receiver
 * that cannot store deltas (packs in a bucket: delta-writes.ts); its bytes are checked against its
 * id on the way, as every read is.
 */
export async function* readChunkRecords(s: StoreCore, ids: readonly Buffer[], opts: { whole?: boolean } = {}): AsyncGenerator<{ id: Buffer; record: Buffer }> {
  for (let i = 0; i < ids.length; i += 256) {
    const slice = ids.slice(i, i + 256) as ChunkId[];
    const locs = await s.index.getChunks(slice);
    for (const id of slice) {
      const loc = locs.get(id.toString('latin1'));
      if (!loc) {
        const backed = await s.remoteChunks.absent([id]);
        const [remote] = backed.keys();
        // a lazy clone pushing to a remote that lacks what it left on another one
        if (remote !== undefined) throw new InvalidArgumentError(`chunk ${id.toString('hex').slice(0, 16)} is not here: a lazy pull left it on remote ${remote}`, `fetch it first: \`tusk pull ${remote}\` (without --lazy) brings every byte`);
        throw new CorruptError(`chunk ${id.toString('hex').slice(0, 16)} is missing from the local index`, 'run `tusk fsck --verify-data`');
      }
      if (opts.whole && loc.codec === Codec.Delta) {
        const data = Buffer.from(await readChunk(s.index, s.packs, id, { describe: () => `chunk ${id.toString('hex').slice(0, 16)}` }, loc));
        const z = compress(data, { compressionLevel: 3 });
        yield { id, record: z.length < data.length ? Buffer.concat([encodeRecordHeader(id, Codec.Zstd, data.length, z.length), z]) : Buffer.concat([encodeRecordHeader(id, Codec.Raw, data.length, data.length), data]) };
        continue;
      }
      const length = RECORD_HEADER_BYTES + loc.storedLen;
      // packs in a bucket: a ranged read through the block cache (neighbouring records share its blocks)
      yield { id, record: s.packs.local ? s.packs.local.read(loc.packName, loc.offset, length) : await s.packs.getRange(loc.packName, loc.offset, length) };
    }
  }
}

/** The bases a stored record of this chunk is a delta against (none for a chunk stored whole). */
export function recordBases(record: Buffer): ChunkId[] {
  const h = decodeRecordHeader(record);
  if (!h || h.codec !== Codec.Delta) return [];
  return deltaBases(record.subarray(RECORD_HEADER_BYTES)) ?? [];
}

/** The chunk bytes a record holds, checked against `id`; a mismatch names `where`. */
export function verifyChunkRecord(id: Uint8Array, record: Buffer, where: string): Buffer {
  return checkWholeRecord(id, record, where).data;
}

/**
 * A whole (raw or zstd) record checked against `id`: its stored form, to keep as it is, and the
 * chunk bytes it decodes to. A mismatch names `where`.
 */
function checkWholeRecord(id: Uint8Array, record: Buffer, where: string): { codec: Codec.Raw | Codec.Zstd; rawLen: number; payload: Buffer; data: Buffer } {
  const fail = (why: string) => new CorruptError(`${where}: ${why}`, 'the remote copy is damaged; run `tusk fsck --remote` or push again from a sound store');
  const h = decodeRecordHeader(record);
  if (!h || !h.id.equals(id) || record.length !== RECORD_HEADER_BYTES + h.storedLen) throw fail(`damaged record for chunk ${Buffer.from(id).toString('hex').slice(0, 16)}`);
  const payload = record.subarray(RECORD_HEADER_BYTES);
  let data = payload;
  if (h.codec === Codec.Zstd) {
    try {
      data = decompress(data);
    } catch {
      throw fail(`chunk ${Buffer.from(id).toString('hex').slice(0, 16)} does not decompress`);
    }
  } else if (h.codec !== Codec.Raw) throw fail(`unknown codec ${h.codec}`);
  if (data.length !== h.rawLen || !hashBytes(data).equals(id)) throw fail(`chunk ${Buffer.from(id).toString('hex').slice(0, 16)} does not match its id`);
  return { codec: h.codec, rawLen: h.rawLen, payload, data };
}

/**
 * A branch to set once the import is recorded; `expect` is the head it must still have (null:
 * absent). `force`: the new head need not descend from `expect` (a forced push).
 */
export interface BranchMove {
  repo: string;
  branch: string;
  head: string;
  expect: string | null;
  force?: boolean;
}

/**
 * One import: chunks are verified and appended to packs as they arrive; `commit` makes the packs
 * durable and then records pages, contents, commits, provenance and branch moves in one
 * transaction. Until then nothing is visible, and an abort leaves the store as it was.
 */
export class TransferImport {
  private readonly session = randomBytes(16).toString('hex');
  private readonly writer: PackWriter;
  private done = false;
  /** delta records received, written when the import commits (their depths need their bases) */
  private readonly deltas = new Map<string, HeldDelta>();
  bytes = 0;
  /** lazy: the chunks left on the remote instead of fetched (remote-chunks.ts) */
  private lazy: { remote: string; ids: Buffer[]; all: Buffer[] } | null = null;

  private constructor(private readonly s: StoreCore) {
    this.writer = new PackWriter(s.index, s.packs, this.session);
    enableDeltas(s, this.writer);
  }

  /** An import registered as a writer (write-session.ts, step 1). */
  static async open(s: StoreCore): Promise<TransferImport> {
    const imp = new TransferImport(s);
    await s.index.addWriter(imp.session);
    return imp;
  }

  /** Whether delta records may arrive: a store whose packs are in a bucket stores every chunk whole. */
  get takesDeltas(): boolean {
    return this.s.packs.local !== undefined;
  }

  /** The chunks an arriving set needs that the local store lacks. */
  async neededChunks(set: TransferSet): Promise<Buffer[]> {
    const files: LeafFile[] = [];
    const need = await neededChunks(this.s, set, files);
    this.leaves = { set, files };
    return need;
  }
  /** the files of the set's leaf pages, as neededChunks decoded them (a lazy commit needs their sizes) */
  private leaves: { set: TransferSet; files: LeafFile[] } | null = null;

  /**
   * Verify one chunk record against its id and queue its bytes for a local pack; settles once a
   * full batch of them is written. A delta record is kept as it came and checked when the
   * import commits, once its bases are stored: fetch what missingBases() names before that.
   */
  async addRecord(id: Buffer, record: Buffer, where: string): Promise<void> {
    const delta = deltaOfRecord(id, record, where);
    if (delta) {
      const key = id.toString('latin1');
      // one the store has already is dropped with the others when the deltas are written
      if (!this.deltas.has(key)) this.deltas.set(key, { id: Buffer.from(id) as ChunkId, where, ...delta, payload: Buffer.from(delta.payload) });
      this.bytes += delta.rawLen;
      return;
    }
    // kept as it came (raw or compressed as the sender stored it) once its bytes match the id
    const r = checkWholeRecord(id, record, where);
    this.bytes += r.rawLen;
    this.writer.addStored(id as ChunkId, r.codec, r.rawLen, r.payload);
    if (this.writer.batchReady) await this.writer.drain();
  }

  /**
   * A lazy pull: `ids` stay on `remote` and are recorded as remote-backed when the import
   * commits, to be fetched when something reads them (lazy-fetch.ts).
   */
  async leaveOnRemote(remote: string, ids: readonly Buffer[]): Promise<number> {
    // those an earlier lazy pull left there already are no news (a first lazy pull asks nothing more)
    const table = this.s.remoteChunks;
    this.lazy = { remote, ids: (await table.any()) ? await table.unbacked(ids) : [...ids], all: [...ids] };
    return this.lazy.ids.length;
  }

  /** A full pull that fetched every chunk left on `remote` by lazy pulls: they stop being remote-backed when it commits. */
  settle(remote: string): void {
    this.settled = remote;
  }
  private settled: string | null = null;

  /** Bases of the delta records received that the store lacks and that have not arrived. */
  async missingBases(): Promise<Buffer[]> {
    const want = new Map<string, ChunkId>();
    for (const d of this.deltas.values()) {
      for (const b of d.bases) {
        const k = b.toString('latin1');
        if (!this.deltas.has(k) && !want.has(k)) want.set(k, b);
      }
    }
    const have = await this.writer.known([...want.values()]);
    return [...want.values()].filter((b) => !have.has(b.toString('latin1')));
  }

  /** Queue the delta records, each with its chain depth (one more than its deepest base's). */
  private async writeDeltas(): Promise<void> {
    const stored = await this.writer.known([...this.deltas.values()].map((d) => d.id));
    for (const k of stored) this.deltas.delete(k);
    const bases = new Map<string, ChunkId>();
    for (const d of this.deltas.values()) for (const b of d.bases) if (!this.deltas.has(b.toString('latin1'))) bases.set(b.toString('latin1'), b);
    const basesHere = await this.writer.known([...bases.values()]);
    const depths = new Map<string, number>();
    // the bases already stored here: their depths asked before the chains above them are walked
    for (const [k, b] of bases) if (basesHere.has(k)) depths.set(k, await this.s.index.deltaDepth(b));
    const depthOf = (id: ChunkId, guard: number): number => {
      const k = id.toString('latin1');
      const known = depths.get(k);
      if (known !== undefined) return known;
      const d = this.deltas.get(k);
      // a base that did not arrive: reported below, before any depth is used
      if (!d) return 0;
      if (guard > 64) throw new CorruptError(`${d.where}: the delta chain of chunk ${id.toString('hex').slice(0, 16)} does not end`, 'the remote copy is damaged; push again from a sound store');
      const depth = 1 + Math.max(...d.bases.map((b) => depthOf(b, guard + 1)));
      depths.set(k, depth);
      return depth;
    };
    for (const d of this.deltas.values()) {
      for (const b of d.bases) {
        if (!this.deltas.has(b.toString('latin1')) && !basesHere.has(b.toString('latin1'))) throw new CorruptError(`${d.where}: base ${b.toString('hex').slice(0, 16)} of chunk ${d.id.toString('hex').slice(0, 16)} did not arrive`, 'the remote copy is incomplete; push again from a store that has it');
      }
      this.writer.addDelta(d.id, d.rawLen, d.payload, d.bases, depthOf(d.id, 0));
    }
  }

  /**
   * A store that keeps every chunk whole: decode each delta received against its bases, check it
   * against its id and queue it whole (delta-records.ts). The records that arrived whole are
   * uploaded first, so that those among the bases are read back through the pack contract as the
   * store's own are; the decoded chunks go to packs of their own, uploaded before the unit.
   */
  private async writeDeltasWhole(): Promise<void> {
    const stored = await this.writer.known([...this.deltas.values()].map((d) => d.id));
    for (const k of stored) this.deltas.delete(k);
    if (this.deltas.size === 0) return;
    await this.writer.publish();
    const bases = new Map<string, ChunkId>();
    for (const d of this.deltas.values()) for (const b of d.bases) if (!this.deltas.has(b.toString('latin1'))) bases.set(b.toString('latin1'), b);
    // where each lies: written by this import (not recorded yet), else in the store; one lookup for those
    const places = this.writer.pendingPlaces([...bases.values()]);
    const rest = [...bases.values()].filter((b) => !places.has(b.toString('latin1')));
    if (rest.length > 0) for (const [k, loc] of await this.s.index.getChunks(rest)) places.set(k, loc);
    const readWhole = (id: ChunkId, wantedBy: HeldDelta) => {
      const loc = places.get(id.toString('latin1'));
      if (!loc) throw new CorruptError(`${wantedBy.where}: base ${id.toString('hex').slice(0, 16)} of chunk ${wantedBy.id.toString('hex').slice(0, 16)} did not arrive`, 'the remote copy is incomplete; push again from a store that has it');
      return readChunkAsync(this.s.index, this.s.packs, id, { describe: () => `chunk ${id.toString('hex').slice(0, 16)}` }, loc);
    };
    await decodeHeldDeltas(this.deltas, readWhole, async (id, data) => {
      this.writer.add(id, data);
      if (this.writer.batchReady) await this.writer.drain();
    });
    // stored whole, checked on the way: nothing is left to read back inside the unit
    this.deltas.clear();
  }

  /** Read every delta received through the store's own read path, which checks it against its id. */
  private async verifyDeltas(): Promise<void> {
    // where they and their bases lie: two lookups for all of them
    const places = this.deltas.size > 0 ? await lookUpPlaces(this.s.index, [...this.deltas.values()].map((d) => d.id)) : undefined;
    for (const d of this.deltas.values()) {
      try {
        await readChunk(this.s.index, this.s.packs, d.id, { describe: () => `chunk ${d.id.toString('hex').slice(0, 16)}` }, undefined, { places });
      } catch (err) {
        if (err instanceof CorruptError) throw new CorruptError(`${d.where}: ${err.message}`, 'the remote copy is damaged; run `tusk fsck --remote` or push again from a sound store');
        throw err;
      }
    }
  }

  /** Record the set and move the branches; a move whose head does not descend from `expect` fails with `refuse`'s error. */
  async commit(set: TransferSet, moves: readonly BranchMove[], refuse: (m: BranchMove) => Error): Promise<{ commits: number }> {
    const s = this.s;
    const pages = set.pages.map(([hex, b64]) => {
      const id = Buffer.from(hex, 'hex') as NodeId;
      const data = Buffer.from(b64, 'base64');
      if (!hashBytes(data).equals(id)) throw new CorruptError(`tree page ${hex.slice(0, 16)} from the remote does not match its id`, 'the remote copy is damaged; push again from a sound store');
      return { id, data };
    });
    if (this.takesDeltas) await this.writeDeltas();
    else await this.writeDeltasWhole();
    // packs in a bucket are uploaded before the unit names them (a no-op for packs on this disk)
    await this.writer.publish();
    await this.writer.sync();
    const added = await s.unitOfWork(async () => {
      let added = 0;
      await this.writer.record();
      // the records just written are readable in this transaction; a wrong delta rolls it all back
      await this.verifyDeltas();
      await s.index.putNodes(pages);
      await s.index.putContents(set.contents.map((c) => ({ id: Buffer.from(c.id, 'hex') as ContentId, size: c.size, chunks: splitIds(Buffer.from(c.chunks, 'hex')) })));
      for (const r of set.repos) if (!(await s.graph.getRepo(r.name))) await s.graph.insertRepo(r);
      // the trees the commits name: one not among the pages just stored must be here already (one lookup for all)
      const arrived = new Set(pages.map((p) => p.id.toString('hex')));
      const roots = [...new Set(set.commits.map((c) => c.root).filter((r): r is string => r !== null && !arrived.has(r)))];
      const found = await s.index.getNodes(roots.map((r) => Buffer.from(r, 'hex') as NodeId));
      const treeless = new Set(roots.filter((_, i) => !found[i]));
      for (const c of set.commits) {
        if (await s.graph.getCommit(c.repo, c.id)) continue;
        if (!(await s.graph.getRepo(c.repo))) await s.graph.insertRepo({ name: c.repo, type: 'user', description: '', created: c.started });
        if (c.parent !== null && !(await s.graph.getCommit(c.repo, c.parent))) throw new CorruptError(`commit ${c.repo}@${c.id} arrived without its parent ${c.parent}`, 'the remote history is incomplete; push again from a store that has it');
        if (c.root !== null && treeless.has(c.root)) throw new CorruptError(`commit ${c.repo}@${c.id} arrived without its tree`, 'the remote history is incomplete; push again from a store that has it');
        const { provenance: _, ...row } = c;
        await s.graph.insertCommit({ ...row, seq: await s.graph.nextSeq(c.repo), root: c.root === null ? null : (Buffer.from(c.root, 'hex') as NodeId) });
        await s.graph.addCommitProvenance(
          c.repo,
          c.id,
          c.provenance.map((p) => ({ fromRepo: p.repo, fromCommit: p.commit, fromBranch: p.branch })),
        );
        added++;
      }
      if (this.settled !== null) await s.remoteChunks.settle(this.settled);
      const backed = new Set<string>();
      if (this.lazy) {
        const table = s.remoteChunks;
        await table.mark(this.lazy.ids, this.lazy.remote);
        for (const id of this.lazy.all) backed.add(id.toString('latin1'));
        // a one-chunk file's record is its chunk row; one left on the remote gets a contents row
        // of its own instead, so its size is known before its bytes are here
        const files = this.leaves?.set === set ? this.leaves.files : pages.flatMap((p) => leafFiles(p.id, p.data));
        await table.putSoleContents(files.filter((f) => backed.has(f.id.toString('latin1'))));
      }
      const listed = set.contents.flatMap((c) => splitIds(Buffer.from(c.chunks, 'hex')));
      const here = await s.index.existingChunks(listed);
      for (const c of set.contents) {
        for (const ch of splitIds(Buffer.from(c.chunks, 'hex'))) {
          if (!here.has(ch.toString('latin1')) && !backed.has(ch.toString('latin1'))) throw new CorruptError(`chunk ${ch.toString('hex').slice(0, 16)} of a file from the remote did not arrive`, 'the remote copy is incomplete; push again from a store that has it');
        }
      }
      for (const m of moves) {
        const cur = await s.graph.getBranch(m.repo, m.branch);
        if ((cur?.head ?? null) !== m.expect) {
          throw new ConflictError(`${m.repo}@${m.branch} moved to ${cur?.head ?? 'nothing'} while the commits arrived`, 'run the pull (or push) again');
        }
        if (!(await s.graph.getCommit(m.repo, m.head))) throw new CorruptError(`${m.repo}@${m.branch}: the remote head ${m.head} did not arrive`, 'the remote history is incomplete');
        if (m.expect !== null && !m.force && !(await isAncestor(s, m.repo, m.expect, m.head))) throw refuse(m);
        await s.graph.setBranch(m.repo, m.branch, m.head, cur?.created ?? Date.now());
      }
      for (const p of set.pipelines ?? []) {
        // a pipeline this store lacks arrives stopped: the receiver learns what made the commits,
        // and runs nothing until asked (`tusk start pipeline`); one it has keeps its own spec
        if ((await s.jobs.getPipeline(p.name)) || !(await s.graph.getRepo(p.name))) continue;
        const { inputs, output_branch, spec, ...row } = p;
        await s.jobs.insertPipeline({ ...row, spec: JSON.parse(spec) as unknown, outputBranch: output_branch, stopped: true });
        if ((await s.graph.getBranch(p.name, output_branch)) && (await s.graph.branchProvenance(p.name, output_branch)).length === 0) {
          const present = [];
          for (const i of inputs) if (await s.graph.getBranch(i.repo, i.branch)) present.push(i);
          await s.graph.setBranchProvenance(p.name, output_branch, present);
        }
      }
      for (const j of set.jobs ?? []) {
        if (!(await s.jobs.getPipeline(j.pipeline)) || !(await s.graph.getCommit(j.pipeline, j.id))) continue;
        const { download_bytes, upload_bytes, ...rest } = j;
        await s.jobs.importJob({ ...rest, downloadBytes: download_bytes, uploadBytes: upload_bytes });
      }
      // a moved head feeds what lies downstream as a local commit does: a job for each running
      // pipeline reading it (its id the head's, the commit set). After every move and import,
      // so an output commit that arrived in this set is found and not made again.
      for (const m of moves) await propagate(s, m.repo, m.branch, m.head);
      await s.index.removeWriter(this.session);
      return added;
    });
    this.done = true;
    await this.writer.close(false);
    return { commits: added };
  }

  /** Give up: bytes appended so far stay uncommitted, and the next writer truncates them. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.writer.close(true);
    try {
      await this.s.index.removeWriter(this.session);
    } catch {
      // cleaned up by the next liveness check
    }
  }
}

/** A file a leaf page names: its content id and size. */
interface LeafFile {
  id: Buffer;
  size: number;
}

/** The files of a page (none for an inner page). */
function leafFiles(id: NodeId, data: Buffer): LeafFile[] {
  const page = decodePage(data, id);
  if (page.level !== 0) return [];
  const out: LeafFile[] = [];
  for (const e of (page as { entries: { kind: string; id: Buffer; size: number }[] }).entries) if (e.kind === 'file') out.push({ id: e.id, size: e.size });
  return out;
}

/** The chunks the files of an arriving set are made of that the local store lacks; `files` collects the files its leaf pages name. */
export async function neededChunks(s: StoreCore, set: TransferSet, files?: LeafFile[]): Promise<Buffer[]> {
  const listed = new Map(set.contents.map((c) => [c.id, c.chunks]));
  const seen = new Set<string>();
  const want: ChunkId[] = [];
  /** want's ids as keys, made once (100,000 files made them four times over) */
  const keys: string[] = [];
  const wantChunk = (id: Buffer, k = id.toString('latin1')) => {
    if (seen.has(k)) return;
    seen.add(k);
    want.push(id as ChunkId);
    keys.push(k);
  };
  // files the set lists no chunks for: one-chunk files, or contents the store knows
  const unlisted = new Map<string, ContentId>();
  for (const [hex, b64] of set.pages) {
    const page = decodePage(Buffer.from(b64, 'base64'), Buffer.from(hex, 'hex') as NodeId);
    if (page.level !== 0) continue;
    for (const e of (page as { entries: { kind: string; id: Buffer; size: number }[] }).entries) {
      if (e.kind === 'file') files?.push({ id: e.id, size: e.size });
      if (e.kind === 'dir' || e.id.equals(EMPTY_CONTENT_ID)) continue;
      // a set of small files lists no chunks at all: no key to make for each of them
      const chunks = listed.size === 0 ? undefined : listed.get(e.id.toString('hex'));
      if (chunks !== undefined) for (const ch of splitIds(Buffer.from(chunks, 'hex'))) wantChunk(ch);
      else unlisted.set(e.id.toString('latin1'), e.id as ContentId);
    }
  }
  // looked up in batches, not two queries a file: a content whose chunk row is here needs nothing;
  // one with a contents row needs its chunks; one the store does not know is its one chunk
  const ids = [...unlisted.values()];
  const asChunks = await s.index.existingChunks(ids as unknown as ChunkId[]);
  const lists = await s.index.getChunkLists(asChunks.size === 0 ? ids : ids.filter((id) => !asChunks.has(id.toString('latin1'))));
  // a one-chunk file whose chunk row was just looked for needs no second look
  const absent = new Set<string>();
  for (const [k, id] of unlisted) {
    if (asChunks.has(k)) continue;
    const list = lists.get(k);
    if (list === undefined || list === null) {
      absent.add(k);
      wantChunk(id, k);
    } else for (const ch of splitIds(list)) wantChunk(ch);
  }
  const rest = want.filter((_, i) => !absent.has(keys[i]!));
  const have = rest.length === 0 ? new Set<string>() : await s.index.existingChunks(rest);
  return have.size === 0 ? want : want.filter((_, i) => !have.has(keys[i]!));
}

/**
 * The file content ids the leaf pages of a set name, each page checked against its id first (a
 * remote check needs no local store for this).
 */
export function contentIdsOfPages(pages: readonly [string, string][]): Buffer[] {
  const out: Buffer[] = [];
  for (const [hex, b64] of pages) {
    const id = Buffer.from(hex, 'hex') as NodeId;
    const data = Buffer.from(b64, 'base64');
    if (!hashBytes(data).equals(id)) throw new CorruptError(`tree page ${hex.slice(0, 16)} does not match its id`, 'push again from a sound store');
    const page = decodePage(data, id);
    if (page.level !== 0) continue;
    for (const e of (page as { entries: { kind: string; id: Buffer }[] }).entries) if (e.kind === 'file' && !e.id.equals(EMPTY_CONTENT_ID)) out.push(e.id);
  }
  return out;
}

/**
 * What one tree page links to: the pages below it (children of an inner page, directories of a
 * leaf) and the file content ids of a leaf. The page is checked against its id first.
 */
export function pageLinks(hex: string, b64: string): { pages: string[]; files: Buffer[] } {
  const id = Buffer.from(hex, 'hex') as NodeId;
  const data = Buffer.from(b64, 'base64');
  if (!hashBytes(data).equals(id)) throw new CorruptError(`tree page ${hex.slice(0, 16)} does not match its id`, 'push again from a sound store');
  const page = decodePage(data, id);
  const out = { pages: [] as string[], files: [] as Buffer[] };
  if (page.level === 0) {
    for (const e of (page as { entries: { kind: string; id: Buffer }[] }).entries) {
      if (e.kind === 'dir') out.pages.push(e.id.toString('hex'));
      else if (!e.id.equals(EMPTY_CONTENT_ID)) out.files.push(e.id);
    }
  } else for (const c of (page as { children: { id: NodeId }[] }).children) out.pages.push(c.id.toString('hex'));
  return out;
}
