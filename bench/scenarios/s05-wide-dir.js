// Scenario 5 — question: in one directory of 1,000,000 entries, does changing one entry cost
// O(log n) — a few small tree pages and a quick commit — and do a page of `list file` and an
// `inspect file` stay as fast as start-up?
// Targets: issue — one changed entry writes < 64 KiB of new tree pages (growth of the nodes
// table) and commits in < 100 ms beyond process start. "Stay fast" is the bench's own budget:
// inspect file and a 100-entry list file each within 50 ms of start-up.
// Start-up is `tusk inspect branch` on the same store: process start, store open, one query.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KiB, T, fmtBytes, fmtMs, interleave, measure, nodeBytes, status, trash, tusk } from '../lib.js';
import { entryName, wideStore } from './wide-dir.js';

const TREE_BUDGET = 64 * KiB;
const COMMIT_BUDGET_MS = 100;
const READ_BUDGET_MS = 50;

export default {
  id: 5,
  title: 'One directory of 1,000,000 entries',
  question: 'in a directory of 1M entries, does changing one entry write only a few tree pages and commit fast, and do list/inspect of a page stay fast?',
  async run(ctx, rep) {
    const n = ctx.sizes.wide;
    rep.title = `One directory of ${n.toLocaleString('en')} entries`;
    const dir = ctx.dir('wide-edit');
    const store = await wideStore(ctx);
    const env = { TUSK_STORE: store };
    const runs = Math.max(ctx.runs, 7);

    const target = entryName(Math.floor(n / 2));
    const valueFile = path.join(dir, 'value.txt');
    // There is no paging flag: one page is asked for with a glob over 100 names.
    const pageGlob = 'wide@master:/dir/e00123??';
    let maxTree = 0;
    const { startup, put, tiny, inspect, page } = await interleave(
      runs,
      {
        startup: { step: () => measure([T(tusk('inspect', 'branch', 'wide@master'))], { env }) },
        put: {
          step: async () => {
            const before = (await nodeBytes(store)).n;
            const r = await measure([T(tusk('put', 'file', `wide@master:/dir/${target}`, '-f', valueFile))], { env });
            maxTree = Math.max(maxTree, (await nodeBytes(store)).n - before);
            return r;
          },
          setup: (i) => fs.writeFileSync(valueFile, `value ${i}\n`),
        },
        tiny: {
          step: () => measure([T(tusk('put', 'file', `tiny@master:/dir/${entryName(3)}`, '-f', valueFile))], { env }),
          setup: (i) => fs.writeFileSync(valueFile, `tiny ${i}\n`),
        },
        inspect: { step: () => measure([T(tusk('inspect', 'file', `wide@master:/dir/${entryName(Math.floor(n / 3) + 1)}`))], { env }) },
        page: { step: () => measure([T(tusk('list', 'file', pageGlob))], { env, capture: true }) },
      },
      { capMs: Infinity }, // cheap steps: always the full number of runs
    );
    rep.row({ label: 'tusk inspect branch (start-up)', ms: startup.ms, times: startup.times, rssKiB: startup.rssKiB, base: true });
    const commitWork = put.ms - startup.ms;
    const treePass = maxTree < TREE_BUDGET;
    const commitPass = commitWork < COMMIT_BUDGET_MS;
    rep.row({ label: `tusk put file (1 entry of ${n.toLocaleString('en')})`, ms: put.ms, times: put.times, rssKiB: put.rssKiB, growth: maxTree, status: status(treePass && commitPass, `< ${fmtBytes(TREE_BUDGET)} pages, < ${COMMIT_BUDGET_MS} ms work`) });
    rep.row({ label: 'tusk put file (1 entry of 10)', ms: tiny.ms, times: tiny.times, rssKiB: tiny.rssKiB, status: 'same command, small dir' });
    const inspectPass = inspect.ms - startup.ms <= READ_BUDGET_MS;
    rep.row({ label: 'tusk inspect file (1 entry)', ms: inspect.ms, times: inspect.times, rssKiB: inspect.rssKiB, status: status(inspectPass, `≤ start-up + ${READ_BUDGET_MS} ms`) });
    const pageLines = page.last.stdout.trimEnd().split('\n').length - 1; // less the header
    const pagePass = page.ms - startup.ms <= READ_BUDGET_MS;
    rep.row({ label: "tusk list file '/dir/e00123??' (100 entries)", ms: page.ms, times: page.times, rssKiB: page.rssKiB, status: status(pagePass, `≤ start-up + ${READ_BUDGET_MS} ms`) });
    const whole = await measure([T(tusk('list', 'file', 'wide@master:/dir')), '| head -n 100 >/dev/null'], { env });
    rep.row({ label: 'tusk list file /dir | head -n 100', ms: whole.ms, rssKiB: whole.rssKiB, status: 'info' });

    rep.note('"store +" of the put rows is the growth of the nodes table (tree pages) per changed entry, max over runs');
    rep.note(`work beyond start-up: put ${fmtMs(commitWork)} (small dir: ${fmtMs(tiny.ms - startup.ms)}), inspect ${fmtMs(inspect.ms - startup.ms)}, list page ${fmtMs(page.ms - startup.ms)}`);
    if (pageLines < 100) rep.note(`list file printed ${pageLines} lines for a 100-entry glob`);
    rep.check('new tree pages for one changed entry', { actual: fmtBytes(maxTree), target: `< ${fmtBytes(TREE_BUDGET)}`, pass: treePass });
    rep.check('one-entry commit, work beyond start-up', { actual: `${fmtMs(commitWork)} (${fmtMs(put.ms)} − ${fmtMs(startup.ms)})`, target: `< ${COMMIT_BUDGET_MS} ms`, pass: commitPass });
    rep.check('inspect file, beyond start-up', { actual: fmtMs(inspect.ms - startup.ms), target: `≤ ${READ_BUDGET_MS} ms (bench budget)`, pass: inspectPass });
    rep.check('list file of a 100-entry page, beyond start-up', { actual: fmtMs(page.ms - startup.ms), target: `≤ ${READ_BUDGET_MS} ms (bench budget)`, pass: pagePass });
    trash(dir);
  },
};
