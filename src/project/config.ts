// tusk.yaml: which local directories a git project tracks in which repo@branch, which pipeline
// spec files it owns, and how its hooks behave. Lives at the git repo root, next to tusk.lock.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { validateName } from '../store/address.js';

export const CONFIG_NAMES = ['tusk.yaml', 'tusk.yml'] as const;
export const DEFAULT_LOCK = 'tusk.lock';
/** Above this many output files, the lock keeps an output's tree id and counts but not its file list. */
export const DEFAULT_LOCK_FILES = 10_000;

/** A local directory mirrored into a branch. */
export interface TrackEntry {
  /** relative to the project root, `/`-separated */
  path: string;
  repo: string;
  branch: string;
}

/** A pipeline spec file (one or more specs) and the code files its transform runs. */
export interface PipelineEntry {
  /** relative to the project root */
  spec: string;
  /** files or directories whose content is part of the pipeline's code (hashed into the lock) */
  code: string[];
  /** the local stand-in for the image's WORKDIR of this file's pipelines, relative to the project root */
  workdir?: string;
}

export interface ProjectConfig {
  /** store path relative to the project root, or a team store's postgres:// URL; default: TUSK_STORE or a `.tusk` found upward */
  store?: string;
  track: TrackEntry[];
  pipelines: PipelineEntry[];
  /** image name (with or without its tag) → the local stand-in for its WORKDIR, relative to the project root */
  images: Record<string, string>;
  /** block the commit until the pipelines finish (default false: they run in the background) */
  wait: boolean;
  /** lock file, relative to the project root */
  lock: string;
  /** post-checkout: 'manual' prints what differs from the lock, 'auto' checks the locked data out */
  checkout: 'manual' | 'auto';
  lockFiles: number;
}

/** A loaded project: its root directory and parsed config. */
export interface Project {
  root: string;
  configPath: string;
  config: ProjectConfig;
  lockPath: string;
}

const TOP_KEYS = ['store', 'track', 'pipelines', 'images', 'wait', 'lock', 'checkout', 'lock_files'];

