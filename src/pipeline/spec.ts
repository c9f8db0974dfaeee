// Pipeline specs: decode JSON/YAML text (several specs per file), then check and normalise each
// spec into a PipelineSpec. Field names follow Pachyderm (snake_case; lowerCamelCase accepted);
// errors keep Pachyderm's wording and name the field path, so a user can find the offending line.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { InvalidArgumentError } from '../errors.js';
import { isCommitId, validateName } from '../store/address.js';
import { compileGlob, validateTemplate, type CompiledGlob } from '../store/glob.js';
import { escapeControlChars } from '../store/paths.js';
import { validateCronSpec } from './cron-spec.js';
import { parseDuration } from './duration.js';
import type { ComboInput, CronInput, InputSpec, PfsInput, PipelineSpec, TransformSpec, WindowSpec } from './spec-types.js';
import { describeWindowSpec, MAX_WINDOWS_PER_COMMIT, parseWindowLength } from './windows.js';

/** One spec as decoded from a file, before validation: pass `value` to normalizeSpec. */
export interface RawSpec {
  value: unknown;
  /** 0-based position among the specs of the file. */
  index: number;
  /** 1-based line of the file where this spec starts. */
  line: number;
  source?: string;
  baseDir: string;
}

/** A leaf input a pipeline reads from; cron leaves read their tick repo's master. */
export interface InputRepo {
  kind: 'pfs' | 'cron';
  name: string;
  repo: string;
  branch: string;
}

type Obj = Record<string, unknown>;

const MAX_PIPELINE_NAME = 63;
const DEFAULT_DATUM_TRIES = 3;
const LOCAL_REASON = 'tusk runs transforms locally';

// ─── decoding ────────────────────────────────────────────────────────────────────────────────

/** Decode a spec file: JSON (one value, concatenated objects, or a list) or YAML (`---` documents, lists). */
export function parseSpecText(text: string, opts: { baseDir: string; source?: string }): RawSpec[] {
  const values = looksLikeJson(text) ? decodeJsonOrYaml(text, opts.source) : decodeYaml(text, opts.source);
  const specs: RawSpec[] = [];
  for (const { value, offset } of values) {
    // A top-level list holds several specs; nulls are empty documents (a trailing `---`).
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === null || v === undefined) continue;
      specs.push({ value: v, index: specs.length, line: lineAt(text, offset).line, source: opts.source, baseDir: opts.baseDir });
    }
  }
  if (specs.length === 0) {
    throw malformed('no pipeline spec found', withSource(opts.source, 'write one JSON object or YAML document per pipeline'));
  }
  return specs;
}

function looksLikeJson(text: string): boolean {
  return /^\s*[{[]/.test(text.replace(/^\uFEFF/, ''));
}

// JSON is decoded as JSON (exact semantics, concatenation allowed); text that merely starts like
// JSON but is YAML flow style (`{pipeline: {name: x}}`) falls back to the YAML decoder.
function decodeJsonOrYaml(text: string, source?: string): { value: unknown; offset: number }[] {
  try {
    return decodeJson(text, source);
  } catch (jsonErr) {
    try {
      return decodeYaml(text, source);
    } catch {
      throw jsonErr;
    }
  }
}

function decodeJson(text: string, source?: string): { value: unknown; offset: number }[] {
  const out: { value: unknown; offset: number }[] = [];
  for (const { start, end } of splitJsonValues(text, source)) {
    try {
      out.push({ value: JSON.parse(text.slice(start, end)), offset: start });
    } catch (err) {
      const msg = (err as Error).message.replace(/\s*\(line \d+ column \d+\)$/, '');
      const pos = /at position (\d+)/.exec(msg);
      const where = pos ? lineAt(text, start + Number(pos[1])) : lineAt(text, end);
      const bare = msg.replace(/ in JSON at position \d+$/, '').replace(/ at position \d+$/, '');
      throw malformed(`${bare} at line ${where.line}, column ${where.column}`, withSource(source, 'check the JSON syntax there'));
    }
  }
  return out;
}

// Top-level JSON values laid end to end (`{…}{…}` or one per line): brace depth outside strings.
function splitJsonValues(text: string, source?: string): { start: number; end: number }[] {
  const values: { start: number; end: number }[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (i >= text.length) break;
    if (text[i] !== '{' && text[i] !== '[') {
      const { line, column } = lineAt(text, i);
      throw malformed(
        `unexpected ${JSON.stringify(text[i])} after a JSON value at line ${line}, column ${column}`,
        withSource(source, 'several specs in one JSON file must be objects laid end to end'),
      );
    }
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (--depth === 0) {
          i++;
          break;
        }
      }
    }
    values.push({ start, end: i }); // an unclosed value runs to the end: JSON.parse reports it
  }
  return values;
}

