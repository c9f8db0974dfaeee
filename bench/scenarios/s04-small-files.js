// Scenario 4 — question: are many small files cheap to put, re-put and get, compared with the
// tools people already use on a tree (tar, cp -r, git, restic)?
// Targets (issue), for 100,000 files of 1–8 KiB in 100 directories:
//   put file -r ≤ 1.5× tar -cf (+ sync) and ≥ 2× faster than restic backup; ≤ 1,000 store files;
//   put file -r peak RSS ≤ 200 MiB;
//   the second put (100 files changed, 100 added) no slower than git add -A && git commit, git's
//   index warm as a user's is after the first commit;
//   get file -r ≤ 1.5× cp -r and faster than restic restore.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { T, bestRounds, compareTrees, dirBytes, dirStats, exec, fmtBytes, freshStore, gitImportTree, gitInit, interleave, log, makeSmallTree, measure, mutateSmallTree, peerEnv, remove, stallRounds, status, trash, tusk, youngGeneration } from '../lib.js';

const PUT_BUDGET = 1.5;
const RESTIC_FACTOR = 2;
const FILES_BUDGET = 1000;
const GET_BUDGET = 1.5;
/** put -r's peak RSS: the issue pins 200 MiB at 100,000 files (and 400 MiB at 1,000,000) */
const RSS_BUDGET_MIB = 200;
const MILLION_RSS_BUDGET_MIB = 400;

