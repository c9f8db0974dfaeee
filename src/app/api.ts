// What the command layer needs besides the services: addresses and their parsers, the records
// services return, and the few constants flags are checked against. Commands import these from
// here, so that a change inside a layer below does not reach them. Only light modules are
// re-exported as values: every command loads this file at start-up (project, monitor and console
// values come from src/app/project.ts, monitor.ts and console.ts, which only their commands load).
export { formatCommitRef, isCommitId, parseBranchRef, parseCommitRef, parseFileRef, validateName, type CommitRef, type FileRef } from '../store/address.js';
export type { BranchInfo, CommitInfo, CommitOrigin, CommitSetInfo, DiffEntry, FileInfo, FsckReport, GcReport, OnProgress, ProgressEvent, PutResult, PutSource, RepoInfo } from '../store/types.js';
export type { JobState } from '../store/job-records.js';

export type { CronTick } from '../pipeline/cron-ticker.js';
export { parseInputTerms, type LogFilter, type LogLine } from '../pipeline/logs.js';
export type { DatumInfo, JobInfo, JobSetInfo, PipelineInfo } from '../pipeline/pipeline-service.js';
export type { RestartResult } from '../pipeline/restart.js';
export { MAX_PARALLELISM, type WorkdirRule } from '../pipeline/spec.js';
export { BUSY_WAIT_MS, type WorkerDatumEvent, type WorkerSummary } from '../pipeline/worker.js';

export { projectWorkdir, tryFindProject } from '../project/config.js';
export type { HookRunResult } from '../project/hook-runner.js';
export type { InstallResult, UninstallResult } from '../project/hooks.js';
export type { CheckoutAllResult, StatusResult } from '../project/status.js';
export type { LockUpdateResult } from '../project/sync.js';
export type { VerifyReport } from '../project/verify.js';

export type { DriftHistoryRow } from '../monitor/drift-history.js';
export type { DriftReport } from '../monitor/drift-service.js';
export type { FileProfile } from '../monitor/profile.js';
export type { ModelMetrics } from '../ml/metrics-service.js';
export type { PredictResult } from '../ml/predict-service.js';
