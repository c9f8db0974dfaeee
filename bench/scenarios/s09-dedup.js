// Scenario 9 — question: is data already in the store stored again when the same large file is
// put into another repo, or onto another branch? Target (issue): the store grows by ~0 (here:
// ≤ 1 MiB of metadata). Each put reads a fresh copy (a new inode), so chunk-level dedup is what
// is measured, not the local file cache.
import * as path from 'node:path';
import { MiB, T, dirBytes, exec, fmtBytes, freshStore, measure, repeat, status, trash, tusk } from '../lib.js';
import { bigSource } from './big-file.js';

const GROWTH_BUDGET = 1 * MiB;

export default {
  id: 9,
  title: 'Dedup across repos and branches',
  question: 'is a large file already in the store stored again when it is put into a second repo or onto a second branch?',
  async run(ctx, rep) {
    const src = bigSource(ctx);
    rep.title = `Dedup: the same ${fmtBytes(src.size)} into two repos and a branch`;
    const dir = ctx.dir('dedup');
    const copyA = path.join(dir, 'copy-a.bin');
    const copyB = path.join(dir, 'copy-b.bin');
    const copyC = path.join(dir, 'copy-c.bin');

    const base = await repeat(ctx.runs, () => measure([T(['cp', src.file, copyA]), '&& sync']), () => trash(copyA));
    rep.row({ label: 'cp + sync', ms: base.ms, times: base.times, rssKiB: base.rssKiB, base: true });
    exec(['cp', src.file, copyB]);
    exec(['cp', src.file, copyC]);

    const store = await freshStore(path.join(dir, 'store'), ['a', 'b']);
    const env = { TUSK_STORE: store };
    const put = async (label, target, file) => {
      const before = dirBytes(store);
      const r = await measure([T(tusk('put', 'file', target, '-f', file))], { env });
      const growth = dirBytes(store) - before;
      return { label, ...r, growth };
    };
    const first = await put('tusk put → a@master (first copy)', 'a@master:/big.bin', copyA);
    rep.row({ ...first, status: 'stores it once' });
    const results = [];
    for (const [label, target, file] of [
      ['tusk put → b@master (other repo)', 'b@master:/big.bin', copyB],
      ['tusk put → a@dev (other branch)', 'a@dev:/big.bin', copyC],
    ]) {
      const r = await put(label, target, file);
      const pass = r.growth <= GROWTH_BUDGET;
      rep.row({ ...r, status: status(pass, `≤ ${fmtBytes(GROWTH_BUDGET)}`) });
      results.push({ ...r, pass });
    }
    for (const r of results) rep.check(`store growth, ${r.label.replace('tusk put → ', '')}`, { actual: fmtBytes(r.growth), target: `≤ ${fmtBytes(GROWTH_BUDGET)}`, pass: r.pass });
    trash(dir);
  },
};
