// Shared machinery of the benchmark suite: spawning and timing commands, peak RSS, deterministic
// data, store and directory sizes, peer tools, and the report every scenario fills in.
// Plain ESM JavaScript so `npm run bench` needs no compile step for the bench itself.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(BENCH_DIR, '..');
export const NODE = process.execPath;
/** The tusk being measured: the checkout, or the copy of its build that snapshotBuild made. */
export let TUSK_ROOT = REPO_ROOT;
export let TUSK_BIN = path.join(REPO_ROOT, 'bin', 'run.js');

/**
 * Copy the built CLI (bin/, dist/, package.json, oclif.manifest.json; node_modules linked) into
 * `dir` and measure that copy: a rebuild of dist/ while the bench runs cannot change what is
 * measured half-way through.
 */
export function snapshotBuild(dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const name of ['bin', 'dist', 'package.json', 'oclif.manifest.json']) {
    const from = path.join(REPO_ROOT, name);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, name), { recursive: true });
  }
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  TUSK_ROOT = dir;
  TUSK_BIN = path.join(dir, 'bin', 'run.js');
}

const t0 = Date.now();
/** Progress on stderr, so stdout holds only the report. */
export function log(msg) {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`  [${s}s] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// Tools

const haveCache = new Map();
/** Whether a command is on PATH (`command -v`). */
export function have(tool) {
  if (!haveCache.has(tool)) haveCache.set(tool, spawnSync('sh', ['-c', `command -v ${q(tool)}`], { stdio: 'ignore' }).status === 0);
  return haveCache.get(tool);
}

/** GNU time, if it works here: `time -f %M -o FILE` gives a command's peak RSS in KiB. */
export const GNU_TIME = (() => {
  if (process.env.BENCH_NO_GNU_TIME) return null; // to exercise the fallback
  for (const bin of ['/usr/bin/time', '/bin/time']) {
    if (!fs.existsSync(bin)) continue;
    const f = path.join(os.tmpdir(), `tusk-bench-time-probe-${process.pid}`);
    const r = spawnSync(bin, ['-f', '%M', '-o', f, 'true'], { stdio: 'ignore' });
    let ok = false;
    try {
      ok = r.status === 0 && /^\d+\s*$/.test(fs.readFileSync(f, 'utf8'));
      fs.rmSync(f, { force: true });
    } catch {
      // not GNU time
    }
    if (ok) return bin;
  }
  return null;
})();

// Deleting is not free on every disk (on ext4 with online discard, unlinking 100,000 files takes
// tens of seconds and slows the file creations that follow), so trees of many files are not
// deleted between timed steps: what a step leaves behind is renamed into the trash, which run.js
// empties (and syncs) after each scenario. A few big files (a copy, a store, an archive) are
// deleted instead (remove()): kept, they would make every later step write into memory nobody
// used for a while, which this machine kind pays for (see "How it measures" in bench/README.md).
let trashDir = null;
let trashSeq = 0;
/** Where the run keeps its scratch files (rss outputs) and its trash: a directory under the run's temp dir. */
let scratchDir = os.tmpdir();
export function setScratchDir(dir) {
  scratchDir = dir;
  trashDir = path.join(dir, 'trash');
}

/** Move a file or directory out of the way (instant); it is deleted after the scenario. */
export function trash(p) {
  if (!fs.existsSync(p)) return;
  if (!trashDir) return void fs.rmSync(p, { recursive: true, force: true });
  fs.mkdirSync(trashDir, { recursive: true });
  fs.renameSync(p, path.join(trashDir, `${++trashSeq}-${path.basename(p)}`));
}

/** Delete a file or directory of a few files now (untimed setup); `sync` follows before the next timed step. */
export function remove(p) {
  fs.rmSync(p, { recursive: true, force: true });
}

/** Delete what was trashed; untimed, between scenarios. */
export function emptyTrash() {
  if (trashDir && fs.existsSync(trashDir)) {
    fs.rmSync(trashDir, { recursive: true, force: true });
    syncDisk();
  }
}

/** Shell-quote one word. */
export function q(s) {
  s = String(s);
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quote an argv into one shell command. */
export function sh(argv) {
  return argv.map(q).join(' ');
}

/** argv of the tusk CLI: always `node bin/run.js`, as a user's `tusk` would run. */
export function tusk(...args) {
  return [NODE, TUSK_BIN, ...args];
}

/**
 * An untimed tusk command, asynchronous: for scenarios whose S3 server (s3rver) answers from this
 * process, which a synchronous spawn would block. Resolves to its stdout; rejects when it fails.
 */
export async function tuskAsync(args, opts = {}) {
  const { stdout } = await execFileAsync(NODE, [TUSK_BIN, ...args], { ...opts, env: { ...process.env, ...opts.env }, maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

/**
 * argv of the tusk CLI with bench/cpu-usage.cjs preloaded: run with TUSK_BENCH_CPU_OUT=FILE in its
 * env, it writes its own CPU time (not its children's) there; readOwnCpu(FILE) reads it.
 */
export function tuskOwnCpu(...args) {
  return [NODE, '-r', path.join(BENCH_DIR, 'cpu-usage.cjs'), TUSK_BIN, ...args];
}

/** The CPU time (ms, user + system) a tuskOwnCpu process wrote to `file`; null if it wrote none. */
export function readOwnCpu(file) {
  try {
    const [u, sy] = fs.readFileSync(file, 'utf8').trim().split(' ').map(Number);
    fs.rmSync(file, { force: true });
    return Number.isFinite(u) && Number.isFinite(sy) ? (u + sy) / 1000 : null;
  } catch {
    return null;
  }
}

/**
 * The size (bytes) of V8's young generation when `tusk ARGS` exits (bench/heap-probe.cjs preloaded),
 * run untimed with `env` added; null if the probe wrote nothing.
 */
export function youngGeneration(args, env = {}) {
  const out = path.join(scratchDir, `young-${++rssSeq}`);
  exec([NODE, '-r', path.join(BENCH_DIR, 'heap-probe.cjs'), TUSK_BIN, ...args], { env: { ...env, TUSK_BENCH_HEAP_OUT: out } });
  try {
    const bytes = Number(fs.readFileSync(out, 'utf8').trim());
    return bytes > 0 ? bytes : null;
  } catch {
    return null;
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/** Mark an argv inside a measured script as a command whose peak RSS is recorded. */
export function T(argv) {
  return { argv };
}

/** Flush dirty pages, so the writeback of one step does not bleed into the next one's time. */
export function syncDisk() {
  spawnSync('sync', { stdio: 'ignore' });
}

let rssSeq = 0;
const running = new Set();

/** Stop every measured command still running (on Ctrl-C): each is its own process group. */
export function killChildren() {
  for (const c of running) {
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/**
 * Run a shell script made of raw shell text and T(argv) pieces; time it from spawn to exit.
 * Returns { ms, rssKiB (max over the T pieces, null if none), cpuMs (user + system time of the T
 * pieces and the processes they waited for; null without GNU time), stdout (if capture) }.
 * `sync` (default true) runs `sync` first, untimed.
 */
export async function measure(pieces, opts = {}) {
  const { cwd, env = {}, sync = true, capture = false, allowFail = false } = opts;
  if (!Array.isArray(pieces)) pieces = [pieces];
  // A lone command is spawned without a shell (under GNU time, or with its VmHWM sampled from here
  // when GNU time is missing), so no shell start-up lands in its time; pipelines go through sh -c
  // (and bench/rss-wrap.js without GNU time).
  const lone = pieces.length === 1 && typeof pieces[0] === 'object';
  const direct = lone && !GNU_TIME;
  const rssFiles = [];
  const text = pieces
    .map((p) => {
      if (typeof p === 'string') return p;
      const f = path.join(scratchDir, `rss-${++rssSeq}`);
      rssFiles.push(f);
      if (GNU_TIME) return `${q(GNU_TIME)} -f '%M %U %S' -o ${q(f)} ${sh(p.argv)}`;
      return `${sh([NODE, path.join(BENCH_DIR, 'rss-wrap.js'), f, '--', ...p.argv])}`;
    })
    .join(' ');
  if (sync) syncDisk();
  const start = process.hrtime.bigint();
  const [cmd, ...args] = direct ? pieces[0].argv : lone ? [GNU_TIME, '-f', '%M %U %S', '-o', rssFiles[0], ...pieces[0].argv] : ['sh', '-c', text];
  // its own process group, so an interrupted bench can stop the whole pipeline (killChildren)
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', capture ? 'pipe' : 'ignore', 'pipe'], detached: true });
  running.add(child);
  let hwm = null;
  const sampler = direct ? setInterval(() => (hwm = Math.max(hwm ?? 0, readHwm(child.pid) ?? 0)), 10) : null;
  const out = [];
  let err = '';
  child.stdout?.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => {
    err = (err + d.toString()).slice(-4000);
  });
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, sig) => resolve(c ?? 128 + (os.constants.signals[sig] ?? 0)));
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  running.delete(child);
  if (sampler) clearInterval(sampler);
  let rssKiB = direct ? hwm : null;
  // CPU of the timed commands and every process they waited for (GNU time only)
  let cpuMs = null;
  for (const f of rssFiles) {
    try {
      const lines = fs.readFileSync(f, 'utf8').trim().split('\n');
      const [m, u, sy] = lines[lines.length - 1].split(' ').map(Number);
      if (Number.isFinite(m)) rssKiB = Math.max(rssKiB ?? 0, m);
      if (Number.isFinite(u) && Number.isFinite(sy)) cpuMs = (cpuMs ?? 0) + (u + sy) * 1000;
    } catch {
      // the command did not get to run
    }
    fs.rmSync(f, { force: true });
  }
  if (code !== 0 && !allowFail) {
    const e = new Error(`command failed (exit ${code}): ${text}\n${err.trim()}`);
    e.exitCode = code;
    throw e;
  }
  return { ms, rssKiB, cpuMs, code, stdout: capture ? Buffer.concat(out).toString() : '', stderr: err };
}

/** Peak RSS (VmHWM, KiB) of a live process, or null. */
function readHwm(pid) {
  try {
    const m = /VmHWM:\s*(\d+)\s*kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Run a plain command, untimed; throws on failure. */
export function exec(argv, opts = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { cwd: opts.cwd, env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * MiB });
  if (r.error) throw r.error;
  if (r.status !== 0 && !opts.allowFail) throw new Error(`command failed (exit ${r.status}): ${sh(argv)}\n${String(r.stderr).slice(-2000)}`);
  return String(r.stdout);
}

/**
 * Repeat a measured step `runs` times (an untimed `setup` before each) and keep the median time,
 * the max RSS, and the last run's result for whatever else the caller reads.
 */
export async function repeat(runs, step, setup, opts) {
  return (await interleave(runs, { only: { step, setup } }, opts)).only;
}

/** Rounds stop once this much time has gone by (at least one round always runs): slow steps get fewer runs. */
let roundCapMs = 60_000;
export function setRoundCap(ms) {
  roundCapMs = ms;
}

/**
 * Run several measured steps round-robin (a, b, c, a, b, c, …), so that a burst of load from
 * elsewhere on the machine hits the baseline and the measured step alike. `steps` maps a name to
 * { step(i), setup?(i) }; returns the same names mapped to { ms (median), times, rssKiB (max), last, all }.
 * No new round starts after `capMs` (see setRoundCap), so a step that takes minutes runs once.
 */
export async function interleave(runs, steps, { capMs = roundCapMs, warmup = 0 } = {}) {
  const names = Object.keys(steps);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  let start = Date.now();
  // rounds below 0 are warm-up: run as a timed round would be, and kept nowhere (steps see every
  // round numbered from 0, warm-up included)
  for (let i = -warmup; i < runs && (i <= 0 || Date.now() - start < capMs); i++) {
    if (i === 0) start = Date.now();
    for (const n of names) {
      if (steps[n].setup) await steps[n].setup(i + warmup);
      const r = await steps[n].step(i + warmup);
      if (i >= 0) results[n].push(r);
    }
  }
  return Object.fromEntries(names.map((n) => [n, summarize(results[n])]));
}

function summarize(results) {
  const times = results.map((r) => r.ms);
  return {
    ms: median(times),
    times,
    rssKiB: results.reduce((m, r) => (r.rssKiB == null ? m : Math.max(m ?? 0, r.rssKiB)), null),
    cpuMs: results.some((r) => r.cpuMs == null) ? null : median(results.map((r) => r.cpuMs)),
    last: results[results.length - 1],
    all: results,
  };
}

/**
 * Rounds for a step that writes a lot into fresh memory, which stalls now and then on this machine
 * kind (bench/README.md, "How it measures"): at least `n` and a warm-up round in full mode; quick
 * mode, whose numbers are start-up and say little, keeps its few.
 */
export function stallRounds(ctx, n) {
  return ctx.quick ? { runs: ctx.runs, warmup: 0 } : { runs: Math.max(ctx.runs, n), warmup: 1 };
}

/** The best round of a step against the best of its baseline: what each costs when nothing stalls it. */
export function bestRounds(step, stepLabel, base, baseLabel) {
  const best = (r) => Math.min(...r.times);
  return `best rounds: ${stepLabel} ${(best(step) / 1000).toFixed(2)} s vs ${baseLabel} ${(best(base) / 1000).toFixed(2)} s = ${(best(step) / best(base)).toFixed(2)}×`;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// ---------------------------------------------------------------------------------------------
// Deterministic data

/** A seeded, incompressible byte stream: AES-256-CTR keystream, key = SHA-256(seed). */
export function keystream(seed) {
  const key = createHash('sha256').update(`tusk-bench:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  let zeros = Buffer.alloc(0);
  return (n) => {
    if (zeros.length < n) zeros = Buffer.alloc(Math.max(n, 64 * KiB));
    return cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n));
  };
}

