// Helpers for the worker tests: a store with an input repo of N small files and a pipeline over
// them, workers started as real processes of the built CLI, and waits on what the store shows.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, runTusk, type StoreDir } from '../cli/cli-helpers.js';

/** A worker process: its stderr log so far, signals, and its end. */
export interface WorkerProcess {
  pid: number;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Jobs run only in workers and `tusk run`: no background runner is started by the writes. */
export const NO_RUNNER = { TUSK_RUNNER: 'none' };

/** Start `tusk worker ARGS` in `dir` (killed after `timeoutMs`, default 60 s). */
export function startWorker(dir: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): WorkerProcess {
  const base: NodeJS.ProcessEnv = { ...process.env };
  // what the test runner sets for itself (NODE_OPTIONS among them) is no part of a worker's world
  for (const k of ['TUSK_STORE', 'DEBUG', 'FORCE_COLOR', 'NODE_OPTIONS', 'TUSK_DEBUG']) delete base[k];
  const child = spawn(process.execPath, [BIN, 'worker', ...args], { cwd: dir, env: { ...base, CI: 'true', NO_COLOR: '1', ...NO_RUNNER, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
  return { pid: child.pid!, stderr: () => Buffer.concat(err).toString('utf8'), kill: (s) => void child.kill(s), done };
}

/** An input repo `in` of `n` one-line files and a pipeline `name` running `script` on each (glob /*). */
export async function setUpPipeline(s: StoreDir, n: number, script: string, extra: Record<string, unknown> = {}, name = 'up'): Promise<string> {
  const src = path.join(s.dir, 'src');
  fs.mkdirSync(src, { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(src, `f${String(i).padStart(5, '0')}`), `${i}\n`);
  await s.json(['create', 'repo', 'in'], { env: NO_RUNNER });
  await s.json(['put', 'file', '-r', 'in@master:/', '-f', src], { env: NO_RUNNER });
  const spec = { pipeline: { name }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', '-c', script] }, ...extra };
  fs.writeFileSync(path.join(s.dir, 'spec.json'), JSON.stringify(spec));
  await s.json(['create', 'pipeline', '-f', path.join(s.dir, 'spec.json')], { env: NO_RUNNER });
  const jobs = await s.json<{ id: string; state: string }[]>(['list', 'job', '-p', name], { env: NO_RUNNER });
  return jobs[0]!.id;
}

/** Poll `until` (reading the store through the CLI) until it holds; throws after `timeoutMs`. */
export async function waitUntil<T>(what: string, read: () => Promise<T>, until: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (until(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms; last: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Another process holding the store's write lock (an open write transaction) until release():
 * what a long write by another program looks like to tusk.
 */
export async function holdWriteLock(dir: string): Promise<{ release(): Promise<void> }> {
  const meta = path.join(fs.realpathSync(path.join(dir, '.tusk')), 'meta.db');
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const code = `const D = require(${JSON.stringify(sqlite)}); const db = new D(process.argv[1]); db.exec('BEGIN IMMEDIATE'); process.stdout.write('locked\\n'); process.stdin.on('end', () => { db.exec('COMMIT'); db.close(); }); process.stdin.resume();`;
  const child = spawn(process.execPath, ['-e', code, meta], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock`)));
  });
  return {
    release: () => {
      child.stdin.end();
      return ended;
    },
  };
}

/** The datums of a job through `list datum --json`. */
export function datumsOf(s: StoreDir, pipeline: string, job: string): Promise<{ id: string; state: string; attempts: number; error: string | null; worker?: string | null }[]> {
  return s.json(['list', 'datum', `${pipeline}@${job}`], { env: NO_RUNNER });
}

export { runTusk };
