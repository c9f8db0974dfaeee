// tusk.lock: the exact data versions a git commit stands for. Input repo@commit ids (with their
// tree ids), and per pipeline the spec hash, code hash, salt, the input commits the output was
// computed from and the output's commit, tree and file content ids. Written as JSON with sorted
// keys and one field per line, so that a review diff shows exactly which ids moved.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { isCommitId } from '../store/address.js';

export const LOCK_VERSION = 1;

/** A tracked directory pinned to a commit. Keyed by `repo@branch` in the lock. */
export interface LockedInput {
  path: string;
  repo: string;
  branch: string;
  commit: string;
  /** root tree id of the commit, hex */
  tree: string;
  files: number;
  bytes: number;
}

export type LockedOutputState = 'success' | 'failure' | 'running';

export interface LockedOutput {
  branch: string;
  commit: string;
  /** running: the job had not finished when the lock was written (the next hook or `tusk lock` fills it in) */
  state: LockedOutputState;
  tree?: string;
  fileCount?: number;
  bytes?: number;
  /** path → content id, when the output has at most `lock_files` files */
  files?: Record<string, string>;
  error?: string;
}

export interface LockedPipeline {
  /** the spec file, relative to the project root */
  spec: string;
  /** specHash() of the normalised spec */
  specHash: string;
  /** sha256 over the declared code files, when there are some */
  codeHash?: string;
  salt: string;
  version: number;
  /** `repo@branch` → the commit the output was computed from */
  inputs: Record<string, string>;
  output: LockedOutput;
}

export interface LockFile {
  version: number;
  inputs: Record<string, LockedInput>;
  pipelines: Record<string, LockedPipeline>;
}

export function emptyLock(): LockFile {
  return { version: LOCK_VERSION, inputs: {}, pipelines: {} };
}

/** JSON with object keys sorted at every level: the same lock always has the same bytes. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) + '\n';
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

export function formatLock(lock: LockFile): string {
  return stableStringify(lock);
}

/** Parse a lock file's text; `source` names it in errors. */
export function parseLock(text: string, source = 'tusk.lock'): LockFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${source} is not valid JSON: ${(err as Error).message}`, 'restore it from git, or regenerate it with `tusk lock`');
  }
  const fail = (msg: string) => new InvalidArgumentError(`${source}: ${msg}`, 'restore it from git, or regenerate it with `tusk lock`');
  if (!isObj(raw)) throw fail('expected an object');
  if (raw.version !== LOCK_VERSION) throw fail(`unsupported lock version ${JSON.stringify(raw.version)} (this tusk reads version ${LOCK_VERSION})`);
  const inputs = isObj(raw.inputs) ? raw.inputs : {};
  const pipelines = isObj(raw.pipelines) ? raw.pipelines : {};
  for (const [k, v] of Object.entries(inputs)) {
    if (!isObj(v) || typeof v.commit !== 'string' || typeof v.repo !== 'string' || typeof v.branch !== 'string' || typeof v.tree !== 'string') throw fail(`inputs.${k}: expected repo, branch, commit and tree`);
    if (!isCommitId(v.commit)) throw fail(`inputs.${k}.commit: ${JSON.stringify(v.commit)} is not a commit id`);
  }
  for (const [k, v] of Object.entries(pipelines)) {
    if (!isObj(v) || !isObj(v.output) || !isObj(v.inputs) || typeof v.specHash !== 'string') throw fail(`pipelines.${k}: expected specHash, inputs and output`);
    const out = v.output;
    if (typeof out.commit !== 'string' || !isCommitId(out.commit)) throw fail(`pipelines.${k}.output.commit: ${JSON.stringify(out.commit)} is not a commit id`);
    for (const [ik, iv] of Object.entries(v.inputs)) if (typeof iv !== 'string' || !isCommitId(iv)) throw fail(`pipelines.${k}.inputs.${ik}: ${JSON.stringify(iv)} is not a commit id`);
  }
  return { version: LOCK_VERSION, inputs: inputs as Record<string, LockedInput>, pipelines: pipelines as Record<string, LockedPipeline> };
}

/** Read a lock file; undefined when it does not exist. */
export function readLock(file: string): LockFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseLock(text, path.basename(file));
}

/** Write the lock when its bytes change; returns whether they did. Atomic (temp file + rename). */
export function writeLock(file: string, lock: LockFile): boolean {
  const text = formatLock(lock);
  let before: string | undefined;
  try {
    before = fs.readFileSync(file, 'utf8');
  } catch {
    before = undefined;
  }
  if (before === text) return false;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return true;
}

/** `repo@branch`, the key of inputs in a lock. */
export function branchKey(repo: string, branch: string): string {
  return `${repo}@${branch}`;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
