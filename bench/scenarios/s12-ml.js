// Scenario 12 — questions (the ML issue): does training a network through a tusk pipeline cost
// what training the same TensorFlow.js model in a plain script costs (≤ 1.1×)? How many rows a
// second do `tusk predict` and `tusk serve model` predict, next to model.predict in-process? How
// do the wasm and cpu backends compare for a dense and a convolutional model?
//
// The plain script is bench/ml-plain-train.js: the same layers, initial weights, optimizer,
// epochs, batch size, backend and CSV, trained with model.fit. Both are timed as whole processes
// (tusk: `create pipeline --wait` under TUSK_RUNNER=foreground, which reads the CSV from the
// store, trains, scores the training rows, saves and commits the model). Their loss and accuracy
// are printed beside the times, so that it is visibly the same work.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR, NODE, T, TUSK_BIN, exec, freshStore, interleave, measure, prng, status, tusk } from '../lib.js';

const PLAIN = path.join(BENCH_DIR, 'ml-plain-train.js');
const FEATURES = 16;
const CLASSES = ['east', 'north', 'south', 'west'];

/**
 * A seeded CSV of `rows` rows: FEATURES standard-normal features (4 decimals) and a label, the
 * class whose fixed random projection of tanh(features) is largest, plus noise: a boundary a
 * dense network has to bend to, and noise that keeps accuracy below 1.
 */
function writeDenseCsv(file, rows, seed) {
  const r = prng(seed);
  const u = () => (r(2 ** 30) + 0.5) / 2 ** 30;
  const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const w = CLASSES.map(() => Array.from({ length: FEATURES }, gauss));
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, [...Array.from({ length: FEATURES }, (_, j) => `x${j}`), 'label'].join(',') + '\n');
  let lines = [];
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: FEATURES }, gauss);
    let best = 0;
    let top = -Infinity;
    for (let k = 0; k < CLASSES.length; k++) {
      let s = 0.5 * gauss();
      for (let j = 0; j < FEATURES; j++) s += w[k][j] * Math.tanh(x[j] * (1 + (j % 3)));
      if (s > top) [top, best] = [s, k];
    }
    lines.push(`${x.map((v) => v.toFixed(4)).join(',')},${CLASSES[best]}`);
    if (lines.length === 10_000) {
      fs.writeSync(fd, lines.join('\n') + '\n');
      lines = [];
    }
  }
  if (lines.length > 0) fs.writeSync(fd, lines.join('\n') + '\n');
  fs.closeSync(fd);
}

/**
 * A seeded CIFAR-10 binary batch of 32×32×3 stripe images: the label is the stripes' direction
 * (0 horizontal, 1 vertical, 2 and 3 the diagonals), with random period, phase, colours and
 * pixel noise, so only the spatial pattern tells the classes apart: work for convolutions.
 */
function writeStripesBatch(file, images, seed) {
  const r = prng(seed);
  const rec = 1 + 3 * 1024;
  const buf = Buffer.alloc(images * rec);
  for (let n = 0; n < images; n++) {
    const label = n % 4;
    const period = 4 + r(5);
    const phase = r(period);
    const fg = [r(256), r(256), r(256)];
    const bg = [r(256), r(256), r(256)];
    buf[n * rec] = label;
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const t = label === 0 ? y : label === 1 ? x : label === 2 ? x + y : x - y + 64;
        const on = (t + phase) % period < period / 2;
        for (let c = 0; c < 3; c++) buf[n * rec + 1 + c * 1024 + y * 32 + x] = Math.max(0, Math.min(255, (on ? fg[c] : bg[c]) + r(41) - 20));
      }
  }
  fs.writeFileSync(file, buf);
}

function specFile(dir, name, ml) {
  const f = path.join(dir, `${name}.json`);
  const repo = ml.data.format === 'cifar10' ? 'images' : 'tabular';
  fs.writeFileSync(f, JSON.stringify({ pipeline: { name }, input: { pfs: { repo, glob: '/' } }, transform: { ml } }));
  return f;
}

