// Neural networks on TensorFlow.js: MLP classifier/regressor, a small CNN image classifier and
// an autoencoder anomaly detector. Training is a seeded loop (seeded initialisers, a seeded
// permutation per epoch, no dropout), so the same data, seed and backend give the same weights
// to the bit. Fitted networks are saved in the TF.js layers format (model.json + weights.bin).
import type * as tfType from '@tensorflow/tfjs';
import { MlError } from '../errors.js';
import { mulberry32, permutation, subSeed } from '../rng.js';
import { activateBackend, loadTf, type Tf } from '../tf.js';
import { describeType, tensorSize, type Label, type Table, type TensorColumn } from '../table.js';
import { argmaxRows, checkClassLabel, checkNumericFeatures, checkRegressionLabel, checkSameFeatures, featureMatrix } from './common.js';
import { ParamReader } from './params.js';
import type { EstimatorDef, FitContext, FittedEstimator, Prediction, SavedState, StageFail, Target } from './types.js';

type Activation = 'relu' | 'tanh' | 'sigmoid' | 'elu';
const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'elu'] as const;

type TrainParams = {
  epochs: number;
  batch_size: number;
  learning_rate: number;
  optimizer: 'adam' | 'sgd';
  seed: number | null;
};

function parseTrain(r: ParamReader, defaults: { epochs: number; lr: number }): TrainParams {
  return {
    epochs: r.number('epochs', defaults.epochs, { min: 1, max: 100_000, int: true }),
    batch_size: r.number('batch_size', 32, { min: 1, int: true }),
    learning_rate: r.number('learning_rate', defaults.lr, { min: 0, exclusiveMin: true }),
    optimizer: r.choice('optimizer', ['adam', 'sgd'] as const, 'adam'),
    seed: r.optionalNumber('seed', { min: 0, int: true }) ?? null,
  };
}

/** Initialisers seeded per layer: layer i gets subSeed(seed, i). */
function init(tf: Tf, seed: number, i: number) {
  return tf.initializers.glorotUniform({ seed: subSeed(seed, i) });
}

/** Mini-batch training with a seeded per-epoch permutation; batches are assembled in JS (no gather kernel needed). */
async function train(
  tf: Tf,
  model: tfType.LayersModel,
  x: Float32Array,
  xShape: number[],
  y: Float32Array,
  yWidth: number,
  loss: Loss,
  p: TrainParams,
  seed: number,
  ctx: Pick<FitContext, 'log' | 'signal'>,
): Promise<number> {
  const n = xShape[0]!;
  const rand = mulberry32(subSeed(seed, 1000));
  return runEpochs(tf, model, loss, p, ctx, (step) => step(x, xShape.slice(1), y, yWidth, permutation(n, rand)));
}

type Loss = (yTrue: tfType.Tensor, yPred: tfType.Tensor) => tfType.Scalar;
/** One optimiser step per `batch_size` rows of x taken in the order `perm`; gives the summed loss and the rows. */
type Step = (x: Float32Array, rowShape: number[], y: Float32Array, yWidth: number, perm: Int32Array) => Promise<{ sum: number; rows: number }>;

/**
 * `p.epochs` epochs; `epoch` feeds one epoch's rows to `step` (all at once, or a batch of the
 * stream at a time), which takes one optimiser step per `batch_size` of them. Gives the last
 * epoch's mean loss.
 */
