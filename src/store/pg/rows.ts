// Columns ↔ records, one entry per table: the only place that knows both the PostgreSQL column
// names and the record fields the contracts return, so renaming a record field is a change here.
import type { BranchRecord, CommitRecord, CommitSet, ProvenanceRecord, RepoRecord } from '../commit-graph.js';
import { chunkListBytes, type ChunkLocation, type ChunkPlace, type ContentRecord, type NewChunk, type PackedChunk, type PackRow, type PackUsage } from '../chunk-index.js';
import type {
  DatumAttempt,
  DatumFile,
  DatumOutcome,
  DatumRecord,
  DatumResult,
  DatumState,
  JobCounts,
  JobRecord,
  JobState,
  JobSummary,
  NewDatum,
  PipelineRecord,
} from '../job-records.js';
import type { ChunkId, ContentId, NodeId } from '../hash.js';
import type { Codec } from '../pack-format.js';

type Row = Record<string, unknown>;

/** A table's select list and how one of its rows becomes a record. */
export interface Mapping<R> {
  readonly select: string;
  from(row: Row): R;
}

const n = (v: unknown): number => v as number;
const nn = (v: unknown): number | null => (v === null ? null : (v as number));
const s = (v: unknown): string => v as string;
const sn = (v: unknown): string | null => (v === null ? null : (v as string));

export const REPO: Mapping<RepoRecord> & { values(r: RepoRecord): unknown[] } = {
  select: 'name, type, description, created',
  values: (r) => [r.name, r.type, r.description, r.created],
  from: (r) => ({ name: s(r.name), type: s(r.type), description: s(r.description), created: n(r.created) }),
};

export const BRANCH: Mapping<BranchRecord> = {
  select: 'repo, name, head, created',
  from: (r) => ({ repo: s(r.repo), name: s(r.name), head: s(r.head), created: n(r.created) }),
};

export const COMMIT: Mapping<CommitRecord> & { columns: readonly string[]; values(c: CommitRecord): unknown[] } = {
  select: 'repo, id, seq, branch, parent, origin, description, started, finishing, finished, root, size, files, error',
  columns: ['repo', 'id', 'seq', 'branch', 'parent', 'origin', 'description', 'started', 'finishing', 'finished', 'root', 'size', 'files', 'error'],
  values: (c) => [c.repo, c.id, c.seq, c.branch, c.parent, c.origin, c.description, c.started, c.finishing, c.finished, c.root, c.size, c.files, c.error],
  from: (r) => ({
    repo: s(r.repo),
    id: s(r.id),
    seq: n(r.seq),
    branch: sn(r.branch),
    parent: sn(r.parent),
    origin: r.origin as CommitRecord['origin'],
    description: s(r.description),
    started: n(r.started),
    finishing: nn(r.finishing),
    finished: nn(r.finished),
    root: (r.root as NodeId | null) ?? null,
    size: n(r.size),
    files: n(r.files),
    error: sn(r.error),
  }),
};

export const PROVENANCE: Mapping<ProvenanceRecord> = {
  select: 'from_repo, from_commit, from_branch',
  from: (r) => ({ fromRepo: s(r.from_repo), fromCommit: s(r.from_commit), fromBranch: sn(r.from_branch) }),
};

/** A pipeline's spec is stored as JSON text; `stopped` as 0/1. */
export const PIPELINE: Mapping<PipelineRecord> & { values(p: PipelineRecord): unknown[]; updateValues(p: Omit<PipelineRecord, 'stopped' | 'created'>): unknown[] } = {
  select: 'name, version, spec, raw, salt, output_branch, stopped, created, updated',
  values: (p) => [p.name, p.version, JSON.stringify(p.spec), p.raw, p.salt, p.outputBranch, p.stopped ? 1 : 0, p.created, p.updated],
  /** name, version, spec, raw, salt, output_branch, updated */
  updateValues: (p) => [p.name, p.version, JSON.stringify(p.spec), p.raw, p.salt, p.outputBranch, p.updated],
  from: (r) => ({
    name: s(r.name),
    version: n(r.version),
    spec: JSON.parse(s(r.spec)) as unknown,
    raw: s(r.raw),
    salt: s(r.salt),
    outputBranch: s(r.output_branch),
    stopped: n(r.stopped) !== 0,
    created: n(r.created),
    updated: n(r.updated),
  }),
};

