// Training and evaluating on CSV data too big to hold: every pass reads the files again a batch
// at a time. What stays in memory is a batch, the fitted states, and sums whose size depends on the
// columns and classes, never on the rows. A row's side of the split is decided from the row
// alone (a hash of its number, or of its key, and the seed), so no pass needs all the rows.
import * as fs from 'node:fs';
import { assembleChain, predictChain, type FittedChain } from './chain.js';
import { targetOf } from './data.js';
import { MlError } from './errors.js';
import { ClassTally, RegressionTally } from './metrics-tally.js';
import type { MetricValues } from './metrics.js';
import { csvBatches, csvFiles } from './readers/csv.js';
import { hashUnit, rowUnit } from './rng.js';
import { checkStreamable, defOf, defaultMetrics, estimatorOf, type MlSpec } from './spec.js';
import type { EstimatorDef, FitContext, Prediction, StreamFit, Target, Task, TrainRows, TransformerDef } from './stages/types.js';
import { cellValue, schemaOf, sortLabels, takeRows, type ColumnSchema, type Label, type Schema, type Table } from './table.js';

/** Rows per batch read: a multiple of the networks' 256-row prediction batches. */
export const STREAM_ROWS = 4096;
/** Without data.in_memory_mib, CSV data above this many MiB is streamed. */
export const IN_MEMORY_MIB = 256;
/** Classes a streamed classifier may meet: each costs a confusion-matrix row and two histograms. */
const MAX_CLASSES = 10_000;

/** Whether CSV data is bigger than the spec lets training and evaluation hold in memory. */
export function streamsData(spec: MlSpec, dataPath: string): { stream: boolean; mib: number; limit: number } {
  const limit = spec.data.in_memory_mib ?? IN_MEMORY_MIB;
  if (spec.data.format !== 'csv') return { stream: false, mib: 0, limit };
  const bytes = csvFiles(dataPath).reduce((n, f) => n + fs.statSync(f).size, 0);
  return { stream: bytes > limit * 2 ** 20, mib: bytes / 2 ** 20, limit };
}

/** A batch of labelled rows: the features, the target, and which rows are test rows. */
interface Labelled {
  /** every column of the labelled rows */
  all: Table;
  x: Table;
  y: Target | undefined;
  test: Uint8Array;
}

interface Survey {
  /** labelled rows */
  rows: number;
  train: number;
  test: number;
  classes?: Label[];
}

/**
 * What a streamed run reads: the spec's data as batches of labelled rows, each row placed in
 * train or test by `rowUnit(row number, seed)` (or the key's hash) below `split.test`.
 */
class StreamedData {
  private readonly files: string[];

  constructor(
    private readonly spec: MlSpec,
    dataPath: string,
    private readonly schema: Schema,
    private readonly features: ColumnSchema[],
    private readonly kind: 'regression' | 'classification' | undefined,
  ) {
    this.files = csvFiles(dataPath);
  }

  /** One pass over the data; `classes` fixes the class indices of the target. */
  async *batches(classes?: Label[]): AsyncGenerator<Labelled> {
    const { spec } = this;
    const label = spec.data.label;
    const split = spec.split && spec.split.test > 0 ? spec.split : undefined;
    let row = 0;
    for await (const b of csvBatches(this.files, this.schema, { delimiter: spec.data.delimiter, batchRows: STREAM_ROWS })) {
      const first = row;
      row += b.rows;
      let t = b;
      let y: Target | undefined;
      let kept: Int32Array | undefined;
      if (label !== undefined && this.kind) {
        const r = targetOf(b, label, this.kind, classes ?? []);
        if (r.dropped > 0) [t, kept] = [takeRows(b, r.rows), r.rows];
        y = r.target;
      }
      const test = new Uint8Array(t.rows);
      if (split) {
        const key = split.key === undefined ? undefined : t.columns.find((c) => c.name === split.key);
        if (split.key !== undefined && !key) throw new MlError(`transform.ml.split.key: column "${split.key}" is not in the data`);
        for (let i = 0; i < t.rows; i++) {
          const n = first + (kept ? kept[i]! : i);
          if (key) {
            const v = cellValue(key, i);
            if (v === null) throw new MlError(`transform.ml.split.key: row ${n + 1} has no value in key column "${split.key}"`, 'every row needs a key to be split by hash');
            test[i] = hashUnit(String(v), split.seed) < split.test ? 1 : 0;
          } else test[i] = rowUnit(n, split.seed) < split.test ? 1 : 0;
        }
      }
      yield { all: t, x: { rows: t.rows, columns: this.features.map((f) => t.columns.find((c) => c.name === f.name)!) }, y, test };
    }
  }

