// Pipeline specs: decode JSON/YAML text (several specs per file, spec-decode.ts), then check and
// normalise each spec into a PipelineSpec. Field names follow Pachyderm (snake_case; lowerCamelCase
// accepted); errors keep Pachyderm's wording and name the field path, so a user can find the
// offending line. This module holds the spec's top level; the parts have modules of their own:
// field access (spec-fields.ts), names (spec-names.ts), cluster-only fields (spec-cluster.ts), the
// transform (spec-transform.ts), inputs (spec-inputs.ts, spec-pfs-input.ts, spec-cron-input.ts)
// and the lock-file hash (spec-hash.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import { validateName } from '../store/address.js';
import { CLUSTER_FIELDS, CLUSTER_TRANSFORM_FIELDS, ignoreProject, recordCluster } from './spec-cluster.js';
import { Fields, invalidAt, isObj, malformed, rethrowAt, typeOf, type SpecContext } from './spec-fields.js';
import { checkNames, checkWindows, readInput, sortInputs } from './spec-inputs.js';
import { checkPipelineName } from './spec-names.js';
import { readTransform } from './spec-transform.js';
import type { PipelineSpec } from './spec-types.js';

export { parseSpecText, type RawSpec } from './spec-decode.js';
export { describeInput, inputRepos, type InputRepo } from './spec-inputs.js';
export { specHash } from './spec-hash.js';
// Durations and cron specs have modules of their own (the ticker reads cron specs too); these
// names stay importable from here.
export { parseDuration } from './duration.js';
export { validateCronSpec } from './cron-spec.js';

/** The most datums one pipeline may run at once (parallelism_spec.constant, `tusk run --parallelism`). */
export const MAX_PARALLELISM = 1024;
const DEFAULT_DATUM_TRIES = 3;

const TOP_FIELDS = [
  'pipeline',
  'description',
  'transform',
  'input',
  'output_branch',
  'parallelism_spec',
  'datum_tries',
  'datum_timeout',
  'job_timeout',
  'reprocess_spec',
  'salt',
  'update',
  'reprocess',
  'egress',
  's3_out',
  'spout',
  'tf_job',
  ...Object.keys(CLUSTER_FIELDS),
];
const TRANSFORM_FIELDS = [
  'cmd',
  'stdin',
  'err_cmd',
  'err_stdin',
  'env',
  'accept_return_code',
  'working_dir',
  'ml',
  ...Object.keys(CLUSTER_TRANSFORM_FIELDS),
];
/**
 * Where a pipeline's code runs when its spec sets no working_dir: the local stand-in for its
 * image's WORKDIR, chosen per pipeline (by name, or by the image its spec names). Returns an
 * absolute directory, or undefined for the spec file's directory.
 */
export type WorkdirRule = (pipeline: { name: string; image: string | undefined }) => string | undefined;

// Checked when the pipeline is created, not when its first datum fails an hour later.
function checkWorkdir(dir: string, pipeline: string): string {
  const abs = path.resolve(dir);
  const st = fs.statSync(abs, { throwIfNoEntry: false });
  if (!st?.isDirectory()) {
    throw new InvalidArgumentError(
      `workdir ${abs} of pipeline ${pipeline} ${st ? 'is not a directory' : 'does not exist'}`,
      "give --workdir (or workdir: in tusk.yaml) the local directory that stands in for the image's WORKDIR",
    );
  }
  return abs;
}