async function runEpochs(tf: Tf, model: tfType.LayersModel, loss: Loss, p: TrainParams, ctx: Pick<FitContext, 'log' | 'signal'>, epoch: (step: Step) => Promise<{ sum: number; rows: number }>): Promise<number> {
  const opt = p.optimizer === 'sgd' ? tf.train.sgd(p.learning_rate) : tf.train.adam(p.learning_rate);
  const step: Step = async (x, rowShape, y, yWidth, perm) => {
    const xw = tensorSize(rowShape);
    const n = perm.length;
    let sum = 0;
    for (let s = 0; s < n; s += p.batch_size) {
      const m = Math.min(p.batch_size, n - s);
      const xb = new Float32Array(m * xw);
      const yb = new Float32Array(m * yWidth);
      for (let i = 0; i < m; i++) {
        const r = perm[s + i]!;
        xb.set(x.subarray(r * xw, r * xw + xw), i * xw);
        yb.set(y.subarray(r * yWidth, r * yWidth + yWidth), i * yWidth);
      }
      const xt = tf.tensor(xb, [m, ...rowShape]);
      const yt = tf.tensor2d(yb, [m, yWidth]);
      const cost = opt.minimize(() => loss(yt, model.apply(xt, { training: true }) as tfType.Tensor), true);
      xt.dispose();
      yt.dispose();
      if (cost) {
        sum += (await cost.data())[0]! * m;
        cost.dispose();
      }
    }
    return { sum, rows: n };
  };
  let last = NaN;
  try {
    for (let e = 0; e < p.epochs; e++) {
      if (ctx.signal?.aborted) throw new Error('training stopped');
      const { sum, rows } = await epoch(step);
      last = sum / rows;
      if (e === 0 || e === p.epochs - 1 || (e + 1) % Math.max(1, Math.floor(p.epochs / 10)) === 0) ctx.log(`epoch ${e + 1}/${p.epochs}: loss ${last.toPrecision(6)}`);
    }
  } finally {
    opt.dispose();
  }
  return last;
}

async function saveModel(tf: Tf, model: tfType.LayersModel, json: unknown): Promise<SavedState> {
  let artifacts: tfType.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  const parts = Array.isArray(a.weightData) ? a.weightData : a.weightData ? [a.weightData] : [];
  const weights = Buffer.concat(parts.map((b) => Buffer.from(b)));
  const modelJson = {
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
  };
  return { json, files: { 'model.json': Buffer.from(JSON.stringify(modelJson)), 'weights.bin': weights } };
}

async function loadModel(read: (file: string) => Uint8Array): Promise<{ tf: Tf; model: tfType.LayersModel }> {
  const tf = await loadTf();
  const mj = JSON.parse(Buffer.from(read('model.json')).toString('utf8')) as { modelTopology: object; weightsManifest: { weights: tfType.io.WeightsManifestEntry[] }[] };
  const w = read('weights.bin');
  const weightData = w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: mj.weightsManifest.flatMap((m) => m.weights), weightData }));
  return { tf, model };
}

/** Rows per model call when predicting (also what model.predict's batchSize was: same batches, same numbers). */
export const PREDICT_BATCH = 256;

/**
 * Predict n rows, a batch at a time, each batch a tensor made from a view of `x`. Not
 * model.predict(whole, {batchSize}): that slices the whole input tensor once per batch, and the
 * wasm backend's slice copies the whole tensor out of its heap each time, so 100,000 rows took
 * seconds (quadratic in the rows) instead of tens of milliseconds.
 */
async function predictRows(tf: Tf, model: tfType.LayersModel, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const n = shape[0]!;
  const rowShape = shape.slice(1);
  const w = tensorSize(rowShape);
  let out = new Float32Array(0);
  for (let s = 0; s < n; s += PREDICT_BATCH) {
    const m = Math.min(PREDICT_BATCH, n - s);
    const y = tf.tidy(() => model.predict(tf.tensor(x.subarray(s * w, (s + m) * w), [m, ...rowShape])) as tfType.Tensor);
    const data = (await y.data()) as Float32Array;
    y.dispose();
    if (s === 0) out = new Float32Array(n * (data.length / m));
    out.set(data, s * (data.length / m));
  }
  return out;
}

function float32(x: Float64Array): Float32Array {
  return Float32Array.from(x);
}

function crossEntropy(tf: Tf) {
  return (yTrue: tfType.Tensor, yPred: tfType.Tensor) => tf.mean(tf.metrics.categoricalCrossentropy(yTrue, tf.clipByValue(yPred, 1e-7, 1))) as tfType.Scalar;
}

function mse(tf: Tf) {
  return (yTrue: tfType.Tensor, yPred: tfType.Tensor) => tf.mean(tf.square(tf.sub(yTrue, yPred))) as tfType.Scalar;
}

function oneHot(index: Int32Array, k: number): Float32Array {
  const y = new Float32Array(index.length * k);
  for (let i = 0; i < index.length; i++) y[i * k + index[i]!] = 1;
  return y;
}

// ---------------------------------------------------------------------------------------------
// MLP

type MlpParams = TrainParams & { hidden: number[]; activation: Activation };
type MlpState = { features: string[]; classes: Label[] | null; y_mean: number; y_std: number; loss: number };

