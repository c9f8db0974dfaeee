// What a chain stage is: a Transformer (fit on training rows, then maps a table to a table) or an
// Estimator (fit on features and a target, then predicts), each with a static parameter parser
// and a schema check that runs before any data is read.
import type { BackendName } from '../tf.js';
import type { ColumnSchema, Label, Schema, Table } from '../table.js';

export type Task = 'regression' | 'classification' | 'anomaly';

/** The label as a model learns it. */
export type Target =
  | { kind: 'regression'; values: Float64Array }
  | { kind: 'classification'; classes: Label[]; index: Int32Array };

export type Prediction =
  | { kind: 'regression'; values: Float64Array }
  | { kind: 'classification'; classes: Label[]; index: Int32Array; proba: Float64Array | null }
  | { kind: 'anomaly'; score: Float64Array; flag: Uint8Array; threshold: number };

/** Reports a problem with one stage (the chain turns it into `transform.ml.chain[i] (Name): …`). */
export type StageFail = (message: string, hint?: string, column?: string) => never;

/** Static parameters, parsed from the spec before anything runs. */
export type Params = Record<string, unknown>;

export interface FitContext {
  seed: number;
  /** the backend network stages should use */
  backend: BackendName;
  log(message: string): void;
  /** aborts training between epochs (job stopped, datum timeout) */
  signal?: AbortSignal;
  /** records the backend a network stage actually trained on */
  usedBackend(backend: BackendName, note?: string): void;
}

/** Fitted state: JSON, plus files (network weights) stored under the stage's directory. */
export interface SavedState {
  json: unknown;
  files?: Record<string, Uint8Array>;
}

/** A transformer's fit over rows that go by: `passes` passes over the training rows a batch at a time, then the state. */
export interface StreamFit<F> {
  /** 0 when the schema alone decides the state */
  passes: number;
  add(batch: Table, pass: number): void;
  done(): F;
}

/** The training rows of a streamed fit: every call of `batches` reads them again, in the same order and batches. */
export interface TrainRows {
  batches(): AsyncIterable<{ x: Table; y: Target | undefined }>;
  rows: number;
  /** classification: every class of the data, sorted */
  classes?: Label[];
}

export interface TransformerDef<P extends Params = Params, F = unknown> {
  kind: 'transformer';
  name: string;
  summary: string;
  parse(raw: Record<string, unknown>, fail: StageFail): P;
  /** The schema after this stage; fails naming the column it cannot take. */
  outSchema(schema: Schema, params: P, fail: StageFail): Schema;
  fit(table: Table, params: P): F;
  /** Fitting from rows that go by a batch at a time (data too big to hold); absent, or undefined for some parameters, when fitting needs every row at once. */
  fitStream?(params: P, columns: ColumnSchema[]): StreamFit<F> | undefined;
  apply(table: Table, params: P, fitted: F): Table;
}

export interface FittedEstimator {
  predict(table: Table): Promise<Prediction>;
  save(): Promise<SavedState>;
  /** frees TensorFlow.js memory held by the model */
  dispose?(): void;
}

export interface EstimatorDef<P extends Params = Params> {
  kind: 'estimator';
  name: string;
  summary: string;
  parse(raw: Record<string, unknown>, fail: StageFail): P;
  task(params: P): Task;
  /** Checks the features (after transformers) and the label this estimator is given. */
  checkInput(features: ColumnSchema[], label: ColumnSchema | undefined, params: P, fail: StageFail): void;
  /** TensorFlow.js kernels training needs (the backend falls back to cpu without them). */
  kernels?: readonly string[];
  fit(features: Table, target: Target | undefined, params: P, ctx: FitContext): Promise<FittedEstimator>;
  /** Fitting from rows read a batch at a time, as many passes as it needs; absent when it trains only on a whole table. */
  fitStream?(rows: TrainRows, params: P, ctx: FitContext): Promise<FittedEstimator>;
  load(state: unknown, read: (file: string) => Uint8Array, params: P): Promise<FittedEstimator>;
}

export type StageDef = TransformerDef<any, any> | EstimatorDef<any>;