/** A file of the output repo, parsed (untimed). */
function getJson(env, ref) {
  return JSON.parse(exec(tusk('get', 'file', ref), { env }));
}

/**
 * Training time as the job logged it: from the "split:" line (data read, before the network is
 * built) to the last "epoch E/E" line. Excludes start-up, reading, scoring and saving.
 */
function trainingMs(env, pipeline) {
  const logs = JSON.parse(exec(tusk('logs', '-p', pipeline, '--json'), { env }));
  const at = (re) => logs.filter((l) => re.test(l.message)).map((l) => Date.parse(l.ts));
  const start = at(/^split: /)[0];
  const end = at(/^epoch (\d+)\/\1: /).pop();
  return start && end ? end - start : null;
}

/** Model card facts and the loss and accuracy of a trained model (untimed). */
function trained(env, pipeline) {
  const card = getJson(env, `${pipeline}@master:/model-card.json`);
  const chain = getJson(env, `${pipeline}@master:/model/chain.json`);
  const metrics = getJson(env, `${pipeline}@master:/metrics.json`);
  const b = card.backend;
  return { backend: `${b.used}${b.notes.length ? ` (${b.notes.join('; ')})` : ''}`, used: b.used, loss: chain.stages.at(-1).state.loss, accuracy: metrics.train.accuracy, trainMs: trainingMs(env, pipeline) };
}

const fmtRate = (rows, ms) => `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;
const fmt4 = (v) => (typeof v === 'number' ? v.toFixed(4) : String(v));

/** `tusk serve model` on a free port; resolves once /health answers 200. */
async function startServer(model, env) {
  const child = spawn(NODE, [TUSK_BIN, 'serve', 'model', model, '--port', '0', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      try {
        resolve(JSON.parse(out).url);
      } catch {
        // not the whole JSON yet
      }
    });
    child.on('exit', (code) => reject(new Error(`tusk serve model exited ${code}: ${err}`)));
  });
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${url}/health`).catch(() => null);
    if (r?.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = () =>
    new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGINT');
    });
  return { url, stop };
}

