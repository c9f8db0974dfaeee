// Scenario 11 — questions (the pipelines issue): what does a job cost per datum next to a plain
// loop spawning the same command; does parallelism 2 use both cores; does a rerun after one
// changed input cost one datum (plus a small cost per skipped datum); how does materializing
// 1 GiB of inputs compare with `cp -r`?
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MiB, T, freshStore, interleave, measure, status, tusk, writeRandomFile } from '../lib.js';

function specFile(dir, name, body) {
  const f = path.join(dir, `${name}.json`);
  fs.writeFileSync(f, JSON.stringify({ pipeline: { name }, ...body }));
  return f;
}

export default {
  id: 11,
  title: 'Pipelines: datums, parallelism, reruns, materialization',
  question: 'does a job cost what its datums cost, and a rerun what changed?',
  async run(ctx, rep) {
    const quick = ctx.quick;
    const n = quick ? 1_000 : 10_000;
    const dir = ctx.dir('pipelines');
    const store = await freshStore(path.join(dir, 'store'), ['in', 'big']);
    const env = { TUSK_STORE: store, TUSK_RUNNER: 'foreground' };
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(src, `f${String(i).padStart(5, '0')}`), `row ${i}\n`);
    // `put -r repo@master:/ -f src` keeps the directory's name: the datums are /src/*
    await measure([T(tusk('put', 'file', '-r', 'in@master:/src', '-f', src))], { env });

    rep.section(`${n} datums, a trivial command`);
    // single runs of these moved by ±20% from run to run: the loop and the two parallelism
    // settings are repeated (interleaved) and their medians compared
    const rounds = quick ? 1 : 3;
    const { loop } = await interleave(rounds, { loop: { step: () => measure([`i=0; while [ $i -lt ${n} ]; do /bin/true; i=$((i+1)); done`]) } });
    rep.row({ label: `plain loop: ${n} × /bin/true`, ms: loop.ms, times: loop.times, base: true });
    // The first figure is a job as users write it: no parallelism_spec, so one worker
    // per core (2 here). The loop cannot use the second core; parallelism 1 is shown beside it
    // so the per-datum cost of the executor itself stays visible.
    const runJobOf = async (name, parallelism) => {
      const f = specFile(dir, name, { input: { pfs: { repo: 'in', glob: '/src/*' } }, ...(parallelism ? { parallelism_spec: { constant: parallelism } } : {}), transform: { cmd: ['/bin/true'] } });
      const m = await measure([T(tusk('create', 'pipeline', '-f', f, '--wait'))], { env });
      const jobs = JSON.parse((await measure([T(tusk('list', 'job', '-p', name, '--json'))], { env, capture: true })).stdout || '[]');
      const processed = Array.isArray(jobs) && jobs[0] ? jobs[0].processed : -1;
      if (processed !== n) throw new Error(`the ${name} job processed ${processed} datums, expected ${n}`);
      return m;
    };
    const jd = await runJobOf('pdefault', undefined);
    const ratio = jd.ms / loop.ms;
    rep.row({ label: `tusk job, default parallelism (${os.availableParallelism()} workers)`, ms: jd.ms, rssKiB: jd.rssKiB, status: status(ratio <= 1.3, '≤ 1.3×') });
    rep.check('job / plain loop', { actual: `${ratio.toFixed(2)}×`, target: '≤ 1.3×', pass: ratio <= 1.3 });
    // the first job above laid the inputs out into the store's cache; these reuse it
    const drop = (name) => () => measure([T(tusk('delete', 'pipeline', name))], { env, allowFail: true });
    const { j1, j2 } = await interleave(rounds, {
      j1: { step: () => runJobOf('p1', 1), setup: drop('p1') },
      j2: { step: () => runJobOf('p2', 2), setup: drop('p2') },
    });
    rep.row({ label: 'tusk job, parallelism 1', ms: j1.ms, times: j1.times, rssKiB: j1.rssKiB, status: 'info' });
    rep.check('job at parallelism 1 / plain loop', { actual: `${(j1.ms / loop.ms).toFixed(2)}×`, target: 'report', pass: true });
    const speedup = j1.ms / j2.ms;
    rep.row({ label: 'tusk job, parallelism 2', ms: j2.ms, times: j2.times, rssKiB: j2.rssKiB, status: status(speedup >= 1.7, '≥ 1.7× faster') });
    rep.check('parallelism 2 speed-up', { actual: `${speedup.toFixed(2)}×`, target: '≥ 1.7×', pass: speedup >= 1.7 });
    // What bounds that ratio: parallelism 1 already runs the runner's own work beside the command
    // (on the second core), and parallelism 2 can go no faster than its CPU time over 2 cores.
    if (j1.cpuMs != null && j2.cpuMs != null) {
      const cores = os.availableParallelism();
      rep.check('cores busy at parallelism 1 / 2', { actual: `${(j1.cpuMs / j1.ms).toFixed(2)} / ${(j2.cpuMs / j2.ms).toFixed(2)} of ${cores}`, target: 'report', pass: true });
      rep.check('CPU per datum at parallelism 1 / 2 (command, executor, runner)', { actual: `${((j1.cpuMs * 1000) / n).toFixed(0)} / ${((j2.cpuMs * 1000) / n).toFixed(0)} µs`, target: 'report', pass: true });
      const floor = j2.cpuMs / cores;
      rep.check(`parallelism 2 / its CPU time over ${cores} cores`, { actual: `${(j2.ms / floor).toFixed(2)}× (${(floor / 1000).toFixed(2)} s)`, target: 'report', pass: true });
    }

    rep.section('rerun after one changed input');
    for (const p of ['pdefault', 'p2']) await measure([T(tusk('delete', 'pipeline', p))], { env });
    const startup = await measure([T(tusk('list', 'repo'))], { env });
    rep.row({ label: 'tusk start-up (list repo)', ms: startup.ms, base: true });
    const changed = path.join(dir, 'changed');
    fs.writeFileSync(changed, 'changed\n');
    const rerun = await measure([T(tusk('put', 'file', 'in@master:/src/f00001', '-f', changed, '--wait'))], { env });
    // only p1 reruns (the other two were deleted before the put): one datum, the rest skipped
    const perDatum = j1.ms / n;
    const budget = startup.ms + perDatum + 2000;
    const perSkipped = ((rerun.ms - startup.ms - perDatum) * 1000) / (n - 1);
    rep.row({ label: 'put 1 file + the job (1 processed, the rest skipped)', ms: rerun.ms, status: status(rerun.ms <= budget, '≤ 1 datum + 2 s') });
    rep.check('rerun / (start-up + one datum + 2 s)', { actual: `${rerun.ms.toFixed(0)} ms vs ${budget.toFixed(0)} ms`, target: '≤ 1', pass: rerun.ms <= budget });
    rep.check('cost per skipped datum', { actual: `${Math.max(0, perSkipped).toFixed(0)} µs`, target: '≤ 50 µs', pass: perSkipped <= 50 });

    rep.section('materializing inputs: 1,000 files');
    const files = quick ? 100 : 1_000;
    const each = quick ? 1 * MiB : 1 * MiB;
    const bigSrc = path.join(dir, 'bigsrc');
    fs.mkdirSync(bigSrc);
    for (let i = 0; i < files; i++) await writeRandomFile(path.join(bigSrc, `b${String(i).padStart(4, '0')}`), each, i + 1);
    await measure([T(tusk('put', 'file', '-r', 'big@master:/', '-f', bigSrc))], { env });
    const cpDst = path.join(dir, 'cpdst');
    const cp = await measure([T(['cp', '-r', bigSrc, cpDst])]);
    rep.row({ label: `cp -r (${files} × 1 MiB)`, ms: cp.ms, base: true });
    const mat = specFile(dir, 'mat', { input: { pfs: { repo: 'big', glob: '/' } }, parallelism_spec: { constant: 1 }, transform: { cmd: ['/bin/true'] } });
    const m = await measure([T(tusk('create', 'pipeline', '-f', mat, '--wait'))], { env });
    rep.row({ label: 'job over one datum holding all files (first: read from packs)', ms: m.ms, rssKiB: m.rssKiB, status: 'info' });
    rep.check('materialize / cp -r', { actual: `${(m.ms / cp.ms).toFixed(2)}×`, target: 'report', pass: true });
  },
};