function decodeYaml(text: string, source?: string): { value: unknown; offset: number }[] {
  const out: { value: unknown; offset: number }[] = [];
  // loaded on use: ~30 ms that commands without specs should not pay
  const { parseAllDocuments } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return out; // empty stream
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      // The decoder's message ends in a multi-line code frame; the first line already has line:column.
      const first = err.message.split('\n')[0].replace(/:$/, '');
      throw malformed(first, withSource(source, 'check the YAML syntax there (indentation, ":" after keys)'));
    }
    out.push({ value: doc.toJS({ maxAliasCount: 1000 }), offset: doc.contents?.range?.[0] ?? doc.range[0] });
  }
  return out;
}

function lineAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function withSource(source: string | undefined, hint: string): string {
  return source === undefined ? hint : `in ${source}: ${hint}`;
}

// ─── field access ────────────────────────────────────────────────────────────────────────────

function malformed(msg: string, hint?: string): InvalidArgumentError {
  return new InvalidArgumentError(`malformed pipeline spec: ${msg}`, hint);
}

// A validation error located at a field: `<path>: <message>` (Pachyderm's message after the colon).
function invalidAt(at: string, msg: string, hint?: string): InvalidArgumentError {
  return new InvalidArgumentError(at === '' ? msg : `${at}: ${msg}`, hint);
}

function rethrowAt(at: string, err: unknown): never {
  if (err instanceof InvalidArgumentError) throw invalidAt(at, err.message, err.hint);
  throw err;
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function expected(at: string, what: string, got: unknown, hint?: string): InvalidArgumentError {
  return malformed(`${at}: expected ${what}`, hint ?? `got ${typeOf(got)}`);
}

// One object of the spec with its keys checked against the fields allowed at that place. Keys are
// stored by their snake_case name; paths in messages use the spelling the user wrote.
class Fields {
  private readonly keys = new Map<string, string>();

  constructor(
    readonly obj: Obj,
    readonly at: string,
    known: readonly string[],
  ) {
    for (const key of Object.keys(obj)) {
      const canon = known.includes(key) ? key : known.includes(snakeCase(key)) ? snakeCase(key) : undefined;
      if (canon === undefined) throw unknownField(join(at, key), key, known);
      const prev = this.keys.get(canon);
      if (prev !== undefined) {
        throw malformed(`field "${join(at, canon)}" is given twice, as "${prev}" and "${key}"`, 'keep one spelling');
      }
      this.keys.set(canon, key);
    }
  }

  static of(v: unknown, at: string, known: readonly string[], hint?: string): Fields {
    if (!isObj(v)) throw expected(at, 'object', v, hint);
    return new Fields(v, at, known);
  }

  /** Present and not null: JSON null means "unset", as in protobuf JSON. */
  has(f: string): boolean {
    const v = this.get(f);
    return v !== undefined && v !== null;
  }

  get(f: string): unknown {
    const key = this.keys.get(f);
    return key === undefined ? undefined : this.obj[key];
  }

  path(f: string): string {
    return join(this.at, this.keys.get(f) ?? f);
  }

  present(): string[] {
    return [...this.keys.keys()].filter((f) => this.has(f));
  }

  string(f: string): string | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw expected(this.path(f), 'string', v);
    return v;
  }

  bool(f: string): boolean | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw expected(this.path(f), 'boolean', v);
    return v;
  }

  int(f: string, min: number, max?: { limit: number; hint: string }): number | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    const n = toInt(v, this.path(f), min);
    if (max && n > max.limit) throw malformed(`${this.path(f)}: must be at most ${max.limit}, got ${n}`, max.hint);
    return n;
  }

  /** A string list; `single` also takes one string (stdin's common shorthand). */
  strings(f: string, single = false): string[] | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    if (single && typeof v === 'string') return [v];
    if (!Array.isArray(v)) throw expected(this.path(f), 'list of strings', v);
    return v.map((s, i) => {
      if (typeof s !== 'string') throw expected(`${this.path(f)}[${i}]`, 'string', s);
      return s;
    });
  }

  list(f: string): unknown[] | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw expected(this.path(f), 'list', v);
    return v;
  }

  fields(f: string, known: readonly string[]): Fields | undefined {
    return this.has(f) ? Fields.of(this.get(f), this.path(f), known) : undefined;
  }

  duration(f: string): number | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw expected(this.path(f), 'duration string', v, 'write a duration such as "30s", "1m30s" or "1h"');
    try {
      const ms = parseDuration(v);
      if (ms <= 0) throw new InvalidArgumentError(`duration ${JSON.stringify(v)} must be positive`);
      return ms;
    } catch (err) {
      throw malformed(`${this.path(f)}: ${(err as Error).message}`, 'write a duration such as "30s", "1m30s" or "1h"');
    }
  }
}

