// Scenario 13 — question: does a predict pipeline over a CSV that only grows cost what the new
// rows cost? After 1% more rows are appended to a 1,000,000-row CSV, the job must take ≤ 5% of
// the time of the job that predicts the whole file (the baseline, measured in the same run on the
// same pipeline, model and data: an edit of one earlier row, same size, forces a full predict).
//
// Times are the jobs' own (STARTED to FINISHED in `tusk list job --json`), so that the CLI's
// start-up and the `put file` that re-reads the whole CSV are left out of both; the whole
// commands are printed beside them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { T, exec, freshStore, measure, median, prng, tusk } from '../lib.js';

const FEATURES = 8;

/** Rows `from`..`to` (exclusive) of a seeded regression CSV: FEATURES numbers and, with `label`, y. */
function csvRows(from, to, { label = false, header = from === 0 } = {}) {
  const r = prng(`predict-append-${from}`);
  const u = () => r(2 ** 30) / 2 ** 30;
  const lines = header ? [[...Array.from({ length: FEATURES }, (_, j) => `x${j}`), ...(label ? ['y'] : [])].join(',')] : [];
  for (let i = from; i < to; i++) {
    const x = Array.from({ length: FEATURES }, () => (u() * 10 - 5).toFixed(3));
    const y = x.reduce((s, v, j) => s + (j + 1) * Number(v), 0) + (u() - 0.5);
    lines.push([...x, ...(label ? [y.toFixed(3)] : [])].join(','));
  }
  return lines.join('\n') + '\n';
}

function writeRows(file, rows, opts = {}) {
  fs.writeFileSync(file, '');
  for (let s = 0; s < rows; s += 100_000) fs.appendFileSync(file, csvRows(s, Math.min(rows, s + 100_000), { ...opts, header: s === 0 }));
}

/**
 * The newest job of a pipeline: its duration from its own start and finish times, and the time
 * the ML transform took inside it (its "ml predict finished after S s" log line).
 */
function lastJob(env, pipeline) {
  const [j] = JSON.parse(exec(tusk('list', 'job', '-p', pipeline, '-n', '1', '--json'), { env }));
  if (j.state !== 'JOB_SUCCESS') throw new Error(`job ${pipeline}@${j.id} ended ${j.state}: ${j.reason}`);
  const logs = exec(tusk('logs', '-j', `${pipeline}@${j.id}`, '--system', '--raw'), { env });
  const predictS = /ml predict finished after ([\d.]+)s/.exec(logs)?.[1];
  return { ms: Date.parse(j.finished) - Date.parse(j.started), predictMs: predictS ? Number(predictS) * 1000 : NaN };
}

/** Rows in the predictions file, and how many windows of new rows its statistics hold (untimed). */
function outputShape(env, dir) {
  const file = path.join(dir, 'predictions.csv');
  fs.rmSync(file, { force: true });
  exec(tusk('get', 'file', 'priced@master:/events.csv', '-o', file), { env });
  let rows = -1; // the header
  const buf = Buffer.alloc(4 << 20);
  const fd = fs.openSync(file, 'r');
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) for (let i = buf.indexOf(10); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) rows++;
  fs.closeSync(fd);
  const windows = exec(tusk('get', 'file', 'priced@master:/events.csv.windows.jsonl'), { env }).trimEnd().split('\n').length;
  return { rows, windows };
}