function parseMlp(raw: Record<string, unknown>, fail: StageFail): MlpParams {
  const r = new ParamReader(raw, fail);
  const p = { hidden: r.numbers('hidden', [32], { min: 1, int: true }), activation: r.choice('activation', ACTIVATIONS, 'relu'), ...parseTrain(r, { epochs: 100, lr: 0.01 }) };
  r.done();
  return p;
}

function mlpModel(name: string, tf: Tf, model: tfType.LayersModel, s: MlpState): FittedEstimator {
  return {
    async predict(t: Table): Promise<Prediction> {
      const m = featureMatrix(t, name);
      checkSameFeatures(s.features, m.names, name);
      const out = await predictRows(tf, model, float32(m.x), [m.n, m.d]);
      if (s.classes) {
        const k = s.classes.length;
        const proba = Float64Array.from(out);
        return { kind: 'classification', classes: s.classes, index: argmaxRows(proba, m.n, k), proba };
      }
      return { kind: 'regression', values: Float64Array.from(out, (v) => v * s.y_std + s.y_mean) };
    },
    save: () => saveModel(tf, model, s),
    dispose: () => model.dispose(),
  };
}

/** Dense layers, each initialised from its own seed, then the output layer. */
function buildMlp(tf: Tf, name: string, d: number, k: number, p: MlpParams, seed: number, classify: boolean): tfType.LayersModel {
  const layers: tfType.layers.Layer[] = p.hidden.map((units, i) =>
    tf.layers.dense({ name: `hidden_${i}`, units, activation: p.activation, inputShape: i === 0 ? [d] : undefined, kernelInitializer: init(tf, seed, i) }),
  );
  layers.push(tf.layers.dense({ name: 'output', units: k, activation: classify ? 'softmax' : 'linear', inputShape: p.hidden.length === 0 ? [d] : undefined, kernelInitializer: init(tf, seed, p.hidden.length) }));
  return tf.sequential({ name, layers });
}

function mlpEstimator(classify: boolean): EstimatorDef<MlpParams> {
  const name = classify ? 'MLPClassifier' : 'MLPRegressor';
  return {
    kind: 'estimator',
    name,
    summary: classify ? 'A multi-layer perceptron classifier (softmax output, cross-entropy) on TensorFlow.js.' : 'A multi-layer perceptron regressor (linear output, squared error on the standardised target) on TensorFlow.js.',
    parse: parseMlp,
    task: () => (classify ? 'classification' : 'regression'),
    checkInput(features, label, _p, fail) {
      checkNumericFeatures(features, name, fail);
      if (classify) checkClassLabel(label, name, fail);
      else checkRegressionLabel(label, name, fail);
    },
    async fit(t, target, p, ctx) {
      const { tf, backend, note } = await activateBackend(ctx.backend);
      ctx.usedBackend(backend, note);
      const seed = p.seed ?? ctx.seed;
      const m = featureMatrix(t, name);
      const k = target!.kind === 'classification' ? target!.classes.length : 1;
      const model = buildMlp(tf, name, m.d, k, p, seed, classify);
      let y: Float32Array;
      let yMean = 0;
      let yStd = 1;
      if (target!.kind === 'classification') y = oneHot(target!.index, k);
      else {
        const v = target!.values;
        yMean = v.reduce((a, b) => a + b, 0) / v.length;
        yStd = Math.sqrt(v.reduce((a, b) => a + (b - yMean) ** 2, 0) / v.length) || 1;
        y = Float32Array.from(v, (b) => (b - yMean) / yStd);
      }
      const loss = await train(tf, model, float32(m.x), [m.n, m.d], y, k, classify ? crossEntropy(tf) : mse(tf), p, seed, ctx);
      return mlpModel(name, tf, model, { features: m.names, classes: target!.kind === 'classification' ? target!.classes : null, y_mean: yMean, y_std: yStd, loss });
    },
    /**
     * Epochs re-read the rows; each batch of the stream is shuffled by the epoch's seeded
     * permutation of its rows (the whole-table fit shuffles all rows at once, which needs them all).
     */
    async fitStream(rows, p, ctx) {
      const { tf, backend, note } = await activateBackend(ctx.backend);
      ctx.usedBackend(backend, note);
      const seed = p.seed ?? ctx.seed;
      let names: string[] = [];
      let ySum = 0;
      for await (const b of rows.batches()) {
        names = featureMatrix(b.x, name).names;
        // a classifier wants only the names, which the first batch gives; a regressor sums its target over all rows
        if (classify) break;
        for (const v of (b.y as Extract<Target, { kind: 'regression' }>).values) ySum += v;
      }
      const yMean = classify ? 0 : ySum / rows.rows;
      let ss = 0;
      if (!classify) for await (const b of rows.batches()) for (const v of (b.y as Extract<Target, { kind: 'regression' }>).values) ss += (v - yMean) ** 2;
      const yStd = classify ? 1 : Math.sqrt(ss / rows.rows) || 1;
      const k = classify ? rows.classes!.length : 1;
      const model = buildMlp(tf, name, names.length, k, p, seed, classify);
      const rand = mulberry32(subSeed(seed, 1000));
      const loss = await runEpochs(tf, model, classify ? crossEntropy(tf) : mse(tf), p, ctx, async (step) => {
        let sum = 0;
        let n = 0;
        for await (const b of rows.batches()) {
          const m = featureMatrix(b.x, name);
          const y = b.y!.kind === 'classification' ? oneHot(b.y!.index, k) : Float32Array.from(b.y!.values, (v) => (v - yMean) / yStd);
          const r = await step(float32(m.x), [m.d], y, k, permutation(m.n, rand));
          sum += r.sum;
          n += r.rows;
        }
        return { sum, rows: n };
      });
      return mlpModel(name, tf, model, { features: names, classes: classify ? rows.classes! : null, y_mean: yMean, y_std: yStd, loss });
    },
    async load(state, read) {
      const { tf, model } = await loadModel(read);
      return mlpModel(name, tf, model, state as MlpState);
    },
  };
}

