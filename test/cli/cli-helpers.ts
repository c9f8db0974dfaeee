// Helpers for the CLI tests: they spawn the built binary (bin/run.js → dist/), as a user would,
// and read its --json output. test/global-setup.ts makes sure dist/ is built before any of this runs.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { tempDir } from '../helpers.js';
import { STORE_KIND, teamInitArgs } from '../helpers/store-kind.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(REPO_ROOT, 'bin', 'run.js');

/** uid/gid of `nobody`, used to check permission errors when the tests run as root. */
export const NOBODY = 65534;

export interface RunOptions {
  /** working directory (default: the process's) */
  cwd?: string;
  /** added to the environment; a value of `undefined` removes the variable */
  env?: Record<string, string | undefined>;
  /** bytes fed to stdin (stdin is closed either way, so a command reading it never hangs) */
  input?: string | Buffer;
  /** run as this unprivileged uid/gid through `setpriv` (see `unprivilegedRunner`) */
  asUser?: number;
  /** kill the process after this many ms (default 30 s) */
  timeoutMs?: number;
  /** run under this file size limit, in 512-byte blocks (`ulimit -f` of the shell that starts it) */
  fileSizeBlocks?: number;
}

export interface TuskResult {
  /** the exit status; a process killed by a signal reports 128 + the signal number */
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as raw bytes, for `get file` to stdout */
  stdoutBytes: Buffer;
  /** stdout parsed as JSON (throws with the whole output when it is not JSON) */
  json<T = any>(): T;
  /** one line describing the run, for assertion messages */
  describe(): string;
}

// The variables a developer's shell might set that would change what the CLI does.
const SCRUBBED = ['TUSK_STORE', 'DEBUG', 'FORCE_COLOR', 'NODE_OPTIONS', 'TUSK_DEBUG'];

/** The environment a spawned tusk gets: this one, scrubbed, with CI=true and `opts.env` applied. */
function tuskEnv(opts: RunOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of SCRUBBED) delete env[k];
  Object.assign(env, { CI: 'true', NO_COLOR: '1', TERM: 'dumb' });
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Spawn `node bin/run.js ARGS` with CI=true and collect its output. */
export function runTusk(args: readonly string[], opts: RunOptions = {}): Promise<TuskResult> {
  const env = tuskEnv(opts);
  let command = process.execPath;
  let argv = [BIN, ...args];
  if (opts.asUser !== undefined) {
    const id = String(opts.asUser);
    argv = [`--reuid=${id}`, `--regid=${id}`, '--clear-groups', command, ...argv];
    command = 'setpriv';
    // oclif reads its config and data dirs under HOME: give it one this user may read.
    env.HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-home-'));
    fs.chmodSync(env.HOME, 0o777);
  }
  if (opts.fileSizeBlocks !== undefined) {
    argv = ['-c', `ulimit -f ${opts.fileSizeBlocks} && exec "$@"`, 'sh', command, ...argv];
    command = 'sh';
  }
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {
      // the command may exit without reading stdin (EPIPE): not a failure of the test
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (opts.asUser !== undefined && env.HOME) fs.rmSync(env.HOME, { recursive: true, force: true });
      const stdoutBytes = Buffer.concat(out);
      const stdout = stdoutBytes.toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const status = code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
      const describe = () =>
        `tusk ${args.map(quote).join(' ')} → exit ${status}\n--- stdout:\n${stdout.slice(0, 4000)}\n--- stderr:\n${stderr.slice(0, 4000)}`;
      resolve({
        code: status,
        stdout,
        stderr,
        stdoutBytes,
        describe,
        json<T>(): T {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`stdout is not JSON: ${describe()}`);
          }
        },
      });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** A tusk command that keeps running (`logs -f`): its output so far, signals, and its end. */
export interface RunningTusk {
  /** stdout so far */
  stdout(): string;
  /** send a signal (the process is this test's own child) */
  kill(signal: NodeJS.Signals): void;
  /** settles when the process has exited */
  done: Promise<{ code: number; stdout: string; stderr: string; describe(): string }>;
  /** resolves once stdout satisfies `test`; rejects after `timeoutMs` or if the process exits first */
  waitFor(test: (stdout: string) => boolean, timeoutMs?: number): Promise<string>;
}

