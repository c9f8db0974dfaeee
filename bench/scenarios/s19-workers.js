// Scenario 19 — question (the workers issue): do separate `tusk worker` processes share a job's
// datums well: do two workers at `--concurrency 1` finish a job of datums of real work nearly
// twice as fast as one, and what does tusk itself add to each datum (claim, materialise the
// inputs, record the result) next to a plain shell loop running the same command?
// Targets: 2 workers ≥ 1.8× faster than 1 (on 2 cores); 1 worker's wall per datum − the loop's
// ≤ 2 ms.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MiB, T, freshStore, measure, sh, status, tusk, writeRandomFile } from '../lib.js';

const SPEEDUP_BUDGET = 1.8;
const OVERHEAD_BUDGET_MS = 2;
/** A worker exits this long after the job is done; taken off its wall time. */
const IDLE_S = 0.2;

export default {
  id: 19,
  title: 'Workers: separate processes sharing a job',
  question: 'do 2 workers run a job nearly twice as fast as 1, and what does tusk add per datum?',
  async run(ctx, rep) {
    const n = ctx.quick ? 1_000 : 10_000;
    const dir = ctx.dir('workers');
    const store = await freshStore(path.join(dir, 'store'), ['in']);
    // no background runner: only the workers run the jobs
    const env = { TUSK_STORE: store, TUSK_RUNNER: 'none' };
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(src, `f${String(i).padStart(5, '0')}`), `row ${i}\n`);
    await measure([T(tusk('put', 'file', '-r', 'in@master:/src', '-f', src))], { env });
    // ~10 ms of CPU a datum: three SHA-256 passes over 1 MiB, a file outside the store (user
    // code sees the machine's file system beside /pfs)
    const work = path.join(dir, 'work.bin');
    writeRandomFile(work, 1 * MiB, 19);
    const cmd = `sha256sum ${work} ${work} ${work} > /dev/null`;

    rep.section(`${n} datums of ~10 ms of CPU each`);
    const loop = await measure([`i=0; while [ $i -lt ${n} ]; do sh -c '${cmd}'; i=$((i+1)); done`]);
    rep.row({ label: `plain loop: ${n} × sh -c '${cmd.replace(new RegExp(work, 'g'), 'F')}'`, ms: loop.ms, base: true });

    const workerArgs = ['worker', '--concurrency', '1', '--exit-when-idle', String(IDLE_S)];
    const runWith = async (name, workers) => {
      const spec = path.join(dir, `${name}.json`);
      fs.writeFileSync(spec, JSON.stringify({ pipeline: { name }, input: { pfs: { repo: 'in', glob: '/src/*' } }, transform: { cmd: ['sh', '-c', cmd] } }));
      await measure([T(tusk('create', 'pipeline', '-f', spec))], { env });
      // the workers start together; the job is planned by whichever gets there first
      const m = await measure([Array.from({ length: workers }, () => `${sh(tusk(...workerArgs))} 2>/dev/null &`).join(' ') + ' wait'], { env });
      const jobs = JSON.parse((await measure([T(tusk('list', 'job', '-p', name, '--json'))], { env, capture: true })).stdout || '[]');
      const j = Array.isArray(jobs) ? jobs[0] : undefined;
      if (!j || j.state !== 'JOB_SUCCESS' || j.processed !== n) throw new Error(`the ${name} job ended ${j?.state} with ${j?.processed} datums processed, expected ${n}`);
      return { ...m, ms: m.ms - IDLE_S * 1000 };
    };
    const load1 = os.loadavg()[0];
    const one = await runWith('w1', 1);
    const two = await runWith('w2', 2);
    const load2 = os.loadavg()[0];
    const speedup = one.ms / two.ms;
    const overhead = (one.ms - loop.ms) / n;
    rep.row({ label: '1 worker, --concurrency 1 (less its idle exit)', ms: one.ms, status: status(overhead <= OVERHEAD_BUDGET_MS, `≤ loop + ${OVERHEAD_BUDGET_MS} ms a datum`) });
    rep.row({ label: '2 workers, --concurrency 1 each', ms: two.ms, status: status(speedup >= SPEEDUP_BUDGET, `≥ ${SPEEDUP_BUDGET}× faster than 1`) });
    rep.check('2 workers speed-up over 1', { actual: `${speedup.toFixed(2)}× (${(one.ms / 1000).toFixed(1)} s vs ${(two.ms / 1000).toFixed(1)} s)`, target: `≥ ${SPEEDUP_BUDGET}× (${os.availableParallelism()} cores)`, pass: speedup >= SPEEDUP_BUDGET });
    rep.check("tusk's overhead per datum (1 worker's wall − the loop's, over the datums)", { actual: `${overhead.toFixed(2)} ms`, target: `≤ ${OVERHEAD_BUDGET_MS} ms`, pass: overhead <= OVERHEAD_BUDGET_MS });
    rep.note(`load average (1 min) before / after the worker runs: ${load1.toFixed(2)} / ${load2.toFixed(2)} on ${os.availableParallelism()} cores`);
  },
};