export default {
  id: 4,
  title: 'Many small files',
  question: 'are put -r, a second put after a small change, and get -r of many small files as cheap as tar, git and cp -r, and cheaper than restic?',
  async run(ctx, rep) {
    const { small: files, smallDirs: dirs, change, add } = ctx.sizes;
    const dir = ctx.dir('small');
    const src = ctx.dir('small/src'); // a git work tree when git is installed
    const tree = path.join(src, 'tree');
    const env = peerEnv(ctx.dir('small/home'));
    log(`generating ${files.toLocaleString('en')} files in ${dirs} directories`);
    const gen = makeSmallTree(tree, { files, dirs, seed: 'small-v1' });
    rep.title = `${files.toLocaleString('en')} small files (1–8 KiB, ${dirs} dirs, ${fmtBytes(gen.bytes)})`;
    const has = (t) => ctx.peers[t];
    for (const t of ['restic', 'borg', 'git']) if (!has(t)) rep.note(`${t} not installed: its rows are skipped`);
    const resticRepo = path.join(dir, 'restic');
    const borgRepo = path.join(dir, 'borg');

    // ---- first put
    rep.section('put -r');
    const tarFile = path.join(dir, 'tree.tar');
    const storeDir = path.join(dir, 'store');
    let store;
    let growth = 0;
    // restic is part of a target here, so it runs in the same rounds (a fresh repository each time).
    // What the previous round wrote (the archive, the store, restic's repository: a few hundred
    // files at most) is deleted before each step, as in scenario 1; a warm-up round and five
    // timed ones, since a round that stalls is not rare on this machine kind.
    const firstSteps = {
      tar: { step: () => measure([T(['tar', '-cf', tarFile, '-C', src, 'tree']), '&& sync']), setup: () => remove(tarFile) },
      put: {
        step: async () => {
          const before = dirBytes(store);
          const r = await measure([T(tusk('put', 'file', '-r', 'r@master:/tree', '-f', tree))], { env: { TUSK_STORE: store } });
          growth = dirBytes(store) - before;
          return r;
        },
        setup: async () => {
          store = await freshStore(storeDir);
        },
      },
    };
    if (has('restic')) {
      firstSteps.restic = {
        step: () => measure([T(['restic', 'backup', '--repo', resticRepo, '--quiet', 'tree'])], { cwd: src, env }),
        setup: () => {
          remove(resticRepo);
          exec(['restic', 'init', '--repo', resticRepo, '--quiet'], { env });
        },
      };
    }
    const rounds = stallRounds(ctx, 5);
    const { tar, put, restic: restic1 = null } = await interleave(rounds.runs, firstSteps, { warmup: rounds.warmup });
    trash(tarFile);
    rep.row({ label: 'tar -cf + sync', ms: tar.ms, times: tar.times, rssKiB: tar.rssKiB, base: true });
    const putRatio = put.ms / tar.ms;
    const putRow = rep.row({ label: 'tusk put file -r', ms: put.ms, times: put.times, rssKiB: put.rssKiB, growth });
    const storeFiles = dirStats(store).files;
    if (restic1) rep.row({ label: 'restic backup', ms: restic1.ms, times: restic1.times, rssKiB: restic1.rssKiB, growth: dirBytes(resticRepo), status: 'peer' });
    if (has('borg')) {
      exec(['borg', 'init', '--encryption=none', borgRepo], { env });
      const r = await measure([T(['borg', 'create', `${borgRepo}::t1`, 'tree'])], { cwd: src, env });
      rep.row({ label: 'borg create', ms: r.ms, rssKiB: r.rssKiB, growth: dirBytes(borgRepo), status: 'peer' });
    }
    if (has('git')) {
      // git's own first commit would write one loose object file per file (minutes for 100,000
      // files on a slow disk) and is no target: the repo is set up through fast-import instead.
      log('setting up the git repo with the first version (git fast-import, untimed)');
      gitInit(src, env);
      await gitImportTree(src, 'tree', env);
      rep.note("git's first commit of the tree is not timed: the repo is set up with git fast-import (one pack)");
    }
    rep.note(bestRounds(put, 'put -r', tar, 'tar -cf + sync'));
    const putPass = putRatio <= PUT_BUDGET && (restic1 === null || put.ms * RESTIC_FACTOR <= restic1.ms);
    putRow.status = status(putPass, `≤ ${PUT_BUDGET}×${restic1 ? `, ≥ ${RESTIC_FACTOR}× faster than restic` : ''}`);
    rep.check('put file -r / (tar -cf + sync)', { actual: `${putRatio.toFixed(2)}× (${(put.ms / 1000).toFixed(2)} s vs ${(tar.ms / 1000).toFixed(2)} s)`, target: `≤ ${PUT_BUDGET}×`, pass: putRatio <= PUT_BUDGET });
    rep.check('restic backup / put file -r', {
      actual: restic1 ? `${(restic1.ms / put.ms).toFixed(2)}× (${(restic1.ms / 1000).toFixed(2)} s vs ${(put.ms / 1000).toFixed(2)} s)` : 'restic not installed',
      target: `≥ ${RESTIC_FACTOR}× (tusk at least twice as fast)`,
      pass: restic1 ? restic1.ms >= put.ms * RESTIC_FACTOR : null,
    });
    rep.check('put file -r peak RSS', {
      actual: put.rssKiB == null ? 'not measured' : fmtBytes(put.rssKiB * 1024),
      target: `≤ ${RSS_BUDGET_MIB} MiB`,
      pass: put.rssKiB == null ? null : put.rssKiB <= RSS_BUDGET_MIB * 1024,
    });
    rep.check('files in the store', { actual: storeFiles.toLocaleString('en'), target: `≤ ${FILES_BUDGET.toLocaleString('en')}`, pass: storeFiles <= FILES_BUDGET });
    // Most of the peak RSS beyond 200 MiB once was V8's young generation, grown to 32 MiB after the
    // content worker's start undid the CLI's flag; at --quick's 10,000 files the RSS stays far
    // below the budget either way, but the young generation's size tells at any size (untimed).
    const probeStore = await freshStore(path.join(dir, 'probe-store'));
    const youngPut = youngGeneration(['put', 'file', '-r', 'r@master:/tree', '-f', tree], { TUSK_STORE: probeStore });
    const youngList = youngGeneration(['list', 'repo'], { TUSK_STORE: probeStore });
    trash(path.dirname(probeStore));
    // (one doubling is allowed: the worker's start leaves a short window where V8's default holds)
    rep.check("put file -r: V8's young generation at exit", {
      actual: youngPut == null || youngList == null ? 'not measured' : `${fmtBytes(youngPut)} (list repo: ${fmtBytes(youngList)})`,
      target: '≤ 2× list repo’s',
      pass: youngPut == null || youngList == null ? null : youngPut <= 2 * youngList,
    });

    // ---- second put: `change` files rewritten, `add` files added; every run starts from the same state
    rep.section(`second put (${change} changed, ${add} added)`);
    mutateSmallTree(tree, { files, dirs, change, add, seed: 'small-v2' });
    // Every run starts from the first version: the store and .git are restored from copies (untimed).
    // The copy of .git lies outside git's work tree: inside it, `git add -A` would add the copy
    // (its 450 MB pack) too, which is what git's 9–10 s here once were.
    const gitDir = path.join(src, '.git');
    const gitSnap = path.join(dir, 'git.snap');
    const snapshot = `${store}.v1`;
    exec(['cp', '-a', store, snapshot]);
    if (has('git')) {
      // git's index is warm, as a user's is after their first commit: `git reset` in the setup
      // wrote it with every file's stat; `git status` proves it (a stale entry would be re-hashed
      // here, untimed, and written back).
      exec(['git', 'status', '--porcelain'], { cwd: src, env });
      exec(['cp', '-a', gitDir, gitSnap]);
    }
    let growth2 = 0;
    const steps = {
      put2: {
        step: async () => {
          const before = dirBytes(store);
          const r = await measure([T(tusk('put', 'file', '-r', 'r@master:/tree', '-f', tree))], { env: { TUSK_STORE: store } });
          growth2 = dirBytes(store) - before;
          return r;
        },
        setup: (i) => {
          if (i === 0) return;
          trash(store);
          exec(['cp', '-a', snapshot, store]);
        },
      },
    };
    if (has('git')) {
      steps.git = {
        step: () => measure([T(['git', 'add', '-A']), '&&', T(['git', 'commit', '-q', '-m', 't2'])], { cwd: src, env }),
        setup: (i) => {
          if (i === 0) return;
          trash(gitDir);
          exec(['cp', '-a', gitSnap, gitDir]);
        },
      };
    }
    const { put2, git: gitRun = null } = await interleave(ctx.runs, steps);
    trash(snapshot);
    trash(gitSnap);
    if (gitRun) rep.row({ label: 'git add -A && git commit', ms: gitRun.ms, times: gitRun.times, rssKiB: gitRun.rssKiB, base: true });
    const put2Pass = gitRun ? put2.ms <= gitRun.ms : null;
    rep.row({ label: 'tusk put file -r', ms: put2.ms, times: put2.times, rssKiB: put2.rssKiB, growth: growth2, status: status(put2Pass, '≤ git') });
    if (has('restic')) {
      const before = dirBytes(resticRepo);
      const r = await measure([T(['restic', 'backup', '--repo', resticRepo, '--quiet', 'tree'])], { cwd: src, env });
      rep.row({ label: 'restic backup', ms: r.ms, rssKiB: r.rssKiB, growth: dirBytes(resticRepo) - before, status: 'peer' });
    }
    rep.check('second put -r / git add -A && git commit', {
      actual: gitRun ? `${(put2.ms / gitRun.ms).toFixed(2)}× (${(put2.ms / 1000).toFixed(2)} s vs ${(gitRun.ms / 1000).toFixed(2)} s)` : 'git not installed',
      target: '≤ 1.00×',
      pass: put2Pass,
    });

    // ---- get -r
    rep.section('get -r');
    const out = path.join(dir, 'out');
    const cpOut = path.join(out, 'cp');
    const getOut = path.join(out, 'get');
    const fresh = () => {
      trash(out);
      fs.mkdirSync(out);
    };
    const { cp, get } = await interleave(ctx.runs, {
      cp: { step: () => measure([T(['cp', '-r', tree, cpOut])]), setup: fresh },
      get: { step: () => measure([T(tusk('get', 'file', '-r', 'r@master:/tree', '-o', getOut))], { env: { TUSK_STORE: store } }), setup: fresh },
    });
    rep.row({ label: 'cp -r', ms: cp.ms, times: cp.times, rssKiB: cp.rssKiB, base: true });
    const diff = compareTrees(tree, getOut);
    trash(out);
    const getRow = rep.row({ label: 'tusk get file -r', ms: get.ms, times: get.times, rssKiB: get.rssKiB });
    let restore = null;
    if (has('restic')) {
      restore = await measure([T(['restic', 'restore', 'latest', '--repo', resticRepo, '--target', path.join(out, 'restic'), '--quiet'])], { env });
      trash(out);
      rep.row({ label: 'restic restore', ms: restore.ms, rssKiB: restore.rssKiB, status: 'peer' });
    }
    const getRatio = get.ms / cp.ms;
    const getPass = getRatio <= GET_BUDGET && (restore === null || get.ms < restore.ms);
    getRow.status = status(getPass, `≤ ${GET_BUDGET}×${restore ? ', < restic' : ''}`);
    rep.check('get file -r / cp -r', { actual: `${getRatio.toFixed(2)}× (${(get.ms / 1000).toFixed(2)} s vs ${(cp.ms / 1000).toFixed(2)} s)`, target: `≤ ${GET_BUDGET}×`, pass: getRatio <= GET_BUDGET });
    rep.check('get file -r vs restic restore', {
      actual: restore ? `${(get.ms / 1000).toFixed(2)} s vs ${(restore.ms / 1000).toFixed(2)} s` : 'restic not installed',
      target: 'faster than restic',
      pass: restore ? get.ms < restore.ms : null,
    });
    rep.check('tree got back', { actual: diff ?? 'identical', target: 'identical to the put tree', pass: diff === null });
    trash(dir);
    if (ctx.million) await millionFiles(ctx, rep);
  },
};

