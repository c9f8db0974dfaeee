// Scenario 8 — question: does memory stay flat when a file far larger than RAM budgets goes
// through tusk — put from a pipe, then get into a pipe? Target (issue): peak RSS < 256 MiB for
// both, with a 10 GiB stream. The data is generated on the fly and never stored twice.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { BENCH_DIR, MiB, NODE, T, fmtBytes, fmtRss, freshStore, measure, sh, status, trash, tusk } from '../lib.js';

const RSS_BUDGET_KIB = 256 * 1024;

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
    rep.check('peak RSS, put file from stdin', { actual: fmtRss(put.rssKiB), target: '< 256 MiB', pass: putPass });
    rep.check('peak RSS, get file to a pipe', { actual: fmtRss(get.rssKiB), target: '< 256 MiB', pass: getPass });
    rep.check('content got back', { actual: want === got ? `identical (SHA-1, ${fmtBytes(size)})` : `different: put ${want}, got ${got}`, target: 'identical', pass: want === got });
    trash(dir);
  },
};
