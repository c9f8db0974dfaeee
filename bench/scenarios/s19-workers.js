// Scenario 19 — question (the workers issue): do separate `tusk worker` processes share a job's
// datums well: do two workers at `--concurrency 1` finish a job of datums of real work nearly
// twice as fast as one, and what does tusk itself add to each datum (claim, materialise the
// inputs, record the result) next to a plain shell loop running the same command?
// Targets: 2 workers ≥ 1.8× faster than 1 (on 2 cores); 1 worker's wall per datum − the loop's
// ≤ 2 ms. Part 1 on a local store; part 2 the same on a team store (PostgreSQL 15 and s3rver on
// the same machine, each worker its own client directory), skipped without PostgreSQL; beside its
// times, what each datum cost there: statements, bucket requests, and the CPU of the workers, of
// PostgreSQL and of s3rver (which answers from this process).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MiB, T, freshStore, measure, readOwnCpu, sh, status, tusk, tuskAsync, tuskOwnCpu, writeRandomFile } from '../lib.js';
import { havePostgres, startPostgres } from '../postgres.js';
import { fmtCounts, S3_ENV, startCountingS3, withoutCaBundle } from '../s3-proxy.js';


/** tuskAsync, with the process's own CPU written to $TUSK_BENCH_CPU_OUT (bench/cpu-usage.cjs). */
function tuskAsyncOwnCpu(args, opts) {
  const [node, ...argv] = tuskOwnCpu(...args);
  return new Promise((resolve, reject) => execFile(node, argv, { ...opts, env: { ...process.env, ...opts.env }, maxBuffer: 256 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
}

const SPEEDUP_BUDGET = 1.8;
const OVERHEAD_BUDGET_MS = 2;
/** A worker exits this long after the job is done; taken off its wall time. */
const IDLE_S = 0.2;

export default {
  id: 19,
  title: 'Workers: separate processes sharing a job',
  question: 'do 2 workers run a job nearly twice as fast as 1, and what does tusk add per datum — on a local store and on a team store?',
  async run(ctx, rep) {
    const n = ctx.quick ? 1_000 : 10_000;
    const dir = ctx.dir('workers');
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(src, `f${String(i).padStart(5, '0')}`), `row ${i}\n`);
    // ~10 ms of CPU a datum: three SHA-256 passes over 1 MiB, a file outside the store (user
    // code sees the machine's file system beside /pfs)
    const work = path.join(dir, 'work.bin');
    writeRandomFile(work, 1 * MiB, 19);
    const cmd = `sha256sum ${work} ${work} ${work} > /dev/null`;

    rep.section(`${n} datums of ~10 ms of CPU each`);
    const loop = await measure([`i=0; while [ $i -lt ${n} ]; do sh -c '${cmd}'; i=$((i+1)); done`]);
    rep.row({ label: `plain loop: ${n} × sh -c '${cmd.replace(new RegExp(work, 'g'), 'F')}'`, ms: loop.ms, base: true });

    if (ctx.part(1)) {
      const store = await freshStore(path.join(dir, 'store'), ['in']);
      // no background runner: only the workers run the jobs
      const env = { TUSK_STORE: store, TUSK_RUNNER: 'none' };
      await measure([T(tusk('put', 'file', '-r', 'in@master:/src', '-f', src))], { env });
      await this.workers(rep, { n, dir, cmd, loop, label: 'local store', envFor: () => env });
    }
    if (ctx.part(2)) {
      if (!havePostgres()) {
        rep.note('PostgreSQL 15 is not installed: the team-store part is skipped');
        return;
      }
      await withoutCaBundle(async () => {
        const s3 = await startCountingS3(ctx.dir('workers/s3'), ['tusk']);
        const pg = await startPostgres({ statements: true });
        try {
          const url = await pg.createDatabase('workers');
          // each worker is a machine of its own: its own client directory, nothing shared but the database and the bucket
          const envFor = (who) => ({ ...S3_ENV, TUSK_STORE: url, TUSK_RUNNER: 'none', XDG_CACHE_HOME: path.join(dir, `cache-${who}`) });
          await tuskAsync(['init', '--packs', 's3://tusk/workers', '--endpoint', s3.endpoint, '--path-style'], { env: envFor('setup'), cwd: dir });
          await tuskAsync(['create', 'repo', 'in'], { env: envFor('setup'), cwd: dir });
          await tuskAsync(['put', 'file', '-r', 'in@master:/src', '-f', src], { env: envFor('setup'), cwd: dir });
          await this.workers(rep, { n, dir, cmd, loop, label: 'team store', envFor, async: true, servers: { pg, db: 'workers', s3 } });
        } finally {
          await s3.close();
          await pg.stop();
        }
      });
    }
  },

  /** One job run by 1 worker, then another by 2, against the loop: the two checks. */
  async workers(rep, { n, dir, cmd, loop, label, envFor, async = false, servers }) {
    const workerArgs = ['worker', '--concurrency', '1', '--exit-when-idle', String(IDLE_S)];
    const untimed = (args) => (async ? tuskAsync(args, { env: envFor('look'), cwd: dir }) : measure([T(tusk(...args))], { env: envFor('look'), capture: true }).then((r) => r.stdout));
    const runWith = async (name, workers) => {
      const spec = path.join(dir, `${name}.json`);
      fs.writeFileSync(spec, JSON.stringify({ pipeline: { name }, input: { pfs: { repo: 'in', glob: '/src/*' } }, transform: { cmd: ['sh', '-c', cmd] } }));
      await untimed(['create', 'pipeline', '-f', spec]);
      // the workers start together; the job is planned by whichever gets there first
      let ms;
      let cost;
      if (async) {
        const before = servers && (await this.serverCosts(servers, { reset: true }));
        const cpuOut = (k) => path.join(dir, `${name}-${k}.cpu`);
        const t0 = process.hrtime.bigint();
        await Promise.all(Array.from({ length: workers }, (_, k) => tuskAsyncOwnCpu(workerArgs, { env: { ...envFor(`${name}-${k}`), TUSK_BENCH_CPU_OUT: cpuOut(k) }, cwd: dir })));
        ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (servers) {
          const after = await this.serverCosts(servers);
          const own = Array.from({ length: workers }, (_, k) => readOwnCpu(cpuOut(k)));
          cost = {
            statements: after.statements,
            requests: servers.s3.since(before.requests),
            pgMs: after.pgMs == null || before.pgMs == null ? null : after.pgMs - before.pgMs,
            s3rverMs: after.hereMs - before.hereMs,
            workersMs: own.some((x) => x == null) ? null : own.reduce((a, x) => a + x, 0),
          };
        }
      } else ms = (await measure([Array.from({ length: workers }, () => `${sh(tusk(...workerArgs))} 2>/dev/null &`).join(' ') + ' wait'], { env: envFor('look') })).ms;
      const jobs = JSON.parse((await untimed(['list', 'job', '-p', name, '--json'])) || '[]');
      const j = Array.isArray(jobs) ? jobs[0] : undefined;
      if (!j || j.state !== 'JOB_SUCCESS' || j.processed !== n) throw new Error(`the ${name} job ended ${j?.state} with ${j?.processed} datums processed, expected ${n}`);
      return { ms: ms - IDLE_S * 1000, cost };
    };
    const tag = label === 'local store' ? '' : ` (${label})`;
    const load1 = os.loadavg()[0];
    const one = await runWith(async ? 't1' : 'w1', 1);
    const two = await runWith(async ? 't2' : 'w2', 2);
    const load2 = os.loadavg()[0];
    const speedup = one.ms / two.ms;
    const overhead = (one.ms - loop.ms) / n;
    rep.row({ label: `${label}: 1 worker, --concurrency 1 (less its idle exit)`, ms: one.ms, status: status(overhead <= OVERHEAD_BUDGET_MS, `≤ loop + ${OVERHEAD_BUDGET_MS} ms a datum`) });
    rep.row({ label: `${label}: 2 workers, --concurrency 1 each`, ms: two.ms, status: status(speedup >= SPEEDUP_BUDGET, `≥ ${SPEEDUP_BUDGET}× faster than 1`) });
    rep.check(`2 workers speed-up over 1${tag}`, { actual: `${speedup.toFixed(2)}× (${(one.ms / 1000).toFixed(1)} s vs ${(two.ms / 1000).toFixed(1)} s)`, target: `≥ ${SPEEDUP_BUDGET}× (${os.availableParallelism()} cores)`, pass: speedup >= SPEEDUP_BUDGET });
    rep.check(`tusk's overhead per datum (1 worker's wall − the loop's, over the datums)${tag}`, { actual: `${overhead.toFixed(2)} ms`, target: `≤ ${OVERHEAD_BUDGET_MS} ms`, pass: overhead <= OVERHEAD_BUDGET_MS });
    for (const [who, r] of [['1 worker', one], ['2 workers', two]]) {
      const c = r.cost;
      if (!c) continue;
      const per = (x) => (x == null ? '?' : `${(x / n).toFixed(2)} ms`);
      const calls = c.statements.reduce((a, x) => a + x.calls, 0);
      rep.note(
        `${label}, ${who}, a datum's cost: ${(calls / n).toFixed(2)} statements (BEGIN and COMMIT included: each a round trip), ` +
          `${fmtCounts(c.requests) || 'no bucket requests'} in all; CPU: workers ${per(c.workersMs)}, PostgreSQL ${per(c.pgMs)}, s3rver ${per(c.s3rverMs)}; ` +
          `most called: ${c.statements
            .slice(0, 4)
            .map((x) => `${x.calls}× ${x.query.replace(/\s+/g, ' ').slice(0, 60)}`)
            .join(' | ')}`,
      );
    }
    rep.note(`${label}: load average (1 min) before / after the worker runs: ${load1.toFixed(2)} / ${load2.toFixed(2)} on ${os.availableParallelism()} cores${async ? '; PostgreSQL and s3rver run on the same cores' : ''}`);
  },

  /**
   * What the servers have spent so far: PostgreSQL's statements in the database (emptied with
   * `reset`) and CPU, the bucket's requests, and this process's CPU, which is s3rver's (the bench
   * does nothing else meanwhile).
   */
  async serverCosts({ pg, db, s3 }, { reset = false } = {}) {
    const statements = await pg.statements(db, { reset });
    const c = process.cpuUsage();
    return { statements, pgMs: pg.cpuMs(), requests: s3.snapshot(), hereMs: (c.user + c.system) / 1000 };
  },
};
