// The console's HTTP API payloads: what the server sends and the web UI (web/src) reads. Records
// the store and pipeline service already define (RepoInfo, CommitInfo, JobInfo…) are sent as is.
import type { LogLine } from '../pipeline/logs.js';
import type { DatumInfo, JobInfo, PipelineInfo } from '../pipeline/pipeline-service.js';
import type { BranchInfo, CommitInfo, CommitProvenance, CommitSetInfo, FileInfo, RepoInfo } from '../store/types.js';

export type { BranchInfo, CommitInfo, CommitProvenance, CommitSetInfo, DatumInfo, FileInfo, JobInfo, LogLine, PipelineInfo, RepoInfo };

/** GET /api/info */
export interface ConsoleInfo {
  store: string;
  version: string;
  readonly: true;
}

/** GET /api/repos/:repo */
export interface RepoDetail {
  repo: RepoInfo;
  branches: BranchInfo[];
  /** the pipeline whose output this repo is, if any */
  pipeline: string | null;
}

/** GET /api/repos/:repo/commits */
export interface CommitPage {
  commits: CommitInfo[];
  /** pass as `cursor` for the next page; null on the last page */
  next: string | null;
}

/** GET /api/repos/:repo/commits/:ref */
export interface CommitDetail {
  commit: CommitInfo;
  /** branches whose head this commit is */
  heads: string[];
  /** every commit of the commit set (same id, across repos) */
  set: CommitInfo[];
  upstream: CommitProvenance[];
  downstream: CommitInfo[];
}

/** GET /api/repos/:repo/files: one page of a directory, or the file itself. */
export type DirPage =
  | { kind: 'dir'; dir: FileInfo; total: number; entries: FileInfo[]; next: string | null }
  | { kind: 'file'; file: FileInfo };

export type PreviewKind = 'text' | 'csv' | 'json' | 'image' | 'binary' | 'empty';

/** GET /api/repos/:repo/preview */
export interface Preview {
  file: FileInfo;
  kind: PreviewKind;
  /** text and json: the first bytes, decoded */
  text?: string;
  /** csv: the first rows (the first is usually the header) */
  rows?: string[][];
  /** the file holds more than is shown */
  truncated: boolean;
  /** bytes read to build the preview */
  bytesRead: number;
}

export interface DiffChange {
  path: string;
  status: 'added' | 'removed' | 'modified';
  type: 'file' | 'dir';
  oldSize: number | null;
  newSize: number | null;
  oldHash: string | null;
  newHash: string | null;
}

/** GET /api/repos/:repo/diff */
export interface DiffResult {
  newCommit: CommitInfo;
  oldCommit: CommitInfo | null;
  path: string;
  total: number;
  changes: DiffChange[];
  truncated: boolean;
}

export interface DiffLine {
  op: ' ' | '+' | '-';
  text: string;
  /** line numbers, 1-based; null on the side the line is not on */
  old: number | null;
  new: number | null;
}

export interface DiffHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: DiffLine[];
}

/** GET /api/repos/:repo/textdiff */
export interface TextDiff {
  path: string;
  /** 'ok', or why no line diff is shown */
  status: 'ok' | 'binary' | 'too-large' | 'too-different';
  hunks: DiffHunk[];
  added: number;
  removed: number;
}

export interface MetricsPoint {
  commit: string;
  started: string;
  finished: string | null;
  description: string;
  metrics: Record<string, number>;
}

/** GET /api/repos/:repo/metrics: numbers from metrics.json across a branch's commits, oldest first. */
export interface MetricsSeries {
  repo: string;
  branch: string;
  path: string;
  keys: string[];
  points: MetricsPoint[];
}

/** One column's drift in one report: severity is score against threshold (≥ 1: drift). */
export interface DriftCell {
  test: string | null;
  score: number | null;
  threshold: number | null;
  severity: number | null;
  status: string;
}

export interface DriftSeriesPoint {
  /** the output commit holding drift.json */
  commit: string;
  finished: string | null;
  /** `repo@commit` of the input commit compared */
  input: string | null;
  /** `repo@commit` of the reference; `repo@c1,c2` for the earlier versions of a window (`reference: window`); null when there was none */
  reference: string | null;
  /** why nothing was compared (a window holding one version) */
  note: string | null;
  drift: boolean;
  columns: Record<string, DriftCell>;
}

/** GET /api/repos/:repo/drift: the drift.json of a monitor pipeline's commits, oldest first. */
export interface DriftSeries {
  repo: string;
  columns: string[];
  points: DriftSeriesPoint[];
}

export interface DagNode {
  id: string;
  kind: 'repo' | 'pipeline';
  /** column (0 = sources) and row inside the column */
  layer: number;
  order: number;
  /** pipelines: state of the newest job ('success', 'running'…); repos: null */
  state: string | null;
  /** pipelines: 'running' or 'paused' */
  pipelineState?: 'running' | 'paused';
  sizeBytes: number;
}

export interface DagEdge {
  from: string;
  to: string;
  /** `branch:glob` of the input */
  label: string;
}

/** GET /api/dag */
export interface Dag {
  nodes: DagNode[];
  edges: DagEdge[];
}

/** GET /api/pipelines/:p/jobs/:id/datums */
export interface DatumPage {
  total: number;
  counts: Record<string, number>;
  datums: DatumInfo[];
}

/** GET /api/pipelines/:p/jobs/:id/logs */
export interface LogPage {
  lines: LogLine[];
  /** older lines were left out */
  truncated: boolean;
  /** lines per datum in the whole log (the live stream numbers lines per datum) */
  perDatum: Record<string, number>;
}

/** Server-sent events on GET /api/events. */
export type ConsoleEvent = { type: 'jobs'; jobs: JobInfo[] } | { type: 'logs'; lines: LogLine[] } | { type: 'error'; message: string };
