// Scenario 17 — question: does training on a CSV bigger than memory hold its memory flat? A
// generated regression/classification CSV (8 features, a number target, 3 classes; 50,000,000
// rows, about 3.5 GB, at full size) is trained on through `create pipeline --wait` with the data
// read a batch at a time (it is above transform.ml.data.in_memory_mib): a linear model, a logistic
// model and an MLP. Each row gives the job's time (its own start and finish, so CLI start-up and
// the put are left out), rows per second (rows of the file over that time; the fits read the file
// several times) and the whole command's peak RSS. The baseline is the same chain on the same
// file held whole (in_memory_mib above its size), run where the file fits in memory (≤ 1 GiB).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GiB, T, exec, freshStore, measure, prng, tusk } from '../lib.js';

const FEATURES = 8;

/** Rows `from`..`to` of the seeded CSV: FEATURES numbers, y and cls. */
function csvRows(from, to) {
  const r = prng(`ml-stream-${from}`);
  const u = () => r(2 ** 30) / 2 ** 30;
  const lines = from === 0 ? [[...Array.from({ length: FEATURES }, (_, j) => `x${j}`), 'y', 'cls'].join(',')] : [];
  for (let i = from; i < to; i++) {
    const x = Array.from({ length: FEATURES }, () => u() * 2 - 1);
    const y = 3 + x.reduce((s, v, j) => s + v * (j + 1), 0) + (u() - 0.5) * 0.1;
    const c = x[0] + x[1] * x[2] > 0 ? 'a' : x[3] > 0.5 ? 'b' : 'c';
    lines.push(`${x.map((v) => v.toFixed(4)).join(',')},${y.toFixed(4)},${c}`);
  }
  return lines.join('\n') + '\n';
}

/** The job of a pipeline: its own duration and the log lines of its ML transform. */
function lastJob(env, pipeline) {
  const [j] = JSON.parse(exec(tusk('list', 'job', '-p', pipeline, '-n', '1', '--json'), { env }));
  if (j.state !== 'JOB_SUCCESS') throw new Error(`job ${pipeline}@${j.id} ended ${j.state}: ${j.reason}`);
  const logs = exec(tusk('logs', '-j', `${pipeline}@${j.id}`, '--raw'), { env });
  return { ms: Date.parse(j.finished) - Date.parse(j.started), passes: /(\d+) passes over/.exec(logs)?.[1] };
}

export default {
  id: 17,
  title: 'ML training on data bigger than memory',
  question: 'do train jobs on a CSV read a batch at a time keep peak RSS flat, and at how many rows a second?',
  async run(ctx, rep) {
    const rows = ctx.quick ? 500_000 : 50_000_000;
    const dir = ctx.dir('ml-stream');
    const store = await freshStore(path.join(dir, 'store'), ['data']);
    const env = { TUSK_STORE: store, TUSK_RUNNER: 'foreground' };
    const csv = path.join(dir, 'data.csv');
    fs.writeFileSync(csv, '');
    for (let s = 0; s < rows; s += 100_000) fs.appendFileSync(csv, csvRows(s, Math.min(rows, s + 100_000)));
    const bytes = fs.statSync(csv).size;
    exec(tusk('put', 'file', 'data@master:/data.csv', '-f', csv), { env });
    fs.rmSync(csv);
    const wholeFits = bytes <= 1 * GiB;
    const mib = Math.ceil(bytes / 2 ** 20);

    const models = [
      { name: 'linear', what: 'StandardScaler + LinearRegression', label: 'y', chain: [{ StandardScaler: {} }, { LinearRegression: {} }] },
      { name: 'logistic', what: 'StandardScaler + LogisticRegression (max_iter 15)', label: 'cls', chain: [{ StandardScaler: {} }, { LogisticRegression: { max_iter: 15 } }] },
      { name: 'mlp', what: 'StandardScaler + MLPClassifier (hidden [32], 1 epoch, batch 256, wasm)', label: 'cls', chain: [{ StandardScaler: {} }, { MLPClassifier: { hidden: [32], epochs: 1, batch_size: 256 } }], backend: 'wasm' },
    ];
    const data = `${rows.toLocaleString('en-US')} rows (${(bytes / 2 ** 20).toFixed(0)} MiB of CSV, ${FEATURES} features), split test 0.2`;
    for (const m of models) {
      rep.section(`${m.what} on ${data}`);
      const run = async (tag, inMemoryMib) => {
        const name = `${m.name}-${tag}`;
        const spec = path.join(dir, `${name}.json`);
        const ml = { task: 'train', seed: 1, ...(m.backend ? { backend: m.backend } : {}), data: { path: '/pfs/data/data.csv', label: m.label, features: Array.from({ length: FEATURES }, (_, j) => `x${j}`), in_memory_mib: inMemoryMib }, chain: m.chain, split: { test: 0.2, seed: 1 } };
        fs.writeFileSync(spec, JSON.stringify({ pipeline: { name }, input: { pfs: { repo: 'data', glob: '/' } }, transform: { ml } }));
        const r = await measure([T(tusk('create', 'pipeline', '-f', spec, '--wait'))], { env });
        return { ...r, job: lastJob(env, name) };
      };
      const rate = (ms) => `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;
      // the whole command's CPU (GNU time) beside the job's wall time: on a busy machine the wall time says little alone
      const cpu = (r) => (r.cpuMs == null ? '' : `; CPU ${(r.cpuMs / 1000).toFixed(1)} s`);
      const base = wholeFits ? await run('whole', mib + 1) : null;
      const streamed = await run('streamed', 0);
      if (base) rep.row({ label: 'data held whole (job)', ms: base.job.ms, rssKiB: base.rssKiB, base: true, status: `info: ${rate(base.job.ms)}${cpu(base)}` });
      const passes = streamed.job.passes ? `; ${streamed.job.passes} passes in the fit` : '';
      rep.row({ label: 'read a batch at a time (job)', ms: streamed.job.ms, rssKiB: streamed.rssKiB, status: `info: ${rate(streamed.job.ms)}${passes}${cpu(streamed)}` });
      rep.check(`${m.name}: read a batch at a time: rows/s, peak RSS${base ? ' (/ held whole)' : ''}`, {
        actual: `${rate(streamed.job.ms)}, ${Math.round(streamed.rssKiB / 1024)} MiB${base ? ` (vs ${Math.round(base.rssKiB / 1024)} MiB: ${(streamed.rssKiB / base.rssKiB).toFixed(2)}×)` : ''}`,
        target: 'report',
        pass: true,
      });
    }
    if (!wholeFits) rep.note('the file is larger than 1 GiB: the whole-table baseline is not run');
  },
};
