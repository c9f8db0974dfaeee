#!/usr/bin/env node
// tusk's benchmark suite: `npm run bench` (builds dist/ first), or `node bench/run.js [flags]`.
//
//   --quick          small sizes (64 MiB file, 10k small files, 100k-entry dir, 1 GiB memory test)
//   --runs N         runs per cheap timed step, median kept (default 3)
//   --only 1,4       run only these scenarios
//   --parts 3,4      run only these numbered parts of a scenario that has them (scenario 21)
//   --json FILE      also write the results as JSON
//   --no-fail        exit 0 even when a target is missed
//   --keep           keep the temp directory (its path is printed)
//   --million        scenario 4 also puts a tree of 1,000,000 files (once; ~10 GiB, minutes)
//
// Data lives in a temp directory under $BENCH_DIR (default: os.tmpdir()), removed at the end.
// Every scenario states its question, prints ratios against a baseline measured in the same run,
// and checks the issue's targets; any missed target makes the exit status 1.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GiB, GNU_TIME, MiB, Report, REPO_ROOT, TUSK_BIN, buildInfo, emptyTrash, fmtMs, have, killChildren, log, machine, peerVersion, setRoundCap, setScratchDir, snapshotBuild } from './lib.js';

const SCENARIOS = [
  './scenarios/s01-put-large.js',
  './scenarios/s02-put-edit.js',
  './scenarios/s03-get-large.js',
  './scenarios/s04-small-files.js',
  './scenarios/s05-wide-dir.js',
  './scenarios/s06-diff.js',
  './scenarios/s07-startup.js',
  './scenarios/s08-memory.js',
  './scenarios/s09-dedup.js',
  './scenarios/s10-compressible.js',
  './scenarios/s11-pipelines.js',
  './scenarios/s12-ml.js',
  './scenarios/s13-predict-append.js',
  './scenarios/s14-list-stream.js',
  './scenarios/s15-table-versions.js',
  './scenarios/s16-remote-push.js',
  './scenarios/s17-ml-stream.js',
  './scenarios/s18-lazy-clone.js',
  './scenarios/s19-workers.js',
  './scenarios/s20-claims.js',
  './scenarios/s21-team-store.js',
  './scenarios/s22-team-rerun.js',
  './scenarios/s23-team-delta-pull.js',
];

const SIZES = {
  full: {
    big: 1 * GiB,
    editLen: 1 * MiB,
    editAppend: 16 * MiB,
    small: 100_000,
    smallDirs: 100,
    change: 100,
    add: 100,
    wide: 1_000_000,
    diffSmall: 10_000,
    diffBig: 100_000,
    repos: 100,
    memory: 10 * GiB,
    csv: 500_000_000,
    table: 200_000_000,
    tableVersions: 10,
  },
  quick: {
    big: 64 * MiB,
    editLen: 1 * MiB,
    editAppend: 4 * MiB,
    small: 10_000,
    smallDirs: 100,
    change: 100,
    add: 100,
    wide: 100_000,
    diffSmall: 1_000,
    diffBig: 10_000,
    repos: 100,
    memory: 1 * GiB,
    csv: 32 * MiB,
    table: 32 * MiB,
    tableVersions: 10,
  },
};

function usage(code) {
  const text = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 12).map((l) => l.replace(/^\/\/ ?/, '')).join('\n');
  (code ? process.stderr : process.stdout).write(text + '\n');
  process.exit(code);
}

function parseArgs(argv) {
  const o = { quick: false, runs: 3, only: null, parts: null, json: null, fail: true, keep: false, million: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) usage(2);
      return v;
    };
    const name = a.split('=')[0];
    if (name === '--quick') o.quick = true;
    else if (name === '--runs') o.runs = Math.max(1, Number.parseInt(val(), 10) || 1);
    else if (name === '--only') {
      o.only = new Set(val().split(',').map((s) => Number.parseInt(s, 10)));
      if ([...o.only].some((n) => !(n >= 1 && n <= SCENARIOS.length))) {
        process.stderr.write(`--only takes scenario numbers 1..${SCENARIOS.length}, comma-separated\n`);
        process.exit(2);
      }
    }
    else if (name === '--parts') {
      o.parts = new Set(val().split(',').map((s) => Number.parseInt(s, 10)));
      if ([...o.parts].some((n) => !(n >= 1))) {
        process.stderr.write('--parts takes part numbers from 1, comma-separated\n');
        process.exit(2);
      }
    }
    else if (name === '--json') o.json = path.resolve(val());
    else if (name === '--no-fail') o.fail = false;
    else if (name === '--keep') o.keep = true;
    else if (name === '--million') o.million = true;
    else if (name === '--help' || name === '-h') usage(0);
    else {
      process.stderr.write(`unknown argument ${a}\n`);
      usage(2);
    }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
setRoundCap(opts.quick ? 15_000 : 60_000);
if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'store', 'store.js'))) {
  process.stderr.write('dist/ is missing: run `npm run bench` (it builds first) or `npm run build`\n');
  process.exit(2);
}

const root = fs.mkdtempSync(path.join(process.env.BENCH_DIR || os.tmpdir(), 'tusk-bench-'));
setScratchDir(root);
const ctx = {
  quick: opts.quick,
  million: opts.million,
  runs: opts.runs,
  /** whether a scenario's numbered part is to run (--parts; all of them without it) */
  part: (n) => !opts.parts || opts.parts.has(n),
  sizes: opts.quick ? SIZES.quick : SIZES.full,
  root,
  shared: {},
  /** a fresh directory under the run's temp dir */
  dir(name) {
    const d = path.join(root, name);
    fs.mkdirSync(d, { recursive: true });
    return d;
  },
  peers: {},
};