export default {
  id: 12,
  title: 'ML: training, prediction throughput, backends',
  question: 'does a network train through tusk as fast as in a plain tfjs script; how fast do predict and serve go?',
  async run(ctx, rep) {
    const q = ctx.quick;
    const dir = ctx.dir('ml');
    const store = await freshStore(path.join(dir, 'store'), ['tabular', 'images']);
    const env = { TUSK_STORE: store, TUSK_RUNNER: 'foreground' };
    const rows = q ? 10_000 : 100_000;
    const epochs = q ? 3 : 5;
    const predictRows = q ? 20_000 : 200_000;
    const train = path.join(dir, 'train.csv');
    const score = path.join(dir, 'score.csv');
    const tiny = path.join(dir, 'tiny.csv');
    writeDenseCsv(train, rows, 'ml-train');
    writeDenseCsv(score, predictRows, 'ml-score');
    fs.writeFileSync(tiny, fs.readFileSync(score, 'utf8').split('\n').slice(0, 11).join('\n') + '\n');
    await measure([T(tusk('put', 'file', 'tabular@master:/train.csv', '-f', train))], { env });

    // The model, as tusk's spec and as the plain script's flags: the same everything.
    const mlp = { hidden: [64, 32], activation: 'relu', epochs, batch_size: 64, learning_rate: 0.01, optimizer: 'adam' };
    const seed = 7;
    const mlSpec = (backend) => ({ task: 'train', backend, seed, data: { format: 'csv', path: '/pfs/tabular/train.csv', label: 'label' }, chain: [{ MLPClassifier: mlp }], metrics: ['accuracy'] });
    const plainArgs = (backend, { e = epochs, more = [] } = {}) => [
      ...['--csv', train, '--label', 'label', '--hidden', mlp.hidden.join(','), '--activation', mlp.activation, '--epochs', String(e)],
      ...['--batch', String(mlp.batch_size), '--lr', String(mlp.learning_rate), '--optimizer', mlp.optimizer, '--seed', String(seed), '--backend', backend, ...more],
    ];

    rep.section(`train an MLP (${rows.toLocaleString('en-US')} rows × ${FEATURES} features, 4 classes; hidden [64, 32], ${epochs} epochs, batch 64, adam; wasm)`);
    let n = 0;
    const names = [];
    const r = await interleave(ctx.runs, {
      plain: { step: () => measure([T([NODE, PLAIN, ...plainArgs('wasm')])], { capture: true }) },
      tusk: {
        step: () => {
          const name = `mlp-${n++}`;
          names.push(name);
          return measure([T(tusk('create', 'pipeline', '-f', specFile(dir, name, mlSpec('wasm')), '--wait'))], { env });
        },
      },
    });
    // the last run of each: same round, so the same load on the machine
    const plain = JSON.parse(r.plain.last.stdout);
    const mine = trained(env, names.at(-1));
    const ratio = r.tusk.ms / r.plain.ms;
    rep.row({ label: 'plain script: tfjs model.fit, same model and CSV (whole process)', ms: r.plain.ms, times: r.plain.times, rssKiB: r.plain.rssKiB, base: true });
    rep.row({ label: 'tusk create pipeline --wait (whole command)', ms: r.tusk.ms, times: r.tusk.times, rssKiB: r.tusk.rssKiB, status: status(ratio <= 1.1, '≤ 1.1×') });
    rep.check('training through tusk / plain tfjs script', { actual: `${ratio.toFixed(2)}× (${(r.tusk.ms / 1000).toFixed(2)} s vs ${(r.plain.ms / 1000).toFixed(2)} s)`, target: '≤ 1.1×', pass: ratio <= 1.1 });
    rep.note(
      `same work: final epoch loss tusk ${fmt4(mine.loss)} vs plain ${fmt4(plain.loss)}; accuracy on the training rows tusk ${fmt4(mine.accuracy)} vs plain ${fmt4(plain.accuracy)}; ` +
        `backend tusk ${mine.backend} (model card), plain ${plain.backend}; training alone: tusk ${mine.trainMs} ms (job log: loading tfjs and building the network included) vs plain ${Math.round(plain.trainMs)} ms (model.fit)`,
    );

    // The in-process baseline: the plain script's model (same architecture; one epoch is enough
    // to time prediction) on the rows tusk predicts.
    rep.section(`predict ${predictRows.toLocaleString('en-US')} rows with the trained MLP (wasm)`);
    const base = JSON.parse((await measure([T([NODE, PLAIN, ...plainArgs('wasm', { e: 1, more: ['--predict', score] })])], { capture: true })).stdout);
    rep.row({ label: 'in-process model.predict, batches of 256 (plain script)', ms: base.predictMs, base: true, status: fmtRate(predictRows, base.predictMs) });
    rep.row({ label: 'in-process model.predict(all rows, {batchSize: 256}), one call', ms: base.predictOneCallMs, status: `info: ${fmtRate(predictRows, base.predictOneCallMs)}` });
    const model = `${names[0]}@master`;
    const out = path.join(dir, 'predictions.csv');
    const p = await interleave(ctx.runs, {
      small: { step: () => measure([T(tusk('predict', model, '-f', tiny, '-o', `${out}.tiny`))], { env }) },
      big: { step: () => measure([T(tusk('predict', model, '-f', score, '-o', out))], { env }) },
    });
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n').length - 1;
    if (lines !== predictRows) throw new Error(`tusk predict wrote ${lines} rows, expected ${predictRows}`);
    const work = p.big.ms - p.small.ms;
    rep.row({ label: 'tusk predict -f score.csv -o out.csv (whole command)', ms: p.big.ms, times: p.big.times, rssKiB: p.big.rssKiB, status: fmtRate(predictRows, p.big.ms) });
    rep.row({ label: 'tusk predict, start-up excluded (minus a 10-row predict)', ms: work, status: `${fmtRate(predictRows, work)}; start-up ${Math.round(p.small.ms)} ms` });
    rep.check('tusk predict throughput (whole command; start-up excluded)', { actual: `${fmtRate(predictRows, p.big.ms)}; ${fmtRate(predictRows, work)} (in-process ${fmtRate(predictRows, base.predictMs)})`, target: 'report', pass: true });

    // Serving: instances as JSON objects, 1,000 per request, one request at a time (the
    // requests are built before the clock starts; reading each response is timed).
    const header = fs.readFileSync(score, 'utf8').split('\n', 1)[0].split(',');
    const text = fs.readFileSync(score, 'utf8').trimEnd().split('\n').slice(1);
    const perRequest = 1000;
    const bodies = [];
    for (let s = 0; s < text.length; s += perRequest)
      bodies.push(JSON.stringify({ instances: text.slice(s, s + perRequest).map((l) => Object.fromEntries(l.split(',').slice(0, FEATURES).map((v, j) => [header[j], Number(v)]))) }));
    const server = await startServer(model, env);
    let served = 0;
    let ms;
    try {
      const t0 = performance.now();
      for (const body of bodies) {
        const res = await fetch(`${server.url}/predict`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        if (res.status !== 200) throw new Error(`POST /predict answered ${res.status}: ${await res.text()}`);
        served += (await res.json()).predictions.length;
      }
      ms = performance.now() - t0;
    } finally {
      await server.stop();
    }
    if (served !== predictRows) throw new Error(`the server predicted ${served} rows, expected ${predictRows}`);
    rep.row({ label: `tusk serve model: POST /predict, ${perRequest} instances per request`, ms, status: fmtRate(predictRows, ms) });
    rep.check('tusk serve model throughput', { actual: `${fmtRate(predictRows, ms)} (in-process ${fmtRate(predictRows, base.predictMs)})`, target: 'report', pass: true });

    // Backends, through the spec's `backend` field; what ran is read from the model card.
    rep.section(`backends, dense: the MLP above`);
    const b = await interleave(Math.min(ctx.runs, 2), {
      cpu: { step: (i) => measure([T(tusk('create', 'pipeline', '-f', specFile(dir, `dense-cpu-${i}`, mlSpec('cpu')), '--wait'))], { env }) },
      wasm: { step: (i) => measure([T(tusk('create', 'pipeline', '-f', specFile(dir, `dense-wasm-${i}`, mlSpec('wasm')), '--wait'))], { env }) },
    });
    const dense = { cpu: trained(env, 'dense-cpu-0'), wasm: trained(env, 'dense-wasm-0') };
    const perEpoch = (t) => t.trainMs / epochs;
    rep.row({ label: 'train on cpu (whole command)', ms: b.cpu.ms, times: b.cpu.times, rssKiB: b.cpu.rssKiB, base: true, status: `${Math.round(perEpoch(dense.cpu))} ms/epoch; ran on ${dense.cpu.backend}` });
    rep.row({ label: 'train on wasm (whole command)', ms: b.wasm.ms, times: b.wasm.times, rssKiB: b.wasm.rssKiB, status: `${Math.round(perEpoch(dense.wasm))} ms/epoch; ran on ${dense.wasm.backend}` });
    rep.check('dense: wasm / cpu, time per epoch', { actual: `${(perEpoch(dense.wasm) / perEpoch(dense.cpu)).toFixed(2)}× (${Math.round(perEpoch(dense.wasm))} vs ${Math.round(perEpoch(dense.cpu))} ms; whole command ${(b.wasm.ms / b.cpu.ms).toFixed(2)}×)`, target: 'report', pass: true });

    const images = q ? 200 : 1_000;
    const cnnEpochs = q ? 1 : 2;
    const testImages = q ? 500 : 2_000;
    rep.section(`backends, conv: CNNClassifier (${images.toLocaleString('en-US')} 32×32×3 images, filters [8, 16], dense [32], ${cnnEpochs} epoch(s), batch 32)`);
    const batch = path.join(dir, 'data_batch_1.bin');
    const testBatch = path.join(dir, 'test_batch.bin');
    writeStripesBatch(batch, images, 'ml-cnn-train');
    writeStripesBatch(testBatch, testImages, 'ml-cnn-test');
    await measure([T(tusk('put', 'file', 'images@master:/data_batch_1.bin', '-f', batch))], { env });
    const cnnSpec = (backend) => ({
      task: 'train',
      backend,
      seed,
      data: { format: 'cifar10', path: '/pfs/images' },
      chain: [{ CNNClassifier: { filters: [8, 16], kernel: 3, dense: [32], epochs: cnnEpochs, batch_size: 32, learning_rate: 0.005 } }],
      metrics: ['accuracy'],
    });
    const c = await interleave(1, {
      cpu: { step: () => measure([T(tusk('create', 'pipeline', '-f', specFile(dir, 'cnn-cpu', cnnSpec('cpu')), '--wait'))], { env }) },
      wasm: { step: () => measure([T(tusk('create', 'pipeline', '-f', specFile(dir, 'cnn-wasm', cnnSpec('wasm')), '--wait'))], { env }) },
    });
    const conv = { cpu: trained(env, 'cnn-cpu'), wasm: trained(env, 'cnn-wasm') };
    const cnnEpoch = (t) => t.trainMs / cnnEpochs;
    rep.row({ label: 'train on cpu (whole command)', ms: c.cpu.ms, rssKiB: c.cpu.rssKiB, base: true, status: `${Math.round(cnnEpoch(conv.cpu))} ms/epoch; ran on ${conv.cpu.backend}; accuracy ${fmt4(conv.cpu.accuracy)}` });
    rep.row({ label: 'train with backend: wasm (whole command)', ms: c.wasm.ms, rssKiB: c.wasm.rssKiB, status: `${Math.round(cnnEpoch(conv.wasm))} ms/epoch; ran on ${conv.wasm.backend}` });
    // Prediction needs only forward kernels, which wasm has: TUSK_TF_BACKEND picks the backend.
    const pc = await interleave(ctx.runs, {
      cpu: { step: () => measure([T(tusk('predict', 'cnn-cpu@master', '-f', testBatch, '-o', path.join(dir, 'cnn-cpu.csv')))], { env: { ...env, TUSK_TF_BACKEND: 'cpu' } }) },
      wasm: { step: () => measure([T(tusk('predict', 'cnn-cpu@master', '-f', testBatch, '-o', path.join(dir, 'cnn-wasm.csv')))], { env: { ...env, TUSK_TF_BACKEND: 'wasm' } }) },
    });
    rep.row({ label: `tusk predict ${testImages.toLocaleString('en-US')} images, TUSK_TF_BACKEND=cpu`, ms: pc.cpu.ms, times: pc.cpu.times, rssKiB: pc.cpu.rssKiB, status: fmtRate(testImages, pc.cpu.ms) });
    rep.row({ label: `tusk predict ${testImages.toLocaleString('en-US')} images, TUSK_TF_BACKEND=wasm`, ms: pc.wasm.ms, times: pc.wasm.times, rssKiB: pc.wasm.rssKiB, status: fmtRate(testImages, pc.wasm.ms) });
    rep.check('conv: wasm / cpu, training time per epoch', { actual: `${(cnnEpoch(conv.wasm) / cnnEpoch(conv.cpu)).toFixed(2)}× (the model card says wasm trained on ${conv.wasm.used})`, target: 'report', pass: true });
    rep.check('conv: wasm / cpu, tusk predict', { actual: `${(pc.wasm.ms / pc.cpu.ms).toFixed(2)}× (${(pc.wasm.ms / 1000).toFixed(2)} s vs ${(pc.cpu.ms / 1000).toFixed(2)} s)`, target: 'report', pass: true });
  },
};