/** Start `node bin/run.js ARGS` without waiting for it (killed after `timeoutMs`, default 60 s). */
export function startTusk(args: readonly string[], opts: Omit<RunOptions, 'asUser' | 'input'> = {}): RunningTusk {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: tuskEnv(opts), stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const watchers = new Set<() => void>();
  child.stdout.on('data', (b: Buffer) => {
    out.push(b);
    for (const w of watchers) w();
  });
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const stdout = () => Buffer.concat(out).toString('utf8');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const describe = () => `tusk ${args.map(quote).join(' ')}\n--- stdout:\n${stdout().slice(-4000)}\n--- stderr:\n${Buffer.concat(err).toString('utf8').slice(-4000)}`;
  let exited = false;
  const done = new Promise<{ code: number; stdout: string; stderr: string; describe(): string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      exited = true;
      for (const w of watchers) w();
      const status = code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
      resolve({ code: status, stdout: stdout(), stderr: Buffer.concat(err).toString('utf8'), describe: () => `→ exit ${status}: ${describe()}` });
    });
  });
  return {
    stdout,
    kill: (signal) => void child.kill(signal),
    done,
    waitFor: (test, timeoutMs = 30_000) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const text = stdout();
          if (test(text)) finish(() => resolve(text));
          else if (exited) finish(() => reject(new Error(`exited before the expected output: ${describe()}`)));
        };
        const t = setTimeout(() => finish(() => reject(new Error(`expected output not seen within ${timeoutMs} ms: ${describe()}`))), timeoutMs);
        const finish = (then: () => void) => {
          clearTimeout(t);
          watchers.delete(check);
          then();
        };
        watchers.add(check);
        check();
      }),
  };
}

function quote(a: string): string {
  const shown = JSON.stringify(a);
  return /^[\w@:/.=^~+-]+$/.test(a) ? a : shown;
}

/** Run and require exit 0; returns the parsed --json output (pass --json yourself). */
export async function tuskJson<T = any>(args: readonly string[], opts: RunOptions = {}): Promise<T> {
  const r = await runTusk(args, opts);
  if (r.code !== 0) throw new Error(`expected exit 0: ${r.describe()}`);
  return r.json<T>();
}

/** A temp dir holding a fresh store (`tusk init` run in it), and a runner bound to it. */
export interface StoreDir {
  dir: string;
  /** runTusk with cwd = the store's directory */
  tusk(args: readonly string[], opts?: RunOptions): Promise<TuskResult>;
  /** tusk + exit 0 required + JSON parsed; adds --json when missing */
  json<T = any>(args: readonly string[], opts?: RunOptions): Promise<T>;
  cleanup(): void;
}

/**
 * Make a temp dir and run `tusk init` in it; with `fn`, run it and remove the dir afterwards. In the
 * team variant (test/helpers/store-kind.ts) the store is a team store whose client directory is
 * DIR/.tusk, so the commands run in DIR find it as they find a local one.
 */
export async function withStoreDir(): Promise<StoreDir>;
export async function withStoreDir<T>(fn: (s: StoreDir) => Promise<T>): Promise<T>;
export async function withStoreDir<T>(fn?: (s: StoreDir) => Promise<T>): Promise<StoreDir | T> {
  const dir = tempDir('tusk-cli-');
  const init = await runTusk(['init', ...(STORE_KIND === 'team' ? await teamInitArgs() : []), '--json'], { cwd: dir });
  if (init.code !== 0) throw new Error(`tusk init failed: ${init.describe()}`);
  if (STORE_KIND === 'team' && typeof init.json().metadata !== 'string') throw new Error(`tusk init made no team store: ${init.describe()}`);
  const s: StoreDir = {
    dir,
    tusk: (args, opts = {}) => runTusk(args, { cwd: dir, ...opts }),
    json: (args, opts = {}) => tuskJson(args.includes('--json') ? args : [...args, '--json'], { cwd: dir, ...opts }),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  if (!fn) return s;
  try {
    return await fn(s);
  } finally {
    s.cleanup();
  }
}

/** What a snapshot records of one repo. */
export interface RepoSnapshot {
  repo: unknown;
  branches: unknown;
  commits: unknown;
  /** every file and directory of each branch head, by branch name */
  files: Record<string, unknown>;
}

export interface StoreSnapshot {
  repos: Record<string, RepoSnapshot>;
  /** fsck's counts of metadata records (chunk and pack counts may change when gc-able garbage is left) */
  fsck: { repos: number; commits: number; nodes: number; contents: number };
}

/**
 * A fingerprint of everything the CLI can see in a store: repos, branches, commits, and every file
 * of every branch head; also requires `tusk fsck` to pass. Compare two with toEqual.
 */
export async function snapshot(dir: string, opts: Omit<RunOptions, 'cwd' | 'input'> = {}): Promise<StoreSnapshot> {
  const run = (args: string[]) => tuskJson([...args, '--json'], { ...opts, cwd: dir });
  const [repos, fsck] = await Promise.all([run(['list', 'repo', '--all']), runTusk(['fsck', '--json'], { ...opts, cwd: dir })]);
  if (fsck.code !== 0 || fsck.json().ok !== true) throw new Error(`fsck is not clean: ${fsck.describe()}`);
  const { repos: nRepos, commits, nodes, contents } = fsck.json().checked;
  const out: StoreSnapshot = { repos: {}, fsck: { repos: nRepos, commits, nodes, contents } };
  await Promise.all(
    (repos as { name: string }[]).map(async (repo) => {
      const [branches, commitList] = await Promise.all([run(['list', 'branch', repo.name]), run(['list', 'commit', repo.name, '--all'])]);
      const files: Record<string, unknown> = {};
      for (const b of branches as { name: string }[]) {
        files[b.name] = await run(['list', 'file', `${repo.name}@${b.name}:/**`]);
      }
      out.repos[repo.name] = { repo, branches, commits: commitList, files };
    }),
  );
  return out;
}

/**
 * How to run a command for which file permissions must apply: as yourself when not root; as
 * `nobody` through `setpriv` when root (root ignores permissions); not at all otherwise.
 */
export function unprivilegedRunner(): { ok: true; asUser: number | undefined; why: string } | { ok: false; why: string } {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: true, asUser: undefined, why: 'not root: permissions apply to this user' };
  }
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    if (d && fs.existsSync(path.join(d, 'setpriv'))) return { ok: true, asUser: NOBODY, why: 'root: running as nobody via setpriv' };
  }
  return { ok: false, why: 'running as root and setpriv is not installed: root ignores file permissions, so the case cannot be checked' };
}

