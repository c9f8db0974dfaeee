// Helpers for the sandbox cases: a store driven through the built CLI with a chosen /pfs mode,
// as the current user or (when the tests run as root) as the unprivileged `nobody`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NOBODY, runTusk, type TuskResult } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';

export type Mode = 'helper' | 'namespace' | 'rewrite';

/** Whether unprivileged user + mount namespaces work here (the helper and shell modes need them). */
export function namespacesWork(): boolean {
  if (process.platform !== 'linux') return false;
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', '--fork', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt'], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}

export const isRoot = process.getuid?.() === 0;

/** The users to run as: this one, and `nobody` when this one is root. */
export const USERS: { name: string; uid?: number }[] = [{ name: isRoot ? 'root' : 'user' }, ...(isRoot ? [{ name: 'nobody', uid: NOBODY }] : [])];

export interface SandboxStore {
  dir: string;
  store: string;
  tusk(args: string[], opts?: { input?: string }): Promise<TuskResult>;
  ok(args: string[], opts?: { input?: string }): Promise<TuskResult>;
  cleanup(): void;
}

/** A fresh store (`tusk init`) owned by the user it runs as, pipelines in the foreground in `mode`. */
export async function sandboxStore(mode: Mode, uid?: number): Promise<SandboxStore> {
  const dir = tempDir('tusk-sandbox-');
  // the temp dir's parent may be private to root: nobody needs a path it may walk
  fs.chmodSync(dir, 0o755);
  if (uid !== undefined) fs.chownSync(dir, uid, uid);
  const env = { TUSK_PFS_MODE: mode, TUSK_RUNNER: 'foreground' };
  const tusk = (args: string[], opts: { input?: string } = {}) => runTusk(args, { cwd: dir, env, asUser: uid, input: opts.input });
  const ok = async (args: string[], opts: { input?: string } = {}) => {
    const r = await tusk(args, opts);
    if (r.code !== 0) throw new Error(`expected exit 0: ${r.describe()}`);
    return r;
  };
  await ok(['init']);
  return { dir, store: fs.realpathSync(path.join(dir, '.tusk')), tusk, ok, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Write a spec file into the store's directory (readable by whoever runs the store). */
export function writeSpec(s: SandboxStore, name: string, spec: unknown): string {
  const file = path.join(s.dir, name);
  fs.writeFileSync(file, JSON.stringify(spec));
  fs.chmodSync(file, 0o644);
  return name;
}