// protobuf JSON also accepts 64-bit integers as decimal strings.
function toInt(v: unknown, at: string, min: number): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw expected(at, 'integer', v);
  if (n < min) throw malformed(`${at}: must be at least ${min}, got ${n}`);
  return n;
}

function unknownField(at: string, key: string, known: readonly string[]): InvalidArgumentError {
  const near = closest(key, known);
  const hint =
    near !== undefined
      ? `did you mean "${/[A-Z]/.test(key) ? camelCase(near) : near}"?`
      : `fields allowed here: ${[...known].sort().join(', ')}`;
  return malformed(`unknown field "${escapeControlChars(at)}"`, hint);
}

// Closest known field by edit distance, compared without case or underscores so `JoinOn` finds join_on.
function closest(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/_/g, '');
  const k = norm(key);
  let best: string | undefined;
  let bestDist = Math.max(1, Math.floor(k.length / 3)) + 1;
  for (const cand of known) {
    const d = editDistance(k, norm(cand));
    if (d < bestDist) [best, bestDist] = [cand, d];
  }
  return best;
}

// Optimal string alignment: Levenshtein plus adjacent transpositions ("trnasform").
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

// ─── normalisation ───────────────────────────────────────────────────────────────────────────

// Cluster-only fields: accepted so real specs load unchanged, recorded in `ignored`, warned about.
type Shape = 'object' | 'boolean' | 'string' | 'strings' | 'list' | 'json' | 'duration';
const CLUSTER_FIELDS: Record<string, Shape> = {
  resource_requests: 'object',
  resource_limits: 'object',
  sidecar_resource_limits: 'object',
  sidecar_resource_requests: 'object',
  autoscaling: 'boolean',
  scheduling_spec: 'object',
  pod_spec: 'json',
  pod_patch: 'json',
  tolerations: 'list',
  metadata: 'object',
  service: 'object',
  datum_set_spec: 'object',
  determined: 'object',
  maximum_expected_uptime: 'duration',
  // Pachyderm 1.x; still in its examples (examples/group/group.json).
  enable_stats: 'boolean',
};
const CLUSTER_TRANSFORM_FIELDS: Record<string, Shape> = {
  image: 'string',
  image_pull_secrets: 'strings',
  user: 'string',
  dockerfile: 'string',
  memory_volume: 'boolean',
  secrets: 'list',
  debug: 'boolean',
  datum_batching: 'boolean',
};
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
const INPUT_KINDS = ['pfs', 'cross', 'union', 'join', 'group', 'cron'] as const;
const PFS_FIELDS = [
  'name',
  'repo',
  'branch',
  'glob',
  'commit',
  'join_on',
  'outer_join',
  'group_by',
  'lazy',
  'empty_files',
  'window',
  'repo_type',
  's3',
  'trigger',
  'project',
];
const CRON_FIELDS = ['name', 'spec', 'repo', 'overwrite', 'start', 'project'];
const WINDOW_FIELDS = ['size', 'every'];