export const JOB: Mapping<JobRecord> & { importValues(j: Omit<JobRecord, 'runner' | 'leaseUntil'>): unknown[]; countValues(c: JobCounts): unknown[] } = {
  // not seq: it orders jobs, and is no part of the record
  select: 'pipeline, id, version, salt, state, reason, created, started, finished, processed, skipped, failed, recovered, total, download_bytes, upload_bytes, runner, lease_until',
  /** the columns of select up to upload_bytes */
  importValues: (j) => [j.pipeline, j.id, j.version, j.salt, j.state, j.reason, j.created, j.started, j.finished, j.processed, j.skipped, j.failed, j.recovered, j.total, j.downloadBytes, j.uploadBytes],
  /** pipeline, id, processed, skipped, failed, recovered, download_bytes, upload_bytes */
  countValues: (c) => [c.pipeline, c.id, c.processed, c.skipped, c.failed, c.recovered, c.downloadBytes, c.uploadBytes],
  from: (r) => ({
    pipeline: s(r.pipeline),
    id: s(r.id),
    version: n(r.version),
    salt: s(r.salt),
    state: r.state as JobState,
    reason: sn(r.reason),
    created: n(r.created),
    started: nn(r.started),
    finished: nn(r.finished),
    processed: n(r.processed),
    skipped: n(r.skipped),
    failed: n(r.failed),
    recovered: n(r.recovered),
    total: n(r.total),
    downloadBytes: n(r.download_bytes),
    uploadBytes: n(r.upload_bytes),
    runner: sn(r.runner),
    leaseUntil: nn(r.lease_until),
  }),
};

/** The few columns a log follower polls: never the whole rows. */
export const LIVE_JOB: Mapping<JobSummary> = {
  select: 'pipeline, id, state, created, started, finished',
  from: (r) => ({ pipeline: s(r.pipeline), id: s(r.id), state: r.state as JobState, created: n(r.created), started: nn(r.started), finished: nn(r.finished) }),
};

/** A datum's input files are stored as JSON text. */
export const DATUM: Mapping<DatumRecord> & { insertArrays(ds: readonly NewDatum[]): unknown[]; finishArrays(rs: readonly DatumResult[]): unknown[]; bytes(r: Row): DatumBytes } = {
  select: 'pipeline, job, id, seq, hash, state, inputs, output, attempts, started, finished, error, claimed_by, lease_until, download_bytes, upload_bytes',
  /** one array per column, for unnest: pipeline, job, id, seq, hash, state, inputs, output, started, finished */
  insertArrays: (ds) => [
    ds.map((d) => d.pipeline),
    ds.map((d) => d.job),
    ds.map((d) => d.id),
    ds.map((d) => d.seq),
    ds.map((d) => d.hash),
    ds.map((d) => d.state),
    ds.map((d) => JSON.stringify(d.inputs)),
    ds.map((d) => d.output),
    ds.map((d) => d.started),
    ds.map((d) => d.finished),
  ],
  /** one array per column, for unnest: pipeline, job, id, state, output, finished, error, download_bytes, upload_bytes, runner, seq */
  finishArrays: (rs) => [
    rs.map((d) => d.pipeline),
    rs.map((d) => d.job),
    rs.map((d) => d.id),
    rs.map((d) => d.state),
    rs.map((d) => d.output),
    rs.map((d) => d.finished),
    rs.map((d) => d.error),
    rs.map((d) => d.downloadBytes),
    rs.map((d) => d.uploadBytes),
    rs.map((d) => d.runner),
    rs.map((d) => d.seq),
  ],
  /** from columns download_bytes, upload_bytes */
  bytes: (r) => ({ downloadBytes: n(r.download_bytes), uploadBytes: n(r.upload_bytes) }),
  from: (r) => ({
    pipeline: s(r.pipeline),
    job: s(r.job),
    id: s(r.id),
    seq: n(r.seq),
    hash: s(r.hash),
    state: r.state as DatumState,
    inputs: JSON.parse(s(r.inputs)) as DatumFile[],
    output: (r.output as NodeId | null) ?? null,
    attempts: n(r.attempts),
    started: nn(r.started),
    finished: nn(r.finished),
    error: sn(r.error),
    claimedBy: sn(r.claimed_by),
    leaseUntil: nn(r.lease_until),
    downloadBytes: n(r.download_bytes),
    uploadBytes: n(r.upload_bytes),
  }),
};

