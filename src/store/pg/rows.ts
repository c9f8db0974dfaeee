// Columns ↔ records, one entry per table: the only place that knows both the PostgreSQL column
// names and the record fields the contracts return, so renaming a record field is a change here.
import type { BranchRow, CommitRow, ProvenanceRow, RepoRow } from '../commit-graph.js';
import type { ChunkLocation, PackRow } from '../chunk-index.js';
import type { DatumRow, JobRow, PipelineRow } from '../job-records.js';
import type { NodeId } from '../hash.js';
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

export const REPO: Mapping<RepoRow> = {
  select: 'name, type, description, created',
  from: (r) => ({ name: s(r.name), type: s(r.type), description: s(r.description), created: n(r.created) }),
};

export const BRANCH: Mapping<BranchRow> = {
  select: 'repo, name, head, created',
  from: (r) => ({ repo: s(r.repo), name: s(r.name), head: s(r.head), created: n(r.created) }),
};

export const COMMIT: Mapping<CommitRow> & { columns: readonly string[]; values(c: CommitRow): unknown[] } = {
  select: 'repo, id, seq, branch, parent, origin, description, started, finishing, finished, root, size, files, error',
  columns: ['repo', 'id', 'seq', 'branch', 'parent', 'origin', 'description', 'started', 'finishing', 'finished', 'root', 'size', 'files', 'error'],
  values: (c) => [c.repo, c.id, c.seq, c.branch, c.parent, c.origin, c.description, c.started, c.finishing, c.finished, c.root, c.size, c.files, c.error],
  from: (r) => ({
    repo: s(r.repo),
    id: s(r.id),
    seq: n(r.seq),
    branch: sn(r.branch),
    parent: sn(r.parent),
    origin: r.origin as CommitRow['origin'],
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

export const PROVENANCE: Mapping<ProvenanceRow> = {
  select: 'from_repo, from_commit, from_branch',
  from: (r) => ({ from_repo: s(r.from_repo), from_commit: s(r.from_commit), from_branch: sn(r.from_branch) }),
};

export const PIPELINE: Mapping<PipelineRow> & { values(p: PipelineRow): unknown[] } = {
  select: 'name, version, spec, raw, salt, output_branch, stopped, created, updated',
  values: (p) => [p.name, p.version, p.spec, p.raw, p.salt, p.output_branch, p.stopped, p.created, p.updated],
  from: (r) => ({
    name: s(r.name),
    version: n(r.version),
    spec: s(r.spec),
    raw: s(r.raw),
    salt: s(r.salt),
    output_branch: s(r.output_branch),
    stopped: n(r.stopped),
    created: n(r.created),
    updated: n(r.updated),
  }),
};

export const JOB: Mapping<JobRow> = {
  // not seq: it orders jobs, and is no part of the record
  select: 'pipeline, id, version, salt, state, reason, created, started, finished, processed, skipped, failed, recovered, total, download_bytes, upload_bytes, runner, lease_until',
  from: (r) => ({
    pipeline: s(r.pipeline),
    id: s(r.id),
    version: n(r.version),
    salt: s(r.salt),
    state: r.state as JobRow['state'],
    reason: sn(r.reason),
    created: n(r.created),
    started: nn(r.started),
    finished: nn(r.finished),
    processed: n(r.processed),
    skipped: n(r.skipped),
    failed: n(r.failed),
    recovered: n(r.recovered),
    total: n(r.total),
    download_bytes: n(r.download_bytes),
    upload_bytes: n(r.upload_bytes),
    runner: sn(r.runner),
    lease_until: nn(r.lease_until),
  }),
};

/** The few columns a log follower polls: never the whole rows. */
export const LIVE_JOB: Mapping<Pick<JobRow, 'pipeline' | 'id' | 'state' | 'created' | 'started' | 'finished'>> = {
  select: 'pipeline, id, state, created, started, finished',
  from: (r) => ({ pipeline: s(r.pipeline), id: s(r.id), state: r.state as JobRow['state'], created: n(r.created), started: nn(r.started), finished: nn(r.finished) }),
};

export const DATUM: Mapping<DatumRow> = {
  select: 'pipeline, job, id, seq, hash, state, inputs, output, attempts, started, finished, error, claimed_by, lease_until, download_bytes, upload_bytes',
  from: (r) => ({
    pipeline: s(r.pipeline),
    job: s(r.job),
    id: s(r.id),
    seq: n(r.seq),
    hash: s(r.hash),
    state: r.state as DatumRow['state'],
    inputs: s(r.inputs),
    output: (r.output as NodeId | null) ?? null,
    attempts: n(r.attempts),
    started: nn(r.started),
    finished: nn(r.finished),
    error: sn(r.error),
    claimed_by: sn(r.claimed_by),
    lease_until: nn(r.lease_until),
    download_bytes: n(r.download_bytes),
    upload_bytes: n(r.upload_bytes),
  }),
};

/** A chunk's place, from `chunks c JOIN packs p`. */
export const CHUNK_LOCATION: Mapping<ChunkLocation> = {
  select: 'c.pack, p.name AS pack_name, c."offset", c.stored_len, c.raw_len, c.codec',
  from: (r) => ({ pack: n(r.pack), packName: s(r.pack_name), offset: n(r.offset), storedLen: n(r.stored_len), rawLen: n(r.raw_len), codec: r.codec as Codec }),
};

export const PACK: Mapping<PackRow> = {
  select: 'id, name, size, sealed',
  from: (r) => ({ id: n(r.id), name: s(r.name), size: n(r.size), sealed: r.sealed as boolean }),
};
