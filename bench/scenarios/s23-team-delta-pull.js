// Scenario 23 — question: what does a pull of history that holds deltas cost into a team store,
// whose packs in the bucket hold every chunk whole (the pull decodes each delta on the way in),
// against a clone of the same history into a local store, which keeps the deltas as they came?
// Three versions of a CSV table (1 MiB with --quick, 32 MiB otherwise), 1% of rows edited in each,
// put one after the other on a laptop's store (the later two stored as deltas) and pushed to an
// s3:// remote on s3rver behind the counting proxy (bench/s3-proxy.js). Each round a fresh team
// store (its own database and bucket prefix; PostgreSQL 15 from bench/postgres.js) runs `tusk pull`
// of it, and `tusk clone` makes a fresh local store of it, interleaved: time, requests, and the
// bytes each sends up to the bucket (a local clone sends none: its packs are on its disk).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MiB, T, dirBytes, exec, fmtBytes, freshStore, hashFile, interleave, log, measure, remove, tusk, tuskAsync, writeCsvVersions } from '../lib.js';
import { startPostgres, withTeamServers } from '../postgres.js';
import { fmtCounts, S3_ENV, startCountingS3 } from '../s3-proxy.js';

const VERSIONS = 3;

export default {
  id: 23,
  title: 'Deltas pulled into a team store',
  question: 'what does a pull of history stored as deltas cost into a team store (decoded, stored whole in the bucket) against a clone of it into a local store?',
  run(ctx, rep) {
    return withTeamServers(rep, 'the team store', () => this.measure(ctx, rep));
  },
  async measure(ctx, rep) {
    const dir = ctx.dir('team-delta');
    const s3 = await startCountingS3(ctx.dir('team-delta/s3'), ['tusk']);
    const pg = await startPostgres();
    try {
      const bytes = ctx.quick ? 1 * MiB : 32 * MiB;
      const files = writeCsvVersions(dir, VERSIONS, bytes, 'team-delta');
      const first = files[0];
      rep.title = `Deltas pulled into a team store: ${VERSIONS} versions of a ${fmtBytes(fs.statSync(first).size)} CSV, 1% of rows edited in each`;

      const laptop = await freshStore(path.join(dir, 'laptop'), ['data']);
      const commits = [];
      for (const f of files) commits.push(JSON.parse(exec(tusk('put', 'file', 'data@master:/t.csv', '-f', f, '--json'), { env: { TUSK_STORE: laptop } })).commit);
      const s3Flags = ['--endpoint', s3.endpoint, '--path-style', '--checksums', 'when-required'];
      exec(tusk('remote', 'add', 'origin', 's3://tusk/history', ...s3Flags), { env: { TUSK_STORE: laptop } });
      const pushed0 = s3.uploaded();
      // the server runs in this process: a command talking to it must not block the event loop (exec)
      await measure([T(tusk('push', 'origin'))], { env: { ...S3_ENV, TUSK_STORE: laptop } });
      const remoteBytes = s3.uploaded() - pushed0;
      log(`history pushed: ${fmtBytes(remoteBytes)} sent up (${fmtBytes(dirBytes(path.join(laptop, 'packs')))} of packs on the laptop)`);

      const baseEnv = { ...S3_ENV, XDG_CACHE_HOME: path.join(dir, 'cache'), TUSK_RUNNER: 'none' };
      const teams = [];
      const clones = [];
      const pullStep = {
        setup: async (i) => {
          const name = `pull${i}`;
          const url = await pg.createDatabase(name);
          const env = { ...baseEnv, TUSK_STORE: url };
          await tuskAsync(['init', '--packs', `s3://tusk/team/${name}`, ...s3Flags], { env, cwd: dir });
          await tuskAsync(['remote', 'add', 'origin', 's3://tusk/history', ...s3Flags], { env, cwd: dir });
          teams[i] = env;
        },
        step: async (i) => {
          const up = s3.uploaded();
          const before = s3.snapshot();
          const r = await measure([T(tusk('pull', 'origin', '--json'))], { env: teams[i], capture: true });
          return { ...r, uploaded: s3.uploaded() - up, requests: s3.since(before) };
        },
      };
      const cloneStep = {
        step: async (i) => {
          const target = path.join(dir, `clone-${i}`);
          const up = s3.uploaded();
          const before = s3.snapshot();
          const r = await measure([T(tusk('clone', 's3://tusk/history', target, ...s3Flags, '--json'))], { env: S3_ENV, capture: true });
          clones[i] = target;
          return { ...r, uploaded: s3.uploaded() - up, requests: s3.since(before), packBytes: dirBytes(path.join(target, '.tusk', 'packs')) };
        },
      };
      const res = await interleave(ctx.runs, { clone: cloneStep, pull: pullStep });
      const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

      // what the team store holds is every version, byte for byte
      const last = teams.length - 1;
      for (const [i, c] of commits.entries()) {
        const out = path.join(dir, 'out.csv');
        await tuskAsync(['get', 'file', `data@${c}:/t.csv`, '-o', out], { env: teams[last], cwd: dir });
        if (hashFile(out) !== hashFile(files[i])) throw new Error(`version ${i + 1} read back from the team store differs from what was put`);
      }

      rep.section(`history of ${VERSIONS} versions from an s3:// remote (${fmtBytes(remoteBytes)} there, later versions as deltas)`);
      rep.row({ label: 'tusk clone (a local store)', ms: res.clone.ms, times: res.clone.times, rssKiB: res.clone.rssKiB, base: true, status: `${fmtCounts(res.clone.last.requests)} · ${fmtBytes(median(res.clone.all.map((r) => r.uploaded)))} sent up · ${fmtBytes(res.clone.last.packBytes)} of packs on disk` });
      rep.row({ label: 'tusk pull (a team store: deltas decoded, stored whole)', ms: res.pull.ms, times: res.pull.times, rssKiB: res.pull.rssKiB, status: `${fmtCounts(res.pull.last.requests)} · ${fmtBytes(median(res.pull.all.map((r) => r.uploaded)))} sent up to the bucket` });
      rep.note(`sent up to the bucket, median: pull ${median(res.pull.all.map((r) => r.uploaded)).toLocaleString('en')} bytes, clone ${median(res.clone.all.map((r) => r.uploaded)).toLocaleString('en')}; the remote holds ${remoteBytes.toLocaleString('en')} (the push's upload); requests are the last round's, seen at the proxy`);
      for (const c of clones) remove(c);
    } finally {
      await pg.stop();
      await s3.close();
      remove(dir);
    }
  },
};