/** The nearest directory at or above `cwd` holding a tusk.yaml. */
export function findProjectRoot(cwd: string = process.cwd()): string | undefined {
  for (let d = path.resolve(cwd); ; d = path.dirname(d)) {
    if (CONFIG_NAMES.some((n) => fs.existsSync(path.join(d, n)))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/** Load the project at or above `cwd`; throws when there is none. */
export function findProject(cwd: string = process.cwd()): Project {
  const root = findProjectRoot(cwd);
  if (!root) throw new NotFoundError('local file', 'tusk.yaml', `no tusk.yaml found in ${path.resolve(cwd)} or any parent directory`, 'create one at the git repo root (see docs/ci.md)');
  return loadProject(root);
}

/** Like findProject, but undefined when there is no tusk.yaml (a bad one still throws). */
export function tryFindProject(cwd: string = process.cwd()): Project | undefined {
  const root = findProjectRoot(cwd);
  return root ? loadProject(root) : undefined;
}

export function loadProject(root: string): Project {
  const name = CONFIG_NAMES.find((n) => fs.existsSync(path.join(root, n)))!;
  const configPath = path.join(root, name);
  const text = fs.readFileSync(configPath, 'utf8');
  const config = parseConfig(text, name);
  return { root, configPath, config, lockPath: path.resolve(root, config.lock) };
}

/** Parse and check a tusk.yaml; errors name the field, e.g. `track[1].repo`. */
export function parseConfig(text: string, source = 'tusk.yaml'): ProjectConfig {
  // loaded on use: ~30 ms that commands without a project should not pay
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw bad(source, (err as Error).message.split('\n')[0]!, 'check the YAML syntax');
  }
  if (raw === null || raw === undefined) raw = {};
  if (!isObj(raw)) throw bad(source, 'expected a mapping at the top level');
  for (const k of Object.keys(raw)) if (!TOP_KEYS.includes(k)) throw bad(source, `unknown field "${k}"`, `fields allowed: ${TOP_KEYS.join(', ')}`);

  const track: TrackEntry[] = list(raw.track, 'track', source).map((t, i) => {
    const at = `track[${i}]`;
    if (!isObj(t)) throw bad(source, `${at}: expected a mapping with path and repo`);
    for (const k of Object.keys(t)) if (!['path', 'repo', 'branch'].includes(k)) throw bad(source, `${at}: unknown field "${k}"`, 'fields allowed: path, repo, branch');
    const p = relPath(str(t.path, `${at}.path`, source), `${at}.path`, source);
    const repo = named('repo', str(t.repo, `${at}.repo`, source), `${at}.repo`, source);
    const branch = t.branch === undefined ? 'master' : named('branch', str(t.branch, `${at}.branch`, source), `${at}.branch`, source);
    return { path: p, repo, branch };
  });
  for (let i = 0; i < track.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, b] = [track[j]!, track[i]!];
      if (a.repo === b.repo && a.branch === b.branch) throw bad(source, `track[${i}]: ${b.repo}@${b.branch} is already tracked by track[${j}]`, 'track each branch from one directory');
      if (a.path === b.path || b.path.startsWith(`${a.path}/`) || a.path.startsWith(`${b.path}/`))
        throw bad(source, `track[${i}]: ${b.path} overlaps ${a.path} (track[${j}])`, 'tracked directories must not contain each other');
    }
  }

  const pipelines: PipelineEntry[] = list(raw.pipelines, 'pipelines', source).map((p, i) => {
    const at = `pipelines[${i}]`;
    if (typeof p === 'string') return { spec: relPath(p, at, source), code: [] };
    if (!isObj(p)) throw bad(source, `${at}: expected a spec file path or a mapping with spec (and code)`);
    for (const k of Object.keys(p)) if (!['spec', 'code', 'workdir'].includes(k)) throw bad(source, `${at}: unknown field "${k}"`, 'fields allowed: spec, code, workdir');
    const code = p.code === undefined ? [] : typeof p.code === 'string' ? [p.code] : list(p.code, `${at}.code`, source).map((c, j) => str(c, `${at}.code[${j}]`, source));
    const entry: PipelineEntry = { spec: relPath(str(p.spec, `${at}.spec`, source), `${at}.spec`, source), code: code.map((c, j) => relPath(c, `${at}.code[${j}]`, source)) };
    if (p.workdir !== undefined) entry.workdir = dirPath(str(p.workdir, `${at}.workdir`, source), `${at}.workdir`, source);
    return entry;
  });

  const images: Record<string, string> = {};
  const rawImages = raw.images === undefined || raw.images === null ? {} : raw.images;
  if (!isObj(rawImages)) throw bad(source, 'images: expected a mapping of image name to { workdir: DIR }');
  for (const [image, v] of Object.entries(rawImages)) {
    const at = `images[${JSON.stringify(image)}]`;
    if (!isObj(v)) throw bad(source, `${at}: expected a mapping with workdir`, `e.g. images: { "${image}": { workdir: src } }`);
    for (const k of Object.keys(v)) if (k !== 'workdir') throw bad(source, `${at}: unknown field "${k}"`, 'fields allowed: workdir');
    images[image] = dirPath(str(v.workdir, `${at}.workdir`, source), `${at}.workdir`, source);
  }

  const wait = raw.wait === undefined ? false : raw.wait;
  if (typeof wait !== 'boolean') throw bad(source, 'wait: expected true or false');
  const checkout = raw.checkout === undefined ? 'manual' : raw.checkout;
  if (checkout !== 'manual' && checkout !== 'auto') throw bad(source, 'checkout: expected "manual" or "auto"');
  const lockFiles = raw.lock_files === undefined ? DEFAULT_LOCK_FILES : raw.lock_files;
  if (typeof lockFiles !== 'number' || !Number.isSafeInteger(lockFiles) || lockFiles < 0) throw bad(source, 'lock_files: expected a whole number ≥ 0');
  const config: ProjectConfig = {
    track,
    pipelines,
    images,
    wait,
    lock: raw.lock === undefined ? DEFAULT_LOCK : relPath(str(raw.lock, 'lock', source), 'lock', source),
    checkout,
    lockFiles,
  };
  if (raw.store !== undefined) config.store = str(raw.store, 'store', source);
  return config;
}