/** A datum's input files alone, from columns id, inputs. */
export const ATTEMPT: Mapping<DatumAttempt> & { arrays(rs: readonly DatumAttempt[]): unknown[] } = {
  select: 'pipeline, job, datum, attempt, worker, started, finished, outcome, error',
  arrays: (rs) => [
    rs.map((r) => r.pipeline),
    rs.map((r) => r.job),
    rs.map((r) => r.datum),
    rs.map((r) => r.attempt),
    rs.map((r) => r.worker),
    rs.map((r) => r.started),
    rs.map((r) => r.finished),
    rs.map((r) => r.outcome),
    rs.map((r) => r.error),
  ],
  from: (r) => ({
    pipeline: s(r.pipeline),
    job: s(r.job),
    datum: s(r.datum),
    attempt: n(r.attempt),
    worker: s(r.worker),
    started: n(r.started),
    finished: nn(r.finished),
    outcome: sn(r.outcome) as DatumAttempt['outcome'],
    error: sn(r.error),
  }),
};

export const DATUM_INPUTS: Mapping<Pick<DatumRecord, 'id' | 'inputs'>> = {
  select: 'id, inputs',
  from: (r) => ({ id: s(r.id), inputs: JSON.parse(s(r.inputs)) as DatumFile[] }),
};

export type DatumBytes = Pick<DatumRecord, 'downloadBytes' | 'uploadBytes'>;

/** A chunk's place, from `chunks c JOIN packs p`. */
export const CHUNK_LOCATION: Mapping<ChunkLocation> = {
  select: 'c.pack, p.name AS pack_name, c."offset", c.stored_len, c.raw_len, c.codec',
  from: (r) => ({ pack: n(r.pack), packName: s(r.pack_name), offset: n(r.offset), storedLen: n(r.stored_len), rawLen: n(r.raw_len), codec: r.codec as Codec }),
};

export const PACK: Mapping<PackRow> = {
  select: 'id, name, size, sealed',
  from: (r) => ({ id: n(r.id), name: s(r.name), size: n(r.size), sealed: r.sealed as boolean }),
};

/** A datum without its inputs: what planning and merging read. */
export const DATUM_OUTCOME: Mapping<DatumOutcome> = {
  select: 'id, hash, state, output',
  from: (r) => ({ id: s(r.id), hash: s(r.hash), state: r.state as DatumState, output: (r.output as NodeId | null) ?? null }),
};

export type { ChunkPlace, PackedChunk };

export const CHUNK: Mapping<PackedChunk> & { place(r: Row): ChunkPlace; arrays(list: readonly NewChunk[]): unknown[] } = {
  select: 'id, pack, "offset", stored_len, raw_len, codec',
  from: (r) => ({ id: r.id as ChunkId, offset: n(r.offset), storedLen: n(r.stored_len), rawLen: n(r.raw_len), codec: r.codec as Codec }),
  place: (r) => ({ id: r.id as ChunkId, pack: n(r.pack), offset: n(r.offset), storedLen: n(r.stored_len) }),
  /** one array per column, for unnest: id, pack, offset, stored_len, raw_len, codec */
  arrays: (list) => [list.map((c) => c.id), list.map((c) => c.pack), list.map((c) => c.offset), list.map((c) => c.storedLen), list.map((c) => c.rawLen), list.map((c) => c.codec)],
};

/** Chunk-list contents and their kept hasher states, as arrays for unnest. */
export const CONTENT = {
  /** id, size, chunks (the chunk ids concatenated) */
  arrays: (list: readonly ContentRecord[]): unknown[] => [list.map((c) => c.id), list.map((c) => c.size), list.map(chunkListBytes)],
  /** content, state, of those that keep one */
  stateArrays: (list: readonly ContentRecord[]): unknown[] => {
    const kept = list.filter((c) => c.endState);
    return [kept.map((c) => c.id), kept.map((c) => c.endState)];
  },
  state: (r: Row): { content: ContentId; state: Buffer; size: number | null } => ({ content: r.content as ContentId, state: r.state as Buffer, size: nn(r.size) }),
};

export type PackUse = PackUsage;

/** A pack with its lease owner and what its chunks use of it (select aliases owner, chunks, live). */
export const PACK_USE: Mapping<PackUse> = {
  select: 'p.id, p.name, p.size, p.lease_owner AS owner',
  from: (r) => ({ id: n(r.id), name: s(r.name), size: n(r.size), owner: sn(r.owner), chunks: n(r.chunks), live: n(r.live) }),
};

/** One commit set's counts (the query aliases its aggregates to these names). */
export const COMMIT_SET: Mapping<CommitSet> = {
  select: 'id',
  from: (r) => ({ id: s(r.id), commits: n(r.commits), finished: n(r.finished), failed: n(r.failed), created: n(r.created), modified: n(r.modified) }),
};
