// What the project layer (tusk.yaml, tusk.lock, status, checkout, the git hooks, verify) is given to
// work with: the composition root (src/app) builds it from the services and the store, and code
// here names no store module beyond records, contracts and pure helpers (the dependency rule
// `project-through-ports` in .dependency-cruiser.cjs). Reads answer through promises and async
// iterables whether or not the store below answers synchronously today.
import type { CommitRef, FileRef } from '../store/address.js';
import type { CommitGraph, CommitRecord } from '../store/commit-graph.js';
import type { ContentId, NodeId } from '../store/hash.js';
import type { JobRecords, JobState } from '../store/job-records.js';
import type { CommitInfo, PutResult, PutSource, RepoInfo } from '../store/types.js';
import type { LookUpPfs, PlannedDatum } from '../pipeline/datums.js';
import type { LogFilter, LogLine } from '../pipeline/logs.js';
import type { CreateOptions } from '../pipeline/pipeline-service.js';
import type { WorkdirRule } from '../pipeline/spec.js';
import type { InputSpec, PipelineSpec } from '../pipeline/spec-types.js';
import type { Project } from './config.js';

/** A file or directory of a commit's tree, as the project code reads it. */
export interface ProjectEntry {
  readonly kind: 'file' | 'dir';
  readonly id: Buffer;
  /** bytes of the file, or of every file below the directory */
  readonly size: number;
}

/** What a local file looked like when it was hashed (the file cache's key). */
export interface LocalFileStat {
  dev: number;
  ino: number;
  size: number;
  mtime: number;
  ctime: number;
}

/** The store's cache of local files' content ids, for one comparison of a directory. */
export interface ProjectFileCache {
  /** The cached content id when the file is provably unchanged since it was hashed. */
  lookup(file: string, st: LocalFileStat): ContentId | undefined;
  /** Remember files just hashed (a unit of work of its own). */
  record(files: readonly { path: string; stat: LocalFileStat; id: ContentId; readAt: number }[], readAtMs: number): Promise<void>;
}

/** The reads of commits, trees, contents and jobs that status, checkout, lock and the hooks make. */
export interface ProjectReads {
  /** the store was opened without its write lock: nothing may be recorded */
  readonly readonly: boolean;
  readonly graph: Pick<CommitGraph, 'getRepo' | 'getBranch' | 'getCommit' | 'commitProvenance'>;
  readonly jobs: Pick<JobRecords, 'getJob' | 'getPipeline' | 'openJobs'>;
  /** Whether a job in this state has ended. */
  isFinished(state: JobState): boolean;
  resolveCommit(ref: CommitRef): Promise<CommitRecord>;
  /** What `path` is in the tree `root`; undefined where nothing is. */
  lookupPath(root: NodeId, path: string): Promise<ProjectEntry | undefined>;
  /** Every file below `path` of the tree `root`, with its path in the tree. */
  walkFiles(root: NodeId, path: string): AsyncIterable<{ path: string; entry: ProjectEntry }>;
  /** Every entry below the directory `dir`, its paths starting with `prefix`. */
  walkTree(dir: NodeId, prefix: string): AsyncIterable<{ path: string; entry: ProjectEntry }>;
  /** A content's bytes, verified; `describe` names the file a read error is about. */
  readContent(id: ContentId, ctx: { describe: () => string }): AsyncIterable<Uint8Array>;
  /** Which of these contents the store holds (ids as latin1 strings; the bytes may still be on a remote, in a lazy clone): one lookup for all. */
  storedContents(ids: readonly ContentId[]): Promise<Set<string>>;
  /** In a lazy clone, fetch the bytes of these contents that are still on a remote; nothing otherwise. */
  fetchContents(wants: readonly { id: ContentId; describe: () => string }[]): Promise<void>;
  fileCache(): ProjectFileCache;
}