export const MLPClassifier = mlpEstimator(true);
export const MLPRegressor = mlpEstimator(false);

// ---------------------------------------------------------------------------------------------
// CNN

type CnnParams = TrainParams & { filters: number[]; kernel: number; dense: number[]; input_shape?: number[] };
type CnnState = { column: string; shape: number[]; classes: Label[]; loss: number };

function tensorColumn(t: Table, name: string): TensorColumn {
  const c = t.columns.find((x) => x.type === 'tensor');
  if (!c || c.type !== 'tensor') throw new MlError(`${name}: no image tensor column`);
  return c;
}

function cnnModel(tf: Tf, model: tfType.LayersModel, s: CnnState): FittedEstimator {
  return {
    async predict(t: Table): Promise<Prediction> {
      const c = tensorColumn(t, 'CNNClassifier');
      if (c.shape.join('x') !== s.shape.join('x')) throw new MlError(`CNNClassifier: the model takes ${s.shape.join('x')} images, got ${c.shape.join('x')}`);
      const out = await predictRows(tf, model, c.values, [t.rows, ...c.shape]);
      const k = s.classes.length;
      const proba = Float64Array.from(out);
      return { kind: 'classification', classes: s.classes, index: argmaxRows(proba, t.rows, k), proba };
    },
    save: () => saveModel(tf, model, s),
    dispose: () => model.dispose(),
  };
}

