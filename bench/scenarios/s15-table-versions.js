// Scenario 15 — question: do versions of a table cost only their edits? Ten versions of a CSV
// (200 MB), each with 1% of its rows rewritten at random, put one after the other at one path:
// what each version after the first adds to the store, what `get file -o` of the newest, a middle
// and the first version costs against `cp` of the same file, and what a 1 MiB range read of the
// newest (longest delta chain) costs beyond start-up. Targets (issue): ≤ 1% of the file per
// version, get ≤ 1.5× cp, range read ≤ 100 ms beyond start-up. `zstd --long --patch-from` of the
// newest version against the one before is reported beside it, and `zstd -d` of each version read
// (the floor for a store that keeps it compressed), where zstd is installed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MiB, T, dirBytes, exec, fmtBytes, freshStore, log, measure, status, trash, tusk, writeCsvVersions } from '../lib.js';

const GROWTH_BUDGET = 0.01;
const GET_BUDGET = 1.5;
const RANGE_BUDGET_MS = 100;

export default {
  id: 15,
  title: 'Versions of a table as deltas',
  question: 'do ten versions of a CSV with 1% of rows edited in each cost only their edits, and do old versions still read fast?',
  async run(ctx, rep) {
    const dir = ctx.dir('table');
    const count = ctx.sizes.tableVersions;
    log(`generating ${count} versions of a ${fmtBytes(ctx.sizes.table)} CSV`);
    const files = writeCsvVersions(dir, count, ctx.sizes.table, 'table');
    const size = fs.statSync(files[count - 1]).size;
    rep.title = `Versions of a table: ${count} × a ${fmtBytes(size)} CSV, 1% of rows edited in each`;

    const store = await freshStore(path.join(dir, 'store'));
    const env = { TUSK_STORE: store };
    const commits = [];
    const growths = [];
    rep.section('puts, against the first');
    for (const [i, f] of files.entries()) {
      const before = dirBytes(store);
      const r = await measure([T(tusk('put', 'file', 'r@master:/t.csv', '-f', f, '--json'))], { env, capture: true });
      commits.push(JSON.parse(r.stdout).commit);
      growths.push(dirBytes(store) - before);
      rep.row({ label: `put version ${i + 1}`, ms: r.ms, times: [r.ms], rssKiB: r.rssKiB, growth: growths[i], base: i === 0 });
    }
    const later = growths.slice(1);
    const worst = Math.max(...later) / size;
    const mean = later.reduce((a, b) => a + b, 0) / later.length / size;
    rep.note(`store growth per later version: mean ${(mean * 100).toFixed(2)}%, worst ${(worst * 100).toFixed(2)}% of ${fmtBytes(size)}; the first version ${fmtBytes(growths[0])}`);
    rep.check('store growth per version after the first', { actual: `${(worst * 100).toFixed(2)}% worst, ${(mean * 100).toFixed(2)}% mean (${fmtBytes(Math.max(...later))})`, target: `≤ ${GROWTH_BUDGET * 100}% (issue)`, pass: worst <= GROWTH_BUDGET });

    if (ctx.peers.zstd) {
      const patch = path.join(dir, 'patch.zst');
      exec(['zstd', '-q', '-f', '--long=31', `--patch-from=${files[count - 2]}`, files[count - 1], '-o', patch]);
      rep.note(`zstd --long --patch-from of version ${count} against ${count - 1}: ${fmtBytes(fs.statSync(patch).size)}`);
      trash(patch);
    }

    // get -o of the newest (deepest chain), a middle and the first version, each against cp of it
    const out = path.join(dir, 'out.csv');
    let worstGet = 0;
    for (const i of [count - 1, Math.floor(count / 2), 0]) {
      rep.section(`version ${i + 1}`);
      // the median of three copies: one copy on a busy machine varies by an order of magnitude
      const cps = [];
      for (let k = 0; k < 3; k++) {
        cps.push(await measure([T(['cp', files[i], out])]));
        trash(out);
      }
      const cp = cps.sort((a, b) => a.ms - b.ms)[1];
      const get = await measure([T(tusk('get', 'file', `r@${commits[i]}:/t.csv`, '-o', out))], { env });
      const same = fs.statSync(out).size === fs.statSync(files[i]).size;
      trash(out);
      const ratio = get.ms / cp.ms;
      worstGet = Math.max(worstGet, ratio);
      rep.row({ label: `cp version ${i + 1}`, ms: cp.ms, times: cps.map((c) => c.ms), rssKiB: cp.rssKiB, base: true });
      rep.row({ label: `get file -o version ${i + 1}`, ms: get.ms, times: [get.ms], rssKiB: get.rssKiB, status: status(same && ratio <= GET_BUDGET, `≤ ${GET_BUDGET}× cp`) });
      if (ctx.peers.zstd) {
        // the floor for any store that keeps this version compressed: one zstd -3 frame of it, decompressed
        const zst = `${files[i]}.zst`;
        exec(['zstd', '-q', '-f', '-3', files[i], '-o', zst]);
        const unzstd = await measure([T(['zstd', '-q', '-d', '-f', zst, '-o', out])]);
        trash(out);
        trash(zst);
        rep.row({ label: `zstd -d version ${i + 1} (zstd -3 of it)`, ms: unzstd.ms, times: [unzstd.ms], rssKiB: unzstd.rssKiB, status: `peer; get / zstd -d ${(get.ms / unzstd.ms).toFixed(2)}×` });
      }
    }
    rep.check('get file -o / cp (worst version)', { actual: `${worstGet.toFixed(2)}×`, target: `≤ ${GET_BUDGET}× (issue)`, pass: worstGet <= GET_BUDGET });

    // a 1 MiB range of the newest version, against start-up (`tusk list repo`)
    rep.section('range read');
    const startup = await measure([T(tusk('list', 'repo'))], { env });
    const offset = Math.floor(size / 3);
    const range = await measure([T(tusk('get', 'file', `r@${commits[count - 1]}:/t.csv`, '--offset', String(offset), '--length', String(MiB), '-o', out))], { env });
    const same = fs.readFileSync(out).equals(fs.readFileSync(files[count - 1]).subarray(offset, offset + MiB));
    trash(out);
    const beyond = range.ms - startup.ms;
    rep.row({ label: 'start-up: tusk list repo', ms: startup.ms, times: [startup.ms], rssKiB: startup.rssKiB, base: true });
    rep.row({ label: `get file --offset --length 1 MiB, version ${count}`, ms: range.ms, times: [range.ms], rssKiB: range.rssKiB, status: status(same && beyond <= RANGE_BUDGET_MS, `≤ ${RANGE_BUDGET_MS} ms beyond start-up`) });
    rep.check('1 MiB range read beyond start-up', { actual: `${beyond.toFixed(0)} ms${same ? '' : ' (bytes differ!)'}`, target: `≤ ${RANGE_BUDGET_MS} ms (issue)`, pass: same && beyond <= RANGE_BUDGET_MS });
    trash(dir);
  },
};