/** A seeded integer PRNG (splitmix32): `rand(n)` is uniform in [0, n). */
export function prng(seed) {
  let s = (createHash('sha256').update(`tusk-bench-prng:${seed}`).digest().readUInt32LE(0) | 0) >>> 0;
  const next = () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  return (n) => Math.floor((next() / 4294967296) * n);
}

const BLOCK = 4 * MiB;

/** Write `bytes` of seeded random data; returns the SHA-1 of what was written. */
export function writeRandomFile(file, bytes, seed) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const ks = keystream(seed);
  const h = createHash('sha1');
  const fd = fs.openSync(file, 'w');
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(BLOCK, bytes - done);
      const b = ks(n);
      h.update(b);
      writeAll(fd, b, null);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function writeAll(fd, b, pos) {
  for (let off = 0; off < b.length; ) {
    const n = fs.writeSync(fd, b, off, b.length - off, pos === null ? null : pos + off);
    off += n;
  }
}

/** Overwrite `len` bytes at `offset` and append `append` bytes, all seeded: version 2 of a big file. */
export function editFile(file, { offset, len, append, seed }) {
  const ks = keystream(seed);
  const fd = fs.openSync(file, 'r+');
  try {
    writeAll(fd, ks(len), offset);
    const end = fs.fstatSync(fd).size;
    for (let done = 0; done < append; ) {
      const n = Math.min(BLOCK, append - done);
      writeAll(fd, ks(n), end + done);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** SHA-1 of a file, read in 4 MiB blocks. */
export function hashFile(file) {
  const h = createHash('sha1');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(BLOCK);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, BLOCK, null);
      if (n === 0) break;
      h.update(n === BLOCK ? buf : buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

const dirName = (i) => `d${String(i).padStart(3, '0')}`;
const fileName = (i) => `f${String(i).padStart(6, '0')}.dat`;

/** `files` files of minSize..maxSize seeded random bytes spread over `dirs` directories. */
export function makeSmallTree(root, { files, dirs, seed, minSize = 1 * KiB, maxSize = 8 * KiB }) {
  const ks = keystream(seed);
  const rand = prng(seed);
  let bytes = 0;
  for (let d = 0; d < dirs; d++) fs.mkdirSync(path.join(root, dirName(d)), { recursive: true });
  for (let i = 0; i < files; i++) {
    const size = minSize + rand(maxSize - minSize + 1);
    fs.writeFileSync(path.join(root, dirName(i % dirs), fileName(i)), ks(size));
    bytes += size;
  }
  return { files, dirs, bytes };
}

/** Rewrite `change` existing files (spread evenly) and add `add` new ones: the "second put" change set. */
export function mutateSmallTree(root, { files, dirs, change, add, seed, minSize = 1 * KiB, maxSize = 8 * KiB }) {
  const ks = keystream(seed);
  const rand = prng(seed);
  const step = Math.floor(files / change);
  for (let k = 0; k < change; k++) {
    const i = k * step + 7;
    const size = minSize + rand(maxSize - minSize + 1);
    fs.writeFileSync(path.join(root, dirName(i % dirs), fileName(i)), ks(size));
  }
  for (let k = 0; k < add; k++) {
    const size = minSize + rand(maxSize - minSize + 1);
    fs.writeFileSync(path.join(root, dirName(k % dirs), `new${String(k).padStart(5, '0')}.dat`), ks(size));
  }
}

/** A seeded CSV of about `bytes` bytes (compressible like real tabular data). Returns its size. */
export function writeCsv(file, bytes, seed) {
  const rand = prng(seed);
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november'];
  const cats = ['retail', 'wholesale', 'online', 'partner', 'internal'];
  const fd = fs.openSync(file, 'w');
  let written = 0;
  let id = 0;
  const base = Date.UTC(2023, 0, 1) / 1000;
  try {
    let s = 'id,timestamp,customer,region,category,quantity,price,total\n';
    while (written < bytes) {
      const parts = [];
      for (let k = 0; k < 10000; k++) {
        id++;
        const ts = new Date((base + id * 7 + rand(5)) * 1000).toISOString();
        const qty = 1 + rand(50);
        const cents = 100 + rand(99900);
        parts.push(`${id},${ts},${names[rand(names.length)]}-${rand(1000)},r${rand(20)},${cats[rand(cats.length)]},${qty},${(cents / 100).toFixed(2)},${((qty * cents) / 100).toFixed(2)}\n`);
      }
      s += parts.join('');
      let b = Buffer.from(s);
      if (written + b.length > bytes) {
        // end on a whole line
        const cut = b.lastIndexOf(10, bytes - written - 1);
        b = b.subarray(0, cut + 1);
        if (b.length === 0) break;
        writeAll(fd, b, null);
        written += b.length;
        break;
      }
      writeAll(fd, b, null);
      written += b.length;
      s = '';
    }
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

/** Rewrite 1% of the data rows of `lines` (keeping the header) with fresh values, as an edit would. */
function editRows(lines, rand) {
  const n = lines.length - 1;
  for (let k = 0; k < Math.ceil(n / 100); k++) {
    const i = 1 + rand(n);
    const f = lines[i].split(',');
    const qty = 1 + rand(50);
    const cents = 100 + rand(99900);
    f[5] = String(qty);
    f[6] = (cents / 100).toFixed(2);
    f[7] = ((qty * cents) / 100).toFixed(2);
    lines[i] = f.join(',');
  }
}

/**
 * `count` versions of a seeded CSV of about `bytes` bytes in `dir` (v1.csv, v2.csv, …), each with
 * 1% of the rows of the one before edited (seeds `seed` and `seed-edits`). Returns their paths.
 */
export function writeCsvVersions(dir, count, bytes, seed) {
  const first = path.join(dir, 'v1.csv');
  writeCsv(first, bytes, seed);
  const lines = fs.readFileSync(first, 'utf8').split('\n');
  const last = lines.pop(); // '' after the final newline
  const rand = prng(`${seed}-edits`);
  const files = [first];
  for (let v = 2; v <= count; v++) {
    editRows(lines, rand);
    const f = path.join(dir, `v${v}.csv`);
    fs.writeFileSync(f, `${lines.join('\n')}\n${last}`);
    files.push(f);
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// Sizes

/** Apparent bytes and file count below a directory (the store, a peer's repository). */
export function dirStats(dir) {
  let bytes = 0;
  let files = 0;
  const walk = (d) => {
    let names;
    try {
      names = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of names) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        try {
          bytes += fs.statSync(p).size;
          files++;
        } catch {
          // removed meanwhile
        }
      }
    }
  };
  walk(dir);
  return { bytes, files };
}

export const dirBytes = (dir) => dirStats(dir).bytes;

/** Compare two trees file by file (names and bytes); returns a description of the first difference or null. */
export function compareTrees(a, b) {
  if (have('diff')) {
    const r = spawnSync('diff', ['-rq', a, b], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * MiB });
    return r.status === 0 ? null : String(r.stdout || r.stderr).split('\n')[0] || `diff exited ${r.status}`;
  }
  const list = (root) => {
    const out = [];
    const walk = (d, rel) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name), `${rel}/${e.name}`);
        else out.push(`${rel}/${e.name}`);
      }
    };
    walk(root, '');
    return out.sort();
  };
  const la = list(a);
  const lb = list(b);
  if (la.length !== lb.length) return `${la.length} files vs ${lb.length}`;
  for (let i = 0; i < la.length; i++) {
    if (la[i] !== lb[i]) return `${la[i]} vs ${lb[i]}`;
    if (!fs.readFileSync(a + la[i]).equals(fs.readFileSync(b + lb[i]))) return `${la[i]} differs`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// tusk stores, through the public façade in dist/ (setup only; timed steps always spawn the CLI)

let storeApi;
async function api() {
  storeApi ??= await import(path.join(TUSK_ROOT, 'dist', 'store', 'store.js'));
  return storeApi;
}

/** A fresh store in `dir` (an old one, a few files, is deleted) with the given repos. Returns the `.tusk` path. */
export async function freshStore(dir, repos = ['r']) {
  remove(dir);
  fs.mkdirSync(dir, { recursive: true });
  const { initStore, openStore } = await api();
  const { path: storePath } = initStore(dir);
  const s = openStore({ path: storePath });
  try {
    for (const r of repos) await s.createRepo(r);
  } finally {
    s.close();
  }
  return storePath;
}

/** Run `fn(store)` against an open store, closing it after (setup only). */
export async function withStore(storePath, fn) {
  const { openStore } = await api();
  const s = openStore({ path: storePath });
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

/** Bytes of tree pages in the store (the `nodes` table), read with better-sqlite3. */
export async function nodeBytes(storePath) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path.join(storePath, 'meta.db'), { fileMustExist: true, timeout: 30_000 });
  try {
    return db.prepare('SELECT COALESCE(SUM(length(data)), 0) AS n, COUNT(*) AS c FROM nodes').get();
  } finally {
    db.close();
  }
}

/**
 * Put a synthetic tree of tiny files into `repo@master` without spawning the CLI: `names` paths
 * (strings, any order) whose contents are `distinct` small seeded blobs. The contents are put
 * through Store.putFiles; the paths are added in one transaction with applyPathEdits over staged
 * pages, exactly as file-service's commitEdits does. Falls back to putFiles in batches if those internals moved.
 */
export async function putSyntheticTree(storePath, repo, paths, { distinct = 256, seed = 'synthetic' } = {}) {
  const { openStore } = await api();
  const s = openStore({ path: storePath });
  try {
    const blob = (i) => Buffer.from(`${seed} ${i}\n`);
    let internals = null;
    try {
      const ft = await import(path.join(TUSK_ROOT, 'dist', 'store', 'file-tree.js'));
      const cs = await import(path.join(TUSK_ROOT, 'dist', 'store', 'commit-service.js'));
      const ps = await import(path.join(TUSK_ROOT, 'dist', 'store', 'page-store.js'));
      if (typeof ft.applyPathEdits === 'function' && typeof ft.lookupPath === 'function' && typeof cs.insertCommit === 'function' && typeof ps.withStagedPages === 'function' && typeof s.core?.unitOfWork === 'function')
        internals = { ...ft, ...cs, ...ps };
    } catch {
      internals = null;
    }
    if (!internals) {
      const B = 50_000;
      for (let b = 0; b < paths.length; b += B) {
        const sources = paths.slice(b, b + B).map((p, k) => ({ kind: 'stream', stream: [blob((b + k) % distinct)], repoPath: p }));
        await s.putFiles({ repo, branch: 'master' }, sources);
      }
      return;
    }
    const seedPaths = Array.from({ length: distinct }, (_, i) => `/.seed/s${String(i).padStart(5, '0')}`);
    await s.putFiles({ repo, branch: 'master' }, seedPaths.map((p, i) => ({ kind: 'stream', stream: [blob(i)], repoPath: p })));
    const c = s.core;
    await c.unitOfWork(async () => {
      const head = await c.graph.getCommit(repo, (await c.graph.getBranch(repo, 'master')).head);
      const entries = [];
      for (const p of seedPaths) entries.push(await internals.lookupPath(c.reader, head.root, p));
      const edits = paths.map((p, i) => ({ path: p, entry: { ...entries[i % distinct], name: '' } }));
      for (const p of seedPaths) edits.push({ path: p, entry: null });
      const ref = await internals.withStagedPages(c, (pages) => internals.applyPathEdits(pages, head.root, edits));
      const nc = await internals.insertCommit(c, { repo, branch: 'master', parent: head, origin: 'USER', description: 'bench: synthetic tree', finished: true });
      await c.graph.setCommitRoot(repo, nc.id, ref.id, ref.size, ref.files);
      await c.graph.setBranch(repo, 'master', nc.id, Date.now());
    });
  } finally {
    s.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Peers (each optional: a missing one is skipped with a message)

export const PEER_ENV = {
  RESTIC_PASSWORD: 'tusk-bench',
  BORG_PASSPHRASE: '',
  BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
  BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
  BORG_CHECK_I_KNOW_WHAT_I_AM_DOING: 'YES',
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** Environment for peers, with their caches and config under `home` (cleaned with the run). */
export function peerEnv(home) {
  fs.mkdirSync(home, { recursive: true });
  return { ...PEER_ENV, HOME: home, XDG_CACHE_HOME: path.join(home, '.cache'), XDG_CONFIG_HOME: path.join(home, '.config'), RESTIC_CACHE_DIR: path.join(home, 'restic-cache'), BORG_BASE_DIR: home };
}

/** `git init` with background gc off: a detached `gc --auto` would race the bench's copies and timings. */
export function gitInit(dir, env) {
  exec(['git', 'init', '-q', dir], { env });
  exec(['git', 'config', 'gc.auto', '0'], { cwd: dir, env });
  exec(['git', 'config', 'maintenance.auto', 'false'], { cwd: dir, env });
}

/**
 * Commit the files under `dir/rel` into the git repo at `dir` through `git fast-import` (one pack,
 * no loose objects), then `git reset` so the index matches the work tree: the state a repo is in
 * after `git add -A && git commit`, without 100,000 loose object files to create (setup only).
 */
export async function gitImportTree(dir, rel, env) {
  const child = spawn('git', ['fast-import', '--quiet'], { cwd: dir, env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import exited ${code}: ${err.slice(-2000)}`))));
  });
  const write = (b) => (child.stdin.write(b) ? Promise.resolve() : new Promise((r) => child.stdin.once('drain', r)));
  const files = [];
  const walk = (d, r) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${r}/${e.name}`);
      else if (e.isFile()) files.push(`${r}/${e.name}`);
    }
  };
  walk(path.join(dir, rel), rel);
  for (let i = 0; i < files.length; i++) {
    const data = fs.readFileSync(path.join(dir, files[i]));
    await write(`blob\nmark :${i + 1}\ndata ${data.length}\n`);
    await write(data);
    await write('\n');
  }
  await write(`commit refs/heads/master\ncommitter bench <bench@example.com> 1700000000 +0000\ndata 3\nt1\n`);
  for (let i = 0; i < files.length; i += 1000) await write(files.slice(i, i + 1000).map((f, k) => `M 100644 :${i + k + 1} ${f}\n`).join(''));
  child.stdin.end('\n');
  await done;
  exec(['git', 'symbolic-ref', 'HEAD', 'refs/heads/master'], { cwd: dir, env });
  exec(['git', 'reset', '-q'], { cwd: dir, env });
}

export function peerVersion(tool) {
  try {
    const args = { restic: ['version'], borg: ['--version'], git: ['--version'], 'git-lfs': ['version'], zstd: ['--version'], tar: ['--version'] }[tool] ?? ['--version'];
    return exec([tool, ...args]).split('\n')[0].trim();
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

export function fmtMs(ms) {
  if (ms == null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60000)}m${((ms % 60000) / 1000).toFixed(0).padStart(2, '0')}s`;
}

export function fmtBytes(n) {
  if (n == null || !Number.isFinite(n)) return '—';
  const neg = n < 0;
  let v = Math.abs(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${neg ? '-' : ''}${u === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export const fmtRss = (kib) => (kib == null ? '—' : fmtBytes(kib * KiB));
export const fmtRatio = (r) => (r == null || !Number.isFinite(r) ? '—' : `${r.toFixed(2)}×`);

/** Render rows (arrays of strings) as an aligned table; `right` marks right-aligned columns. */
export function table(header, rows, right = []) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r) =>
    '  ' +
    r
      .map((c, i) => (right.includes(i) ? (c ?? '').padStart(w[i]) : (c ?? '').padEnd(w[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Reports

/**
 * What one scenario found: rows (grouped, each group's ratios against its baseline row), checks
 * against targets, notes (skipped peers, caveats).
 */
export class Report {
  constructor(scenario) {
    this.id = scenario.id;
    this.title = scenario.title;
    this.question = scenario.question;
    this.rows = [];
    this.checks = [];
    this.notes = [];
    this.group = '';
  }

  /** Start a group of rows; the next row marked `base` is what the group's ratios divide by. */
  section(name) {
    this.group = name;
  }

  /** { label, ms, rssKiB, growth, base, target, note, times } */
  row(r) {
    const row = { group: this.group, ...r };
    this.rows.push(row);
    return row;
  }

  base(group = this.group) {
    return this.rows.find((r) => r.group === group && r.base);
  }

  ratio(row) {
    const b = this.base(row.group);
    return b && row.ms != null && b.ms ? row.ms / b.ms : null;
  }

  /** A target: `pass` true/false, or null when it could not be checked (a peer missing). */
  check(name, { actual, target, pass }) {
    this.checks.push({ name, actual, target, pass });
    return pass;
  }

  note(s) {
    this.notes.push(s);
  }

  render() {
    const out = [`[${this.id}] ${this.title}`, `    question: ${this.question}`];
    if (this.rows.length > 0) {
      const rows = [];
      let g = null;
      for (const r of this.rows) {
        if (r.group !== g) {
          g = r.group;
          if (g) rows.push([`${g}:`, '', '', '', '', '', '']);
        }
        rows.push([
          `${g ? '  ' : ''}${r.label}${r.base ? ' (baseline)' : ''}`,
          String(r.times?.length ?? 1),
          fmtMs(r.ms),
          r.base ? '1.00×' : fmtRatio(this.ratio(r)),
          fmtRss(r.rssKiB),
          r.growth == null ? '' : fmtBytes(r.growth),
          r.status ?? '',
        ]);
      }
      out.push(table(['step', 'runs', 'time', 'ratio', 'peak RSS', 'store +', 'check'], rows, [1, 2, 3, 4, 5]));
    }
    for (const c of this.checks) out.push(`  ${c.pass === true ? 'PASS' : c.pass === false ? 'FAIL' : 'SKIP'}  ${c.name}: ${c.actual} (target ${c.target})`);
    for (const n of this.notes) out.push(`  note: ${n}`);
    return out.join('\n');
  }

  toJSON() {
    return {
      id: this.id,
      title: this.title,
      question: this.question,
      rows: this.rows.map((r) => ({ ...r, ratio: r.base ? 1 : this.ratio(r) })),
      checks: this.checks,
      notes: this.notes,
    };
  }
}

/** "PASS ≤ 1.30×" style status for a row that a check is about. */
export function status(pass, what) {
  return `${pass === true ? 'PASS' : pass === false ? 'FAIL' : 'SKIP'} ${what}`;
}

/** Which tusk is measured: the checkout's commit, uncommitted changes under src/, and when dist/ was built. */
export function buildInfo() {
  const git = (args) => {
    const r = spawnSync('git', args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    return r.status === 0 ? String(r.stdout).trim() : null;
  };
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const changed = git(['status', '--porcelain', '--', 'src']);
  let built = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else built = Math.max(built, fs.statSync(p).mtimeMs);
    }
  };
  walk(path.join(REPO_ROOT, 'dist'));
  return { commit, srcChanges: changed === null ? null : changed.split('\n').filter(Boolean).length, distBuilt: new Date(built).toISOString() };
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memory: fmtBytes(os.totalmem()),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    rssSource: GNU_TIME ? `${GNU_TIME} -f %M` : 'VmHWM sampled from /proc every 10 ms (no GNU time)',
  };
}