interface Ctx {
  pipeline: string;
  baseDir: string;
  warnings: string[];
  ignored: string[];
  /** where each normalised input came from, for messages raised after sorting */
  paths: Map<InputSpec, string>;
}

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

  const ctx: Ctx = { pipeline: name, baseDir: opts.baseDir, warnings: [], ignored: [], paths: new Map() };
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

// Pachyderm's order: length, first character (Kubernetes object names), then the character set.
function checkPipelineName(name: string): void {
  const at = 'pipeline.name';
  if (name.length > MAX_PIPELINE_NAME) {
    throw invalidAt(
      at,
      `pipeline name is ${name.length} characters long, but must have at most ${MAX_PIPELINE_NAME}: ${JSON.stringify(name)}`,
      `use a name of at most ${MAX_PIPELINE_NAME} characters`,
    );
  }
  if (!/^[a-zA-Z0-9]/.test(name)) {
    throw invalidAt(at, 'pipeline names must start with an alphanumeric character', 'start the name with a letter or digit');
  }
  try {
    validateName('pipeline', name);
  } catch (err) {
    rethrowAt(at, err);
  }
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

function recordCluster(fields: Fields, shapes: Record<string, Shape>, ctx: Ctx, reason = LOCAL_REASON): void {
  for (const f of Object.keys(shapes)) {
    if (!fields.has(f)) continue;
    const v = checkShape(fields, f, shapes[f]);
    // `false`, "" and empty collections ask for nothing: accept them without a warning.
    const asksNothing = v === false || v === '' || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
    if (asksNothing) continue;
    const at = fields.path(f);
    ctx.ignored.push(at);
    const why = f === 'enable_stats' ? 'a Pachyderm 1.x field; tusk always keeps datum stats' : reason;
    ctx.warnings.push(`${at} is ignored: ${why}`);
  }
}

function checkShape(fields: Fields, f: string, shape: Shape): unknown {
  switch (shape) {
    case 'object': {
      const v = fields.get(f);
      if (!isObj(v)) throw expected(fields.path(f), 'object', v);
      return v;
    }
    case 'boolean':
      return fields.bool(f);
    case 'string':
      return fields.string(f);
    case 'strings':
      return fields.strings(f);
    case 'list':
      return fields.list(f);
    case 'duration':
      return fields.duration(f);
    case 'json': {
      const s = fields.string(f)!;
      try {
        JSON.parse(s);
      } catch {
        throw invalidAt(fields.path(f), f === 'pod_spec' ? 'malformed PodSpec' : 'malformed PodPatch', 'the value must be a JSON document in a string');
      }
      return s;
    }
  }
}

// Projects are 2.5+; tusk has one namespace, so only a non-default project is worth a warning.
function ignoreProject(fields: Fields, ctx: Ctx): void {
  if (!fields.has('project')) return;
  const v = fields.get('project');
  const project = isObj(v) ? Fields.of(v, fields.path('project'), ['name']).string('name') : fields.string('project');
  if (project === undefined || project === '' || project === 'default') return;
  const at = fields.path('project');
  ctx.ignored.push(at);
  ctx.warnings.push(`${at} is ignored: tusk has no projects (${JSON.stringify(project)} is read as the one local namespace)`);
}

function readTransform(t: Fields, ctx: Ctx): TransformSpec {
  const cmd = t.strings('cmd');
  const hasMl = t.has('ml');
  if (cmd !== undefined && cmd.length > 0 && hasMl) {
    throw invalidAt(t.at, '"cmd" and "ml" are mutually exclusive', 'a transform either runs a command or an in-process ML step');
  }
  if (!hasMl && (cmd === undefined || cmd.length === 0 || cmd[0] === '')) {
    throw invalidAt(t.at, 'invalid pipeline transform, no command specified', 'set "cmd", e.g. ["sh"] with "stdin" lines, or ["python3", "script.py"]');
  }
  const transform: TransformSpec = { cmd: cmd ?? [], env: readEnv(t), accept_return_code: [] };
  if (hasMl) {
    const ml = t.get('ml');
    if (!isObj(ml)) throw expected(t.path('ml'), 'object', ml);
    transform.ml = ml;
  }
  const stdin = t.strings('stdin', true);
  if (stdin !== undefined) transform.stdin = stdin;
  const errCmd = t.strings('err_cmd');
  if (errCmd !== undefined && errCmd.length > 0) transform.err_cmd = errCmd;
  const errStdin = t.strings('err_stdin', true);
  if (errStdin !== undefined) transform.err_stdin = errStdin;
  const codes = t.list('accept_return_code') ?? [];
  transform.accept_return_code = codes.map((c, i) => toInt(c, `${t.path('accept_return_code')}[${i}]`, Number.MIN_SAFE_INTEGER));
  const workingDir = t.string('working_dir');
  if (workingDir) transform.working_dir = workingDir;
  const image = t.string('image');
  if (image) transform.image = image;
  recordCluster(t, CLUSTER_TRANSFORM_FIELDS, ctx);
  return transform;
}

function readEnv(t: Fields): Record<string, string> {
  const env: Record<string, string> = {};
  if (!t.has('env')) return env;
  const v = t.get('env');
  if (!isObj(v)) throw expected(t.path('env'), 'map of strings', v);
  for (const [k, val] of Object.entries(v)) {
    const at = `${t.path('env')}.${k}`;
    if (k === '' || k.includes('=') || k.includes('\0')) throw malformed(`${at}: invalid environment variable name`);
    if (typeof val !== 'string') throw expected(at, 'string', val, `got ${typeOf(val)}; quote the value, e.g. "1"`);
    env[k] = val;
  }
  return env;
}

function readEgress(top: Fields, ctx: Ctx): string | undefined {
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

// ─── inputs ──────────────────────────────────────────────────────────────────────────────────

type Combo = ComboInput['kind'];

function readInput(v: unknown, at: string, ctx: Ctx, parent: Combo | undefined): InputSpec {
  const node = Fields.of(v, at, INPUT_KINDS, 'an input is an object with one of: pfs, cross, union, join, group, cron');
  const kinds = INPUT_KINDS.filter((k) => node.has(k));
  if (kinds.length === 0) throw invalidAt(at, 'no input set', 'set one of: pfs, cross, union, join, group, cron');
  if (kinds.length > 1) throw invalidAt(at, `multiple input types set (${kinds.join(', ')})`, 'put each in its own input, e.g. inside a cross');
  const kind = kinds[0];
  const input =
    kind === 'pfs'
      ? readPfs(node.fields('pfs', PFS_FIELDS)!, ctx, parent)
      : kind === 'cron'
        ? readCron(node.fields('cron', CRON_FIELDS)!, ctx)
        : readCombo(kind, node, ctx);
  ctx.paths.set(input, node.path(kind));
  return input;
}

function readCombo(kind: Combo, node: Fields, ctx: Ctx): ComboInput {
  const at = node.path(kind);
  const list = node.list(kind)!;
  if (list.length === 0) throw invalidAt(at, `no input set: a ${kind} needs at least one input`);
  const inputs = list.map((sub, i) => readInput(sub, `${at}[${i}]`, ctx, kind));
  if (kind === 'join' || kind === 'group') {
    const key = kind === 'join' ? 'join_on' : 'group_by';
    inputs.forEach((sub, i) => {
      const subAt = ctx.paths.get(sub)!;
      if (sub.kind !== 'pfs') throw invalidAt(`${at}[${i}]`, `${kind} inputs must be pfs inputs`, `a ${kind} matches files by the key each pfs input's ${key} builds`);
      if (!sub[key]) {
        throw invalidAt(subAt, `${kind} inputs must specify ${key}`, `set "${key}" to a template over the glob's capture groups, e.g. glob "/(*).txt" with ${key} "$1"`);
      }
    });
  }
  return { kind, inputs };
}

function readPfs(p: Fields, ctx: Ctx, parent: Combo | undefined): PfsInput {
  const repo = p.string('repo');
  if (!repo) throw invalidAt(p.at, 'input must specify a repo', 'add "repo": "<repo>"');
  nameOk('repo', repo, p.path('repo'));
  const glob = p.string('glob');
  if (!glob) throw invalidAt(p.at, 'input must specify a glob', 'add "glob": "/*" (one datum per top-level entry) or "/" (the whole repo)');
  const name = p.string('name') || repo;
  if (p.has('name')) inputNameOk(name, p.path('name'));
  checkOut(name, p);
  const branch = p.string('branch') || 'master';
  nameOk('branch', branch, p.path('branch'));

  let compiled: CompiledGlob;
  try {
    compiled = compileGlob(glob);
  } catch (err) {
    rethrowAt(p.path('glob'), err);
  }
  const input: PfsInput = { kind: 'pfs', name, repo, branch, glob: compiled.pattern };

  const commit = p.string('commit');
  if (commit) {
    if (!isCommitId(commit)) throw invalidAt(p.path('commit'), `${JSON.stringify(commit)} is not a commit id`, 'a commit id is 32 lowercase hex characters');
    input.commit = commit;
  }
  for (const [key, combo] of [['join_on', 'join'], ['group_by', 'group']] as const) {
    const template = p.string(key);
    if (!template) continue;
    try {
      validateTemplate(template, compiled.captureCount, { glob: compiled.pattern, field: key });
    } catch (err) {
      rethrowAt(p.path(key), err);
    }
    input[key] = template;
    if (parent !== combo) ctx.warnings.push(`${p.path(key)} is ignored: the input is not part of a ${combo}`);
  }
  const outer = p.bool('outer_join');
  if (outer) {
    input.outer_join = true;
    if (parent !== 'join') ctx.warnings.push(`${p.path('outer_join')} is ignored: the input is not part of a join`);
  }
  if (p.bool('lazy')) input.lazy = true;
  if (p.bool('empty_files')) input.empty_files = true;
  const window = p.fields('window', WINDOW_FIELDS);
  if (window) {
    input.window = readWindow(window);
    if (parent === 'join' || parent === 'group' || input.join_on || input.group_by) {
      throw invalidAt(p.path('window'), `a windowed input cannot be part of a ${parent ?? (input.join_on ? 'join' : 'group')}`, 'a window is one datum of many files: cross it with other inputs, or drop the window');
    }
  }
  const repoType = p.string('repo_type');
  if (repoType && repoType !== 'user') {
    throw invalidAt(p.path('repo_type'), `repo_type ${JSON.stringify(repoType)} is not supported: tusk pipelines read user repos only`, 'remove repo_type or set it to "user"');
  }
  if (p.bool('s3')) throw invalidAt(p.path('s3'), 's3 inputs are not supported by tusk: there is no S3 gateway', 'read the files under /pfs/<name> instead');
  if (p.has('trigger')) throw invalidAt(p.path('trigger'), 'input triggers are not supported by tusk', 'commit to the input branch when the pipeline should run');
  ignoreProject(p, ctx);
  return input;
}

// `size: 7d, every: 1d` (sliding by time), `size: 10 commits` (fixed by count); every ≤ size, so
// that no commit falls between two windows unseen.
function readWindow(w: Fields): WindowSpec {
  const length = (f: 'size' | 'every') => {
    const v = w.get(f);
    const hint = 'write a duration such as "7d", "12h" or "1d12h" (units ms, s, m, h, d, w), or a count such as "10 commits"';
    if (typeof v !== 'string') throw expected(w.path(f), 'string', v, typeof v === 'number' ? `write "${v} commits" or a duration such as "${v}d"` : hint);
    try {
      return parseWindowLength(v);
    } catch (err) {
      throw malformed(`${w.path(f)}: ${(err as Error).message}`, hint);
    }
  };
  if (!w.has('size')) throw invalidAt(w.at, 'window must specify a size', 'add "size": "7d" (by commit time) or "size": "10 commits" (by count)');
  const size = length('size');
  const every = w.has('every') ? length('every') : size;
  if (every.by !== size.by) {
    throw invalidAt(w.path('every'), `every is ${every.by === 'time' ? 'a duration' : 'a count of commits'} but size is ${size.by === 'time' ? 'a duration' : 'a count of commits'}`, 'give both in the same unit');
  }
  if (every.size > size.size) throw invalidAt(w.path('every'), 'every must not be longer than size: commits between two windows would be in none', `make every at most ${w.get('size') as string}`);
  if (size.size / every.size > MAX_WINDOWS_PER_COMMIT) {
    throw invalidAt(w.path('every'), `every is too short: each commit would fall into ${Math.ceil(size.size / every.size)} windows (at most ${MAX_WINDOWS_PER_COMMIT})`, 'make every longer or size shorter');
  }
  return { by: size.by, size: size.size, every: every.size };
}

// One windowed input per pipeline: the window's bounds are the datum's (TUSK_WINDOW_START/END).
function checkWindows(input: InputSpec, ctx: Ctx): void {
  const windowed = inputLeaves(input).filter((i): i is PfsInput => i.kind === 'pfs' && i.window !== undefined);
  if (windowed.length > 1) {
    throw invalidAt(`${ctx.paths.get(windowed[1]!)!}.window`, 'only one input of a pipeline can have a window', `keep the window on ${windowed[0]!.name}, or split the pipeline in two`);
  }
}

function inputLeaves(input: InputSpec): InputSpec[] {
  return input.kind === 'pfs' || input.kind === 'cron' ? [input] : input.inputs.flatMap(inputLeaves);
}

function readCron(c: Fields, ctx: Ctx): CronInput {
  const name = c.string('name');
  if (!name) throw invalidAt(c.at, 'input must specify a name', 'add "name": "tick"');
  inputNameOk(name, c.path('name'));
  checkOut(name, c);
  const spec = c.string('spec') ?? '';
  try {
    validateCronSpec(spec);
  } catch (err) {
    rethrowAt(c.path('spec'), err);
  }
  const repo = c.string('repo') || `${ctx.pipeline}_${name}`;
  nameOk('repo', repo, c.has('repo') ? c.path('repo') : c.at);
  const input: CronInput = { kind: 'cron', name, spec, repo, overwrite: c.bool('overwrite') ?? false };
  const start = c.string('start');
  if (start) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(start) || Number.isNaN(Date.parse(start))) {
      throw malformed(`${c.path('start')}: invalid timestamp ${JSON.stringify(start)}`, 'write an RFC 3339 time, e.g. "2024-01-02T15:04:05Z"');
    }
    input.start = start;
  }
  ignoreProject(c, ctx);
  return input;
}

