// A fitted chain: the transformers' fitted states and the estimator, saved as `chain.json`
// (format tusk-ml-chain/1) plus one `stage-<i>/` directory per stage that has files (TF.js
// model.json + weights.bin for networks). Loading it back gives the same predictions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MlError } from './errors.js';
import { activateBackend, requestedBackend, resolveBackend, type BackendName } from './tf.js';
import { defOf, estimatorOf, type MlSpec, type MlStage } from './spec.js';
import type { EstimatorDef, FitContext, FittedEstimator, Prediction, Target, Task, TransformerDef } from './stages/types.js';
import { describeType, schemaOf, type ColumnSchema, type Label, type Table } from './table.js';

export const CHAIN_FORMAT = 'tusk-ml-chain/1';
export const CHAIN_FILE = 'chain.json';

export interface ChainJson {
  format: typeof CHAIN_FORMAT;
  task: Task;
  /** the columns (and types) the chain takes, in order */
  features: ColumnSchema[];
  label: { name: string; type: string; classes?: Label[] } | null;
  /** format of the data it was trained on (predict reads the same format) */
  data_format: string;
  stages: { name: string; params: unknown; state: unknown; files?: string[] }[];
}

export interface FittedChain {
  json: Omit<ChainJson, 'stages'>;
  stages: MlStage[];
  transformerStates: unknown[];
  estimator: FittedEstimator;
  /** the backend each network stage trained on */
  backends: Record<number, { backend: string; note?: string }>;
}

/** Fit transformers in order on the training rows, then the estimator. */
export async function fitChain(spec: MlSpec, features: Table, target: Target | undefined, label: ColumnSchema | undefined, ctx: Omit<FitContext, 'usedBackend'>): Promise<FittedChain> {
  const inputSchema = schemaOf(features).columns;
  const states: unknown[] = [];
  const backends: FittedChain['backends'] = {};
  let t = features;
  for (let i = 0; i < spec.chain.length - 1; i++) {
    const st = spec.chain[i]!;
    const def = defOf(st) as TransformerDef;
    const state = def.fit(t, st.params);
    states.push(state);
    t = def.apply(t, st.params, state);
    ctx.log(`stage ${i} ${st.name}: fitted; ${t.columns.length} columns`);
  }
  const est = estimatorOf(spec.chain);
  const fitted = await est.def.fit(t, target, est.stage.params, {
    ...ctx,
    usedBackend: (backend, note) => {
      backends[est.index] = note ? { backend, note } : { backend };
    },
  });
  ctx.log(`stage ${est.index} ${est.stage.name}: fitted on ${t.rows} rows`);
  return assembleChain(spec, inputSchema, label, target?.kind === 'classification' ? target.classes : undefined, states, fitted, backends);
}

/** A fitted chain from its parts: what fitChain and a fit over streamed rows both give. */
export function assembleChain(spec: MlSpec, features: ColumnSchema[], label: ColumnSchema | undefined, classes: Label[] | undefined, states: unknown[], estimator: FittedEstimator, backends: FittedChain['backends']): FittedChain {
  const est = estimatorOf(spec.chain);
  return {
    json: {
      format: CHAIN_FORMAT,
      task: est.def.task(est.stage.params),
      features,
      label: label ? { name: label.name, type: label.type, ...(classes ? { classes } : {}) } : null,
      data_format: spec.data.format,
    },
    stages: spec.chain,
    transformerStates: states,
    estimator,
    backends,
  };
}

/** The features after the transformers (a batch keeps its offset, for the estimator's messages). */
export function transformFeatures(chain: FittedChain, t: Table): Table {
  let out = t;
  for (let i = 0; i < chain.stages.length - 1; i++) {
    const st = chain.stages[i]!;
    out = (defOf(st) as TransformerDef).apply(out, st.params, chain.transformerStates[i]);
  }
  return t.offset ? { ...out, offset: t.offset } : out;
}

/** Predict from a table holding (at least) the chain's features; other columns are ignored. */
export async function predictChain(chain: FittedChain, t: Table): Promise<Prediction> {
  const columns = chain.json.features.map((f) => {
    const c = t.columns.find((x) => x.name === f.name);
    if (!c) throw new MlError(`the model expects feature "${f.name}" (${describeType(f)}), which the data lacks`, undefined, { column: f.name });
    return c;
  });
  return chain.estimator.predict(transformFeatures(chain, { rows: t.rows, columns, offset: t.offset }));
}

