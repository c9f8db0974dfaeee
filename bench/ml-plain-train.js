#!/usr/bin/env node
// Baseline of scenario 12: the network tusk's MLPClassifier builds, trained by a plain script
// with TensorFlow.js the way its documentation shows (read the CSV, model.compile, model.fit,
// model.predict), without tusk. Scenario 12 times this whole process against
// `tusk create pipeline --wait` training the same model on the same CSV.
//
//   node bench/ml-plain-train.js --csv F --label L --hidden 64,32 --activation relu --epochs 5
//        --batch 64 --lr 0.01 --optimizer adam --seed 7 --backend wasm [--predict F] [--out F.json]
//
// What is the same as in tusk: the data (every column but the label, as float32), the layers
// (dense, glorot-uniform initialisers seeded per layer with tusk's derivation, so the initial
// weights are identical), softmax output, cross-entropy, the optimizer and learning rate, epochs,
// batch size and backend. What differs by design: model.fit shuffles each epoch with its own
// (unseeded) shuffle where tusk uses a seeded permutation, so the losses agree closely but not
// to the bit. With --predict it then times model.predict over that CSV's rows in batches of 256
// (as tusk predicts), the in-process baseline for prediction throughput, and the same rows in one
// model.predict(x, {batchSize: 256}) call.
// Prints one JSON line: backend, rows, loss, accuracy, times.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
// tusk's seed derivation (documented in docs/ml.md): layer i is initialised with subSeed(seed, i),
// so both runs start from the same weights. `npm run bench` builds dist/ first.
import { subSeed } from '../dist/ml/rng.js';

const t0 = performance.now();
const { values: args } = parseArgs({
  options: Object.fromEntries(['csv', 'label', 'hidden', 'activation', 'epochs', 'batch', 'lr', 'optimizer', 'seed', 'backend', 'predict', 'out'].map((k) => [k, { type: 'string' }])),
});
const hidden = args.hidden ? args.hidden.split(',').map(Number) : [32];
const epochs = Number(args.epochs ?? 100);
const batchSize = Number(args.batch ?? 32);
const lr = Number(args.lr ?? 0.01);
const seed = Number(args.seed ?? 0);
const backend = args.backend ?? 'wasm';

const tf = await import('@tensorflow/tfjs');
tf.env().set('PROD', true);
if (backend === 'wasm') {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
}
if (!(await tf.setBackend(backend === 'node' ? 'tensorflow' : backend))) throw new Error(`backend ${backend} did not start`);
await tf.ready();

/** The CSV as a plain script reads it: the whole file, split on newlines and commas. */
function readCsv(file, label) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const header = lines[0].split(',');
  const li = header.indexOf(label);
  const features = header.filter((_, j) => j !== li);
  const n = lines.length - 1;
  const x = new Float32Array(n * features.length);
  const labels = new Array(n);
  for (let i = 0; i < n; i++) {
    const cells = lines[i + 1].split(',');
    let k = i * features.length;
    for (let j = 0; j < cells.length; j++) {
      if (j === li) labels[i] = cells[j];
      else x[k++] = Number(cells[j]);
    }
  }
  return { x, labels, n, d: features.length };
}


const tRead = performance.now();
const data = readCsv(args.csv, args.label ?? 'label');
const classes = [...new Set(data.labels)].sort();
const k = classes.length;
const y = new Float32Array(data.n * k);
data.labels.forEach((l, i) => (y[i * k + classes.indexOf(l)] = 1));
const readMs = performance.now() - tRead;

const model = tf.sequential();
hidden.forEach((units, i) =>
  model.add(tf.layers.dense({ units, activation: args.activation ?? 'relu', inputShape: i === 0 ? [data.d] : undefined, kernelInitializer: tf.initializers.glorotUniform({ seed: subSeed(seed, i) }) })),
);
model.add(tf.layers.dense({ units: k, activation: 'softmax', inputShape: hidden.length === 0 ? [data.d] : undefined, kernelInitializer: tf.initializers.glorotUniform({ seed: subSeed(seed, hidden.length) }) }));
model.compile({ optimizer: args.optimizer === 'sgd' ? tf.train.sgd(lr) : tf.train.adam(lr), loss: 'categoricalCrossentropy' });

const xs = tf.tensor2d(data.x, [data.n, data.d]);
const ys = tf.tensor2d(y, [data.n, k]);
const tTrain = performance.now();
const hist = await model.fit(xs, ys, { epochs, batchSize, shuffle: true, verbose: 0 });
const trainMs = performance.now() - tTrain;
const loss = hist.history.loss[hist.history.loss.length - 1];

// accuracy on the training rows: what tusk's metrics.json reports without a split
const predicted = tf.tidy(() => model.predict(xs, { batchSize: 256 }).argMax(1));
const idx = await predicted.data();
predicted.dispose();
let right = 0;
for (let i = 0; i < data.n; i++) if (classes[idx[i]] === data.labels[i]) right++;

const out = { backend: tf.getBackend(), rows: data.n, features: data.d, classes, epochs, loss, accuracy: right / data.n, readMs, trainMs, msPerEpoch: trainMs / epochs };

if (args.predict) {
  const p = readCsv(args.predict, args.label ?? 'label');
  // batches of 256 rows, each a tensor made from a view of the rows: the model's own cost
  const tPred = performance.now();
  for (let s = 0; s < p.n; s += 256) {
    const m = Math.min(256, p.n - s);
    const probs = tf.tidy(() => model.predict(tf.tensor2d(p.x.subarray(s * p.d, (s + m) * p.d), [m, p.d])));
    await probs.data();
    probs.dispose();
  }
  const predictMs = performance.now() - tPred;
  // the documented one call; on wasm it slices the whole input tensor once per batch
  const px = tf.tensor2d(p.x, [p.n, p.d]);
  const tOne = performance.now();
  const all = model.predict(px, { batchSize: 256 });
  await all.data();
  const predictOneCallMs = performance.now() - tOne;
  tf.dispose([all, px]);
  Object.assign(out, { predictRows: p.n, predictMs, predictRowsPerSec: p.n / (predictMs / 1000), predictOneCallMs });
}
xs.dispose();
ys.dispose();
out.totalMs = performance.now() - t0;
const line = JSON.stringify(out);
if (args.out) fs.writeFileSync(args.out, line + '\n');
process.stdout.write(line + '\n');
