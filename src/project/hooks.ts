// Installing and removing tusk's git hooks. A hook is a small sh script that calls this tusk
// (absolute node and package paths recorded at install, `tusk` on PATH as the fallback). An
// existing hook is never overwritten: it is renamed to `<hook>.pre-tusk` and run first, and
// uninstall renames it back, byte for byte and mode for mode.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import type { Project } from './config.js';
import { gitTopLevel, hooksDir } from './git.js';
import { clearState, findGitDir } from './hook-state.js';

/** Hooks installed when none are named. */
export const DEFAULT_HOOKS = ['pre-commit', 'post-checkout', 'post-merge'] as const;
/** Every hook tusk knows how to run. */
export const KNOWN_HOOKS = ['pre-commit', 'post-checkout', 'post-merge', 'pre-push'] as const;
export type TuskHook = (typeof KNOWN_HOOKS)[number];

/** The line that marks a hook file as tusk's: only such files are replaced or removed. */
export const HOOK_MARKER = '# tusk-hook v1';
export const CHAINED_SUFFIX = '.pre-tusk';

/** The package root (holding bin/run.js and dist/) of the tusk that is running. */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// Hooks whose failure stops git: a missing tusk must stop them too, or a commit would be made
// without its lock. The others only inform.
const BLOCKING: readonly string[] = ['pre-commit', 'pre-push'];

export interface InstalledHook {
  hook: TuskHook;
  path: string;
  /** an earlier hook was kept as `<hook>.pre-tusk` and runs first */
  chained: boolean;
  /** tusk's hook was already there (rewritten with current paths) */
  updated: boolean;
}

export interface InstallResult {
  hooksDir: string;
  hooks: InstalledHook[];
}

export interface RemovedHook {
  hook: TuskHook;
  path: string;
  /** the hook tusk had replaced was put back */
  restored: boolean;
}

export interface UninstallResult {
  hooksDir: string;
  removed: RemovedHook[];
  /** hook files that are not tusk's, left alone */
  foreign: string[];
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The script for one hook. `projectDir` is the project root relative to the git work tree root. */
export function hookScript(hook: TuskHook, projectDir: string, opts: { node?: string; root?: string } = {}): string {
  const node = opts.node ?? process.execPath;
  const root = opts.root ?? PACKAGE_ROOT;
  const missing = BLOCKING.includes(hook)
    ? `echo "tusk: this repository's ${hook} hook needs tusk, which was not found (install it, or set TUSK_SKIP_HOOKS=1)" >&2\nexit 1`
    : `echo "tusk: ${hook} hook skipped: tusk not found" >&2\nexit 0`;
  return `#!/bin/sh
${HOOK_MARKER}: installed by \`tusk hooks install\`. \`tusk hooks uninstall\` removes it and puts back
# the hook it replaced, which is kept as ${hook}${CHAINED_SUFFIX} and runs first.
prev="$0${CHAINED_SUFFIX}"
if [ -x "$prev" ]; then "$prev" "$@" || exit $?; fi
[ -n "$TUSK_SKIP_HOOKS" ] && exit 0
node=${shq(node)}
root=${shq(root)}
project=${shq(projectDir)}
if [ -x "$node" ] && [ -f "$root/bin/run.js" ]; then
  # the fast path: exits 0 when nothing changed since the last pre-commit, without loading the CLI
  if [ -f "$root/dist/project/hook-fast.js" ]; then
    "$node" "$root/dist/project/hook-fast.js" ${hook} "$project" </dev/null && exit 0
  fi
  cd "$project" && exec "$node" "$root/bin/run.js" hooks run ${hook} "$@"
fi
if command -v tusk >/dev/null 2>&1; then cd "$project" && exec tusk hooks run ${hook} "$@"; fi
${missing}
`;
}

function isTuskHook(file: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8').includes(HOOK_MARKER);
  } catch {
    return false;
  }
}

function checkHooks(names: readonly string[]): TuskHook[] {
  for (const n of names)
    if (!(KNOWN_HOOKS as readonly string[]).includes(n)) throw new InvalidArgumentError(`unknown hook "${n}"`, `tusk installs: ${KNOWN_HOOKS.join(', ')}`);
  return [...new Set(names)] as TuskHook[];
}

/** Install tusk's hooks into the git repo holding the project, chaining existing ones. */
export function installHooks(project: Project, opts: { hooks?: readonly string[] } = {}): InstallResult {
  const hooks = checkHooks(opts.hooks && opts.hooks.length > 0 ? opts.hooks : DEFAULT_HOOKS);
  const dir = hooksDir(project.root);
  const top = gitTopLevel(project.root);
  const projectDir = path.relative(fs.realpathSync(top), fs.realpathSync(project.root)).split(path.sep).join('/') || '.';
  fs.mkdirSync(dir, { recursive: true });
  // check every hook before changing any: an install either happens whole or not at all
  for (const hook of hooks) {
    const file = path.join(dir, hook);
    if (fs.existsSync(file) && !isTuskHook(file) && fs.existsSync(file + CHAINED_SUFFIX))
      throw new ConflictError(`both ${file} and ${file}${CHAINED_SUFFIX} exist, and neither is tusk's hook`, `merge them into one, or remove ${file}${CHAINED_SUFFIX}`);
  }
  const out: InstalledHook[] = [];
  for (const hook of hooks) {
    const file = path.join(dir, hook);
    const exists = fs.lstatSync(file, { throwIfNoEntry: false }) !== undefined;
    const updated = exists && isTuskHook(file);
    if (exists && !updated) fs.renameSync(file, file + CHAINED_SUFFIX);
    const tmp = `${file}.tusk-tmp`;
    fs.writeFileSync(tmp, hookScript(hook, projectDir), { mode: 0o755 });
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, file);
    out.push({ hook, path: file, chained: fs.existsSync(file + CHAINED_SUFFIX), updated });
  }
  // a fresh install decides from scratch: no state from an earlier install short-cuts it
  const gitDir = findGitDir(project.root);
  if (gitDir) clearState(gitDir);
  return { hooksDir: dir, hooks: out };
}

/** Remove tusk's hooks, putting back what they replaced. Hooks that are not tusk's are left alone. */
export function uninstallHooks(project: Project, opts: { hooks?: readonly string[] } = {}): UninstallResult {
  const hooks = checkHooks(opts.hooks && opts.hooks.length > 0 ? opts.hooks : KNOWN_HOOKS);
  const dir = hooksDir(project.root);
  const removed: RemovedHook[] = [];
  const foreign: string[] = [];
  for (const hook of hooks) {
    const file = path.join(dir, hook);
    if (!fs.lstatSync(file, { throwIfNoEntry: false })) continue;
    if (!isTuskHook(file)) {
      foreign.push(file);
      continue;
    }
    fs.rmSync(file);
    const prev = file + CHAINED_SUFFIX;
    const restored = fs.lstatSync(prev, { throwIfNoEntry: false }) !== undefined;
    if (restored) fs.renameSync(prev, file);
    removed.push({ hook, path: file, restored });
  }
  const gitDir = findGitDir(project.root);
  if (gitDir) clearState(gitDir);
  return { hooksDir: dir, removed, foreign };
}
