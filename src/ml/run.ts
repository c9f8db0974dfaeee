// The three ML tasks on local paths: train (pre-flight check, read, split, fit, evaluate, save),
// evaluate (a saved chain on labelled data → metrics) and predict (a saved chain on new data →
// one predictions file per input file, CSV read and written a batch at a time). The pipeline
// transform maps a datum onto these.
import { driftFileOf, runDriftTask } from '../monitor/monitor-task.js';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkChainInput, fitChain, findChainDir, loadChain, predictChain, saveChain, CHAIN_FILE, type FittedChain } from './chain.js';
import { localPath, predictUnits, readBatches, readSchema, readTable, targetOf } from './data.js';
import { MlError } from './errors.js';
import { classificationMetrics, regressionMetrics, type MetricValues } from './metrics.js';
import { checkChainSchema, defaultMetrics, estimatorOf, featureSchema, type MlSpec } from './spec.js';
import { splitTable } from './split.js';
import { evaluateStreamed, streamsData, trainStreamed } from './stream-train.js';
import { PREDICT_STREAM_ROWS, writePredictionsCsv } from './batch-predict.js';
import { fileSink } from './text-sink.js';
import { lastRow, planUnits, windowsFile, WindowStats, type UnitPlan } from './predict-append.js';
import type { PreviousRun } from '../pipeline/previous-run.js';
import type { ContentId } from '../pipeline/transform.js';
import type { Prediction, Target, Task } from './stages/types.js';
import { requestedBackend, resolveBackend, tfVersion, type BackendName } from './tf.js';
import { takeRows, type ColumnSchema, type Label, type Schema, type Table } from './table.js';

/** An input of the datum, for the model card: where the data came from, exactly. */
export interface CardInput {
  name: string;
  repo?: string;
  branch?: string;
  commit: string;
}

export interface MlRunContext {
  /** the directory `/pfs` stands for */
  pfsDir: string;
  /** where outputs go (the datum's `/pfs/out`) */
  outDir: string;
  log(message: string): void;
  signal?: AbortSignal;
  /** provenance for the model card */
  pipeline?: string;
  job?: string;
  datum?: string;
  inputs?: CardInput[];
  /** the spec as the user wrote it */
  rawSpec?: unknown;
  /** a private scratch directory */
  tmpDir?: string;
  /** the datum's last successful run, to build on (predict: rows appended since) */
  previous?: () => PreviousRun | undefined;
  /** store an output file as an earlier content followed by a local file's bytes (see DatumContext) */
  appendOutput?: (path: string, base: ContentId, tail: string) => void;
  /** the datum's window, when an input has one (`reference: window` compares within it) */
  window?: { by: 'time' | 'count'; start: number; end: number; commits: string[] };
}

export const METRICS_FILE = 'metrics.json';
export const CARD_JSON = 'model-card.json';
export const CARD_MD = 'MODEL_CARD.md';
export const MODEL_DIR = 'model';

export interface MetricsJson {
  task: Task;
  label: string | null;
  rows: { train?: number; test?: number };
  train?: MetricValues;
  test?: MetricValues;
}

export interface MlRunResult {
  outputs: string[];
  metrics?: MetricsJson;
  backend: string;
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MlError('stopped');
}

/** Select columns by name, in order. */
function selectColumns(t: Table, cols: ColumnSchema[]): Table {
  return { rows: t.rows, columns: cols.map((c) => t.columns.find((x) => x.name === c.name)!) };
}