/** The data writes of `tusk lock`. */
export interface ProjectData {
  createRepo(name: string, opts?: { description?: string }): Promise<RepoInfo>;
  startCommit(repo: string, branch: string, opts?: { description?: string }): Promise<CommitInfo>;
  putFiles(target: CommitRef, sources: PutSource[], opts?: { description?: string }): Promise<PutResult>;
  deleteFiles(ref: FileRef): Promise<CommitInfo>;
  finishCommit(ref: CommitRef): Promise<CommitInfo>;
}

/** A store opened for a project. */
export interface ProjectStore {
  readonly reads: ProjectReads;
  readonly data: ProjectData;
  /** create or update pipelines as a spec file says; the registered checks run, as for `create pipeline` */
  syncPipelines(text: string, opts: { baseDir: string; workdir: WorkdirRule; update?: boolean; reprocess?: boolean }): Promise<void>;
  /**
   * Make `fn`'s writes one step for the jobs: none starts during it; at its end they run here
   * until `until()` holds when given, else as after any write.
   */
  batch<T>(fn: () => Promise<T>, opts?: { until?: () => Promise<boolean> }): Promise<T>;
  close(): void | Promise<void>;
}

/** Opens the store of a project (its `store:`, TUSK_STORE or a `.tusk` above it). */
export type OpenProjectStore = (project: Project, opts?: { readonly?: boolean }) => Promise<ProjectStore>;

/** A file of an output tree, with the datum that wrote it. */
export interface OutputEntry {
  readonly id: Buffer;
  readonly size: number;
  /** the datum that produced the file; absent outside pipeline outputs */
  readonly datum?: string;
}

/**
 * What `tusk verify` works with: the records it compares, and the engine it re-runs locked
 * pipelines on, as scratch pipelines beside the real ones in the same store.
 */
export interface VerifyEngine {
  readonly graph: Pick<CommitGraph, 'getRepo' | 'getCommit'>;
  /** the records of a scratch pipeline's jobs and datums; for --changed, its prior datums are written here */
  readonly jobs: Pick<JobRecords, 'getJob' | 'getPipeline' | 'listPipelines' | 'jobsOf' | 'getDatum' | 'datumsOf' | 'insertJob' | 'setJobState' | 'insertDatums'>;
  /** Whether a job in this state has ended. */
  isFinished(state: JobState): boolean;
  /** The spec stored with a pipeline and the text it was created from; undefined when there is no such pipeline. */
  storedSpec(name: string): Promise<{ spec: PipelineSpec; raw: Record<string, unknown> } | undefined>;
  /** What `path` is in the tree `root`; undefined where nothing is. */
  lookupPath(root: NodeId, path: string): Promise<OutputEntry | undefined>;
  /** Every file of the tree `root`, with its path. */
  walkFiles(root: NodeId): AsyncIterable<{ path: string; entry: OutputEntry }>;
  /** The sizes of those of these contents the store holds. */
  contentSizes(ids: readonly ContentId[]): Promise<{ id: ContentId; size: number }[]>;
  /** A content's bytes, verified; `describe` names the file a read error is about. */
  readContent(id: ContentId, ctx: { describe: () => string }): AsyncIterable<Uint8Array>;
  /** The datums of an input, each pfs input read at the commit `lookUp` gives it. */
  planDatums(input: InputSpec, lookUp: LookUpPfs): Promise<PlannedDatum[]>;
  /** Create the pipelines of a spec text, the registered checks run; no job starts until `runUntil`. */
  createPipelines(text: string, opts: CreateOptions): Promise<void>;
  /** Run the store's open jobs here until `isDone()` holds. */
  runUntil(isDone: () => Promise<boolean>): Promise<void>;
  readLogs(filter: LogFilter): Promise<LogLine[]>;
  /** Delete a pipeline, its output repo and jobs, even when others read it. */
  deletePipeline(name: string): Promise<void>;
  /** Remove the logs of a pipeline's jobs (left by a deletion that failed). */
  removeLogs(pipeline: string): Promise<void>;
}