export default {
  id: 13,
  title: 'streaming predict: a CSV that only grows',
  question: 'after 1% more rows are appended to a 1M-row CSV, does the predict job cost ≤ 5% of a full predict?',
  async run(ctx, rep) {
    const rows = ctx.quick ? 100_000 : 1_000_000;
    const step = rows / 100;
    const dir = ctx.dir('predict-append');
    const store = await freshStore(path.join(dir, 'store'), ['train', 'events']);
    const env = { TUSK_STORE: store, TUSK_RUNNER: 'foreground' };

    // the model: a scaler and a linear regression, trained once (untimed)
    const train = path.join(dir, 'train.csv');
    writeRows(train, 20_000, { label: true });
    exec(tusk('put', 'file', 'train@master:/train.csv', '-f', train), { env });
    const modelSpec = path.join(dir, 'model.json');
    const chain = [{ StandardScaler: {} }, { LinearRegression: {} }];
    fs.writeFileSync(modelSpec, JSON.stringify({ pipeline: { name: 'model' }, input: { pfs: { repo: 'train', glob: '/' } }, transform: { ml: { task: 'train', data: { path: '/pfs/train/train.csv', label: 'y' }, chain } } }));
    exec(tusk('create', 'pipeline', '-f', modelSpec, '--wait'), { env });

    const events = path.join(dir, 'events.csv');
    writeRows(events, rows);
    exec(tusk('put', 'file', 'events@master:/events.csv', '-f', events), { env });
    const predictSpec = path.join(dir, 'priced.json');
    fs.writeFileSync(
      predictSpec,
      JSON.stringify({
        pipeline: { name: 'priced' },
        input: { cross: [{ pfs: { repo: 'events', glob: '/*' } }, { pfs: { repo: 'model', glob: '/' } }] },
        transform: { ml: { task: 'predict', model: '/pfs/model', data: { path: '/pfs/events' }, window_metrics: true } },
      }),
    );
    const create = await measure([T(tusk('create', 'pipeline', '-f', predictSpec, '--wait'))], { env });
    const fulls = [{ ...lastJob(env, 'priced'), command: create.ms }];

    // appends of 1% each, then a same-size edit of row 1 (a full predict), twice over
    const appends = [];
    let total = rows;
    for (let round = 0; round < Math.max(2, Math.min(ctx.runs, 3)); round++) {
      fs.appendFileSync(events, csvRows(total, total + step, { header: false }));
      total += step;
      const put = await measure([T(tusk('put', 'file', 'events@master:/events.csv', '-f', events, '--wait'))], { env });
      appends.push({ ...lastJob(env, 'priced'), command: put.ms });
      const shape = outputShape(env, dir);
      if (shape.rows !== total || shape.windows < 2) throw new Error(`after an append: ${shape.rows} predictions (expected ${total}), ${shape.windows} windows (expected 2 or more)`);
      if (round === 0) {
        // the edit: the first data row's first digit, so the size is the same
        const fd = fs.openSync(events, 'r+');
        const head = Buffer.alloc(256);
        fs.readSync(fd, head, 0, 256, 0);
        const at = head.indexOf('\n') + 1 + (head[head.indexOf('\n') + 1] === 0x2d ? 1 : 0);
        fs.writeSync(fd, Buffer.from([head[at] === 0x39 ? 0x31 : head[at] + 1]), 0, 1, at);
        fs.closeSync(fd);
        const edit = await measure([T(tusk('put', 'file', 'events@master:/events.csv', '-f', events, '--wait'))], { env });
        fulls.push({ ...lastJob(env, 'priced'), command: edit.ms });
        const after = outputShape(env, dir);
        if (after.windows !== 1) throw new Error(`after an edit of row 1 the predict was not a full one: ${after.windows} windows`);
      }
    }

    const full = median(fulls.map((f) => f.ms));
    const append = median(appends.map((a) => a.ms));
    const ratio = append / full;
    rep.section(`predict job over ${rows.toLocaleString('en-US')} rows (StandardScaler + LinearRegression, ${FEATURES} features)`);
    rep.row({ label: 'full predict job (first job, and after a same-size edit of row 1)', ms: full, times: fulls.map((f) => f.ms), base: true });
    rep.row({ label: `predict job after appending 1% (${step.toLocaleString('en-US')} rows)`, ms: append, times: appends.map((a) => a.ms), status: `${ratio <= 0.05 ? 'PASS' : 'FAIL'} ≤ 0.05×` });
    const fullPredict = median(fulls.map((f) => f.predictMs));
    const appendPredict = median(appends.map((a) => a.predictMs));
    rep.section('inside those jobs: the ML transform alone (loading the model, planning, reading, predicting, writing its file)');
    rep.row({ label: 'full predict', ms: fullPredict, times: fulls.map((f) => f.predictMs), base: true });
    rep.row({ label: 'after a 1% append', ms: appendPredict, times: appends.map((a) => a.predictMs), status: `info: ${(appendPredict / fullPredict).toFixed(3)}×` });
    rep.section('whole commands (CLI start-up, put file re-reading the CSV, the job)');
    rep.row({ label: 'put file --wait after the edit (full predict)', ms: fulls.at(-1).command, base: true });
    rep.row({ label: 'put file --wait after an append', ms: median(appends.map((a) => a.command)), times: appends.map((a) => a.command) });
    rep.check('predict job after a 1% append / full predict job', { actual: `${ratio.toFixed(3)}× (${Math.round(append)} ms vs ${Math.round(full)} ms)`, target: '≤ 0.05×', pass: ratio <= 0.05 });
    rep.check('ML transform after a 1% append / full predict transform', { actual: `${(appendPredict / fullPredict).toFixed(3)}×`, target: 'report', pass: true });
  },
};