  /** A first pass: row counts, both sides of the split, and the classes. */
  async survey(): Promise<Survey> {
    const s: Survey = { rows: 0, train: 0, test: 0 };
    const label = this.spec.data.label;
    const seen = new Map<string, Label>();
    for await (const b of this.batches([])) {
      s.rows += b.x.rows;
      for (const t of b.test) t ? s.test++ : s.train++;
      if (this.kind !== 'classification') continue;
      const col = b.all.columns.find((c) => c.name === label)!;
      for (let i = 0; i < b.all.rows; i++) {
        const v = cellValue(col, i)!;
        if (seen.has(String(v))) continue;
        seen.set(String(v), v);
        if (seen.size > MAX_CLASSES) throw new MlError(`label column "${label}" has more than ${MAX_CLASSES} distinct values`, 'a classifier over streamed data keeps per-class counts; predict numbers with a regressor, or raise transform.ml.data.in_memory_mib');
      }
    }
    if (this.kind === 'classification') s.classes = sortLabels(seen.values());
    return s;
  }
}

/** The training rows of a batch (test flag 0), as features and target. */
function trainPart(b: Labelled): { x: Table; y: Target | undefined } {
  const idx: number[] = [];
  for (let i = 0; i < b.test.length; i++) if (b.test[i] === 0) idx.push(i);
  if (idx.length === b.x.rows) return { x: b.x, y: b.y };
  const rows = Int32Array.from(idx);
  const y = b.y;
  if (!y) return { x: takeRows(b.x, rows), y };
  return {
    x: takeRows(b.x, rows),
    y: y.kind === 'regression' ? { kind: 'regression', values: Float64Array.from(rows, (r) => y.values[r]!) } : { kind: 'classification', classes: y.classes, index: Int32Array.from(rows, (r) => y.index[r]!) },
  };
}

export interface StreamedTrain {
  chain: FittedChain;
  rows: { all: number; train: number; test: number };
  train: MetricValues;
  test?: MetricValues;
}

/** Fit the spec's chain over the data a batch at a time, then score both sides of the split in one more pass. */
export async function trainStreamed(spec: MlSpec, dataPath: string, schema: Schema, features: ColumnSchema[], label: ColumnSchema | undefined, size: { mib: number; limit: number }, ctx: Omit<FitContext, 'usedBackend'>): Promise<StreamedTrain> {
  checkStreamable(spec.chain, `the data (${size.mib.toFixed(1)} MiB) is larger than transform.ml.data.in_memory_mib (${size.limit}), so it is read a batch at a time`, `raise transform.ml.data.in_memory_mib above ${Math.ceil(size.mib)} to train in memory`);
  const est = estimatorOf(spec.chain);
  const task = est.def.task(est.stage.params);
  const kind = label ? (task === 'regression' ? 'regression' : 'classification') : undefined;
  const data = new StreamedData(spec, dataPath, schema, features, kind);
  const survey = await data.survey();
  if (survey.rows === 0) throw new MlError(`no rows to train on in ${spec.data.path}`);
  if (survey.train === 0) throw new MlError(`the split leaves no training rows (${survey.rows} rows, test ${spec.split?.test})`);
  ctx.log(`streaming ${size.mib.toFixed(1)} MiB (above data.in_memory_mib ${size.limit}) in batches of ${STREAM_ROWS} rows: ${survey.train} train, ${survey.test} test rows`);

  const states: unknown[] = [];
  const transform = (t: Table): Table => {
    let out = t;
    states.forEach((state, i) => {
      const st = spec.chain[i]!;
      out = (defOf(st) as TransformerDef).apply(out, st.params, state);
    });
    return out;
  };
  const trainBatches = async function* (): AsyncGenerator<{ x: Table; y: Target | undefined }> {
    for await (const b of data.batches(survey.classes)) {
      if (ctx.signal?.aborted) throw new MlError('stopped');
      const tr = trainPart(b);
      if (tr.x.rows > 0) yield { x: transform(tr.x), y: tr.y };
    }
  };
  for (let i = 0; i < spec.chain.length - 1; i++) {
    const st = spec.chain[i]!;
    const schemaHere = async (): Promise<ColumnSchema[]> => {
      for await (const b of trainBatches()) return schemaOf(b.x).columns;
      return [];
    };
    const fit: StreamFit<unknown> = (defOf(st) as TransformerDef).fitStream!(st.params, await schemaHere())!;
    for (let pass = 0; pass < fit.passes; pass++) for await (const b of trainBatches()) fit.add(b.x, pass);
    states.push(fit.done());
    ctx.log(`stage ${i} ${st.name}: fitted in ${fit.passes} passes`);
  }
  const backends: FittedChain['backends'] = {};
  const rows: TrainRows = { rows: survey.train, batches: trainBatches, ...(survey.classes ? { classes: survey.classes } : {}) };
  const fitted = await (est.def as EstimatorDef).fitStream!(rows, est.stage.params, {
    ...ctx,
    usedBackend: (backend, note) => {
      backends[est.index] = note ? { backend, note } : { backend };
    },
  });
  ctx.log(`stage ${est.index} ${est.stage.name}: fitted on ${survey.train} rows`);
  const chain = assembleChain(spec, features, label, survey.classes, states, fitted, backends);

  const names = spec.metrics ?? defaultMetrics(task);
  const tallies = [0, 1].map(() => tallyFor(task, survey.classes));
  for await (const b of data.batches(survey.classes)) {
    if (ctx.signal?.aborted) throw new MlError('stopped');
    const p = await predictChain(chain, b.x);
    for (let i = 0; i < b.x.rows; i++) tallies[b.test[i]!]!(p, b.y!, i);
  }
  const out: StreamedTrain = { chain, rows: { all: survey.rows, train: survey.train, test: survey.test }, train: tallies[0]!.values(names) };
  if (survey.test > 0) out.test = tallies[1]!.values(names);
  return out;
}