/** Metrics of a prediction against the target. */
export function scorePrediction(p: Prediction, target: Target | undefined, names: string[] | undefined, task: Task, normal?: Label): MetricValues {
  const metricNames = names ?? defaultMetrics(task);
  if (p.kind === 'regression' && target?.kind === 'regression') return regressionMetrics(target.values, p.values, metricNames);
  if (p.kind === 'classification' && target?.kind === 'classification') {
    // labels the model never saw count as misses: extend the class list, with zero probability
    let classes = p.classes;
    let proba = p.proba;
    const extra = target.classes.filter((c) => !classes.some((k) => String(k) === String(c)));
    if (extra.length > 0) {
      const k = classes.length;
      classes = [...classes, ...extra];
      if (proba) {
        const wider = new Float64Array(p.index.length * classes.length);
        for (let i = 0; i < p.index.length; i++) for (let c = 0; c < k; c++) wider[i * classes.length + c] = proba[i * k + c]!;
        proba = wider;
      }
    }
    const pos = new Map(classes.map((c, k) => [String(c), k]));
    const yTrue = Int32Array.from(target.index, (ix) => pos.get(String(target.classes[ix]!))!);
    return classificationMetrics(yTrue, p.index, classes, proba, metricNames);
  }
  if (p.kind === 'anomaly') {
    const out: MetricValues = { threshold: p.threshold, anomaly_rate: p.flag.reduce((a, b) => a + b, 0) / Math.max(1, p.flag.length) };
    if (target?.kind === 'classification') {
      const yTrue = Int32Array.from(target.index, (ix) => (String(target.classes[ix]) === String(normal ?? 0) ? 0 : 1));
      const proba = new Float64Array(p.score.length * 2);
      p.score.forEach((s, i) => (proba[i * 2 + 1] = s));
      Object.assign(out, classificationMetrics(yTrue, Int32Array.from(p.flag), ['normal', 'anomaly'], proba, metricNames));
    }
    return out;
  }
  throw new MlError(`cannot score a ${p.kind} prediction against a ${target?.kind ?? 'missing'} label`);
}