let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (opts.keep) process.stderr.write(`kept ${root}\n`);
  else fs.rmSync(root, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killChildren();
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

const m = machine();
const started = new Date();
console.log(`tusk bench — ${opts.quick ? 'quick' : 'full'} mode, ${opts.runs} run(s) per cheap step, ${started.toISOString()}`);
console.log(`machine: ${m.cpus} cores (${m.cpuModel}), ${m.memory} RAM, ${m.os}, node ${m.node}; peak RSS from ${m.rssSource}`);
console.log(`data: ${root} (warm page cache; \`sync\` before every timed step)`);
const load0 = os.loadavg();
console.log(`load average at start: ${load0.map((l) => l.toFixed(2)).join(' ')}${load0[0] > m.cpus / 2 ? '  — WARNING: the machine is busy; times will be noisy' : ''}`);
const peerLines = [];
for (const tool of ['tar', 'zstd', 'git', 'git-lfs', 'restic', 'borg']) {
  ctx.peers[tool] = have(tool) && peerVersion(tool) !== null;
  peerLines.push(ctx.peers[tool] ? `${tool}: ${peerVersion(tool)}` : `${tool}: not installed (its rows are skipped)`);
}
console.log(`peers: ${peerLines.join('; ')}`);
if (!GNU_TIME) console.log('note: GNU time not found; peak RSS is sampled from /proc (install the `time` package for exact numbers)');
const build = buildInfo();
snapshotBuild(path.join(root, 'tusk'));
console.log(`tusk: commit ${build.commit ?? '?'}${build.srcChanges ? ` + ${build.srcChanges} changed file(s) under src/` : ''}, dist/ built ${build.distBuilt}; copied to ${path.dirname(path.dirname(TUSK_BIN))} at start\n`);

// Shared data (scenarios/big-file.js, scenarios/wide-dir.js) is deleted once no scenario left to run uses it, so the
// 10 GiB of scenario 8 never sits beside the large file's stores and peer repositories.
const FIXTURE_USERS = { 'big/src': [1, 2, 3, 9], big: [1, 2, 3], wide: [5, 14] };
function releaseFixtures(remaining) {
  for (const [dir, users] of Object.entries(FIXTURE_USERS)) {
    if (users.some((id) => remaining.includes(id))) continue;
    if (dir === 'wide') {
      fs.rmSync(path.join(root, 'wide'), { recursive: true, force: true });
      delete ctx.shared.wideStore;
    } else if (dir === 'big') {
      for (const name of fs.existsSync(path.join(root, 'big')) ? fs.readdirSync(path.join(root, 'big')) : []) if (name !== 'src') fs.rmSync(path.join(root, 'big', name), { recursive: true, force: true });
      delete ctx.shared.bigWork;
    } else {
      fs.rmSync(path.join(root, dir), { recursive: true, force: true });
      delete ctx.shared.bigSource;
    }
  }
}

const reports = [];
const t0 = Date.now();
try {
  const selected = [];
  for (const file of SCENARIOS) {
    const sc = (await import(file)).default;
    if (!opts.only || opts.only.has(sc.id)) selected.push(sc);
  }
  for (const [k, sc] of selected.entries()) {
    const rep = new Report(sc);
    const ts = Date.now();
    log(`[${sc.id}] ${sc.title}`);
    try {
      await sc.run(ctx, rep);
    } catch (err) {
      rep.check('scenario ran to the end', { actual: `crashed: ${String(err.message ?? err).split('\n').slice(0, 3).join(' | ')}`, target: 'no error', pass: false });
    }
    rep.elapsedMs = Date.now() - ts;
    reports.push(rep);
    console.log(rep.render());
    console.log(`  (scenario took ${fmtMs(rep.elapsedMs)})\n`);
    releaseFixtures(selected.slice(k + 1).map((s) => s.id));
    emptyTrash();
  }
} finally {
  cleanup();
}

const checks = reports.flatMap((r) => r.checks.map((c) => ({ id: r.id, ...c })));
const failed = checks.filter((c) => c.pass === false);
const skipped = checks.filter((c) => c.pass === null);
console.log('summary');
for (const c of checks) console.log(`  ${c.pass === true ? 'PASS' : c.pass === false ? 'FAIL' : 'SKIP'}  [${c.id}] ${c.name}: ${c.actual} (target ${c.target})`);
const load1 = os.loadavg();
console.log(`\n${checks.length - failed.length - skipped.length} passed, ${failed.length} failed, ${skipped.length} skipped; total ${fmtMs(Date.now() - t0)}; load average at end: ${load1.map((l) => l.toFixed(2)).join(' ')}`);

if (opts.json) {
  const out = { date: started.toISOString(), mode: opts.quick ? 'quick' : 'full', runs: opts.runs, machine: m, build, loadAverage: { start: load0, end: load1 }, peers: ctx.peers, totalMs: Date.now() - t0, scenarios: reports.map((r) => ({ ...r.toJSON(), elapsedMs: r.elapsedMs })), failed: failed.length };
  fs.writeFileSync(opts.json, JSON.stringify(out, null, 2) + '\n');
  console.log(`results written to ${opts.json}`);
}
process.exitCode = failed.length > 0 && opts.fail ? 1 : 0;