/**
 * Check that a table (or schema) has the columns the chain was trained on, with the same types.
 * `model` names the model as the user gave it: the spec field in a pipeline, the argument of `tusk predict`.
 */
export function checkChainInput(chain: FittedChain, columns: ColumnSchema[], what = 'the data', model = 'transform.ml.model'): void {
  const last = chain.stages.length - 1;
  for (const want of chain.json.features) {
    const got = columns.find((c) => c.name === want.name);
    const stage = `${model} (${chain.stages[last]!.name})`;
    if (!got) throw new MlError(`${stage}: the model expects feature "${want.name}" (${describeType(want)}), which ${what} lacks`, `${what} has: ${columns.map((c) => c.name).join(', ')}`, { column: want.name, stage: chain.stages[last]!.name });
    const compatible = got.type === want.type || (want.type === 'tensor' && got.type === 'tensor');
    if (!compatible) throw new MlError(`${stage}: the model expects feature "${want.name}" as ${describeType(want)}, but ${what} has ${describeType(got)}`, undefined, { column: want.name, stage: chain.stages[last]!.name });
  }
}

/** Write chain.json and stage files under `dir`. Nothing time- or host-dependent goes in: identical fits give identical bytes. */
export async function saveChain(chain: FittedChain, dir: string): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const stages: ChainJson['stages'] = [];
  for (let i = 0; i < chain.stages.length; i++) {
    const st = chain.stages[i]!;
    if (i < chain.stages.length - 1) {
      stages.push({ name: st.name, params: st.params, state: chain.transformerStates[i] });
      continue;
    }
    const saved = await chain.estimator.save();
    const files = Object.keys(saved.files ?? {}).sort();
    for (const f of files) {
      const p = path.join(dir, `stage-${i}`, f);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, saved.files![f]!);
      written.push(path.relative(dir, p));
    }
    stages.push({ name: st.name, params: st.params, state: saved.json, ...(files.length ? { files } : {}) });
  }
  const json: ChainJson = { ...chain.json, stages };
  fs.writeFileSync(path.join(dir, CHAIN_FILE), JSON.stringify(json, null, 2) + '\n');
  written.push(CHAIN_FILE);
  return written.sort();
}

/** The directory holding chain.json under a model path: the path itself, or its `model/`. */
export function findChainDir(p: string): string {
  for (const d of [p, path.join(p, 'model')]) if (fs.existsSync(path.join(d, CHAIN_FILE))) return d;
  throw new MlError(`no fitted model (${CHAIN_FILE}) at ${p} or ${path.join(p, 'model')}`, 'point at the output of a train pipeline, e.g. /pfs/<model repo> or MODEL_REPO@master:/model');
}

/** Load a fitted chain from a directory written by saveChain; networks load on `backend` (default: TUSK_TF_BACKEND, else automatic). */
export async function loadChain(dir: string, backend?: BackendName): Promise<FittedChain> {
  let json: ChainJson;
  try {
    json = JSON.parse(fs.readFileSync(path.join(dir, CHAIN_FILE), 'utf8')) as ChainJson;
  } catch (err) {
    throw new MlError(`cannot read ${CHAIN_FILE} in ${dir}: ${(err as Error).message}`);
  }
  if (json.format !== CHAIN_FORMAT) throw new MlError(`${CHAIN_FILE} has format ${JSON.stringify(json.format)}; this tusk reads ${CHAIN_FORMAT}`);
  const stages: MlStage[] = json.stages.map((s) => ({ name: s.name, params: s.params as Record<string, unknown> }));
  for (const s of stages) if (!defOf(s)) throw new MlError(`${CHAIN_FILE} names unknown stage "${s.name}"`);
  const last = json.stages.length - 1;
  const est = json.stages[last]!;
  const def = defOf(stages[last]!) as EstimatorDef;
  // networks (the stages with files) need TensorFlow.js on a chosen backend
  // commands (`tusk predict`, `tusk serve model`) have no spec field: the environment variable decides
  if (est.files?.length) await activateBackend(await resolveBackend(backend ?? requestedBackend(undefined)));
  const estimator = await def.load(est.state, (f) => fs.readFileSync(path.join(dir, `stage-${last}`, f)), est.params as Record<string, unknown>);
  const { stages: _s, ...rest } = json;
  return { json: rest, stages, transformerStates: json.stages.slice(0, last).map((s) => s.state), estimator, backends: {} };
}
