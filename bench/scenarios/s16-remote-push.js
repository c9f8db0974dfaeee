// Scenario 16 — question: does pushing to an S3 remote, and cloning back from it, cost what a
// plain copy of the same bytes to and from the same server costs (`rclone copy`), for one large
// incompressible file and for many small files, and how many requests does each make? Targets
// (issue): push of the 1 GiB file ≤ 1.2× rclone copy, its clone ≤ 1.3× rclone copy back; push of
// 100,000 small files ≥ 5× faster than rclone copy of the tree, ≤ 200 objects, their clone ≤ 1.3×
// rclone copy back; re-push after 100 changed + 100 new files ≤ 2 s. restic's S3 backend is
// reported beside them. Every tool talks to the same s3rver through one counting proxy.
// TUSK_REMOTE_PACK_MIB sets the remote pack size (bench/README.md has the sizes compared).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { T, exec, fmtBytes, fmtMs, freshStore, have, interleave, makeSmallTree, measure, mutateSmallTree, remove, status, tusk, writeRandomFile } from '../lib.js';
import { fmtCounts, S3_ENV, startCountingS3, withoutCaBundle } from '../s3-proxy.js';

const SMALL_OBJECTS_BUDGET = 200;
const REPUSH_BUDGET_MS = 2000;
const CLONE_RATIO = 1.3;

