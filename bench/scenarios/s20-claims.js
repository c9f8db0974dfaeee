// Scenario 20 — question (the team store's queue): do runners claiming the datums of one job at
// once on PostgreSQL pass each other by, so that 4 claimers take a job's datums at least as fast
// as 1 (and never one datum twice), or do they wait on each other's rows?
// tusk: `claimDatums` of the built store (dist/store/pg), batches of 16 datums (a runner's first
// batch), each batch then finished (`finishDatums`), by 1 claimer and by 4 claimers at once, each
// on its own connection, until the job is empty. Baseline: 1 claimer, in the same run on the same server. The server is a throwaway
// PostgreSQL 15 (fsync off: the question is contention between claimers, not the disk).
// Target: report claims/s; every datum claimed exactly once.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TUSK_ROOT, interleave, log } from '../lib.js';
import { PG_BIN, havePostgres, startPostgres } from '../postgres.js';

const BATCH = 16;

export default {
  id: 20,
  title: 'Datum claims on PostgreSQL: 1 claimer vs 4',
  question: 'do 4 runners claiming one job at once on PostgreSQL take its datums at least as fast as 1, each datum once?',
  async run(ctx, rep) {
    if (!havePostgres()) {
      rep.note(`PostgreSQL 15 is not installed (no ${PG_BIN}/initdb): scenario skipped`);
      rep.check('4 claimers, each datum once', { actual: 'PostgreSQL not installed', target: 'every datum claimed once', pass: null });
      return;
    }
    const n = ctx.quick ? 4_000 : 20_000;
    const server = await startPostgres();
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
