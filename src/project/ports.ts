// What the project layer (tusk lock, the git hooks, status, checkout, verify) is handed by the
// composition root (src/app/tusk.ts), which opens the store and builds the services: the project
// code never opens a store itself, and its writes go through the same services as the commands'.
import type { CommitRef, FileRef } from '../store/address.js';
import type { StoreCore } from '../store/store-core.js';
import type { CommitInfo, PutResult, PutSource, RepoInfo } from '../store/types.js';
import type { WorkdirRule } from '../pipeline/spec.js';
import type { Project } from './config.js';

/** The writes `tusk lock` makes; each one that can start jobs starts them unless a batch holds them. */
export interface ProjectData {
  createRepo(name: string, opts?: { description?: string }): RepoInfo;
  startCommit(repo: string, branch: string, opts?: { description?: string }): CommitInfo;
  putFiles(target: CommitRef, sources: PutSource[], opts?: { description?: string }): Promise<PutResult>;
  deleteFiles(ref: FileRef): Promise<CommitInfo>;
  finishCommit(ref: CommitRef): Promise<CommitInfo>;
}

/** A store opened for a project. */
export interface ProjectStore {
  /** reads of metadata and trees the project code still makes directly */
  readonly core: StoreCore;
  readonly data: ProjectData;
  /** create or update pipelines as a spec file says; the registered checks run, as for `create pipeline` */
  syncPipelines(text: string, opts: { baseDir: string; workdir: WorkdirRule; update?: boolean; reprocess?: boolean }): Promise<void>;
  /**
   * Make `fn`'s writes one step for the jobs: none starts during it; at its end they run here
   * until `until()` holds when given, else as after any write.
   */
  batch<T>(fn: () => Promise<T>, opts?: { until?: () => boolean }): Promise<T>;
  close(): void;
}

/** Opens the store of a project (its `store:`, TUSK_STORE or a `.tusk` above it). */
export type OpenProjectStore = (project: Project, opts?: { readonly?: boolean }) => ProjectStore;