function nameOk(kind: 'repo' | 'branch', name: string, at: string): void {
  try {
    validateName(kind, name);
  } catch (err) {
    rethrowAt(at, err);
  }
}

// Input names become /pfs/<name> and environment variable names: the repo name rules fit both.
function inputNameOk(name: string, at: string): void {
  if (!/^[a-zA-Z0-9_-]+$/.test(name)) {
    throw invalidAt(at, `input name (${escapeControlChars(name)}) invalid: only alphanumeric characters, underscores, and dashes are allowed`);
  }
}

function checkOut(name: string, f: Fields): void {
  if (name === 'out') {
    throw invalidAt(f.at, 'input cannot be named "out", as pachyderm already creates /pfs/out to collect job output', 'give the input another "name"');
  }
}

// Pachyderm's validateNames: names are unique within a datum; a union's branches never meet in one
// datum, so each branch starts from the names seen so far and they are merged afterwards.
function checkNames(input: InputSpec, names: Set<string>, ctx: Ctx): void {
  if (input.kind === 'pfs' || input.kind === 'cron') {
    if (names.has(input.name)) {
      throw invalidAt(ctx.paths.get(input)!, `name "${input.name}" was used more than once`, 'give one of the inputs its own "name"');
    }
    names.add(input.name);
    return;
  }
  if (input.kind !== 'union') {
    for (const sub of input.inputs) checkNames(sub, names, ctx);
    return;
  }
  const seen = input.inputs.map((sub) => {
    const copy = new Set(names);
    checkNames(sub, copy, ctx);
    return copy;
  });
  for (const s of seen) for (const n of s) names.add(n);
}

