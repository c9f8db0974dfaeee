// Helpers for the project tests: a real git repo in a temp dir with a tusk store, tusk.yaml, a
// tracked data directory and a pipeline whose code is a shell script in the repo.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initStore } from '../../src/store/store.js';
import { tempDir } from '../helpers.js';
import { runTusk, type RunOptions, type TuskResult } from '../cli/cli-helpers.js';

export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'tusk test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'tusk test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

// the variables that would change what tusk (run by the hooks) does
const SCRUB = ['TUSK_STORE', 'DEBUG', 'TUSK_DEBUG', 'TUSK_RUNNER', 'TUSK_SKIP_HOOKS', 'TUSK_HOOK_DEBUG', 'NODE_OPTIONS'];

export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...GIT_ENV, NO_COLOR: '1', ...extra };
  for (const k of SCRUB) if (!(k in extra)) delete env[k];
  return env;
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The upper-casing pipeline: one datum per file of `words`, code in scripts/upper.sh. */
export const UPPER_SPEC = {
  pipeline: { name: 'upper' },
  input: { pfs: { repo: 'words', glob: '/*' } },
  transform: { cmd: ['sh', '../scripts/upper.sh', '/pfs/words', '/pfs/out'] },
};
export const UPPER_SH = '#!/bin/sh\nfor f in "$1"/*; do tr a-z A-Z < "$f" > "$2/$(basename "$f")"; done\n';

/** A project: git repo + store + tusk.yaml; `data/` and `.tusk/` are ignored by git. */
export class TestProject {
  readonly dir: string;

  constructor(opts: { config?: string; files?: Record<string, string | Buffer>; init?: boolean } = {}) {
    this.dir = tempDir('tusk-project-');
    this.git(['init', '-q', '-b', 'main']);
    this.write({
      '.gitignore': '.tusk/\ndata/\n',
      'tusk.yaml': opts.config ?? 'store: .tusk\ntrack:\n  - path: data/words\n    repo: words\npipelines:\n  - spec: pipelines/upper.json\n    code: [scripts/upper.sh]\nwait: true\n',
      'pipelines/upper.json': JSON.stringify(UPPER_SPEC, null, 2) + '\n',
      'scripts/upper.sh': UPPER_SH,
      'data/words/a.txt': 'hello\n',
      'data/words/b.txt': 'world\n',
      ...(opts.files ?? {}),
    });
    if (opts.init !== false) initStore(this.dir);
  }

  path(rel: string): string {
    return path.join(this.dir, rel);
  }

  write(files: Record<string, string | Buffer>): void {
    for (const [rel, data] of Object.entries(files)) {
      const p = this.path(rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, data);
    }
  }

  read(rel: string): string {
    return fs.readFileSync(this.path(rel), 'utf8');
  }

  /** Move every mtime under `rel` a minute into the past, so no stat looks "racy" to a cache. */
  age(rel = '.'): void {
    const past = new Date(Date.now() - 60_000);
    const walk = (p: string) => {
      const st = fs.lstatSync(p);
      if (st.isDirectory()) {
        if (path.basename(p) === '.git' || path.basename(p) === '.tusk') return;
        for (const e of fs.readdirSync(p)) walk(path.join(p, e));
      } else if (st.isFile()) fs.utimesSync(p, past, past);
    };
    walk(this.path(rel));
  }

  git(args: string[], env: Record<string, string> = {}): GitResult {
    const r = spawnSync('git', args, { cwd: this.dir, env: gitEnv(env), encoding: 'utf8' });
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }

  /** git, requiring success. */
  gitOk(args: string[], env: Record<string, string> = {}): string {
    const r = this.git(args, env);
    if (r.code !== 0) throw new Error(`git ${args.join(' ')} → ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** Stage everything and commit (hooks run); returns git's result. */
  commit(message: string, env: Record<string, string> = {}): GitResult {
    this.gitOk(['add', '-A']);
    return this.git(['commit', '-q', '--allow-empty', '-m', message], env);
  }

  tusk(args: readonly string[], opts: RunOptions = {}): Promise<TuskResult> {
    return runTusk(args, { cwd: this.dir, ...opts });
  }

  async tuskJson<T = any>(args: readonly string[], opts: RunOptions = {}): Promise<T> {
    const r = await this.tusk([...args, '--json'], opts);
    if (r.code !== 0) throw new Error(`expected exit 0: ${r.describe()}`);
    return r.json<T>();
  }

  lock(): any {
    return JSON.parse(this.read('tusk.lock'));
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
