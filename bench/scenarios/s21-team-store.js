// Scenario 21 — question: what does keeping the store on a team store (metadata in PostgreSQL,
// packs in an S3 bucket) cost, against a plain copy of the same bytes to the same bucket and
// against a local store?
//   1. put file of one large incompressible file (1 GiB; 64 MiB with --quick) into a team store vs
//      `rclone copy` of the file to the same bucket (another prefix). Target (issue): ≤ 1.3×.
//   2. put file -r of 100,000 small files (1–8 KiB in 100 dirs; 10,000 with --quick) vs
//      `rclone copy --transfers 8` of the tree to the same bucket. Target (issue): ≥ 5× faster.
//      rclone's copy of 100,000 objects takes minutes on s3rver: in full mode it runs once.
//   3. 8 writer processes at once, each running `tusk put file` of a small file to its own path
//      N times (N commits each), on the team store vs on a local store: commits per second of
//      each (reported) and every acknowledged commit in the branch's history (checked).
//   4. start-up: `tusk list repo` with TUSK_STORE=postgres://… (a connection, the schema check)
//      vs on a local store (reported).
// PostgreSQL 15 is a throwaway server (bench/postgres.js, fsync off), the bucket s3rver behind the
// counting proxy of scenario 16 (bench/s3-proxy.js); each timed put goes to a fresh database and
// prefix, so nothing is deduplicated against an earlier round.
// `node bench/run.js --only 21 --parts 3,4` runs only the parts named (4 then makes its own stores).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { T, fmtBytes, fmtMs, freshStore, have, interleave, log, makeSmallTree, measure, q, remove, sh, trash, tusk, tuskAsync, writeRandomFile } from '../lib.js';
import { startPostgres, withTeamServers } from '../postgres.js';
import { fmtCounts, S3_ENV, startCountingS3 } from '../s3-proxy.js';

const BIG_RATIO = 1.3;
const SMALL_SPEEDUP = 5;
const WRITERS = 8;

