// Scenario 6 — question: does `diff file` between two commits that differ in one file cost the
// same whatever the size of the tree (it should skip every equal subtree unread)?
// Target (issue): must not grow with tree size; the bench's budget: diff on the 10× larger tree
// ≤ 1.2× the time on the smaller one (medians), and exactly that one file reported.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { T, fmtMs, freshStore, interleave, log, measure, putSyntheticTree, status, trash, tusk } from '../lib.js';

const BUDGET = 1.2;

export default {
  id: 6,
  title: 'diff file between commits that differ in one file',
  question: 'does `diff file` of two commits differing in one file cost the same on a 10× larger tree?',
  async run(ctx, rep) {
    const sizes = [ctx.sizes.diffSmall, ctx.sizes.diffBig];
    const dirs = ctx.sizes.smallDirs;
    rep.title = `diff file, 1 file changed: ${sizes.map((n) => n.toLocaleString('en')).join(' vs ')} files in ${dirs} dirs`;
    const dir = ctx.dir('diff');
    const repoOf = (n) => `t${n}`;
    const store = await freshStore(path.join(dir, 'store'), sizes.map(repoOf));
    const env = { TUSK_STORE: store };
    const value = path.join(dir, 'value.txt');
    fs.writeFileSync(value, 'changed\n');
    const changed = '/d042/f000042.dat';
    for (const n of sizes) {
      log(`building a ${n.toLocaleString('en')}-file tree (untimed)`);
      const paths = Array.from({ length: n }, (_, i) => `/d${String(i % dirs).padStart(3, '0')}/f${String(i).padStart(6, '0')}.dat`);
      await putSyntheticTree(store, repoOf(n), paths, { seed: 'diff' });
      await measure([T(tusk('put', 'file', `${repoOf(n)}@master:${changed}`, '-f', value))], { env });
    }
    const runs = Math.max(ctx.runs, 7);
    const diff = (n) => ({ step: () => measure([T(tusk('diff', 'file', `${repoOf(n)}@master`, `${repoOf(n)}@master^`, '--json'))], { env, capture: true }) });
    const { startup, small, big } = await interleave(
      runs,
      {
        startup: { step: () => measure([T(tusk('inspect', 'branch', `${repoOf(sizes[1])}@master`))], { env }) },
        small: diff(sizes[0]),
        big: diff(sizes[1]),
      },
      { capMs: Infinity }, // cheap steps: always the full number of runs
    );
    rep.row({ label: 'tusk inspect branch (start-up)', ms: startup.ms, times: startup.times, rssKiB: startup.rssKiB, status: 'info' });
    const res = [
      { n: sizes[0], ...small },
      { n: sizes[1], ...big },
    ].map((r) => {
      let reported;
      try {
        reported = JSON.parse(r.last.stdout).map((e) => `${e.op}${e.path}`);
      } catch {
        reported = null;
      }
      return { ...r, reported };
    });
    const [a, b] = res;
    const ratio = b.ms / a.ms;
    const pass = ratio <= BUDGET;
    rep.row({ label: `tusk diff file (${a.n.toLocaleString('en')} files)`, ms: a.ms, times: a.times, rssKiB: a.rssKiB, base: true });
    rep.row({ label: `tusk diff file (${b.n.toLocaleString('en')} files)`, ms: b.ms, times: b.times, rssKiB: b.rssKiB, status: status(pass, `≤ ${BUDGET}×`) });
    rep.note(`work beyond start-up: ${fmtMs(a.ms - startup.ms)} (${a.n.toLocaleString('en')} files) vs ${fmtMs(b.ms - startup.ms)} (${b.n.toLocaleString('en')} files)`);
    const expected = ['+' + changed, '-' + changed];
    const right = res.every((r) => r.reported && r.reported.length === 2 && expected.every((e) => r.reported.includes(e)));
    rep.check(`diff time, ${b.n.toLocaleString('en')} / ${a.n.toLocaleString('en')} files`, { actual: `${ratio.toFixed(2)}× (${fmtMs(b.ms)} vs ${fmtMs(a.ms)})`, target: `≤ ${BUDGET}× (bench budget for "does not grow")`, pass });
    rep.check('diff reports exactly the changed file', { actual: right ? expected.join(' ') : JSON.stringify(res.map((r) => r.reported?.slice(0, 4))), target: expected.join(' '), pass: right });
    trash(dir);
  },
};