/**
 * `--million`: put -r of 1,000,000 files (1,000 directories) once, against tar -cf + sync once.
 * Target (issue): peak RSS ≤ 400 MiB; the time is reported. Needs ~10 GiB in BENCH_DIR and
 * several minutes (creating and deleting the files is most of it), so it is not in the default run.
 */
async function millionFiles(ctx, rep) {
  const files = 1_000_000;
  const dirs = 1000;
  rep.section(`put -r of ${files.toLocaleString('en')} files (${dirs} dirs)`);
  const dir = ctx.dir('million');
  const tree = path.join(dir, 'tree');
  log(`generating ${files.toLocaleString('en')} files in ${dirs} directories`);
  const gen = makeSmallTree(tree, { files, dirs, seed: 'million' });
  const tarFile = path.join(dir, 'tree.tar');
  const tar = await measure([T(['tar', '-cf', tarFile, '-C', dir, 'tree']), '&& sync']);
  remove(tarFile);
  const store = await freshStore(path.join(dir, 'store'));
  const put = await measure([T(tusk('put', 'file', '-r', 'r@master:/tree', '-f', tree))], { env: { TUSK_STORE: store } });
  rep.row({ label: `tar -cf + sync (${fmtBytes(gen.bytes)})`, ms: tar.ms, rssKiB: tar.rssKiB, base: true });
  const pass = put.rssKiB == null ? null : put.rssKiB <= MILLION_RSS_BUDGET_MIB * 1024;
  rep.row({ label: 'tusk put file -r', ms: put.ms, rssKiB: put.rssKiB, growth: dirBytes(store), status: status(pass, `peak RSS ≤ ${MILLION_RSS_BUDGET_MIB} MiB`) });
  rep.check(`put file -r of ${files.toLocaleString('en')} files: peak RSS`, { actual: put.rssKiB == null ? 'not measured' : fmtBytes(put.rssKiB * 1024), target: `≤ ${MILLION_RSS_BUDGET_MIB} MiB`, pass });
  rep.check(`put file -r of ${files.toLocaleString('en')} files / (tar -cf + sync)`, { actual: `${(put.ms / tar.ms).toFixed(2)}× (${(put.ms / 1000).toFixed(1)} s vs ${(tar.ms / 1000).toFixed(1)} s)`, target: 'report', pass: true });
  trash(dir);
}
