// What the console reads, as the composition root hands it over: stored data through the store's
// read calls, pipelines through the pipeline service. The console never opens a store or sees
// its internals; each page is read with the calls a command would make.
import type { LogFilter, LogLine, LogTail } from '../pipeline/logs.js';
import type { DatumInfo, JobFilter, JobInfo, PipelineInfo } from '../pipeline/pipeline-service.js';
import type { Store } from '../store/store.js';
import type { ChangeFeed } from '../store/store-handle.js';
import type { FileInfo } from '../store/types.js';

/** The store's reads the console pages through. */
export type ConsoleData = Pick<
  Store,
  'path' | 'listRepos' | 'inspectRepo' | 'listBranches' | 'inspectCommit' | 'listCommits' | 'listCommitSets' | 'inspectFile' | 'iterateFiles' | 'diffFiles' | 'getFile' | 'streamFile' | 'listFiles'
> & {
  /** How many entries a directory (as inspectFile gave it) holds, read from its root page (no walk). */
  countEntries(dir: FileInfo): Promise<number>;
};

/** Pipelines, jobs, datums and logs, read-only. */
export interface ConsolePipelines {
  list(): Promise<PipelineInfo[]>;
  inspect(name: string): Promise<PipelineInfo>;
  listJobs(filter?: JobFilter): Promise<JobInfo[]>;
  inspectJob(pipeline: string, id: string): Promise<JobInfo>;
  listDatums(pipeline: string, job: string): Promise<DatumInfo[]>;
  inspectDatum(pipeline: string, job: string, id: string): Promise<DatumInfo>;
  streamLogs(filter: LogFilter): AsyncIterable<LogLine>;
  /** Wake-ups between two reads of a live view: a poll interval, or a team store's notifications. */
  changes(signal?: AbortSignal): Promise<ChangeFeed>;
  /** A job's log lines as they are written. */
  tailLogs(filter: LogFilter, opts: ConstructorParameters<typeof LogTail>[2]): LogTail;
}
