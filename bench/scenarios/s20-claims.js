// Scenario 20 — question (the team store's queue): do runners claiming the datums of one job at
// once on PostgreSQL pass each other by, so that 4 claimers take a job's datums at least as fast
// as 1 (and never one datum twice), or do they wait on each other's rows?
// tusk: `claimDatums` of the built store (dist/store/pg), batches of 16 datums (a runner's first
// batch), each batch then finished (`finishDatums`), by 1 claimer and by 4 claimers at once, each
// on its own connection, until the job is empty. Baseline: 1 claimer, in the same run on the same server. The server is a throwaway
// PostgreSQL 15 (fsync off: the question is contention between claimers, not the disk).
// Target: report claims/s; every datum claimed exactly once.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { TUSK_ROOT, interleave, log } from '../lib.js';

const run = promisify(execFile);
const PG_BIN = process.env.TUSK_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const BATCH = 16;

/** How to run the server's programs: as the postgres user when we are root (PostgreSQL refuses root). */
function asServerUser() {
  if (process.getuid?.() !== 0) return { prefix: [], chown: () => {} };
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  const uid = id('-u');
  const gid = id('-g');
  return { prefix: ['runuser', '-u', 'postgres', '--'], chown: (dir) => fs.chownSync(dir, uid, gid) };
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** initdb and start a server in a temp dir of its own (the bench's dir is not open to the server's user). */
async function startServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-bench-pg-'));
  const as = asServerUser();
  as.chown(dir);
  const exec = (cmd, args) => (as.prefix.length ? run(as.prefix[0], [...as.prefix.slice(1), cmd, ...args]) : run(cmd, args));
  const data = path.join(dir, 'data');
  await exec(path.join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'tusk', '-N', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const settings = `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  await exec(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', settings, 'start']);
  return {
    url: `postgres://tusk@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await exec(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export default {
  id: 20,
  title: 'Datum claims on PostgreSQL: 1 claimer vs 4',
  question: 'do 4 runners claiming one job at once on PostgreSQL take its datums at least as fast as 1, each datum once?',
  async run(ctx, rep) {
    if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) {
      rep.note(`PostgreSQL 15 is not installed (no ${PG_BIN}/initdb): scenario skipped`);
      rep.check('4 claimers, each datum once', { actual: 'PostgreSQL not installed', target: 'every datum claimed once', pass: null });
      return;
    }
    const n = ctx.quick ? 4_000 : 20_000;
    const server = await startServer();
    const { PgMetadata } = await import(pathToFileURL(path.join(TUSK_ROOT, 'dist', 'store', 'pg', 'metadata.js')).href);
    const m = await PgMetadata.open({ url: server.url, max: 8 });
    try {
      await m.jobs.insertPipeline({ name: 'p', version: 1, spec: {}, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 1, updated: 1 });
      let round = 0;
      let job = '';
      let twice = 0;
      const plan = async () => {
        job = `j${++round}`;
        await m.jobs.insertJob('p', job, 1, 's');
        const datums = Array.from({ length: n }, (_, i) => ({ pipeline: 'p', job, id: `d${i}`, seq: i, hash: `h${i}`, state: 'pending', inputs: [], output: null, started: null, finished: null }));
        await m.unitOfWork(({ jobs }) => jobs.insertDatums(datums));
      };
      const claimAll = async (claimers) => {
        const seen = new Set();
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: claimers }, async (_, i) => {
            for (;;) {
              const runner = `r${i}`;
              const got = await m.jobs.claimDatums('p', job, runner, 60_000, BATCH);
              if (got.length === 0) return;
              for (const d of got) {
                if (seen.has(d.id)) twice++;
                seen.add(d.id);
              }
              // as a runner does, the batch is finished: a job's running datums stay few, as in a real one
              await m.jobs.finishDatums(got.map((d) => ({ pipeline: 'p', job, id: d.id, runner, state: 'success', output: null, finished: Date.now(), error: null, downloadBytes: 0, uploadBytes: 0 })));
            }
          }),
        );
        const ms = performance.now() - t0;
        if (seen.size !== n) twice += n - seen.size;
        return { ms, times: [ms] };
      };
      log(`claiming ${n} datums in batches of ${BATCH}, by 1 and by 4 claimers`);
      const { one, four } = await interleave(
        ctx.runs,
        {
          one: { step: () => claimAll(1), setup: plan },
          four: { step: () => claimAll(4), setup: plan },
        },
        { warmup: 1 },
      );
      const claims = Math.ceil(n / BATCH);
      const perS = (ms) => Math.round((claims * 1000) / ms);
      rep.section(`${n} datums, ${claims} claims of ${BATCH}, each batch then finished`);
      rep.row({ label: `1 claimer: ${perS(one.ms)} claims/s`, ms: one.ms, times: one.times, base: true });
      rep.row({ label: `4 claimers at once: ${perS(four.ms)} claims/s`, ms: four.ms, times: four.times });
      rep.note(`4 claimers / 1: ${(one.ms / four.ms).toFixed(2)}× the claims per second (2 cores, shared by the server, the claimers and whatever else runs)`);
      rep.check('4 claimers at once: each datum claimed exactly once', { actual: twice === 0 ? 'each once' : `${twice} datums claimed twice or never`, target: 'each once', pass: twice === 0 });
    } finally {
      await m.close();
      await server.stop();
    }
  },
};