async function backendInfo(spec: MlSpec, chain: FittedChain | undefined, resolved: BackendName): Promise<Record<string, unknown>> {
  const used = chain ? Object.values(chain.backends) : [];
  return {
    requested: spec.backend ?? process.env.TUSK_TF_BACKEND ?? 'auto',
    resolved,
    used: used.length > 0 ? used.map((u) => u.backend)[0] : 'js-float64',
    notes: used.flatMap((u) => (u.note ? [u.note] : [])),
    tfjs: used.length > 0 ? await tfVersion() : null,
  };
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function writeCard(ctx: MlRunContext, card: Record<string, unknown>): string[] {
  const full = {
    pipeline: ctx.pipeline ?? null,
    job: ctx.job ?? null,
    datum: ctx.datum ?? null,
    created: new Date().toISOString(),
    inputs: ctx.inputs ?? [],
    ...card,
    spec: ctx.rawSpec ?? null,
  };
  writeJson(path.join(ctx.outDir, CARD_JSON), full);
  const lines = [
    `# Model card: ${ctx.pipeline ?? 'model'}`,
    '',
    `- Task: ${String(card.task)} (${String(card.kind)})`,
    `- Job: ${ctx.job ?? '-'}`,
    `- Created: ${full.created}`,
    `- Backend: ${JSON.stringify(card.backend)}`,
    '',
    '## Inputs',
    '',
    ...(ctx.inputs ?? []).map((i) => `- ${i.name}: ${i.repo ?? i.name}${i.branch ? `@${i.branch}` : ''}=${i.commit}`),
    '',
    '## Chain',
    '',
    ...((card.chain as { name: string; params: unknown }[] | undefined) ?? []).map((s, i) => `${i}. ${s.name} ${JSON.stringify(s.params)}`),
    '',
    '## Metrics',
    '',
    '```json',
    JSON.stringify(card.metrics ?? null, null, 2),
    '```',
    '',
  ];
  fs.writeFileSync(path.join(ctx.outDir, CARD_MD), lines.join('\n'));
  return [CARD_JSON, CARD_MD];
}

/** Train: pre-flight type check on the schema, then read, split, fit, score and save. */
export async function runTrain(spec: MlSpec, ctx: MlRunContext): Promise<MlRunResult> {
  const dataPath = localPath(spec.data.path, ctx.pfsDir);
  const schema = await readSchema(spec.data, dataPath);
  // pre-flight: the whole chain against the header and types, before any row is read
  checkChainSchema(spec, schema);
  ctx.log(`pre-flight check passed: ${schema.columns.map((c) => `${c.name}:${c.type}`).join(', ')}`);
  const resolved = await resolveBackend(requestedBackend(spec.backend));
  const est = estimatorOf(spec.chain);
  const task = est.def.task(est.stage.params);

  const label = spec.data.label !== undefined ? schema.columns.find((c) => c.name === spec.data.label) : undefined;
  const features = featureSchema(spec.data, schema);
  const fitCtx = { seed: spec.seed, backend: resolved, log: ctx.log, signal: ctx.signal };
  const size = streamsData(spec, dataPath);
  const { chain, metrics, rows } = size.stream ? await trainStreaming(spec, dataPath, schema, features, label, size, fitCtx, task) : await trainInMemory(spec, dataPath, schema, features, label, fitCtx, task, ctx);
  const modelDir = path.join(ctx.outDir, MODEL_DIR);
  const written = (await saveChain(chain, modelDir)).map((f) => `${MODEL_DIR}/${f}`);
  writeJson(path.join(ctx.outDir, METRICS_FILE), metrics);
  const backend = await backendInfo(spec, chain, resolved);
  const card = writeCard(ctx, {
    task: 'train',
    kind: task,
    seed: spec.seed,
    data: { format: spec.data.format, path: spec.data.path, schema: schema.columns, label: label?.name ?? null, features: features.map((f) => f.name), rows, split: spec.split ?? null, streamed: size.stream },
    chain: spec.chain.map((s) => ({ name: s.name, params: s.params })),
    backend,
    model: { path: `/${MODEL_DIR}/${CHAIN_FILE}`, sha256: sha256(path.join(modelDir, CHAIN_FILE)) },
    metrics: metrics.test ?? metrics.train,
  });
  chain.estimator.dispose?.();
  return { outputs: [...written, METRICS_FILE, ...card].sort(), metrics, backend: String(backend.used) };
}

type FitOptions = Parameters<typeof fitChain>[4];
type Trained = { chain: FittedChain; metrics: MetricsJson; rows: number };

/** The whole table read, split by a seeded shuffle, fitted and scored. */
async function trainInMemory(spec: MlSpec, dataPath: string, schema: Schema, features: ColumnSchema[], label: ColumnSchema | undefined, fitCtx: FitOptions, task: Task, ctx: MlRunContext): Promise<Trained> {
  let table = await readTable(spec.data, dataPath, schema);
  ctx.log(`read ${table.rows} rows from ${spec.data.path}`);
  checkAbort(ctx.signal);
  let target: Target | undefined;
  if (label) {
    const t = targetOf(table, label.name, task === 'regression' ? 'regression' : 'classification');
    if (t.dropped > 0) {
      ctx.log(`dropped ${t.dropped} rows without a label`);
      table = takeRows(table, t.rows);
    }
    target = t.target;
  }
  if (table.rows === 0) throw new MlError(`no rows to train on in ${spec.data.path}`);
  const split = spec.split && spec.split.test > 0 ? splitTable(table, spec.split) : { train: Int32Array.from({ length: table.rows }, (_, i) => i), test: new Int32Array(0) };
  if (split.train.length === 0) throw new MlError(`the split leaves no training rows (${table.rows} rows, test ${spec.split?.test})`);
  ctx.log(`split: ${split.train.length} train, ${split.test.length} test rows`);
  const pick = (rows: Int32Array) => ({ x: selectColumns(takeRows(table, rows), features), y: target && subsetTarget(target, rows) });
  const train = pick(split.train);
  const chain = await fitChain(spec, train.x, train.y, label, fitCtx);
  checkAbort(ctx.signal);
  const est = estimatorOf(spec.chain);
  const normal = est.stage.name === 'Autoencoder' ? (est.stage.params.normal as Label) : undefined;
  const metrics: MetricsJson = { task, label: label?.name ?? null, rows: { train: split.train.length } };
  metrics.train = scorePrediction(await predictChain(chain, train.x), train.y, spec.metrics, task, normal);
  if (split.test.length > 0) {
    const test = pick(split.test);
    metrics.rows.test = split.test.length;
    metrics.test = scorePrediction(await predictChain(chain, test.x), test.y, spec.metrics, task, normal);
  }
  return { chain, metrics, rows: table.rows };
}

/** The data read a batch at a time, as many passes as the chain needs (see stream-train.ts). */
async function trainStreaming(spec: MlSpec, dataPath: string, schema: Schema, features: ColumnSchema[], label: ColumnSchema | undefined, size: { mib: number; limit: number }, fitCtx: FitOptions, task: Task): Promise<Trained> {
  const r = await trainStreamed(spec, dataPath, schema, features, label, size, fitCtx);
  const metrics: MetricsJson = { task, label: label?.name ?? null, rows: { train: r.rows.train }, train: r.train };
  if (r.test) {
    metrics.rows.test = r.rows.test;
    metrics.test = r.test;
  }
  return { chain: r.chain, metrics, rows: r.rows.all };
}

function subsetTarget(t: Target, rows: Int32Array): Target {
  if (t.kind === 'regression') return { kind: 'regression', values: Float64Array.from(rows, (r) => t.values[r]!) };
  return { kind: 'classification', classes: t.classes, index: Int32Array.from(rows, (r) => t.index[r]!) };
}

/** Load the chain a spec's `model` names. */
export async function loadSpecModel(spec: MlSpec, ctx: MlRunContext): Promise<{ chain: FittedChain; dir: string }> {
  const dir = findChainDir(localPath(spec.model!, ctx.pfsDir));
  const chain = await loadChain(dir, requestedBackend(spec.backend));
  ctx.log(`loaded ${chain.stages.map((s) => s.name).join(' → ')} from ${spec.model}`);
  return { chain, dir };
}

/** Schema for reading new data for a model: CSV columns typed as the model's features. */
function typedData(spec: MlSpec, chain: FittedChain): MlSpec['data'] {
  if (spec.data.format !== 'csv') return spec.data;
  const columns: Record<string, 'number' | 'string'> = { ...(spec.data.columns ?? {}) };
  for (const f of chain.json.features) if ((f.type === 'number' || f.type === 'string') && columns[f.name] === undefined) columns[f.name] = f.type;
  return { ...spec.data, columns };
}

async function schemaFor(spec: MlSpec, chain: FittedChain, p: string, top?: string): Promise<Schema> {
  const data = typedData(spec, chain);
  // declared types may name model features the file lacks: let the model check report that
  const file = data.format === 'csv' ? { ...data, columns: undefined } : data;
  return readSchema(file, p, top, data.columns);
}

/** Evaluate: a saved chain on labelled data → metrics.json. */
export async function runEvaluate(spec: MlSpec, ctx: MlRunContext): Promise<MlRunResult> {
  const { chain, dir } = await loadSpecModel(spec, ctx);
  try {
    const dataPath = localPath(spec.data.path, ctx.pfsDir);
    const schema = await schemaFor(spec, chain, dataPath);
    checkChainInput(chain, schema.columns);
    const label = spec.data.label!;
    if (!schema.columns.some((c) => c.name === label)) throw new MlError(`transform.ml.data.label: column "${label}" is not in the data`);
    const task = chain.json.task;
    const size = streamsData(spec, dataPath);
    const scored = size.stream ? await evaluateStreamed(chain, spec, dataPath, schema, size) : await evaluateInMemory(chain, spec, dataPath, schema);
    if (size.stream) ctx.log(`evaluated ${scored.rows} rows a batch at a time (${size.mib.toFixed(1)} MiB, above data.in_memory_mib ${size.limit})`);
    const metrics: MetricsJson = { task, label, rows: { test: scored.rows }, test: scored.metrics };
    writeJson(path.join(ctx.outDir, METRICS_FILE), metrics);
    const card = writeCard(ctx, {
      task: 'evaluate',
      kind: task,
      data: { format: spec.data.format, path: spec.data.path, rows: scored.rows, label, streamed: size.stream },
      chain: chain.stages.map((s) => ({ name: s.name, params: s.params })),
      model: { path: spec.model, sha256: sha256(path.join(dir, CHAIN_FILE)) },
      backend: await backendInfo(spec, undefined, await resolveBackend(requestedBackend(spec.backend))),
      metrics: metrics.test,
    });
    return { outputs: [METRICS_FILE, ...card].sort(), metrics, backend: 'n/a' };
  } finally {
    chain.estimator.dispose?.();
  }
}

/** The labelled rows read whole, predicted and scored. */
async function evaluateInMemory(chain: FittedChain, spec: MlSpec, dataPath: string, schema: Schema): Promise<{ rows: number; metrics: MetricValues }> {
  let table = await readTable(spec.data, dataPath, schema);
  const task = chain.json.task;
  const t = targetOf(table, spec.data.label!, task === 'regression' ? 'regression' : 'classification');
  if (t.dropped > 0) table = takeRows(table, t.rows);
  const last = chain.stages[chain.stages.length - 1]!;
  const normal = last.name === 'Autoencoder' ? (last.params.normal as Label) : undefined;
  const pred = await predictChain(chain, table);
  return { rows: table.rows, metrics: scorePrediction(pred, t.target, spec.metrics, task, normal) };
}

/** Predict: one output file per input file (CSV), per top-level entry (image trees) or per batch (CIFAR-10). */
export async function runPredict(spec: MlSpec, ctx: MlRunContext): Promise<MlRunResult> {
  const { chain } = await loadSpecModel(spec, ctx);
  try {
    const dataPath = localPath(spec.data.path, ctx.pfsDir);
    const units = predictUnits(spec.data, dataPath);
    const schemas: Schema[] = [];
    // pre-flight every file before predicting any
    for (const u of units) {
      const s = await schemaFor(spec, chain, u.path, u.top);
      checkChainInput(chain, s.columns, u.top ?? path.basename(u.path));
      schemas.push(s);
    }
    const windowMetrics = spec.window_metrics === true;
    const appendOutput = ctx.appendOutput;
    const plans =
      spec.data.format === 'csv' && ctx.tmpDir && appendOutput
        ? await planUnits(units, ctx.pfsDir, ctx.previous?.(), { windowMetrics })
        : units.map((): UnitPlan => ({ kind: 'full', why: 'not CSV data' }));
    const outputs: string[] = [];
    for (const [i, u] of units.entries()) {
      checkAbort(ctx.signal);
      const file = path.join(ctx.outDir, u.out);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const plan = plans[i]!;
      const outPath = `/${u.out.split(path.sep).join('/')}`;
      outputs.push(u.out, ...(windowMetrics ? [windowsFile(u.out)] : []));
      const earlierWindows = plan.kind === 'full' ? '' : (plan.previous.windows?.toString('utf8') ?? '');
      if (plan.kind === 'same') {
        // the earlier predictions, followed by nothing
        const empty = path.join(ctx.tmpDir!, `same-${i}`);
        fs.writeFileSync(empty, '');
        appendOutput!(outPath, plan.previous.id, empty);
        if (windowMetrics) fs.writeFileSync(windowsFile(file), earlierWindows);
        ctx.log(`${u.out}: input unchanged, predictions kept`);
        continue;
      }
      const from = plan.kind === 'append' ? plan.from : 0;
      // appended rows: only the new predictions are written, to a file the store adds to the earlier ones
      const target = plan.kind === 'append' ? path.join(ctx.tmpDir!, `new-predictions-${i}`) : file;
      const sink = fileSink(target);
      const stats = new WindowStats();
      try {
        // streamed a batch at a time (CSV), stopping between batches when the job is stopped
        const batches = untilAborted(readBatches(spec.data, u.path, schemas[i]!, PREDICT_STREAM_ROWS, u.top, from), ctx.signal);
        const rows = await writePredictionsCsv(chain, batches, spec.data.format, sink, { header: plan.kind !== 'append', onBatch: (t, p) => stats.add(p, t.rows) });
        sink.commit();
        if (plan.kind === 'append') {
          appendOutput!(outPath, plan.previous.id, target);
          ctx.log(`predicted ${rows} new rows (after byte ${from}) → ${u.out}`);
        } else ctx.log(`predicted ${rows} rows → ${u.out}${ctx.previous ? ` (${plan.why})` : ''}`);
      } finally {
        sink.abort();
      }
      if (windowMetrics) fs.writeFileSync(windowsFile(file), earlierWindows + stats.line({ job: ctx.job, fromRow: lastRow(earlierWindows) }));
    }
    return { outputs, backend: 'n/a' };
  } finally {
    chain.estimator.dispose?.();
  }
}

/** The items of `source`, checking before each that the job was not stopped. */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  for await (const item of source) {
    checkAbort(signal);
    yield item;
  }
}

export async function runMl(spec: MlSpec, ctx: MlRunContext): Promise<MlRunResult> {
  if (spec.task === 'drift') {
    const report = runDriftTask(spec.data.path, spec.drift!, ctx);
    return { outputs: [driftFileOf(report)], backend: 'none' };
  }
  if (spec.task === 'train') return runTrain(spec, ctx);
  if (spec.task === 'evaluate') return runEvaluate(spec, ctx);
  return runPredict(spec, ctx);
}