export default {
  id: 21,
  title: 'The team store (PostgreSQL + S3)',
  question: 'does a team store put a big file as fast as rclone copies it to the same bucket, many small files ≥ 5× faster, and what do concurrent writers and start-up cost there beside a local store?',
  run(ctx, rep) {
    return withTeamServers(rep, 'the team store', () => this.measure(ctx, rep));
  },
  async measure(ctx, rep) {
    const dir = ctx.dir('team');
    const s3Dir = ctx.dir('team/s3');
    const s3 = await startCountingS3(s3Dir, ['tusk']);
    const pg = await startPostgres();
    try {
      const hasRclone = have('rclone');
      if (!hasRclone) rep.note('rclone not installed: the rclone baselines are skipped');
      const rcloneEnv = {
        RCLONE_CONFIG_BENCH_TYPE: 's3',
        RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
        RCLONE_CONFIG_BENCH_ENDPOINT: s3.endpoint,
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: S3_ENV.AWS_ACCESS_KEY_ID,
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: S3_ENV.AWS_SECRET_ACCESS_KEY,
        RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
      };
      // every client directory (TUSK_STORE=postgres://… keeps one per database) under the bench's dir
      const baseEnv = { ...S3_ENV, XDG_CACHE_HOME: path.join(dir, 'cache'), TUSK_RUNNER: 'none' };
      let seq = 0;
      /** A fresh team store (its own database and prefix) holding `repos`; returns its env. */
      const freshTeam = async (label, repos) => {
        const name = `${label}${++seq}`;
        const url = await pg.createDatabase(name);
        const env = { ...baseEnv, TUSK_STORE: url };
        await tuskAsync(['init', '--packs', `s3://tusk/team/${name}`, '--endpoint', s3.endpoint, '--path-style', '--checksums', 'when-required'], { env, cwd: dir });
        for (const r of repos) await tuskAsync(['create', 'repo', r], { env, cwd: dir });
        return { env, name, prefix: path.join(s3Dir, 'tusk', 'team', name) };
      };
      // s3rver keeps each object as files under its directory: a finished round's objects are
      // deleted there, so the bucket's disk holds one round at a time
      const dropPrefix = (p) => fs.rmSync(p, { recursive: true, force: true });
      const rcloneTo = async (src, label, extra = []) => {
        const before = s3.snapshot();
        const prefix = `rclone/${label}${++seq}`;
        const c0 = process.cpuUsage();
        const r = await measure([T(['rclone', 'copy', src, `bench:tusk/${prefix}`, '--s3-no-check-bucket', ...extra])], { env: rcloneEnv });
        const serverMs = cpuSince(c0);
        dropPrefix(path.join(s3Dir, 'tusk', prefix));
        return { ...r, requests: s3.since(before), serverMs };
      };
      const putTeam = async (team, args) => {
        const before = s3.snapshot();
        const c0 = process.cpuUsage();
        const r = await measure([T(tusk(...args))], { env: team.env, cwd: dir });
        const serverMs = cpuSince(c0);
        const requests = s3.since(before);
        dropPrefix(team.prefix);
        return { ...r, requests, serverMs };
      };
      const cpu = (r) => (r.cpuMs == null ? '' : ` · CPU ${fmtMs(r.cpuMs)}`);
      // s3rver and the proxy run in this process: its CPU during a step is the server's side of it
      const cpuSince = (c0) => {
        const c = process.cpuUsage(c0);
        return (c.user + c.system) / 1000;
      };
      const s3cpu = (r) => ` · s3rver CPU ${fmtMs(r.last.serverMs)}`;

      // ---- 1. one big file
      if (ctx.part(1)) {
        const size = ctx.sizes.big;
        const big = path.join(dir, 'big.bin');
        writeRandomFile(big, size, 'team-big');
        log(`1. put file of a ${fmtBytes(size)} file into a team store, and rclone copy`);
        rep.section(`1. put file of one ${fmtBytes(size)} incompressible file`);
        let bigTeam;
        const bigSteps = {
          put: { setup: async () => (bigTeam = await freshTeam('big', ['big'])), step: () => putTeam(bigTeam, ['put', 'file', 'big@master:/big.bin', '-f', big]) },
        };
        if (hasRclone) bigSteps.rclone = { step: () => rcloneTo(big, 'big') };
        const b = await interleave(ctx.runs, bigSteps);
        if (hasRclone) rep.row({ label: 'rclone copy', ms: b.rclone.ms, times: b.rclone.times, rssKiB: b.rclone.rssKiB, base: true, status: `${fmtCounts(b.rclone.last.requests)}${cpu(b.rclone)}${s3cpu(b.rclone)}` });
        const bigRow = rep.row({ label: 'tusk put file (team store)', ms: b.put.ms, times: b.put.times, rssKiB: b.put.rssKiB, status: `${fmtCounts(b.put.last.requests)}${cpu(b.put)}${s3cpu(b.put)}` });
        if (hasRclone) {
          const ratio = rep.ratio(bigRow);
          rep.check('put file of the big file into a team store / rclone copy', { actual: `${ratio.toFixed(2)}×`, target: `≤ ${BIG_RATIO}× (issue)`, pass: ratio <= BIG_RATIO });
        }
        remove(big);
      }

      // ---- 2. many small files
      if (ctx.part(2)) {
        const files = ctx.sizes.small;
        const tree = path.join(dir, 'tree');
        log(`generating ${files.toLocaleString('en')} files in ${ctx.sizes.smallDirs} directories`);
        const gen = makeSmallTree(tree, { files, dirs: ctx.sizes.smallDirs, seed: 'team-small' });
        rep.section(`2. put file -r of ${files.toLocaleString('en')} small files (1–8 KiB, ${ctx.sizes.smallDirs} dirs, ${fmtBytes(gen.bytes)})`);
        let smallTeam;
        const putSmall = { setup: async () => (smallTeam = await freshTeam('small', ['small'])), step: () => putTeam(smallTeam, ['put', 'file', '-r', 'small@master:/', '-f', tree]) };
        const copySmall = { step: () => rcloneTo(tree, 'small', ['--transfers', '8']) };
        let s;
        if (!hasRclone) s = await interleave(ctx.runs, { put: putSmall });
        else if (ctx.quick) s = await interleave(ctx.runs, { put: putSmall, rclone: copySmall });
        else {
          // rclone's copy of 100,000 objects takes minutes: it runs once, tusk's put its rounds
          s = { ...(await interleave(ctx.runs, { put: putSmall })), ...(await interleave(1, { rclone: copySmall })) };
        }
        if (hasRclone) rep.row({ label: `rclone copy --transfers 8${ctx.quick ? '' : ' (one run)'}`, ms: s.rclone.ms, times: s.rclone.times, rssKiB: s.rclone.rssKiB, base: true, status: `${fmtCounts(s.rclone.last.requests)}${cpu(s.rclone)}${s3cpu(s.rclone)}` });
        rep.row({ label: 'tusk put file -r (team store)', ms: s.put.ms, times: s.put.times, rssKiB: s.put.rssKiB, status: `${fmtCounts(s.put.last.requests)}${cpu(s.put)}${s3cpu(s.put)}` });
        if (hasRclone) {
          const speedup = s.rclone.ms / s.put.ms;
          rep.check('rclone copy --transfers 8 / put file -r of the small files (team store)', { actual: `${speedup.toFixed(1)}× faster`, target: `≥ ${SMALL_SPEEDUP}× faster (issue)`, pass: speedup >= SMALL_SPEEDUP });
        }
        trash(tree);
      }

      // ---- 3. concurrent writers
      const localDir = path.join(dir, 'local');
      let localEnv;
      let teamW;
      if (ctx.part(3)) {
        const commits = ctx.quick ? 3 : 10;
        const small = path.join(dir, 'small.bin');
        writeRandomFile(small, 4096, 'team-writer');
        log(`3. ${WRITERS} writers × ${commits} commits, local and team store`);
        rep.section(`3. ${WRITERS} writer processes × ${commits} commits (tusk put file of 4 KiB to its own path, one branch)`);
        const writersScript = () =>
          // each writer a shell loop of CLI runs; a failed put stops its loop and fails the step
          // (each waited for by its pid, so the step's CPU and exit status include every writer)
          Array.from({ length: WRITERS }, (_, w) => `(for k in $(seq 1 ${commits}); do ${sh(tusk())} put file "w@master:/w${w}/c$k.bin" -f ${q(small)} || exit 1; done) & p${w}=$!;`).join(' ') +
          ` fail=0; for p in ${Array.from({ length: WRITERS }, (_, w) => `$p${w}`).join(' ')}; do wait $p || fail=1; done; exit $fail`;
        let serverCpu0 = 0;
        const serverCpu = { team: [] };
        const w = await interleave(ctx.runs, {
          local: {
            setup: async () => (localEnv = { ...baseEnv, TUSK_STORE: await freshStore(localDir, ['w']) }),
            step: () => measure([T(['sh', '-c', writersScript()])], { env: localEnv, cwd: dir, allowFail: true }),
          },
          team: {
            setup: async () => {
              teamW = await freshTeam('writers', ['w']);
              serverCpu0 = pg.cpuMs();
            },
            step: async () => {
              const r = await measure([T(['sh', '-c', writersScript()])], { env: teamW.env, cwd: dir, allowFail: true });
              const after = pg.cpuMs();
              if (after != null && serverCpu0 != null) serverCpu.team.push(after - serverCpu0);
              return r;
            },
          },
        });
        // every commit acknowledged (each put exited 0) is in master's history, with its file
        const countCommits = async (env) => JSON.parse(await tuskAsync(['list', 'commit', 'w@master', '--json'], { env, cwd: dir })).length;
        const countFiles = async (env) => JSON.parse(await tuskAsync(['list', 'file', 'w@master:/**', '--json'], { env, cwd: dir })).filter((f) => f.type !== 'dir').length;
        const want = WRITERS * commits;
        const perS = (ms) => ((want * 1000) / ms).toFixed(1);
        const localCommits = await countCommits(localEnv);
        const teamCommits = await countCommits(teamW.env);
        const localFiles = await countFiles(localEnv);
        const teamFiles = await countFiles(teamW.env);
        const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
        rep.row({ label: `local store: ${perS(w.local.ms)} commits/s`, ms: w.local.ms, times: w.local.times, rssKiB: w.local.rssKiB, base: true, status: `${localCommits} commits, ${localFiles} files${cpu(w.local)}` });
        rep.row({
          label: `team store: ${perS(w.team.ms)} commits/s`,
          ms: w.team.ms,
          times: w.team.times,
          rssKiB: w.team.rssKiB,
          status: `${teamCommits} commits, ${teamFiles} files${cpu(w.team)}${serverCpu.team.length ? ` · PostgreSQL CPU ${fmtMs(median(serverCpu.team))}` : ''}`,
        });
        // the repo's first commit, if `create repo` makes one, is the only commit beyond the writers'
        const allThere = (n, f) => n >= want && n <= want + 1 && f === want;
        // a writer's put that failed stops its loop: the check names the first error a round printed
        const failure = (r) => {
          const bad = r.all.find((x) => x.code !== 0);
          return bad ? `; a put failed (exit ${bad.code}): ${bad.stderr.trim().split('\n').filter((l) => /error/i.test(l))[0] ?? bad.stderr.trim().split('\n').pop()}` : '';
        };
        rep.check(`${WRITERS} writers on the team store: every put acknowledged and its commit in the history`, { actual: `${teamCommits} commits, ${teamFiles} files${failure(w.team)}`, target: `${want} commits (+ the repo's first), ${want} files, every put exit 0`, pass: allThere(teamCommits, teamFiles) && !failure(w.team) });
        rep.check(`${WRITERS} writers on the local store: every put acknowledged and its commit in the history`, { actual: `${localCommits} commits, ${localFiles} files${failure(w.local)}`, target: `${want} commits (+ the repo's first), ${want} files, every put exit 0`, pass: allThere(localCommits, localFiles) && !failure(w.local) });
        rep.note(`writers: team / local commits per second = ${(w.local.ms / w.team.ms).toFixed(2)}× (each commit is one CLI process: start-up is in it)`);
      }

      // ---- 4. start-up
      if (!ctx.part(4)) return;
      // the writers' stores, or (without part 3) a fresh one of each
      if (!localEnv) localEnv = { ...baseEnv, TUSK_STORE: await freshStore(localDir, ['w']) };
      if (!teamW) teamW = await freshTeam('startup', ['w']);
      log('4. start-up: tusk list repo');
      rep.section('4. start-up: tusk list repo');
      const st = await interleave(Math.max(ctx.runs, 5), {
        local: { step: () => measure([T(tusk('list', 'repo'))], { env: localEnv, cwd: dir }) },
        team: { step: () => measure([T(tusk('list', 'repo'))], { env: teamW.env, cwd: dir }) },
      });
      rep.row({ label: 'local store', ms: st.local.ms, times: st.local.times, rssKiB: st.local.rssKiB, base: true, status: cpu(st.local).slice(3) });
      rep.row({ label: 'team store (TUSK_STORE=postgres://…)', ms: st.team.ms, times: st.team.times, rssKiB: st.team.rssKiB, status: cpu(st.team).slice(3) });
      rep.note('the team store\'s start-up includes a connection to PostgreSQL, the team_store row and the schema check (loopback)');
      rep.note('PostgreSQL 15 with fsync off and s3rver, both on this machine: their CPU competes with tusk\'s and rclone\'s on the same cores');
    } finally {
      await s3.close();
      await pg.stop();
      trash(dir);
    }
  },
};
