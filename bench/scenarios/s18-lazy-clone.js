// Scenario 18 — question: how fast is a lazy clone (`tusk clone --lazy`: metadata only) of a repo
// of many small files, and how fast is the first read of one of its files (fetched on demand by a
// ranged GET), against a full clone and a read from it, on the same S3 server? Targets (issue):
// lazy clone of the 100,000-file repo ≤ 2 s; `get file` of one file ≤ 0.5 s. Requests are counted
// by the proxy in front of the server (scenario 16's).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { T, exec, fmtMs, freshStore, interleave, makeSmallTree, measure, remove, tusk } from '../lib.js';
import { fmtCounts, S3_ENV, startCountingS3, withoutCaBundle } from '../s3-proxy.js';

const CLONE_BUDGET_MS = 2000;
const GET_BUDGET_MS = 500;

export default {
  id: 18,
  title: 'Lazy clone from an S3 remote',
  question: 'how long do a lazy clone of many small files and the first read of one of them take, against a full clone and a read from it?',
  run(ctx, rep) {
    return withoutCaBundle(() => this.measure(ctx, rep));
  },
  async measure(ctx, rep) {
    const dir = ctx.dir('lazy');
    const s3 = await startCountingS3(ctx.dir('lazy/s3'), ['tusk']);
    try {
      const files = ctx.sizes.small;
      const dirs = ctx.sizes.smallDirs;
      const tree = path.join(dir, 'tree');
      makeSmallTree(tree, { files, dirs, seed: 'lazy-small' });
      const store = await freshStore(path.join(dir, 'store'), ['small']);
      exec(tusk('put', 'file', '-r', 'small@master:/', '-f', tree), { env: { TUSK_STORE: store } });
      const s3Flags = ['--endpoint', s3.endpoint, '--path-style', '--checksums', 'when-required'];
      exec(tusk('remote', 'add', 'origin', 's3://tusk/lazy', ...s3Flags), { env: { TUSK_STORE: store } });
      // the server runs in this process: a command talking to it must not block the event loop (exec)
      await measure([T(tusk('push', 'origin'))], { env: { ...S3_ENV, TUSK_STORE: store } });
      remove(tree);

      rep.section(`clone of ${files.toLocaleString('en')} small files (1–8 KiB)`);
      let n = 0;
      const cloneStep = (lazy) => async () => {
        const target = path.join(dir, `${lazy ? 'lazy' : 'full'}-${++n}`);
        const before = s3.snapshot();
        const r = await measure([T(tusk('clone', ...(lazy ? ['--lazy'] : []), 's3://tusk/lazy', target, ...s3Flags, '--json'))], { env: S3_ENV, capture: true });
        return { ...r, requests: s3.since(before), target, result: JSON.parse(r.stdout) };
      };
      const clones = await interleave(ctx.runs, { full: { step: cloneStep(false) }, lazy: { step: cloneStep(true) } });
      rep.row({ label: 'tusk clone', ms: clones.full.ms, times: clones.full.times, rssKiB: clones.full.rssKiB, base: true, status: fmtCounts(clones.full.last.requests) });
      const lazyRow = rep.row({
        label: 'tusk clone --lazy',
        ms: clones.lazy.ms,
        times: clones.lazy.times,
        rssKiB: clones.lazy.rssKiB,
        status: `${fmtCounts(clones.lazy.last.requests)} · ${clones.lazy.last.result.bytes} pack bytes · ${clones.lazy.last.result.remoteBacked.toLocaleString('en')} chunks left on the remote`,
      });
      rep.check(`lazy clone of ${files.toLocaleString('en')} files`, { actual: `${fmtMs(lazyRow.ms)} (${rep.ratio(lazyRow).toFixed(2)}× the full clone)`, target: `≤ ${fmtMs(CLONE_BUDGET_MS)} (issue, 100,000 files)`, pass: lazyRow.ms <= CLONE_BUDGET_MS });

      rep.section('get file of one file, first read');
      const full = clones.full.last.target;
      const lazy = clones.lazy.last.target;
      // a different file each round, so that every lazy read is a first read
      const fileOf = (i) => {
        const k = (i * 7919 + 11) % files;
        return `small@master:/d${String(k % dirs).padStart(3, '0')}/f${String(k).padStart(6, '0')}.dat`;
      };
      const getStep = (store) => async (i) => {
        const before = s3.snapshot();
        const r = await measure([T(tusk('get', 'file', fileOf(i), '-o', path.join(dir, 'out.dat')))], { env: { ...S3_ENV, TUSK_STORE: store } });
        return { ...r, requests: s3.since(before) };
      };
      const gets = await interleave(ctx.runs, { full: { step: getStep(full) }, lazy: { step: getStep(lazy) } });
      rep.row({ label: 'get file (full clone)', ms: gets.full.ms, times: gets.full.times, rssKiB: gets.full.rssKiB, base: true, status: fmtCounts(gets.full.last.requests) || 'no requests' });
      const getRow = rep.row({ label: 'get file (lazy clone, fetched on demand)', ms: gets.lazy.ms, times: gets.lazy.times, rssKiB: gets.lazy.rssKiB, status: fmtCounts(gets.lazy.last.requests) });
      rep.check('first read of one file in a lazy clone', { actual: `${fmtMs(getRow.ms)} (${rep.ratio(getRow).toFixed(2)}× a read from the full clone)`, target: `≤ ${fmtMs(GET_BUDGET_MS)} (issue)`, pass: getRow.ms <= GET_BUDGET_MS });
      rep.note('request counts are for the last round, seen at the proxy; each lazy read is of a file not read before');
    } finally {
      await s3.close();
      remove(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