export default {
  id: 16,
  title: 'Push to and clone from an S3 remote',
  question: 'do tusk push and tusk clone cost what rclone copy of the same bytes to and from the same S3 server costs, for one big file and for many small files?',
  run(ctx, rep) {
    return withoutCaBundle(() => this.measure(ctx, rep));
  },
  async measure(ctx, rep) {
    const dir = ctx.dir('remote');
    const s3 = await startCountingS3(ctx.dir('remote/s3'), ['tusk', 'rclone', 'restic']);
    try {
      const env = S3_ENV;
      const rcloneEnv = {
        RCLONE_CONFIG_BENCH_TYPE: 's3',
        RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
        RCLONE_CONFIG_BENCH_ENDPOINT: s3.endpoint,
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: S3_ENV.AWS_ACCESS_KEY_ID,
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: S3_ENV.AWS_SECRET_ACCESS_KEY,
        RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
      };
      const hasRclone = have('rclone');
      const hasRestic = have('restic');
      if (!hasRclone) rep.note('rclone not installed: the baselines are skipped');

      // a store holding the data, built untimed; each timed push goes to a fresh prefix
      const size = ctx.sizes.big;
      const big = path.join(dir, 'big.bin');
      writeRandomFile(big, size, 'remote-big');
      const bigStore = await freshStore(path.join(dir, 'big-store'), ['big']);
      exec(tusk('put', 'file', 'big@master:/big.bin', '-f', big), { env: { TUSK_STORE: bigStore } });
      let round = 0;
      const pushTo = async (store, label) => {
        const name = `r${++round}`;
        exec(tusk('remote', 'add', name, `s3://tusk/${label}-${name}`, '--endpoint', s3.endpoint, '--path-style', '--checksums', 'when-required'), { env: { TUSK_STORE: store } });
        const before = s3.snapshot();
        const r = await measure([T(tusk('push', name, '--json'))], { env: { ...env, TUSK_STORE: store }, capture: true });
        return { ...r, requests: s3.since(before), remote: name };
      };
      const rcloneTo = async (src, label) => {
        const before = s3.snapshot();
        const dest = `bench:rclone/${label}-${++round}`;
        const r = await measure([T(['rclone', 'copy', src, dest, '--s3-no-check-bucket'])], { env: rcloneEnv });
        return { ...r, requests: s3.since(before), dest };
      };
      // clones and copies back go to a fresh local directory each, removed after the round
      const cloneFrom = async (remote, label) => {
        const into = path.join(dir, `clone-${label}-${++round}`);
        const before = s3.snapshot();
        const r = await measure([T(tusk('clone', remote, into, '--endpoint', s3.endpoint, '--path-style', '--checksums', 'when-required', '--json'))], { env, capture: true });
        const requests = s3.since(before);
        fs.rmSync(into, { recursive: true, force: true });
        return { ...r, requests };
      };
      const rcloneFrom = async (src, label) => {
        const into = path.join(dir, `copy-${label}-${++round}`);
        const before = s3.snapshot();
        const r = await measure([T(['rclone', 'copy', src, into])], { env: rcloneEnv });
        const requests = s3.since(before);
        fs.rmSync(into, { recursive: true, force: true });
        return { ...r, requests };
      };
      const cloneRows = async (runs, pushed, copied, label, section) => {
        rep.section(section);
        const steps = { clone: { step: () => cloneFrom(`s3://tusk/${label}-${pushed.last.remote}`, label) } };
        if (copied) steps.rclone = { step: () => rcloneFrom(copied.last.dest, label) };
        const r = await interleave(runs, steps);
        if (copied) rep.row({ label: 'rclone copy back', ms: r.rclone.ms, times: r.rclone.times, rssKiB: r.rclone.rssKiB, base: true, status: fmtCounts(r.rclone.last.requests) });
        const row = rep.row({ label: 'tusk clone', ms: r.clone.ms, times: r.clone.times, rssKiB: r.clone.rssKiB, status: fmtCounts(r.clone.last.requests) });
        if (copied) {
          const ratio = rep.ratio(row);
          rep.check(`clone of the ${label === 'big' ? 'big file' : 'small files'} / rclone copy back`, { actual: `${ratio.toFixed(2)}×`, target: `≤ ${CLONE_RATIO}× (issue)`, pass: ratio <= CLONE_RATIO });
        }
      };

      rep.section(`one ${fmtBytes(size)} incompressible file`);
      const steps = { push: { step: () => pushTo(bigStore, 'big') } };
      if (hasRclone) steps.rclone = { step: () => rcloneTo(big, 'big') };
      const big1 = await interleave(ctx.runs, steps);
      if (hasRclone) rep.row({ label: 'rclone copy', ms: big1.rclone.ms, times: big1.rclone.times, rssKiB: big1.rclone.rssKiB, base: true, status: fmtCounts(big1.rclone.last.requests) });
      const pushRow = rep.row({ label: 'tusk push', ms: big1.push.ms, times: big1.push.times, rssKiB: big1.push.rssKiB, status: fmtCounts(big1.push.last.requests) });
      if (hasRestic) {
        // restic 0.14 stalls behind the counting proxy, so it talks to the server directly (its
        // requests are not counted); a bounded try, reported either way
        const renv = { ...S3_ENV, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: `s3:${s3.directEndpoint}/restic/big` };
        const init = await measure(['timeout 60', T(['restic', 'init'])], { env: renv, allowFail: true });
        const r = init.code === 0 ? await measure(['timeout 600', T(['restic', 'backup', '--quiet', big])], { env: renv, allowFail: true }) : init;
        if (r.code === 0) rep.row({ label: 'restic backup (info)', ms: r.ms, rssKiB: r.rssKiB, status: 'requests not counted' });
        else rep.note(`restic ${init.code === 0 ? 'backup' : 'init'} against s3rver failed (exit ${r.code}: ${r.stderr.trim().split('\n').pop()}): its row is skipped`);
      }
      if (hasRclone) {
        const ratio = rep.ratio(pushRow);
        rep.check('push of the big file / rclone copy', { actual: `${ratio.toFixed(2)}×`, target: '≤ 1.2× (issue)', pass: ratio <= 1.2 });
      }
      await cloneRows(ctx.runs, big1.push, hasRclone ? big1.rclone : null, 'big', `the ${fmtBytes(size)} file cloned back`);

      rep.section(`${ctx.sizes.small.toLocaleString('en')} small files (1–8 KiB)`);
      const tree = path.join(dir, 'tree');
      makeSmallTree(tree, { files: ctx.sizes.small, dirs: ctx.sizes.smallDirs, seed: 'remote-small' });
      const smallStore = await freshStore(path.join(dir, 'small-store'), ['small']);
      exec(tusk('put', 'file', '-r', 'small@master:/', '-f', tree), { env: { TUSK_STORE: smallStore } });
      const smallSteps = { push: { step: () => pushTo(smallStore, 'small') } };
      if (hasRclone) smallSteps.rclone = { step: () => rcloneTo(tree, 'small') };
      // rclone's copy of 100,000 objects takes minutes: one round each
      const small = await interleave(1, smallSteps);
      if (hasRclone) rep.row({ label: 'rclone copy', ms: small.rclone.ms, times: small.rclone.times, base: true, status: fmtCounts(small.rclone.last.requests) });
      rep.row({ label: 'tusk push', ms: small.push.ms, times: small.push.times, rssKiB: small.push.rssKiB, status: fmtCounts(small.push.last.requests) });
      rep.check('objects written by the push of the small files', { actual: String(small.push.last.requests.PUT), target: `≤ ${SMALL_OBJECTS_BUDGET} (issue)`, pass: small.push.last.requests.PUT <= SMALL_OBJECTS_BUDGET });
      if (hasRclone) {
        const speedup = small.rclone.ms / small.push.ms;
        rep.check('rclone copy / push of the small files', { actual: `${speedup.toFixed(1)}× faster`, target: '≥ 5× faster (issue)', pass: speedup >= 5 });
      }
      // before the tree changes: rclone's copy back is of the tree it pushed
      await cloneRows(1, small.push, hasRclone ? small.rclone : null, 'small', `the ${ctx.sizes.small.toLocaleString('en')} small files cloned back`);
      rep.section(`${ctx.sizes.small.toLocaleString('en')} small files, pushed again`);

      // 100 changed + 100 new files, put, then pushed to the remote that has the rest
      mutateSmallTree(tree, { files: ctx.sizes.small, dirs: ctx.sizes.smallDirs, change: ctx.sizes.change, add: ctx.sizes.add, seed: 'remote-small-2' });
      exec(tusk('put', 'file', '-r', 'small@master:/', '-f', tree), { env: { TUSK_STORE: smallStore } });
      const before = s3.snapshot();
      const again = await measure([T(tusk('push', small.push.last.remote, '--json'))], { env: { ...env, TUSK_STORE: smallStore }, capture: true });
      const sent = JSON.parse(again.stdout);
      rep.row({ label: `tusk push after ${ctx.sizes.change} changed + ${ctx.sizes.add} new`, ms: again.ms, rssKiB: again.rssKiB, status: `${status(again.ms <= REPUSH_BUDGET_MS, `≤ ${fmtMs(REPUSH_BUDGET_MS)}`)} · ${fmtBytes(sent.bytes)} sent · ${fmtCounts(s3.since(before))}` });
      rep.check('re-push after a small change', { actual: fmtMs(again.ms), target: `≤ ${fmtMs(REPUSH_BUDGET_MS)} (issue)`, pass: again.ms <= REPUSH_BUDGET_MS });
      rep.note(`remote packs are ${process.env.TUSK_REMOTE_PACK_MIB ?? 32} MiB (TUSK_REMOTE_PACK_MIB); request counts are for the last round, seen at the proxy`);
    } finally {
      await s3.close();
      remove(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
