// Scenario 7 — question: how much does tusk's start-up cost over a bare node process, on a
// store with 100 repos? Target (issue): `tusk list repo` ≤ 3× `node -e 0`.
import * as path from 'node:path';
import { NODE, T, freshStore, interleave, measure, status, tusk } from '../lib.js';

const BUDGET = 3;

export default {
  id: 7,
  title: 'Start-up: list repo on a store with 100 repos',
  question: 'does `tusk list repo` on a store with 100 repos start about as fast as node itself?',
  async run(ctx, rep) {
    const n = ctx.sizes.repos;
    rep.title = `Start-up: list repo on a store with ${n} repos`;
    const dir = ctx.dir('startup');
    const store = await freshStore(path.join(dir, 'store'), Array.from({ length: n }, (_, i) => `repo${String(i).padStart(3, '0')}`));
    const env = { TUSK_STORE: store };
    const runs = Math.max(ctx.runs, 10);
    const { node, version, list } = await interleave(
      runs,
      {
        node: { step: () => measure([T([NODE, '-e', '0'])]) },
        version: { step: () => measure([T(tusk('--version'))], { env }) },
        list: { step: () => measure([T(tusk('list', 'repo'))], { env, capture: true }) },
      },
      { capMs: Infinity }, // cheap steps: always the full number of runs
    );
    rep.row({ label: 'node -e 0', ms: node.ms, times: node.times, rssKiB: node.rssKiB, base: true });
    rep.row({ label: 'tusk --version (no store)', ms: version.ms, times: version.times, rssKiB: version.rssKiB, status: 'info' });
    const lines = list.last.stdout.trimEnd().split('\n').length;
    const ratio = list.ms / node.ms;
    const pass = ratio <= BUDGET && lines === n + 1;
    rep.row({ label: 'tusk list repo', ms: list.ms, times: list.times, rssKiB: list.rssKiB, status: status(pass, `≤ ${BUDGET}×`) });
    rep.check('list repo / node -e 0', { actual: `${ratio.toFixed(2)}× (${list.ms.toFixed(0)} ms vs ${node.ms.toFixed(0)} ms)${lines === n + 1 ? '' : `, printed ${lines} lines`}`, target: `≤ ${BUDGET}×`, pass });
  },
};
