// Scenario 10 — question: on compressible data (a CSV), does tusk's per-chunk compression come
// close to `zstd -3` of the whole file, in stored size and in time? The issue sets no numbers;
// the budgets here are the bench's own: stored ≤ 1.15× zstd's output, time ≤ 1.5× zstd -3 + sync.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { T, dirBytes, fmtBytes, freshStore, interleave, log, measure, status, trash, tusk, writeCsv } from '../lib.js';

const SIZE_BUDGET = 1.15;
const TIME_BUDGET = 1.5;

export default {
  id: 10,
  title: 'Compressible data (CSV) vs zstd -3',
  question: 'on a compressible CSV, how close do tusk\'s stored size and put time come to `zstd -3` of the same file?',
  async run(ctx, rep) {
    if (!ctx.peers.zstd) {
      rep.note('zstd not installed: scenario skipped');
      rep.check('stored size vs zstd -3', { actual: 'zstd not installed', target: `≤ ${SIZE_BUDGET}×`, pass: null });
      return;
    }
    const dir = ctx.dir('csv');
    const csv = path.join(dir, 'data.csv');
    log(`generating a ${fmtBytes(ctx.sizes.csv)} CSV`);
    const size = writeCsv(csv, ctx.sizes.csv, 'csv');
    rep.title = `Compressible data: a ${fmtBytes(size)} CSV vs zstd -3`;
    const zst = path.join(dir, 'data.csv.zst');
    let store;
    let empty = 0;
    let growth = 0;
    let zsize = 0;
    const { base, put } = await interleave(ctx.runs, {
      base: {
        step: async () => {
          const r = await measure([T(['zstd', '-3', '-q', '-f', csv, '-o', zst]), '&& sync']);
          zsize = fs.statSync(zst).size;
          return r;
        },
        setup: () => trash(zst),
      },
      put: {
        step: async () => {
          const r = await measure([T(tusk('put', 'file', 'r@master:/data.csv', '-f', csv))], { env: { TUSK_STORE: store } });
          growth = dirBytes(store) - empty;
          return r;
        },
        setup: async () => {
          store = await freshStore(path.join(dir, 'store'));
          empty = dirBytes(store);
        },
      },
    });
    rep.row({ label: 'zstd -3 + sync', ms: base.ms, times: base.times, rssKiB: base.rssKiB, growth: zsize, base: true });
    const sizeRatio = growth / zsize;
    const timeRatio = put.ms / base.ms;
    rep.row({ label: 'tusk put file', ms: put.ms, times: put.times, rssKiB: put.rssKiB, growth, status: status(sizeRatio <= SIZE_BUDGET && timeRatio <= TIME_BUDGET, `≤ ${SIZE_BUDGET}× size, ≤ ${TIME_BUDGET}× time`) });
    rep.note(`"store +" of the zstd row is its output size; raw CSV ${fmtBytes(size)}: zstd -3 keeps ${((zsize / size) * 100).toFixed(1)}%, tusk ${((growth / size) * 100).toFixed(1)}%`);
    rep.check('stored size / zstd -3 output', { actual: `${sizeRatio.toFixed(2)}× (${fmtBytes(growth)} vs ${fmtBytes(zsize)})`, target: `≤ ${SIZE_BUDGET}× (bench budget)`, pass: sizeRatio <= SIZE_BUDGET });
    rep.check('put file / (zstd -3 + sync)', { actual: `${timeRatio.toFixed(2)}× (${(put.ms / 1000).toFixed(2)} s vs ${(base.ms / 1000).toFixed(2)} s)`, target: `≤ ${TIME_BUDGET}× (bench budget)`, pass: timeRatio <= TIME_BUDGET });
    trash(dir);
  },
};