type Tally = ((p: Prediction, y: Target, i: number) => void) & { values(names: readonly string[]): MetricValues };

/** A function adding row i of a prediction and its target to running metrics. */
function tallyFor(task: Task, classes: Label[] | undefined): Tally {
  if (task === 'regression') {
    const t = new RegressionTally();
    return Object.assign((p: Prediction, y: Target, i: number) => t.add((y as Extract<Target, { kind: 'regression' }>).values[i]!, (p as Extract<Prediction, { kind: 'regression' }>).values[i]!), { values: (n: readonly string[]) => t.values(n) });
  }
  const t = new ClassTally(classes!);
  const k = classes!.length;
  return Object.assign(
    (p: Prediction, y: Target, i: number) => {
      const c = p as Extract<Prediction, { kind: 'classification' }>;
      t.add((y as Extract<Target, { kind: 'classification' }>).index[i]!, c.index[i]!, c.proba, i * k);
    },
    { values: (n: readonly string[]) => t.values(n) },
  );
}

/**
 * Score a fitted chain on labelled data a batch at a time: one pass for the labels (a class the
 * model never saw counts as a miss, as in the whole-table evaluation), one to predict and tally.
 */
export async function evaluateStreamed(chain: FittedChain, spec: MlSpec, dataPath: string, schema: Schema, size: { mib: number; limit: number }): Promise<{ rows: number; metrics: MetricValues }> {
  const task = chain.json.task;
  if (task === 'anomaly') throw new MlError(`transform.ml.model: the data (${size.mib.toFixed(1)} MiB) is larger than transform.ml.data.in_memory_mib (${size.limit}), and anomaly detectors are evaluated on a whole table only`, `raise transform.ml.data.in_memory_mib above ${Math.ceil(size.mib)}`);
  const kind = task === 'regression' ? 'regression' : 'classification';
  const data = new StreamedData({ ...spec, split: undefined }, dataPath, schema, chain.json.features, kind);
  const survey = await data.survey();
  const names = spec.metrics ?? defaultMetrics(task);
  if (kind === 'regression') {
    const t = new RegressionTally();
    for await (const b of data.batches()) {
      const p = (await predictChain(chain, b.x)) as Extract<Prediction, { kind: 'regression' }>;
      const y = (b.y as Extract<Target, { kind: 'regression' }>).values;
      for (let i = 0; i < b.x.rows; i++) t.add(y[i]!, p.values[i]!);
    }
    return { rows: survey.rows, metrics: t.values(names) };
  }
  const known = chain.json.label?.classes ?? [];
  const classes = [...known, ...survey.classes!.filter((c) => !known.some((k) => String(k) === String(c)))];
  const pos = new Map(classes.map((c, k) => [String(c), k]));
  const index = survey.classes!.map((c) => pos.get(String(c))!);
  const t = new ClassTally(classes);
  const row = new Float64Array(classes.length);
  for await (const b of data.batches(survey.classes)) {
    const p = (await predictChain(chain, b.x)) as Extract<Prediction, { kind: 'classification' }>;
    const y = (b.y as Extract<Target, { kind: 'classification' }>).index;
    for (let i = 0; i < b.x.rows; i++) {
      if (p.proba) for (let c = 0; c < known.length; c++) row[c] = p.proba[i * known.length + c]!;
      t.add(index[y[i]!]!, p.index[i]!, p.proba ? row : null, 0);
    }
  }
  return { rows: survey.rows, metrics: t.values(names) };
}
