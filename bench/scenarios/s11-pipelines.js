// Scenario 11 — questions (the pipelines issue): what does a job cost per datum next to a plain
// loop spawning the same command, and what does the runner itself spend on each; does
// parallelism 2 use both cores on datums of real work; does a rerun after one changed input cost
// one datum (plus a small cost per skipped datum); how does materializing 1 GiB of inputs compare
// with `cp -r`?
// Targets (the store-at-scale issue): on /bin/true datums the runner's own CPU ≤ 150 µs a datum;
// on datums of ~10 ms of CPU, parallelism 1 ≤ 1.1× a plain shell loop doing the same work and
// parallelism 2 ≥ 1.85× faster than parallelism 1; skipped datums ≤ 50 µs each.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MiB, T, freshStore, interleave, measure, median, readOwnCpu, status, tusk, tuskOwnCpu, writeRandomFile } from '../lib.js';

/** The command of a datum of real work: ~10 ms of CPU here (three SHA-256 passes over its 1 MiB input). */
const WORK_CMD = 'sha256sum "$work" "$work" "$work" > /dev/null';
const RUNNER_CPU_BUDGET_US = 150;
const WORK_LOOP_BUDGET = 1.1;
const WORK_SPEEDUP_BUDGET = 1.85;

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
    const work = quick ? 60 : 400;
    const dir = ctx.dir('pipelines');
    const store = await freshStore(path.join(dir, 'store'), ['in', 'big', 'work']);
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
    // The runner is the CLI process itself (TUSK_RUNNER=foreground): its own CPU time, every
    // thread and none of the commands it starts, comes from process.cpuUsage() at its exit
    // (bench/cpu-usage.cjs).
    const cpuFile = path.join(dir, 'own-cpu');
    const runJobOf = async (name, parallelism, { repo = 'in', cmd = ['/bin/true'], datums = n, glob = '/src/*' } = {}) => {
      const f = specFile(dir, name, { input: { pfs: { name: repo, repo, glob } }, ...(parallelism ? { parallelism_spec: { constant: parallelism } } : {}), transform: { cmd } });
      const m = await measure([T(tuskOwnCpu('create', 'pipeline', '-f', f, '--wait'))], { env: { ...env, TUSK_BENCH_CPU_OUT: cpuFile } });
      m.ownCpuMs = readOwnCpu(cpuFile);
      const jobs = JSON.parse((await measure([T(tusk('list', 'job', '-p', name, '--json'))], { env, capture: true })).stdout || '[]');
      const processed = Array.isArray(jobs) && jobs[0] ? jobs[0].processed : -1;
      if (processed !== datums) throw new Error(`the ${name} job processed ${processed} datums, expected ${datums}`);
      return m;
    };
    const ownCpus = [];
    const startupCpu = async () => {
      const m = await measure([T(tuskOwnCpu('list', 'repo'))], { env: { ...env, TUSK_BENCH_CPU_OUT: cpuFile } });
      ownCpus.push(readOwnCpu(cpuFile));
      return m;
    };
    const jd = await runJobOf('pdefault', undefined);
    const ratio = jd.ms / loop.ms;
    rep.row({ label: `tusk job, default parallelism (${os.availableParallelism()} workers)`, ms: jd.ms, rssKiB: jd.rssKiB, status: status(ratio <= 1.3, '≤ 1.3×') });
    rep.check('job / plain loop', { actual: `${ratio.toFixed(2)}×`, target: '≤ 1.3×', pass: ratio <= 1.3 });
    // the first job above laid the inputs out into the store's cache; these reuse it
    const drop = (name) => () => measure([T(tusk('delete', 'pipeline', name))], { env, allowFail: true });
    const j1cpu = [];
    // the same job over the first 100 datums only (f00000..f00099): what a job costs the runner
    // whatever its size (start-up, the pipeline's creation, its commits) is in both, so the
    // difference over the difference in datums is what one more datum costs
    const fewDatums = 100;
    const fewCpu = [];
    const { j1, j2 } = await interleave(rounds, {
      j1: {
        step: async () => {
          const m = await runJobOf('p1', 1);
          j1cpu.push(m.ownCpuMs);
          await startupCpu();
          await drop('p1few')();
          fewCpu.push((await runJobOf('p1few', 1, { glob: '/src/f000*', datums: fewDatums })).ownCpuMs);
          await drop('p1few')();
          return m;
        },
        setup: drop('p1'),
      },
      j2: { step: () => runJobOf('p2', 2), setup: drop('p2') },
    });
    rep.row({ label: 'tusk job, parallelism 1', ms: j1.ms, times: j1.times, rssKiB: j1.rssKiB, status: 'info' });
    rep.check('job at parallelism 1 / plain loop', { actual: `${(j1.ms / loop.ms).toFixed(2)}×`, target: 'report', pass: true });
    const speedup = j1.ms / j2.ms;
    // on /bin/true the runner's own work competes for the second core: the speed-up that counts
    // is the one on datums of real work (next section)
    rep.row({ label: 'tusk job, parallelism 2', ms: j2.ms, times: j2.times, rssKiB: j2.rssKiB, status: 'info' });
    rep.check('parallelism 2 speed-up on /bin/true', { actual: `${speedup.toFixed(2)}×`, target: 'report', pass: true });
    const measured = ![...j1cpu, ...ownCpus, ...fewCpu].includes(null);
    const runnerUs = measured ? ((median(j1cpu) - median(fewCpu)) * 1000) / (n - fewDatums) : null;
    rep.check(`runner CPU per datum at parallelism 1 (its process.cpuUsage: ${n} datums less ${fewDatums}, over ${n - fewDatums})`, {
      actual: runnerUs === null ? 'not measured' : `${runnerUs.toFixed(0)} µs (${median(j1cpu).toFixed(0)} ms for ${n} datums, ${median(fewCpu).toFixed(0)} ms for ${fewDatums})`,
      target: `≤ ${RUNNER_CPU_BUDGET_US} µs`,
      pass: runnerUs === null ? null : runnerUs <= RUNNER_CPU_BUDGET_US,
    });
    // the figure this bench reported before: the whole job less a `list repo`, over the datums,
    // which also spreads what the job costs once over its datums
    // what a job costs the runner beyond start-up whatever its size
    const fixed = measured ? median(fewCpu) - median(ownCpus) - (runnerUs * fewDatums) / 1000 : 0;
    if (measured) {
      rep.check('runner CPU per job beyond start-up, whatever its size', { actual: `${fixed.toFixed(0)} ms (start-up: ${median(ownCpus).toFixed(0)} ms)`, target: 'report', pass: true });
      rep.check(`runner CPU per datum as (job − start-up) / ${n}`, { actual: `${(((median(j1cpu) - median(ownCpus)) * 1000) / n).toFixed(0)} µs`, target: 'report', pass: true });
    }
    // What bounds that ratio: parallelism 1 already runs the runner's own work beside the command
    // (on the second core), and parallelism 2 can go no faster than its CPU time over 2 cores.
    if (j1.cpuMs != null && j2.cpuMs != null) {
      const cores = os.availableParallelism();
      rep.check('cores busy at parallelism 1 / 2', { actual: `${(j1.cpuMs / j1.ms).toFixed(2)} / ${(j2.cpuMs / j2.ms).toFixed(2)} of ${cores}`, target: 'report', pass: true });
      rep.check('CPU per datum at parallelism 1 / 2 (command, executor, runner)', { actual: `${((j1.cpuMs * 1000) / n).toFixed(0)} / ${((j2.cpuMs * 1000) / n).toFixed(0)} µs`, target: 'report', pass: true });
      const floor = j2.cpuMs / cores;
      rep.check(`parallelism 2 / its CPU time over ${cores} cores`, { actual: `${(j2.ms / floor).toFixed(2)}× (${(floor / 1000).toFixed(2)} s)`, target: 'report', pass: true });
    }

    rep.section(`${work} datums of real work (~10 ms of CPU each)`);
    const workSrc = path.join(dir, 'worksrc');
    for (let i = 0; i < work; i++) writeRandomFile(path.join(workSrc, `w${String(i).padStart(4, '0')}`), 1 * MiB, 1000 + i);
    await measure([T(tusk('put', 'file', '-r', 'work@master:/src', '-f', workSrc))], { env });
    const workCmd = ['sh', '-c', WORK_CMD];
    // one untimed job lays the inputs out into the store's input cache, as the first job over
    // them does for a user; the timed ones start from there
    await runJobOf('wwarm', 1, { repo: 'work', cmd: workCmd, datums: work });
    await measure([T(tusk('delete', 'pipeline', 'wwarm'))], { env });
    const { wloop, w1, w2 } = await interleave(rounds, {
      // the same command, environment variable included, over the same files
      wloop: { step: () => measure([`for f in ${workSrc}/*; do work="$f" sh -c '${WORK_CMD}'; done`]) },
      w1: { step: () => runJobOf('w1', 1, { repo: 'work', cmd: workCmd, datums: work }), setup: drop('w1') },
      w2: { step: () => runJobOf('w2', 2, { repo: 'work', cmd: workCmd, datums: work }), setup: drop('w2') },
    });
    const wRatio = w1.ms / wloop.ms;
    const wSpeedup = w1.ms / w2.ms;
    rep.row({ label: `plain loop: ${work} × sh -c '${WORK_CMD.replace(/"\$work"/g, 'F')}'`, ms: wloop.ms, times: wloop.times, base: true });
    rep.row({ label: 'tusk job, parallelism 1', ms: w1.ms, times: w1.times, rssKiB: w1.rssKiB, status: status(wRatio <= WORK_LOOP_BUDGET, `≤ ${WORK_LOOP_BUDGET}× the loop`) });
    rep.row({ label: 'tusk job, parallelism 2', ms: w2.ms, times: w2.times, rssKiB: w2.rssKiB, status: status(wSpeedup >= WORK_SPEEDUP_BUDGET, `≥ ${WORK_SPEEDUP_BUDGET}× faster than parallelism 1`) });
    if (wloop.cpuMs != null) rep.note(`CPU per datum of the loop (the command alone, from GNU time): ${((wloop.cpuMs * 1000) / work).toFixed(0)} µs; runner's own CPU per datum at parallelism 1 / 2: ${[w1, w2].map((m) => (m.ownCpuMs == null ? '?' : (((m.ownCpuMs - median(ownCpus) - fixed) * 1000) / work).toFixed(0))).join(' / ')} µs (less start-up and the per-job cost above)`);
    rep.check('real work: parallelism 1 / plain loop', { actual: `${wRatio.toFixed(2)}× (${(w1.ms / 1000).toFixed(2)} s vs ${(wloop.ms / 1000).toFixed(2)} s)`, target: `≤ ${WORK_LOOP_BUDGET}×`, pass: wRatio <= WORK_LOOP_BUDGET });
    rep.check('real work: parallelism 2 speed-up', { actual: `${wSpeedup.toFixed(2)}× (${(w2.ms / 1000).toFixed(2)} s)`, target: `≥ ${WORK_SPEEDUP_BUDGET}× (meaningful on a quiet machine only)`, pass: wSpeedup >= WORK_SPEEDUP_BUDGET });

    rep.section('rerun after one changed input');
    for (const p of ['pdefault', 'p2', 'w1', 'w2']) await measure([T(tusk('delete', 'pipeline', p))], { env });
    const startup = await measure([T(tusk('list', 'repo'))], { env });
    rep.row({ label: 'tusk start-up (list repo)', ms: startup.ms, base: true });
    const changed = path.join(dir, 'changed');
    fs.writeFileSync(changed, 'changed\n');
    const rerun = await measure([T(tuskOwnCpu('put', 'file', 'in@master:/src/f00001', '-f', changed, '--wait'))], { env: { ...env, TUSK_BENCH_CPU_OUT: cpuFile } });
    const rerunCpu = readOwnCpu(cpuFile);
    // only p1 reruns (the other two were deleted before the put): one datum, the rest skipped
    const perDatum = j1.ms / n;
    const budget = startup.ms + perDatum + 2000;
    const perSkipped = ((rerun.ms - startup.ms - perDatum) * 1000) / (n - 1);
    rep.row({ label: 'put 1 file + the job (1 processed, the rest skipped)', ms: rerun.ms, status: status(rerun.ms <= budget, '≤ 1 datum + 2 s') });
    rep.check('rerun / (start-up + one datum + 2 s)', { actual: `${rerun.ms.toFixed(0)} ms vs ${budget.toFixed(0)} ms`, target: '≤ 1', pass: rerun.ms <= budget });
    rep.check('cost per skipped datum', { actual: `${Math.max(0, perSkipped).toFixed(0)} µs`, target: '≤ 50 µs', pass: perSkipped <= 50 });
    // the same by the runner's own CPU, which other work on the machine inflates far less than
    // wall time: the rerun less start-up (a `list repo`) and one datum, over the skipped ones
    if (measured && rerunCpu !== null) {
      const skippedCpuUs = ((rerunCpu - median(ownCpus) - runnerUs / 1000) * 1000) / (n - 1);
      rep.check('runner CPU per skipped datum (its process.cpuUsage)', {
        actual: `${skippedCpuUs.toFixed(0)} µs (rerun ${rerunCpu.toFixed(0)} ms, start-up ${median(ownCpus).toFixed(0)} ms)`,
        target: '≤ 50 µs',
        pass: skippedCpuUs <= 50,
      });
    }

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