/** Check one decoded spec and normalise it; throws InvalidArgumentError naming the field. */
export function normalizeSpec(
  raw: unknown,
  opts: { baseDir: string; workdir?: WorkdirRule },
): { spec: PipelineSpec; raw: Record<string, unknown>; warnings: string[] } {
  if (!isObj(raw)) throw malformed(`expected an object, got ${typeOf(raw)}`, 'a pipeline spec is an object with "pipeline", "transform" and "input"');
  const top = new Fields(raw, '', TOP_FIELDS);
  if (!top.has('pipeline')) throw new InvalidArgumentError('no `pipeline` specified', 'add "pipeline": {"name": "<name>"}');
  const pipelineFields = top.fields('pipeline', ['name', 'project'])!;
  const name = pipelineFields.string('name');
  if (name === undefined || name === '') throw new InvalidArgumentError('no pipeline `name` specified', 'add "pipeline": {"name": "<name>"}');
  checkPipelineName(name);

  const ctx: SpecContext = { pipeline: name, baseDir: opts.baseDir, warnings: [], ignored: [], paths: new Map() };
  ignoreProject(pipelineFields, ctx);
  rejectUnsupported(top);

  if (!top.has('transform')) throw new InvalidArgumentError('pipeline must specify a transform', 'add "transform": {"cmd": [...]}');
  const transform = readTransform(top.fields('transform', TRANSFORM_FIELDS)!, ctx);

  if (!top.has('input')) throw new InvalidArgumentError('no input set', 'add "input": {"pfs": {"repo": "<repo>", "glob": "/*"}}');
  const input = readInput(top.get('input'), top.path('input'), ctx, undefined);
  checkNames(input, new Set(), ctx);
  checkWindows(input, ctx);
  sortInputs(input);

  const reprocess = top.string('reprocess_spec') || 'until_success';
  if (reprocess !== 'until_success' && reprocess !== 'every_job') {
    throw new InvalidArgumentError(
      "invalid pipeline spec: ReprocessSpec must be one of 'until_success' or 'every_job'",
      `${top.path('reprocess_spec')} is ${JSON.stringify(reprocess)}`,
    );
  }
  const outputBranch = top.string('output_branch') || 'master';
  try {
    validateName('branch', outputBranch);
  } catch (err) {
    rethrowAt(top.path('output_branch'), err);
  }

  const parallelismFields = top.fields('parallelism_spec', ['constant']);
  // 0 means "decide": Pachyderm picks 1 worker; locally the cores are the workers.
  const parallelism = parallelismFields?.int('constant', 0, { limit: MAX_PARALLELISM, hint: `datums run as local processes: use 0 (one per core) or a number up to ${MAX_PARALLELISM}` }) || os.availableParallelism();
  // proto3 cannot tell 0 from unset, so Pachyderm treats datum_tries 0 as the default too.
  const datumTries = top.int('datum_tries', 0) || DEFAULT_DATUM_TRIES;

  top.string('salt');
  top.bool('update');
  top.bool('reprocess');
  const egress = readEgress(top, ctx);
  recordCluster(top, CLUSTER_FIELDS, ctx);

  const spec: PipelineSpec = {
    name,
    description: top.string('description') ?? '',
    transform,
    input,
    output_branch: outputBranch,
    parallelism,
    datum_tries: datumTries,
    reprocess_spec: reprocess,
    base_dir: opts.baseDir,
    ignored: ctx.ignored,
  };
  const datumTimeout = top.duration('datum_timeout');
  if (datumTimeout !== undefined) spec.datum_timeout_ms = datumTimeout;
  const jobTimeout = top.duration('job_timeout');
  if (jobTimeout !== undefined) spec.job_timeout_ms = jobTimeout;
  if (egress !== undefined) spec.egress = egress;
  const workdir = opts.workdir?.({ name, image: transform.image });
  if (workdir !== undefined) spec.workdir = checkWorkdir(workdir, name);
  return { spec, raw, warnings: ctx.warnings };
}

function rejectUnsupported(top: Fields): void {
  if (top.has('spout')) {
    throw invalidAt(top.path('spout'), 'spout pipelines are not supported by tusk', 'write commits with `tusk put file` from your own process instead');
  }
  if (top.has('tf_job')) throw invalidAt(top.path('tf_job'), 'embedding TFJobs in pipelines is not supported yet');
  if (top.bool('s3_out')) {
    throw invalidAt(top.path('s3_out'), 's3_out is not supported by tusk: there is no S3 gateway', 'write output files under /pfs/out instead');
  }
}

function readEgress(top: Fields, ctx: SpecContext): string | undefined {
  const e = top.fields('egress', ['URL', 'url', 'object_storage', 'sql_database']);
  if (e === undefined) return undefined;
  if (e.has('sql_database')) throw invalidAt(e.path('sql_database'), 'egress to a SQL database is not supported by tusk', 'egress to a local directory: "egress": {"URL": "file:///path"}');
  const storage = e.fields('object_storage', ['url']);
  const field = storage ?? e;
  const f = field.has('url') ? 'url' : 'URL';
  const url = field.string(f);
  if (url === undefined || url === '') throw invalidAt(e.at, 'egress must specify a URL', 'e.g. "egress": {"URL": "file:///tmp/out"}');
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch (err) {
      throw invalidAt(field.path(f), `invalid file URL ${JSON.stringify(url)}: ${(err as Error).message}`);
    }
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(url)) {
    throw invalidAt(field.path(f), `only local egress is supported, got ${JSON.stringify(url)}`, 'use a file:// URL or a plain path');
  }
  return path.resolve(ctx.baseDir, url);
}
