// Pachyderm's own examples (test/fixtures/pachyderm, unchanged) followed as their READMEs and
// Makefiles say, with `pachctl` replaced by `tusk`. A `pachctl` on PATH that execs the built tusk
// lets the Makefile targets run as written; `python` on PATH stands in for the image's
// interpreter. Jobs run in the calling command (TUSK_RUNNER=foreground), so each step's output
// is there when the next step reads it, as after `pachctl wait commit`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { tempDir } from '../helpers.js';
import { BIN, expectOk, REPO_ROOT, runTusk, type TuskResult } from '../cli/cli-helpers.js';

export const EXAMPLES = path.join(REPO_ROOT, 'test', 'fixtures', 'pachyderm');

/**
 * The interpreter behind the `python` shim: the system's where there is one. A `python3` found on
 * PATH may be a version manager's shim (pyenv's: a shell script that runs `pyenv exec`, ~0.3 s of
 * CPU at every start against ~0.04 s), and the examples start one per datum.
 */
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/**
 * Why an example cannot run here, or undefined: a tool it needs is missing, or `/pfs` cannot be
 * given to its code (the examples' scripts open `/pfs/...` themselves, which only a private mount
 * namespace provides; the fallback rewrites `/pfs` in cmd and stdin only).
 */
export function missingTool(tools: readonly string[]): string | undefined {
  for (const t of tools) if (spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0) return `${t} is not installed`;
  if (process.env.TUSK_PFS_MODE === 'rewrite') return 'TUSK_PFS_MODE=rewrite: the code cannot see /pfs';
  const ns = spawnSync('unshare', ['--user', '--map-root-user', '--mount', '--fork', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt'], { stdio: 'ignore', timeout: 5000 });
  if (process.platform !== 'linux' || ns.status !== 0) return 'user and mount namespaces are unavailable: the code cannot see /pfs';
  return undefined;
}

/** One example copied to a temp dir, with a store in it and the shims on PATH. */
export interface Example {
  dir: string;
  /** the directory of the shims, on PATH */
  bin: string;
  env: Record<string, string>;
  /** `make TARGET ARGS...` in the example's directory, as its README says; fails the test on error */
  make(...args: string[]): string;
  /** the `pachctl ARGS` line of the README, run as `tusk ARGS` (in `cwd`, relative to the example) */
  tusk(args: string[], cwd?: string): Promise<TuskResult>;
  json<T>(args: string[]): Promise<T>;
  cleanup(): void;
}

/** `shims`: more stand-ins for what the image provided, name → shell script body. */
export async function openExample(name: string, shims: Record<string, string> = {}): Promise<Example> {
  const dir = path.join(tempDir(`tusk-example-${name}-`), name);
  fs.cpSync(path.join(EXAMPLES, name), dir, { recursive: true });
  const bin = path.join(path.dirname(dir), 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'pachctl'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'python'), `#!/bin/sh\nexec ${PYTHON} "$@"\n`, { mode: 0o755 });
  for (const [shim, body] of Object.entries(shims)) fs.writeFileSync(path.join(bin, shim), `#!/bin/sh\n${body}`, { mode: 0o755 });
  const env = { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, TUSK_RUNNER: 'foreground' };
  const ex: Example = {
    dir,
    bin,
    env,
    make(...args) {
      const r = spawnSync('make', args, { cwd: dir, env: { ...process.env, ...env, CI: 'true', NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, `make ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
      return r.stdout;
    },
    tusk: (args, cwd) => runTusk(args, { cwd: cwd ? path.join(dir, cwd) : dir, env }),
    async json<T>(args: string[]) {
      return expectOk(await runTusk([...args, '--json'], { cwd: dir, env })).json<T>();
    },
    cleanup: () => fs.rmSync(path.dirname(dir), { recursive: true, force: true }),
  };
  expectOk(await ex.tusk(['init']));
  return ex;
}

export type FileInfo = { path: string; type: 'file' | 'dir'; hash: string; sizeBytes: number };
export type Pipeline = { name: string; lastJobState: string | null };

/** The paths `list file REF` shows. */
export async function listPaths(ex: Example, ref: string): Promise<string[]> {
  return (await ex.json<FileInfo[]>(['list', 'file', ref])).map((f) => f.path);
}

/** `get file REF` as text. */
export async function getText(ex: Example, ref: string): Promise<string> {
  return expectOk(await ex.tusk(['get', 'file', ref])).stdout;
}

/** Every pipeline's last job ended in success. */
export async function expectAllJobsSucceeded(ex: Example): Promise<void> {
  const pipelines = await ex.json<Pipeline[]>(['list', 'pipeline']);
  expect(pipelines.length).toBeGreaterThan(0);
  expect(pipelines.filter((p) => p.lastJobState !== 'success')).toEqual([]);
}