/** A small convolutional classifier: per `filters` entry a same-padded conv (ReLU) and a 2×2 max-pool, then dense layers and softmax. */
export const CNNClassifier: EstimatorDef<CnnParams> = {
  kind: 'estimator',
  name: 'CNNClassifier',
  summary: 'A convolutional image classifier on TensorFlow.js: conv + 2×2 max-pool blocks, dense layers, softmax.',
  parse(raw, fail) {
    const r = new ParamReader(raw, fail);
    const p: CnnParams = {
      filters: r.numbers('filters', [8, 16], { min: 1, int: true }),
      kernel: r.number('kernel', 3, { min: 1, max: 15, int: true }),
      dense: r.numbers('dense', [32], { min: 1, int: true }),
      ...parseTrain(r, { epochs: 10, lr: 0.005 }),
    };
    if (r.value('input_shape') !== undefined) p.input_shape = r.numbers('input_shape', [], { length: 3, int: true, min: 1 });
    r.done();
    if (p.filters.length === 0) fail('parameter "filters" needs at least one convolution');
    return p;
  },
  task: () => 'classification',
  kernels: ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad'],
  checkInput(features, label, p, fail) {
    const tensors = features.filter((c) => c.type === 'tensor');
    const img = features.find((c) => c.type === 'image');
    if (img) fail(`column "${img.name}" holds encoded images; CNNClassifier needs decoded tensors`, 'add a DecodeImage stage before it', img.name);
    if (tensors.length !== 1) fail(tensors.length === 0 ? 'CNNClassifier needs an image tensor column, but the features are tabular' : `CNNClassifier takes one image column, got ${tensors.length}`, 'read images (data.format: images or cifar10) and decode them');
    const other = features.find((c) => c.type !== 'tensor' && c.name !== 'path');
    if (other) fail(`column "${other.name}" is ${describeType(other)}; CNNClassifier takes only the image column`, 'list the image column alone in data.features', other.name);
    const c = tensors[0]!;
    const shape = c.shape ?? [];
    if (shape.length !== 3) fail(`column "${c.name}" is ${describeType(c)}; CNNClassifier needs [height, width, channels]`, undefined, c.name);
    const [h, w, ch] = shape as [number, number, number];
    const need = 2 ** p.filters.length;
    if (h < need || w < need) fail(`images in "${c.name}" are ${h}x${w}, too small for ${p.filters.length} pooling layers (at least ${need}x${need})`, 'resize them larger (DecodeImage size) or use fewer filters', c.name);
    if (ch < 1 || ch > 4) fail(`images in "${c.name}" have ${ch} channels; CNNClassifier takes 1 to 4`, undefined, c.name);
    if (p.input_shape && p.input_shape.join('x') !== shape.join('x')) fail(`images in "${c.name}" are ${shape.join('x')} but input_shape is ${p.input_shape.join('x')}`, 'resize with DecodeImage size, or fix input_shape', c.name);
    checkClassLabel(label, 'CNNClassifier', fail);
  },
  async fit(t, target, p, ctx) {
    const { tf, backend, note } = await activateBackend(ctx.backend, CNNClassifier.kernels);
    ctx.usedBackend(backend, note);
    const seed = p.seed ?? ctx.seed;
    const c = tensorColumn(t, 'CNNClassifier');
    const { classes, index } = target as Extract<Target, { kind: 'classification' }>;
    const layers: tfType.layers.Layer[] = [];
    let li = 0;
    p.filters.forEach((f, i) => {
      layers.push(tf.layers.conv2d({ name: `conv_${i}`, filters: f, kernelSize: p.kernel, padding: 'same', activation: 'relu', inputShape: i === 0 ? c.shape : undefined, kernelInitializer: init(tf, seed, li++) }));
      layers.push(tf.layers.maxPooling2d({ name: `pool_${i}`, poolSize: 2 }));
    });
    layers.push(tf.layers.flatten({ name: 'flatten' }));
    p.dense.forEach((units, i) => layers.push(tf.layers.dense({ name: `dense_${i}`, units, activation: 'relu', kernelInitializer: init(tf, seed, li++) })));
    layers.push(tf.layers.dense({ name: 'output', units: classes.length, activation: 'softmax', kernelInitializer: init(tf, seed, li++) }));
    const model = tf.sequential({ name: 'CNNClassifier', layers });
    const loss = await train(tf, model, c.values, [t.rows, ...c.shape], oneHot(index, classes.length), classes.length, crossEntropy(tf), p, seed, ctx);
    return cnnModel(tf, model, { column: c.name, shape: c.shape, classes, loss });
  },
  async load(state, read) {
    const { tf, model } = await loadModel(read);
    return cnnModel(tf, model, state as CnnState);
  },
};

// ---------------------------------------------------------------------------------------------
// Autoencoder

type AeParams = TrainParams & { hidden: number[]; activation: Activation; threshold_quantile: number; normal: string | number };
type AeState = { features: string[]; threshold: number; normal: string | number; loss: number };

/** Quantile with linear interpolation (numpy's default). */
export function quantile(v: Float64Array, q: number): number {
  const s = Float64Array.from(v).sort();
  if (s.length === 0) return 0;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

async function reconstructionError(tf: Tf, model: tfType.LayersModel, x: Float32Array, n: number, d: number): Promise<Float64Array> {
  const out = await predictRows(tf, model, x, [n, d]);
  const score = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += (out[i * d + j]! - x[i * d + j]!) ** 2;
    score[i] = s / d;
  }
  return score;
}