/** Absolute local path of a project-relative path. */
export function projectPath(project: Project, rel: string): string {
  return path.resolve(project.root, rel);
}

/**
 * Where a path really is: the real path of its deepest existing ancestor, with the part that
 * does not exist yet appended (so a directory not created yet can still be checked).
 */
export function realLocation(p: string): string {
  const rest: string[] = [];
  for (let d = path.resolve(p); ; d = path.dirname(d)) {
    try {
      return path.join(fs.realpathSync(d), ...rest);
    } catch {
      if (path.dirname(d) === d) return path.resolve(p);
      rest.unshift(path.basename(d));
    }
  }
}

/** True when `p` is `dir` or below it (both absolute, already real). */
export function isWithin(dir: string, p: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`);
}

/**
 * The local directory of a tracked entry. Its real location is checked, not only its spelling:
 * a tracked path that is (or runs through) a symbolic link to a place outside the project would
 * let checkout delete and write files there, and sync read them.
 */
export function trackedDir(project: Project, t: TrackEntry): string {
  const dir = projectPath(project, t.path);
  const root = realLocation(project.root);
  const real = realLocation(dir);
  if (!isWithin(root, real)) {
    const i = project.config.track.indexOf(t);
    throw new InvalidArgumentError(
      `track${i >= 0 ? `[${i}]` : ''}.path ${t.path} leads outside the project through a symbolic link (to ${real})`,
      `tracked directories must really lie inside ${project.root}: replace the link ${t.path} with a directory, or track another path`,
    );
  }
  return dir;
}

function bad(source: string, msg: string, hint?: string): InvalidArgumentError {
  return new InvalidArgumentError(`${source}: ${msg}`, hint);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(v: unknown, at: string, source: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(source, `${at}: expected a list`);
  return v;
}

function str(v: unknown, at: string, source: string): string {
  if (typeof v !== 'string' || v === '') throw bad(source, `${at}: expected a non-empty string`);
  return v;
}

function named(kind: 'repo' | 'branch', v: string, at: string, source: string): string {
  try {
    return validateName(kind, v);
  } catch (err) {
    throw bad(source, `${at}: ${(err as Error).message}`, (err as InvalidArgumentError).hint);
  }
}

// A workdir may be the project root itself (`.`), unlike a tracked path; it still stays inside.
function dirPath(v: string, at: string, source: string): string {
  const norm = path.posix.normalize(v.replace(/\\/g, '/')).replace(/\/+$/, '');
  return norm === '.' || norm === '' ? '.' : relPath(v, at, source);
}

/**
 * The project's rule for where a pipeline's code runs (see WorkdirRule): the workdir of the
 * tusk.yaml entry of its spec file, else the one given for its image (exact, then without the
 * tag), else none. `specFile`: the spec's path, absolute or relative to the project root.
 */
export function projectWorkdir(project: Project, specFile: string | undefined): (p: { image: string | undefined }) => string | undefined {
  const abs = specFile === undefined ? undefined : path.resolve(project.root, specFile);
  const entry = abs === undefined ? undefined : project.config.pipelines.find((e) => projectPath(project, e.spec) === abs);
  return ({ image }) => {
    const rel = entry?.workdir ?? (image === undefined ? undefined : (project.config.images[image] ?? project.config.images[untagged(image)]));
    return rel === undefined ? undefined : projectPath(project, rel);
  };
}

// `repo/name:tag` → `repo/name` (a registry port, `host:5000/name`, is not a tag).
function untagged(image: string): string {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

// Project paths stay inside the project: a hook must never put or check out files elsewhere.
function relPath(v: string, at: string, source: string): string {
  const norm = path.posix.normalize(v.replace(/\\/g, '/')).replace(/\/+$/, '');
  if (path.posix.isAbsolute(norm) || norm === '..' || norm.startsWith('../') || norm === '.' || norm === '')
    throw bad(source, `${at}: ${JSON.stringify(v)} must be a path inside the project, relative to tusk.yaml`);
  return norm;
}
