// Helpers for the remote tests: stores set up in-process through the façade (fast on a loaded
// machine), the remote commands run through the built CLI, and snapshots to compare two stores.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTusk, tuskJson, type RunOptions, type TuskResult } from '../cli/cli-helpers.js';
import { streamOf } from '../helpers.js';
import { initStore, openStore, type Store } from '../../src/store/store.js';

export interface LocalStore {
  dir: string;
  /** run tusk in the store's directory */
  run(args: string[], env?: RunOptions['env']): Promise<TuskResult>;
  /** run with --json, require exit 0, parse */
  json<T = any>(args: string[], env?: RunOptions['env']): Promise<T>;
  /** open the store in this process for `fn`, closed after */
  with<T>(fn: (s: Store) => T | Promise<T>): Promise<T>;
  /** put files in one commit on repo@branch (the repo is made when missing) */
  put(repo: string, branch: string, files: Record<string, Buffer | string>): Promise<string>;
  /** every file of a branch head (path, size, content id) and its commit history */
  snapshot(repo: string, branch: string): Promise<{ files: { path: string; size: number; hash: string }[]; commits: string[] }>;
}

export function localStore(dir: string, baseEnv: () => RunOptions['env'] = () => ({})): LocalStore {
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, '.tusk'))) initStore(dir);
  const storePath = path.join(dir, '.tusk');
  const env = (extra?: RunOptions['env']) => ({ ...baseEnv(), ...extra });
  const self: LocalStore = {
    dir,
    run: (args, extra) => runTusk(args, { cwd: dir, env: env(extra) }),
    json: (args, extra) => tuskJson([...args, '--json'], { cwd: dir, env: env(extra) }),
    async with(fn) {
      const s = openStore({ path: storePath });
      try {
        return await fn(s);
      } finally {
        s.close();
      }
    },
    put: (repo, branch, files) =>
      self.with(async (s) => {
        if (!(await s.listRepos()).some((r) => r.name === repo)) await s.createRepo(repo);
        const r = await s.putFiles({ repo, branch }, Object.entries(files).map(([p, data]) => ({ kind: 'stream' as const, stream: streamOf(data), repoPath: p })));
        return r.commit;
      }),
    snapshot: (repo, branch) =>
      self.with(async (s) => ({
        files: (await s.globFiles({ repo, branch, path: '/**' })).filter((f) => f.type === 'file').map((f) => ({ path: f.path, size: f.sizeBytes, hash: f.hash })),
        commits: (await s.listCommits({ repo, branch })).map((c) => c.id),
      })),
  };
  return self;
}
