// The `transform.ml` section of a pipeline spec: parsing, static checks (unknown stages or
// fields, a predictor that is not last, metrics that do not fit the task) and, when the input
// schema is known, type checks of the whole chain against it. Every error names the field, the
// stage and the column.
import { posix } from 'node:path';
import { parseDriftTask, type DriftTaskSpec } from '../monitor/monitor-task.js';
import { fieldError, MlError, stageError } from './errors.js';
import { ALL_METRICS, CLASSIFICATION_METRICS, REGRESSION_METRICS } from './metrics.js';
import { parseStageEntry } from './stages/ensemble.js';
import { stageByName, STAGES } from './stages/registry.js';
import type { EstimatorDef, Params, StageDef, StageFail, Task, TransformerDef } from './stages/types.js';
import { BACKENDS, type BackendName } from './tf.js';
import type { ColumnSchema, Schema } from './table.js';

export type MlTask = 'train' | 'evaluate' | 'predict' | 'drift';
export type DataFormat = 'csv' | 'images' | 'cifar10';

export interface MlDataSpec {
  format: DataFormat;
  /** as written: `/pfs/<input>/...` */
  path: string;
  label?: string;
  features?: string[];
  columns?: Record<string, 'number' | 'string'>;
  /** row key column (split by key hash; kept in predictions) */
  key?: string;
  delimiter: string;
  /** name of the image column of images/cifar10 data */
  image_column: string;
  /** CSV files larger than this (MiB, together) are trained on and evaluated a batch at a time */
  in_memory_mib?: number;
}

export interface MlSplitSpec {
  test: number;
  seed: number;
  /** hash split by this column's value instead of a seeded shuffle */
  key?: string;
}

export interface MlStage {
  name: string;
  params: Params;
}

export interface MlSpec {
  task: MlTask;
  backend?: BackendName;
  seed: number;
  data: MlDataSpec;
  chain: MlStage[];
  split?: MlSplitSpec;
  metrics?: string[];
  /** where a fitted chain lies (evaluate, predict): `/pfs/<model input>[/dir]` */
  model?: string;
  /** task drift: the reference file and the tests and thresholds (src/monitor) */
  drift?: DriftTaskSpec;
  /** predict: also write `<output>.windows.jsonl`, one line of statistics per job's new rows */
  window_metrics?: boolean;
}

const TOP_FIELDS = ['task', 'backend', 'seed', 'data', 'chain', 'split', 'metrics', 'model', 'reference', 'drift', 'labels', 'window_metrics'];
const DATA_FIELDS = ['format', 'path', 'label', 'features', 'columns', 'key', 'delimiter', 'image_column', 'in_memory_mib'];

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkFields(obj: Record<string, unknown>, known: string[], at: string): void {
  for (const k of Object.keys(obj)) if (!known.includes(k)) throw fieldError(`${at}.${k}`, 'unknown field', `known fields: ${known.join(', ')}`);
}

