// Scenario 8 — question: does memory stay flat when a file far larger than RAM budgets goes
// through tusk — put from a pipe, then get into a pipe? Target (issue): peak RSS < 256 MiB for
// both, with a 10 GiB stream. The data is generated on the fly and never stored twice.
// Target (the store-at-scale issue): put's memory flat at any size — its peak RSS for the 10 GiB
// stream against a 1 GiB one (its buffers are at their full size by then), into a store of its
// own, grows ≤ 1 MiB per GiB. Quick mode's 1 GiB stream has nothing to compare with: no check.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { BENCH_DIR, GiB, MiB, NODE, T, fmtBytes, fmtRss, freshStore, measure, sh, status, trash, tusk } from '../lib.js';

const RSS_BUDGET_KIB = 256 * 1024;
/** put's peak RSS growth per GiB between a stream a tenth the size and the full one */
const GROWTH_BUDGET_KIB_PER_GIB = 1024;

export default {
  id: 8,
  title: 'Memory: a 10 GiB stream through put and get',
  question: 'does peak RSS stay bounded when a 10 GiB stream is put from stdin and got back into a pipe?',
  async run(ctx, rep) {
    const size = ctx.sizes.memory;
    rep.title = `Memory: a ${fmtBytes(size)} stream through put and get`;
    const dir = ctx.dir('memory');
    const store = await freshStore(path.join(dir, 'store'));
    const env = { TUSK_STORE: store };
    const genHash = path.join(dir, 'gen.sha1');
    const gen = sh([NODE, path.join(BENCH_DIR, 'gen-stream.js'), 'memory', String(size), genHash]);
    const sink = (f) => sh([NODE, path.join(BENCH_DIR, 'hash-sink.js'), f]);

    const base = await measure([`${gen} |`, T(['cat']), '>/dev/null']);
    rep.row({ label: 'generate | cat > /dev/null', ms: base.ms, rssKiB: base.rssKiB, base: true });
    const put = await measure([`${gen} |`, T(tusk('put', 'file', 'r@master:/big'))], { env });
    const putPass = put.rssKiB !== null && put.rssKiB < RSS_BUDGET_KIB;
    rep.row({ label: 'generate | tusk put file (stdin)', ms: put.ms, rssKiB: put.rssKiB, status: status(putPass, '< 256 MiB') });
    const getHash = path.join(dir, 'get.sha1');
    const get = await measure([T(tusk('get', 'file', 'r@master:/big')), `| ${sink(getHash)}`], { env });
    const getPass = get.rssKiB !== null && get.rssKiB < RSS_BUDGET_KIB;
    rep.row({ label: 'tusk get file | hash', ms: get.ms, rssKiB: get.rssKiB, status: status(getPass, '< 256 MiB') });
    const want = fs.readFileSync(genHash, 'utf8').trim();
    const got = fs.readFileSync(getHash, 'utf8').trim();
    rep.note(`throughput: put ${((size / MiB) / (put.ms / 1000)).toFixed(0)} MiB/s, get ${((size / MiB) / (get.ms / 1000)).toFixed(0)} MiB/s; RSS is tusk's alone (not the generator's or the hasher's)`);
    // the same put of 1 GiB, into a store of its own: what grows with the size
    const small = size >= 4 * GiB ? 1 * GiB : null;
    let put10 = null;
    if (small) {
      const store10 = await freshStore(path.join(dir, 'store10'));
      const gen10 = sh([NODE, path.join(BENCH_DIR, 'gen-stream.js'), 'memory', String(small), path.join(dir, 'gen10.sha1')]);
      put10 = await measure([`${gen10} |`, T(tusk('put', 'file', 'r@master:/big'))], { env: { TUSK_STORE: store10 } });
      trash(store10);
      rep.row({ label: `generate ${fmtBytes(small)} | tusk put file (stdin)`, ms: put10.ms, rssKiB: put10.rssKiB, status: 'info' });
    }
    const perGiB = put.rssKiB === null || put10?.rssKiB == null ? null : ((put.rssKiB - put10.rssKiB) * GiB) / (size - small);
    rep.check('peak RSS, put file from stdin', { actual: fmtRss(put.rssKiB), target: '< 256 MiB', pass: putPass });
    rep.check(`put's peak RSS growth per GiB (${small ? fmtBytes(small) : '—'} → ${fmtBytes(size)})`, {
      actual: perGiB === null ? (small ? 'not measured' : 'not measured in quick mode') : `${fmtRss(Math.max(0, perGiB))} (${fmtRss(put10.rssKiB)} → ${fmtRss(put.rssKiB)})`,
      target: `≤ ${fmtRss(GROWTH_BUDGET_KIB_PER_GIB)} per GiB`,
      pass: perGiB === null ? null : perGiB <= GROWTH_BUDGET_KIB_PER_GIB,
    });
    rep.check('peak RSS, get file to a pipe', { actual: fmtRss(get.rssKiB), target: '< 256 MiB', pass: getPass });
    rep.check('content got back', { actual: want === got ? `identical (SHA-1, ${fmtBytes(size)})` : `different: put ${want}, got ${got}`, target: 'identical', pass: want === got });
    trash(dir);
  },
};