function aeModel(tf: Tf, model: tfType.LayersModel, s: AeState): FittedEstimator {
  return {
    async predict(t: Table): Promise<Prediction> {
      const m = featureMatrix(t, 'Autoencoder');
      checkSameFeatures(s.features, m.names, 'Autoencoder');
      const score = await reconstructionError(tf, model, float32(m.x), m.n, m.d);
      return { kind: 'anomaly', score, flag: Uint8Array.from(score, (v) => (v > s.threshold ? 1 : 0)), threshold: s.threshold };
    },
    save: () => saveModel(tf, model, s),
    dispose: () => model.dispose(),
  };
}

/**
 * Anomaly detection by reconstruction: a dense autoencoder (encoder `hidden`, mirrored decoder)
 * trained on normal rows; score = mean squared reconstruction error; a row is an anomaly when its
 * score exceeds the `threshold_quantile` of the training rows' scores.
 */
export const Autoencoder: EstimatorDef<AeParams> = {
  kind: 'estimator',
  name: 'Autoencoder',
  summary: 'Anomaly detector: score = reconstruction error of a dense autoencoder; threshold = a quantile of training scores.',
  parse(raw, fail) {
    const r = new ParamReader(raw, fail);
    const normal = r.value('normal');
    if (normal !== undefined && typeof normal !== 'string' && typeof normal !== 'number') fail('parameter "normal" must be the label value of normal rows');
    const p: AeParams = {
      hidden: r.numbers('hidden', [8, 2], { min: 1, int: true }),
      activation: r.choice('activation', ACTIVATIONS, 'tanh'),
      threshold_quantile: r.number('threshold_quantile', 0.99, { min: 0, max: 1 }),
      normal: (normal as string | number | undefined) ?? 0,
      ...parseTrain(r, { epochs: 100, lr: 0.01 }),
    };
    r.done();
    if (p.hidden.length === 0) fail('parameter "hidden" needs at least one layer');
    return p;
  },
  task: () => 'anomaly',
  checkInput(features, label, _p, fail) {
    checkNumericFeatures(features, 'Autoencoder', fail);
    if (label && label.type !== 'number' && label.type !== 'string') fail(`label column "${label.name}" is ${describeType(label)}`, undefined, label.name);
  },
  async fit(t, target, p, ctx) {
    const { tf, backend, note } = await activateBackend(ctx.backend);
    ctx.usedBackend(backend, note);
    const seed = p.seed ?? ctx.seed;
    const all = featureMatrix(t, 'Autoencoder');
    // with a label, learn what normal rows look like only
    let rows = Array.from({ length: all.n }, (_, i) => i);
    if (target?.kind === 'classification') rows = rows.filter((i) => String(target.classes[target.index[i]!]) === String(p.normal));
    if (rows.length === 0) throw new Error(`Autoencoder: no training row has the normal label ${JSON.stringify(p.normal)}`);
    const x = new Float32Array(rows.length * all.d);
    rows.forEach((r, i) => {
      for (let j = 0; j < all.d; j++) x[i * all.d + j] = all.x[r * all.d + j]!;
    });
    const layers: tfType.layers.Layer[] = [];
    const sizes = [...p.hidden, ...p.hidden.slice(0, -1).reverse()];
    sizes.forEach((units, i) => layers.push(tf.layers.dense({ name: `ae_${i}`, units, activation: p.activation, inputShape: i === 0 ? [all.d] : undefined, kernelInitializer: init(tf, seed, i) })));
    layers.push(tf.layers.dense({ name: 'reconstruction', units: all.d, activation: 'linear', kernelInitializer: init(tf, seed, sizes.length) }));
    const model = tf.sequential({ name: 'Autoencoder', layers });
    const loss = await train(tf, model, x, [rows.length, all.d], x, all.d, mse(tf), p, seed, ctx);
    const scores = await reconstructionError(tf, model, x, rows.length, all.d);
    const threshold = quantile(scores, p.threshold_quantile);
    ctx.log(`Autoencoder: threshold ${threshold.toPrecision(6)} (quantile ${p.threshold_quantile} of ${rows.length} training scores)`);
    return aeModel(tf, model, { features: all.names, threshold, normal: p.normal, loss });
  },
  async load(state, read) {
    const { tf, model } = await loadModel(read);
    return aeModel(tf, model, state as AeState);
  },
};