function str(obj: Record<string, unknown>, key: string, at: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw fieldError(`${at}.${key}`, `expected a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function int(obj: Record<string, unknown>, key: string, at: string, def: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw fieldError(`${at}.${key}`, `expected a whole number from 0 to 4294967295, got ${JSON.stringify(v)}`);
  return v;
}

function stageFail(index: number, name: string): StageFail {
  return (message, hint, column) => {
    throw stageError(index, name, message, hint, column);
  };
}

/** The stage definition of a parsed chain entry (known to exist once parsed). */
export function defOf(stage: MlStage): StageDef {
  return stageByName(stage.name)!;
}

/** The estimator ending a chain. */
export function estimatorOf(chain: MlStage[]): { def: EstimatorDef; stage: MlStage; index: number } {
  const index = chain.length - 1;
  return { def: defOf(chain[index]!) as EstimatorDef, stage: chain[index]!, index };
}

/** The metrics a model's task can compute. */
export function metricsFor(task: Task): readonly string[] {
  return task === 'regression' ? REGRESSION_METRICS : CLASSIFICATION_METRICS;
}

/** Default metrics per task (roc_auc needs probabilities, which every classifier here gives). */
export function defaultMetrics(task: Task): string[] {
  return task === 'regression' ? ['mse', 'rmse', 'mae', 'r2'] : ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'confusion_matrix'];
}

/** Parse a chain (a list of `{Stage: {params}}`): stages known, params valid, exactly one estimator and it last. */
/**
 * Refuses a chain with a stage that cannot learn from batches, naming it, `why` the data is read
 * a batch at a time, and the way out.
 */
export function checkStreamable(chain: MlStage[], why: string, hint: string): void {
  chain.forEach((st, i) => {
    const def = defOf(st);
    const ok = def.kind === 'transformer' ? def.fitStream?.(st.params, []) !== undefined : def.fitStream !== undefined;
    if (!ok)
      throw stageError(i, st.name, `${why}, and ${st.name}${st.name === 'SimpleImputer' ? ' with strategy median' : ''} needs every row at once`, `${hint}, or use stages that learn from batches (StandardScaler, MinMaxScaler, PolynomialFeatures, OneHotEncoder, SimpleImputer but not median; LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor)`, undefined);
  });
}

export function parseChain(list: unknown, at = 'transform.ml.chain'): MlStage[] {
  if (!Array.isArray(list) || list.length === 0) throw fieldError(at, 'expected a list of stages ending with an estimator', 'e.g. [{StandardScaler: {}}, {LinearRegression: {}}]');
  const chain = list.map((entry, i): MlStage => {
    const e = parseStageEntry(entry);
    if (typeof e === 'string') throw fieldError(`${at}[${i}]`, e);
    const def = stageByName(e.name);
    if (!def) throw new MlError(`${at}[${i}]: unknown stage "${e.name}"`, `known stages: ${STAGES.map((s) => s.name).join(', ')}`, { at: `${at}[${i}]`, stage: e.name });
    return { name: e.name, params: def.parse(e.raw, stageFail(i, e.name)) as Params };
  });
  chain.forEach((s, i) => {
    const def = defOf(s);
    if (def.kind === 'estimator' && i !== chain.length - 1)
      throw stageError(i, s.name, `the estimator must be the last stage, but ${chain.length - 1 - i} stage(s) follow it`, 'move it to the end; transformers come first');
  });
  const last = chain[chain.length - 1]!;
  if (defOf(last).kind !== 'estimator') throw stageError(chain.length - 1, last.name, 'the last stage must be an estimator (a model), not a transformer', `end the chain with one of: ${STAGES.filter((s) => s.kind === 'estimator').map((s) => s.name).join(', ')}`);
  return chain;
}

/**
 * Parse and statically check `transform.ml`; with `schema` (the input's columns and types), also
 * type-check the chain against it. Throws MlError (E_INVALID) naming field, stage and column.
 * Declared column types (`data.columns`) are checked even without `schema` when they cover every feature.
 */
export function validateMlSpec(ml: unknown, schema?: Schema): MlSpec {
  const at = 'transform.ml';
  if (!isObj(ml)) throw fieldError(at, `expected an object, got ${JSON.stringify(ml)}`);
  checkFields(ml, TOP_FIELDS, at);
  const task = (ml.task ?? 'train') as MlTask;
  if (!['train', 'evaluate', 'predict', 'drift'].includes(task as string)) throw fieldError(`${at}.task`, `expected train, evaluate, predict or drift, got ${JSON.stringify(ml.task)}`);
  if (task !== 'drift') for (const f of ['reference', 'drift', 'labels']) if (ml[f] !== undefined) throw fieldError(`${at}.${f}`, 'is for task drift only');
  const backend = str(ml, 'backend', at);
  if (backend !== undefined && !(BACKENDS as readonly string[]).includes(backend)) throw fieldError(`${at}.backend`, `unknown backend "${backend}"`, `use one of: ${BACKENDS.join(', ')}`);
  const seed = int(ml, 'seed', at, 0);

  if (!isObj(ml.data)) throw fieldError(`${at}.data`, ml.data === undefined ? 'missing: say where the data is' : 'expected an object', 'e.g. data: {format: csv, path: /pfs/houses/train.csv, label: price}');
  const d = ml.data;
  checkFields(d, DATA_FIELDS, `${at}.data`);
  const format = (d.format ?? 'csv') as DataFormat;
  if (!['csv', 'images', 'cifar10'].includes(format as string)) throw fieldError(`${at}.data.format`, `expected csv, images or cifar10, got ${JSON.stringify(d.format)}`);
  const path = str(d, 'path', `${at}.data`);
  if (!path) throw fieldError(`${at}.data.path`, 'missing', 'e.g. /pfs/houses/train.csv (the input named houses)');
  const data: MlDataSpec = { format, path: normalizePfsPath(path, `${at}.data.path`), delimiter: str(d, 'delimiter', `${at}.data`) ?? ',', image_column: str(d, 'image_column', `${at}.data`) ?? 'image' };
  if (data.delimiter.length !== 1) throw fieldError(`${at}.data.delimiter`, 'expected one character');
  const label = str(d, 'label', `${at}.data`) ?? (format === 'csv' ? undefined : 'label');
  if (label !== undefined) data.label = label;
  const key = str(d, 'key', `${at}.data`);
  if (key !== undefined) data.key = key;
  if (d.features !== undefined) {
    if (!Array.isArray(d.features) || d.features.length === 0 || !d.features.every((f) => typeof f === 'string')) throw fieldError(`${at}.data.features`, 'expected a non-empty list of column names');
    data.features = d.features as string[];
    if (label !== undefined && data.features.includes(label)) throw fieldError(`${at}.data.features`, `the label "${label}" cannot also be a feature`);
  }
  if (d.columns !== undefined) {
    if (!isObj(d.columns)) throw fieldError(`${at}.data.columns`, 'expected {column: number|string}');
    for (const [k, v] of Object.entries(d.columns)) if (v !== 'number' && v !== 'string') throw fieldError(`${at}.data.columns.${k}`, `expected number or string, got ${JSON.stringify(v)}`);
    if (format !== 'csv') throw fieldError(`${at}.data.columns`, `column types are declared for CSV data only, not ${format}`);
    data.columns = d.columns as Record<string, 'number' | 'string'>;
  }

  if (d.in_memory_mib !== undefined) {
    if (format !== 'csv') throw fieldError(`${at}.data.in_memory_mib`, `only CSV data is read a batch at a time, not ${format}`);
    data.in_memory_mib = int(d, 'in_memory_mib', `${at}.data`, 0);
  }

  const spec: MlSpec = { task, seed, data, chain: [] };
  if (backend) spec.backend = backend as BackendName;

  if (task === 'drift') {
    if (format !== 'csv') throw fieldError(`${at}.data.format`, `task drift compares CSV files, not ${format}`);
    spec.drift = parseDriftTask(ml, at, normalizePfsPath, data.delimiter);
  } else if (task === 'train') {
    if (ml.model !== undefined) throw fieldError(`${at}.model`, 'is for evaluate and predict; a train task fits the chain', 'remove it, or set task: evaluate');
    spec.chain = parseChain(ml.chain, `${at}.chain`);
    const est = estimatorOf(spec.chain);
    const kind = est.def.task(est.stage.params);
    if (kind !== 'anomaly' && data.label === undefined) throw stageError(est.index, est.stage.name, `${kind === 'regression' ? 'a regressor' : 'a classifier'} needs a label`, 'set transform.ml.data.label to the column to predict');
    if (ml.split !== undefined) spec.split = parseSplit(ml.split, seed, `${at}.split`);
    spec.metrics = parseMetrics(ml.metrics, `${at}.metrics`, kind);
    // always streamed: a stage that needs every row is refused now, not when the job runs
    if (data.in_memory_mib === 0) checkStreamable(spec.chain, 'transform.ml.data.in_memory_mib is 0, so the data is read a batch at a time', 'raise transform.ml.data.in_memory_mib to train in memory');
  } else {
    if (ml.chain !== undefined) throw fieldError(`${at}.chain`, `is for task train; ${task} uses the chain saved with the model`, 'remove it, and point transform.ml.model at the model input');
    if (ml.split !== undefined) throw fieldError(`${at}.split`, `is for task train only`);
    const model = typeof ml.model === 'string' ? ml.model : isObj(ml.model) && typeof ml.model.path === 'string' ? ml.model.path : undefined;
    if (!model) throw fieldError(`${at}.model`, ml.model === undefined ? `missing: task ${task} needs a fitted model` : 'expected a path such as /pfs/price-model', 'add the model repo as an input (cross) and set model: /pfs/<that input>');
    spec.model = normalizePfsPath(model, `${at}.model`);
    if (task === 'evaluate' && data.label === undefined) throw fieldError(`${at}.data.label`, 'missing: evaluate compares predictions with the label');
    spec.metrics = parseMetrics(ml.metrics, `${at}.metrics`, undefined);
  }
  if (ml.window_metrics !== undefined) {
    if (typeof ml.window_metrics !== 'boolean') throw fieldError(`${at}.window_metrics`, `expected true or false, got ${JSON.stringify(ml.window_metrics)}`);
    if (ml.window_metrics && (task !== 'predict' || format !== 'csv')) throw fieldError(`${at}.window_metrics`, 'is for task predict on CSV data', 'remove it');
    if (ml.window_metrics) spec.window_metrics = true;
  }
  if (task === 'train') {
    const declared = declaredSchema(data);
    const s = schema ?? declared;
    if (s) checkChainSchema(spec, s);
  }
  return spec;
}

/**
 * `/pfs/houses/x.csv` or `houses/x.csv` → `/pfs/houses/x.csv`. Normalised before the check: a
 * `..` that climbs out of /pfs would read a host file while the model card names the input.
 */
function normalizePfsPath(p: string, at: string): string {
  const hint = 'paths name an input: /pfs/<input name>/...';
  const clean = posix.normalize(p.startsWith('/') ? p : `/pfs/${p}`).replace(/\/+$/, '');
  if (!clean.startsWith('/pfs/')) throw fieldError(at, `"${p}" is outside /pfs`, hint);
  if (clean.split('/')[2] === 'out') throw fieldError(at, `"${p}" names the output directory, not an input`, hint);
  return clean;
}

function parseSplit(v: unknown, seed: number, at: string): MlSplitSpec {
  if (!isObj(v)) throw fieldError(at, 'expected {test: 0.2, seed: 42} or {test: 0.2, key: id}');
  checkFields(v, ['test', 'seed', 'key'], at);
  const test = v.test;
  if (typeof test !== 'number' || !(test >= 0 && test < 1)) throw fieldError(`${at}.test`, `expected a fraction in [0, 1), got ${JSON.stringify(test)}`);
  const split: MlSplitSpec = { test, seed: int(v, 'seed', at, seed) };
  const key = str(v, 'key', at);
  if (key !== undefined) split.key = key;
  return split;
}

function parseMetrics(v: unknown, at: string, task: Task | undefined): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((m) => typeof m === 'string')) throw fieldError(at, 'expected a list of metric names', `known: ${ALL_METRICS.join(', ')}`);
  for (const m of v as string[]) {
    if (!(ALL_METRICS as readonly string[]).includes(m)) throw fieldError(at, `unknown metric "${m}"`, `known: ${ALL_METRICS.join(', ')}`);
    if (task && !metricsFor(task).includes(m)) throw fieldError(at, `metric "${m}" does not apply to a ${task} model`, `use: ${metricsFor(task).join(', ')}`);
  }
  return v as string[];
}

/** A schema from declared column types, when they cover every column the chain reads. */
function declaredSchema(data: MlDataSpec): Schema | undefined {
  if (data.format === 'cifar10') return { columns: [{ name: data.image_column, type: 'tensor', shape: [32, 32, 3] }, { name: data.label ?? 'label', type: 'number' }] };
  if (data.format !== 'csv' || !data.columns || !data.features) return undefined;
  const need = [...data.features, ...(data.label ? [data.label] : []), ...(data.key ? [data.key] : [])];
  if (!need.every((c) => data.columns![c])) return undefined;
  return { columns: need.map((name) => ({ name, type: data.columns![name]! })) };
}

/** The feature columns the chain starts from: data.features, else every column but the label, the key and an image tree's `path`. */
export function featureSchema(data: MlDataSpec, schema: Schema): ColumnSchema[] {
  if (data.features)
    return data.features.map((name) => {
      const c = schema.columns.find((x) => x.name === name);
      if (!c) throw fieldError('transform.ml.data.features', `column "${name}" is not in the data`, `the data has: ${schema.columns.map((x) => x.name).join(', ')}`);
      return c;
    });
  return schema.columns.filter((c) => c.name !== data.label && c.name !== data.key && !(data.format === 'images' && c.name === 'path'));
}

/**
 * Type-check a train chain against the input schema: label and key present, each transformer
 * given columns it can take, the estimator given features and a label of the right types.
 */
export function checkChainSchema(spec: MlSpec, schema: Schema): void {
  const at = 'transform.ml.data';
  const { data } = spec;
  const est = estimatorOf(spec.chain);
  let label: ColumnSchema | undefined;
  if (data.label !== undefined) {
    label = schema.columns.find((c) => c.name === data.label);
    if (!label) throw stageError(est.index, est.stage.name, `label column "${data.label}" is not in the data`, `the data has: ${schema.columns.map((c) => c.name).join(', ')}`, data.label);
  }
  if (data.key !== undefined && !schema.columns.some((c) => c.name === data.key)) throw fieldError(`${at}.key`, `column "${data.key}" is not in the data`, undefined);
  if (spec.split?.key !== undefined && !schema.columns.some((c) => c.name === spec.split!.key)) throw fieldError('transform.ml.split.key', `column "${spec.split.key}" is not in the data`);
  let s: Schema = { columns: featureSchema(data, schema) };
  for (let i = 0; i < spec.chain.length - 1; i++) {
    const st = spec.chain[i]!;
    s = (defOf(st) as TransformerDef).outSchema(s, st.params, stageFail(i, st.name));
  }
  est.def.checkInput(s.columns, label, est.stage.params, stageFail(est.index, est.stage.name));
}