function inputName(input: InputSpec): string {
  return input.kind === 'pfs' || input.kind === 'cron' ? input.name : inputName(input.inputs[0]);
}

// Pachyderm sorts sub-inputs by name (a combinator's name is its first sub-input's) before
// building datums; byte order, as Go's sort.Strings.
function sortInputs(input: InputSpec): void {
  if (input.kind === 'pfs' || input.kind === 'cron') return;
  for (const sub of input.inputs) sortInputs(sub);
  input.inputs.sort((a, b) => {
    const [x, y] = [inputName(a), inputName(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

// ─── durations and cron ──────────────────────────────────────────────────────────────────────

/** The most datums one pipeline may run at once (parallelism_spec.constant, `tusk run --parallelism`). */
export const MAX_PARALLELISM = 1024;

// Durations and cron specs have modules of their own (the ticker reads cron specs too); these
// names stay importable from here.
export { parseDuration } from './duration.js';
export { validateCronSpec } from './cron-spec.js';

// ─── rendering and hashing ───────────────────────────────────────────────────────────────────

/** pachctl's INPUT column: `repo:glob`, `(a:/ ⨯ b:/)`, `(a ∪ b)`, `(a ⋈ b)`, `(Group: a, b)`, `name:spec`. */
export function describeInput(input: InputSpec): string {
  switch (input.kind) {
    case 'pfs':
      return input.window ? `${input.repo}:${input.glob} (${describeWindowSpec(input.window)})` : `${input.repo}:${input.glob}`;
    case 'cron':
      return `${input.name}:${input.spec}`;
    case 'group':
      return `(Group: ${input.inputs.map(describeInput).join(', ')})`;
    default: {
      const op = { cross: ' ⨯ ', union: ' ∪ ', join: ' ⋈ ' }[input.kind];
      return `(${input.inputs.map(describeInput).join(op)})`;
    }
  }
}

/** Every pfs and cron leaf of an input tree, in datum order; a repo read twice appears twice. */
export function inputRepos(input: InputSpec): InputRepo[] {
  switch (input.kind) {
    case 'pfs':
      return [{ kind: 'pfs', name: input.name, repo: input.repo, branch: input.branch }];
    case 'cron':
      return [{ kind: 'cron', name: input.name, repo: input.repo, branch: 'master' }];
    default:
      return input.inputs.flatMap(inputRepos);
  }
}

/** Hex SHA-256 of what decides a pipeline's outputs, for lock files: equal specs, equal hashes. */
export function specHash(spec: PipelineSpec): string {
  // The image is recorded but never run, and retries, timeouts, parallelism and base_dir change how
  // a job runs, not what it writes: leave them out so editing them does not invalidate lock files.
  const { image: _image, ...transform } = spec.transform;
  const outputs = { transform, input: spec.input, output_branch: spec.output_branch, reprocess_spec: spec.reprocess_spec };
  return createHash('sha256').update(canonicalJson(outputs)).digest('hex');
}

// JSON with object keys sorted at every level; undefined members dropped, as JSON.stringify does.
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