/** Every file under `dir`, relative path → bytes. */
export function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p).split(path.sep).join('/'), fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/**
 * How two local trees differ, byte for byte: `[]` when they hold the same files with the same
 * bytes. (toEqual on large Buffers compares element by element and takes seconds.)
 */
export function treeDifferences(actualDir: string, expectedDir: string): string[] {
  const actual = readTree(actualDir);
  const expected = readTree(expectedDir);
  const out: string[] = [];
  for (const [p, bytes] of expected) {
    const got = actual.get(p);
    if (got === undefined) out.push(`missing ${p}`);
    else if (!got.equals(bytes)) out.push(`different ${p} (${got.length} bytes, expected ${bytes.length})`);
  }
  for (const p of actual.keys()) if (!expected.has(p)) out.push(`extra ${p}`);
  return out.sort();
}

/** Write files (relative path → contents) under `dir`, making directories as needed. */
export function writeTree(dir: string, files: Record<string, string | Buffer>): void {
  for (const [rel, data] of Object.entries(files)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
  }
}

export interface ExpectedError {
  /** the documented exit status (docs/errors.md) */
  exit: number;
  /** the documented error code */
  code: string;
  /** strings the message must contain (the offending name, path or value) */
  mentions?: readonly string[];
}

/**
 * Check one failure, in both output modes: without --json, one `Error: …` line (and maybe a
 * `Hint: …` line) on stderr and nothing on stdout; with --json, `{error: {code, message, hint}}` on
 * stdout and nothing on stderr. Both exit with `exit`. Returns the --json error. (On a team store,
 * the --json half only.)
 */
export async function expectCliError(
  args: readonly string[],
  expected: ExpectedError,
  opts: RunOptions = {},
): Promise<{ code: string; message: string; hint: string | null }> {
  // How an error is printed without --json does not depend on the kind of store: the `team`
  // project, which runs these suites again on a team store, checks the --json half only.
  const plain = STORE_KIND === 'team' ? undefined : await runTusk(args, opts);
  if (plain) {
    expect(plain.code, plain.describe()).toBe(expected.exit);
    expect(plain.stdout, plain.describe()).toBe('');
    expect(plain.stderr, plain.describe()).toMatch(/^Error: [^\n]+\n(Hint: [^\n]+\n)?$/);
    for (const m of expected.mentions ?? []) expect(plain.stderr, plain.describe()).toContain(m);
  }

  const json = await runTusk([...args, '--json'], opts);
  expect(json.code, json.describe()).toBe(expected.exit);
  expect(json.stderr, json.describe()).toBe('');
  const payload = json.json<{ error: { code: string; message: string; hint: string | null; details?: unknown } }>();
  expect(Object.keys(payload), json.describe()).toEqual(['error']);
  expect(Object.keys(payload.error).filter((k) => k !== 'details').sort(), json.describe()).toEqual(['code', 'hint', 'message']);
  expect(payload.error.code, json.describe()).toBe(expected.code);
  expect(typeof payload.error.message).toBe('string');
  expect(payload.error.message).not.toContain('\n');
  expect(payload.error.hint === null || (typeof payload.error.hint === 'string' && payload.error.hint.length > 0)).toBe(true);
  // the same message in both modes
  if (plain) expect(plain.stderr.split('\n')[0]).toBe(`Error: ${payload.error.message}`);
  for (const m of expected.mentions ?? []) expect(payload.error.message, json.describe()).toContain(m);
  return payload.error;
}

/** The --json half of expectCliError only: one spawn, for tests that check many errors. */
export async function expectJsonError(
  args: readonly string[],
  expected: ExpectedError,
  opts: RunOptions = {},
): Promise<{ code: string; message: string; hint: string | null }> {
  const r = await runTusk([...args, '--json'], opts);
  expect(r.code, r.describe()).toBe(expected.exit);
  expect(r.stderr, r.describe()).toBe('');
  const { error } = r.json<{ error: { code: string; message: string; hint: string | null } }>();
  expect(error.code, r.describe()).toBe(expected.code);
  for (const m of expected.mentions ?? []) expect(error.message, r.describe()).toContain(m);
  return error;
}

/** Require exit 0 and return the result (for chaining .json()). */
export function expectOk(r: TuskResult): TuskResult {
  expect(r.code, r.describe()).toBe(0);
  return r;
}
