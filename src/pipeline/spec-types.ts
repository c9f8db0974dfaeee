// A pipeline spec after parsing and normalisation: snake_case keys, defaults applied, durations in
// milliseconds. What `inspect pipeline` shows and what the executor reads; the raw spec as the
// user wrote it is kept alongside (for `list pipeline --spec`).

export interface PfsInput {
  kind: 'pfs';
  name: string; // defaults to repo
  repo: string;
  branch: string; // default master
  glob: string; // cleaned
  commit?: string;
  join_on?: string;
  outer_join?: boolean;
  group_by?: string;
  lazy?: boolean;
  empty_files?: boolean;
  /** read the branch's history in windows instead of its head (src/pipeline/windows.ts) */
  window?: WindowSpec;
}

/** Fixed (every = size) or sliding windows over a branch's commits, by commit time or by count. */
export interface WindowSpec {
  by: 'time' | 'commits';
  /** ms (time) or commits */
  size: number;
  /** how far apart windows start, same unit; equal to size for fixed windows */
  every: number;
}

export interface CronInput {
  kind: 'cron';
  name: string;
  spec: string;
  repo: string; // default <pipeline>_<name>
  overwrite: boolean;
  start?: string;
}

export interface ComboInput {
  kind: 'cross' | 'union' | 'join' | 'group';
  /** sorted by input name, as Pachyderm does */
  inputs: InputSpec[];
}

export type InputSpec = PfsInput | CronInput | ComboInput;

export interface TransformSpec {
  cmd: string[];
  stdin?: string[];
  err_cmd?: string[];
  err_stdin?: string[];
  env: Record<string, string>;
  accept_return_code: number[];
  working_dir?: string;
  /** recorded, not used: commands run locally */
  image?: string;
  /** in-process ML transform (src/ml); mutually exclusive with cmd */
  ml?: Record<string, unknown>;
}

export interface PipelineSpec {
  name: string;
  description: string;
  transform: TransformSpec;
  input: InputSpec;
  output_branch: string;
  parallelism: number; // parallelism_spec.constant, 0 → number of cores
  datum_tries: number; // default 3
  datum_timeout_ms?: number;
  job_timeout_ms?: number;
  reprocess_spec: 'until_success' | 'every_job';
  /** egress target: an absolute local directory (from a file:// URL or a path relative to base_dir) */
  egress?: string;
  /** directory relative paths in the spec resolve against (the spec file's directory) */
  base_dir: string;
  /**
   * The local stand-in for the container image's WORKDIR (absolute): where the transform runs
   * when the spec sets no working_dir. Given by `--workdir` or tusk.yaml, never by the spec.
   */
  workdir?: string;
  /** cluster-only fields present in the spec: accepted and ignored */
  ignored: string[];
}
