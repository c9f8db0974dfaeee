// The store's public records: what services return, what commands render and what `--json`
// prints. Every field is documented in docs/json.md; renaming one is a breaking change.

/** Who made a commit: a user action, the system (pipeline outputs, provenance propagation), or fsck. */
export type CommitOrigin = 'USER' | 'AUTO' | 'ALIAS' | 'FSCK';
export const COMMIT_ORIGINS: readonly CommitOrigin[] = ['USER', 'AUTO', 'ALIAS', 'FSCK'];

export interface RepoInfo {
  name: string;
  type: string; // 'user' for normal repos
  description: string;
  created: string; // RFC 3339
  /** exact bytes of the files in the head of master (0 when master does not exist) */
  sizeBytes: number;
  branches: string[];
}

export interface BranchRef {
  repo: string;
  branch: string;
}

export interface BranchInfo {
  repo: string;
  name: string;
  /** head commit id; every branch has one */
  head: string;
  created: string;
  /** direct provenance, `repo@branch` */
  provenance: string[];
  /** branches that depend on this one (transitively), `repo@branch` */
  subvenance: string[];
}

export interface CommitProvenance {
  repo: string;
  branch: string | null;
  commit: string;
}

export interface CommitInfo {
  repo: string;
  id: string;
  /** the branch the commit was created on ("Original Branch") */
  branch: string | null;
  parent: string | null;
  children: string[];
  origin: CommitOrigin;
  description: string;
  started: string;
  finishing: string | null;
  finished: string | null;
  /** exact bytes of all files in the commit */
  sizeBytes: number;
  files: number;
  provenance: CommitProvenance[];
  error: string | null;
}

/** One commit set: the commits sharing one id across repos. */
export interface CommitSetInfo {
  id: string;
  commits: number;
  finished: number;
  failed: number;
  created: string;
  modified: string;
}

export type FileType = 'file' | 'dir';

export interface FileInfo {
  /** absolute path in the commit; directories have no trailing slash here (tables add one) */
  path: string;
  type: FileType;
  sizeBytes: number;
  /** files below a directory, 1 for a file */
  files: number;
  /** BLAKE3 content id (files) or tree page id (directories), hex */
  hash: string;
  repo: string;
  commit: string;
  datum: string | null;
}

export interface DiffEntry extends FileInfo {
  /** '+' present only (or new version) in the new commit, '-' only (or old version) in the old */
  op: '+' | '-';
}

/** One source of a put: a local file or directory, stdin, or a tar stream to unpack. */
export type PutSource =
  | { kind: 'local'; localPath: string; repoPath: string; recursive: boolean }
  | { kind: 'stream'; stream: NodeJS.ReadableStream; repoPath: string }
  | { kind: 'tar'; stream: NodeJS.ReadableStream; repoPath: string };

export interface PutResult {
  repo: string;
  branch: string | null;
  commit: string;
  /** true when the command made and finished its own commit */
  finished: boolean;
  files: number;
  /** bytes read from the sources */
  bytes: number;
  /** bytes of new chunk data written to packs (after dedup and compression) */
  storedBytes: number;
  newChunks: number;
  /** files whose content was taken from the local file cache without reading them */
  cachedFiles: number;
  /** what was skipped and why (symbolic links, special files); absent when nothing was */
  warnings?: string[];
}

export interface ProgressEvent {
  phase: 'scan' | 'write' | 'read';
  done: number;
  total?: number;
  unit: 'bytes' | 'files';
}

export type OnProgress = (e: ProgressEvent) => void;

export interface FsckProblem {
  /** what is affected, e.g. `images@<id>:/a.png`, `pack 1f2e…`, `branch images@master` */
  subject: string;
  problem: string;
}

export interface FsckReport {
  ok: boolean;
  /** cachedInputs: files of the datum input cache hashed; hasherStates: kept BLAKE3 states checked (both with verifyData) */
  /** remoteChunks: chunks left on a remote by lazy pulls, absent here on purpose (not problems) */
  checked: { repos: number; commits: number; nodes: number; contents: number; chunks: number; packs: number; chunksVerified: number; cachedInputs: number; hasherStates: number; remoteChunks: number };
  problems: FsckProblem[];
  /** per remote, the chunks lazy pulls left there: absent here, or cached (only in a lazy clone) */
  remote?: { remote: string; absent: number; cached: number }[];
}

export interface GcReport {
  chunksRemoved: number;
  contentsRemoved: number;
  nodesRemoved: number;
  packsRemoved: number;
  packsRewritten: number;
  /** what the store's files shrank by, plus the bytes of the objects deleted where packs are in a bucket */
  bytesReclaimed: number;
  /** the store's files on this machine (metadata, and packs where they are local: a bucket's are not measured) */
  storeBytesBefore: number;
  storeBytesAfter: number;
  /** cached datum inputs removed (their content gone, or the cache over its bound) and their bytes */
  cacheFilesRemoved: number;
  cacheBytesRemoved: number;
  /** the packs removed (in a dry run: that would be), by name */
  removedPacks: string[];
  /** the sparse packs whose live chunks were copied into a new pack (in a dry run: would be), by name */
  rewrittenPacks: string[];
  /** present (true) when nothing was changed: the report says what a run would do */
  dryRun?: boolean;
}

/** The window a windowed input's file belongs to; `start` inclusive, `end` exclusive. */
export interface WindowBounds {
  by: 'time' | 'commits';
  /** ms since the epoch (time) or a position in the branch history, 0 = its first commit (commits) */
  start: number;
  end: number;
}

/** One file or directory a datum sees, under `/pfs/<name><path>`. */
export interface DatumFile {
  name: string;
  repo: string;
  branch: string;
  commit: string;
  path: string;
  type: 'file' | 'dir';
  /** content id (files) or tree id (directories), hex */
  hash: string;
  size: number;
  joinKey?: string;
  groupKey?: string;
  emptyFiles?: boolean;
  /** a windowed input's file: the window it is in; it lies at `/pfs/<name>/<commit><path>` */
  window?: WindowBounds;
}
