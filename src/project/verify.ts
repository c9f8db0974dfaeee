// `tusk verify`: prove that tusk.lock is reproducible. Each locked pipeline is re-run from its
// locked input commits, with the spec (and code) of the working tree, as a temporary pipeline in
// the same store (its own output repo and a fresh salt, so no earlier result is reused and no real
// branch moves), and its output files are compared with the locked content ids. Pipelines are
// checked independently: a downstream pipeline reads its upstream's *locked* output commit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, NotFoundError, TuskError } from '../errors.js';
import { datumHash, type DatumFile } from '../pipeline/datums.js';
import { normalizeSpec, specHash, type WorkdirRule } from '../pipeline/spec.js';
import type { InputSpec, PfsInput, PipelineSpec } from '../pipeline/spec-types.js';
import type { CommitRecord } from '../store/commit-graph.js';
import { EMPTY_CONTENT_ID, fromHex, newCommitId, type ContentId, type NodeId } from '../store/hash.js';
import type { DatumRecord, NewDatum } from '../store/job-records.js';
import type { Project } from './config.js';
import type { VerifyEngine } from './ports.js';
import { parseLock, readLock, type LockedPipeline, type LockFile } from './lock.js';
import { distinctIds, plural } from '../ui/format.js';
import { projectMsg } from '../ui/messages.js';
import { gitShow, hasGitRevision } from './git.js';
import { hashCode, readSpecFile } from './sync.js';

/** Files up to this size get their first differing bytes in the report. */
export const SMALL_FILE = 64 * 1024;
const WINDOW = 24;

/** A verification that found differences: exit 1, the report in `details`. */
export class VerifyFailedError extends TuskError {
  readonly code = 'E_VERIFY';
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly details: VerifyReport,
  ) {
    super(message, 'the report above names each pipeline, datum and file that differs; rerun the pipelines and `tusk lock`, or fix the code');
  }
}

export interface FileDifference {
  path: string;
  /** content: both have the file with different bytes; missing: locked, not produced; extra: produced, not locked */
  kind: 'content' | 'missing' | 'extra';
  datum: string | null;
  /** the datum's inputs, `name:/path` */
  datumInputs: string[];
  expected: string | null;
  actual: string | null;
  expectedSize?: number;
  actualSize?: number;
  /** for small files whose both versions are in the store */
  firstDifference?: { offset: number; expected: string; actual: string };
}

export interface FailedDatum {
  datum: string;
  inputs: string[];
  error: string | null;
  /** the last lines the datum's code wrote */
  log: string[];
}

export interface PipelineVerification {
  pipeline: string;
  status: 'ok' | 'failed' | 'skipped';
  problems: string[];
  /** datums of the re-run job: run again, and taken from the real job unchanged (--changed) */
  datums: number;
  reran: number;
  reused: number;
  expectedTree: string | null;
  actualTree: string | null;
  files: FileDifference[];
  failedDatums: FailedDatum[];
}

export interface InputVerification {
  input: string;
  commit: string;
  ok: boolean;
  problem?: string;
}

export interface VerifyReport {
  ok: boolean;
  lock: string;
  /** the base lock of --changed (a file or git revision), null for a full verify */
  base: string | null;
  inputs: InputVerification[];
  pipelines: PipelineVerification[];
  ms: number;
}

export interface VerifyOptions {
  /** lock file (default: the project's) */
  lock?: string;
  /** only re-run datums whose inputs changed since the base lock */
  changed?: boolean;
  /** base lock: a file, or a git revision whose lock file is read (default HEAD~1) */
  base?: string;
  /** verify only these pipelines */
  pipelines?: string[];
  cwd?: string;
}

/** Re-run the locked pipelines and compare; never throws for a mismatch (see VerifyFailedError). */
export async function verifyLock(s: VerifyEngine, project: Project | undefined, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const started = Date.now();
  const cwd = opts.cwd ?? process.cwd();
  const lockPath = opts.lock !== undefined ? path.resolve(cwd, opts.lock) : project?.lockPath;
  if (!lockPath) throw new NotFoundError('local file', 'tusk.lock', 'no lock file: there is no tusk.yaml here and no --lock was given', 'run in the project, or pass --lock FILE');
  const lock = readLock(lockPath);
  if (!lock) throw new NotFoundError('local file', lockPath, `${lockPath} doesn't exist`, 'create it with `tusk lock` (or a commit, once `tusk hooks install` has run)');
  let base: LockFile | undefined;
  let baseName: string | null = null;
  if (opts.changed) {
    baseName = opts.base ?? 'HEAD~1';
    base = loadBase(baseName, lockPath, cwd, opts.base !== undefined);
  }

  const inputs: InputVerification[] = [];
  for (const [key, li] of Object.entries(lock.inputs).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const c = (await s.graph.getRepo(li.repo)) ? await s.graph.getCommit(li.repo, li.commit) : undefined;
      const problem = !c
        ? `input ${key}=${li.commit} is not in the store`
        : c.finished === null
          ? `input ${key}=${li.commit} is not finished`
          : (c.root as NodeId).toString('hex') !== li.tree
            ? `input ${key}=${li.commit} has tree ${differ(c.root!.toString('hex'), li.tree, 'in the store, the lock says')}`
            : undefined;
      inputs.push(problem ? { input: key, commit: li.commit, ok: false, problem } : { input: key, commit: li.commit, ok: true });
  }
  const badInputs = new Map(inputs.filter((i) => !i.ok).map((i) => [i.input, i]));

  await removeLeftovers(s);
  const specs = project ? projectSpecs(project) : new Map<string, ProjectSpec>();
  const names = Object.keys(lock.pipelines).sort();
  for (const n of opts.pipelines ?? []) if (!lock.pipelines[n]) throw new NotFoundError('pipeline', n, `pipeline ${n} is not in ${path.basename(lockPath)}`, `locked pipelines: ${names.join(', ') || 'none'}`);
  const cx: VerifyContext = { s, project, badInputs, base, changedOnly: !!opts.changed };
  const pipelines: PipelineVerification[] = [];
  for (const name of names) {
    if (opts.pipelines && opts.pipelines.length > 0 && !opts.pipelines.includes(name)) continue;
    pipelines.push(await verifyPipeline(cx, name, lock.pipelines[name]!, specs.get(name)));
  }
  const ok = inputs.every((i) => i.ok) && pipelines.every((p) => p.status !== 'failed');
  return { ok, lock: lockPath, base: baseName, inputs, pipelines, ms: Date.now() - started };
}

/**
 * The base lock of --changed: a lock file, or the lock file at a git revision. A revision without
 * the lock file (the commit before the first lock) means "verify everything". A base the user
 * named that is neither a file nor a revision is an error: re-running everything and passing
 * would hide a typo or a shallow CI clone.
 */
function loadBase(base: string, lockPath: string, cwd: string, named: boolean): LockFile | undefined {
  const asFile = path.resolve(cwd, base);
  if (fs.existsSync(asFile) && fs.statSync(asFile).isFile()) return readLock(asFile);
  if (named && !hasGitRevision(path.dirname(lockPath), base)) throw new InvalidArgumentError(projectMsg.unknownBase(base), projectMsg.unknownBaseHint);
  const text = gitShow(path.dirname(lockPath), base, lockPath);
  return text === undefined ? undefined : parseLock(text, `${base}:${path.basename(lockPath)}`);
}

interface ProjectSpec {
  raw: Record<string, unknown>;
  baseDir: string;
  workdir: WorkdirRule;
  specHash: string;
  file: string;
  code: string[];
}

function projectSpecs(project: Project): Map<string, ProjectSpec> {
  const out = new Map<string, ProjectSpec>();
  for (const entry of project.config.pipelines) {
    for (const sp of readSpecFile(project, entry)) out.set(sp.name, { raw: sp.raw, baseDir: sp.baseDir, workdir: sp.workdir, specHash: sp.specHash, file: entry.spec, code: entry.code });
  }
  return out;
}

function short(id: string): string {
  return id.slice(0, 12);
}

/** `A <words> B` with both ids shortened alike, long enough to differ. */
function differ(a: string, b: string, words: string): string {
  const [x, y] = distinctIds(a, b);
  return `${x}${words.startsWith(',') ? '' : ' '}${words} ${y}`;
}

function splitKey(key: string): { repo: string; branch: string } {
  const at = key.indexOf('@');
  return at < 0 ? { repo: key, branch: 'master' } : { repo: key.slice(0, at), branch: key.slice(at + 1) };
}

/** What every pipeline's verification shares. */
interface VerifyContext {
  s: VerifyEngine;
  project: Project | undefined;
  /** the lock's inputs that failed their own check, by key */
  badInputs: Map<string, InputVerification>;
  /** the base lock of --changed */
  base: LockFile | undefined;
  changedOnly: boolean;
}

/** What the locked output should hold: its files (from the lock, else the stored commit) and tree. */
interface ExpectedOutput {
  commit: CommitRecord | undefined;
  tree: string | undefined;
  files: Map<string, string> | undefined;
}

/** The spec a pipeline is re-run with, and where it came from. */
interface SpecToRun {
  raw: Record<string, unknown>;
  where: { baseDir: string; workdir: WorkdirRule };
  hash: string;
  /** the spec file in the work tree; undefined for the spec stored with the pipeline */
  file: string | undefined;
}

/** Record a problem that fails the pipeline's verification; returns the report. */
function failed(rep: PipelineVerification, problem: string): PipelineVerification {
  rep.problems.push(problem);
  rep.status = 'failed';
  return rep;
}

async function verifyPipeline(cx: VerifyContext, name: string, lp: LockedPipeline, projectSpec: ProjectSpec | undefined): Promise<PipelineVerification> {
  const { s } = cx;
  const rep: PipelineVerification = { pipeline: name, status: 'ok', problems: [], datums: 0, reran: 0, reused: 0, expectedTree: lp.output.tree ?? null, actualTree: null, files: [], failedDatums: [] };
  for (const p of await lockedInputProblems(cx, lp)) failed(rep, p);
  if (rep.status === 'failed') return rep;

  const expected = await expectedOutput(s, name, lp);
  if ('problem' in expected) return failed(rep, expected.problem);
  rep.expectedTree = expected.tree ?? null;
  const { commit: outCommit } = expected;
  if (outCommit?.finished && outCommit.root && lp.output.tree && (outCommit.root as NodeId).toString('hex') !== lp.output.tree)
    failed(rep, `output commit ${name}@${lp.output.commit} has tree ${differ(outCommit.root.toString('hex'), lp.output.tree, 'in the store, the lock says')}`);

  // the spec as the work tree has it (what CI checks), else the one stored with the pipeline
  if (projectSpec && projectSpec.code.length > 0 && lp.codeHash !== undefined && cx.project) {
    const code = hashCode(cx.project, projectSpec.code);
    if (code !== lp.codeHash) failed(rep, `code of ${name} (${projectSpec.code.join(', ')}) changed since the lock: hash ${differ(code, lp.codeHash, ', locked')}`);
  }
  const toRun = await specToRun(s, name, projectSpec);
  if (!toRun) return failed(rep, `no spec for pipeline ${name}: not in tusk.yaml's spec files, not in the store`);
  if (toRun.hash !== lp.specHash) failed(rep, `spec of ${name}${toRun.file ? ` (${toRun.file})` : ''} changed since the lock: spec hash ${differ(toRun.hash, lp.specHash, ', locked')}`);
  const { spec } = normalizeSpec(toRun.raw, toRun.where);
  if (hasCron(spec.input)) {
    if (rep.problems.length === 0) rep.status = 'skipped';
    rep.problems.push('cron inputs are not reproducible: not re-run');
    return rep;
  }

  // --changed: take the real job's results for datums whose inputs are the same as in the base lock
  let priors: Map<string, NodeId | null> | undefined;
  if (cx.changedOnly) {
    const plan = await planChanged(s, name, spec, lp, cx.base?.pipelines[name]);
    if (plan.priors && plan.changed === 0) return checkNothingChanged(s, rep, name, lp, outCommit, plan.total);
    priors = plan.priors;
  }
  const run = await rerun(s, name, toRun.raw, toRun.where, lp.inputs, priors);
  return compareRun(s, rep, name, lp, expected, run);
}

/** The locked inputs must be in the store, finished, and (for tracked inputs) hold the locked trees. */
async function lockedInputProblems(cx: VerifyContext, lp: LockedPipeline): Promise<string[]> {
  const problems: string[] = [];
  for (const [key, commit] of Object.entries(lp.inputs)) {
    const { repo } = splitKey(key);
    const c = await cx.s.graph.getRepo(repo) ? await cx.s.graph.getCommit(repo, commit) : undefined;
    if (!c) problems.push(`input ${key}=${commit} is not in the store`);
    else if (c.finished === null) problems.push(`input ${key}=${commit} is not finished`);
    const bad = cx.badInputs.get(key);
    if (bad && bad.commit === commit && c) problems.push(bad.problem!);
  }
  return problems;
}

/** What the output should be: the lock's file list, or the locked commit's tree in the store. */
async function expectedOutput(s: VerifyEngine, name: string, lp: LockedPipeline): Promise<ExpectedOutput | { problem: string }> {
  const commit = await s.graph.getRepo(name) ? await s.graph.getCommit(name, lp.output.commit) : undefined;
  if (lp.output.state === 'failure') return { problem: `the lock records a failed output: ${lp.output.error ?? 'failed'}` };
  let tree = lp.output.tree;
  if (lp.output.state === 'running') {
    const job = await s.jobs.getJob(name, lp.output.commit);
    if (!commit || commit.finished === null || (job && job.state !== 'JOB_SUCCESS'))
      return { problem: `output ${name}@${lp.output.commit} had not finished when the lock was written, and has not succeeded in the store since` };
    tree = (commit.root as NodeId).toString('hex');
  }
  let files = lp.output.files ? new Map(Object.entries(lp.output.files)) : undefined;
  if (!files && commit?.finished && commit.root) files = await treeFiles(s, commit.root as NodeId);
  return { commit, tree, files };
}

/** The work tree's spec of the pipeline, else the one stored with it; undefined when there is neither. */
async function specToRun(s: VerifyEngine, name: string, projectSpec: ProjectSpec | undefined): Promise<SpecToRun | undefined> {
  if (projectSpec) return { raw: projectSpec.raw, where: { baseDir: projectSpec.baseDir, workdir: projectSpec.workdir }, hash: projectSpec.specHash, file: projectSpec.file };
  const stored = await s.storedSpec(name);
  if (!stored) return undefined;
  const { spec, raw } = stored;
  const workdir = spec.workdir;
  return { raw, where: { baseDir: spec.base_dir, workdir: () => workdir }, hash: specHash(spec), file: undefined };
}

/** --changed with no datum to re-run: the lock must still agree with the output commit it names. */
async function checkNothingChanged(s: VerifyEngine, rep: PipelineVerification, name: string, lp: LockedPipeline, outCommit: CommitRecord | undefined, total: number): Promise<PipelineVerification> {
  rep.datums = total;
  rep.reused = total;
  if (outCommit?.finished && outCommit.root && lp.output.files) await compareFiles(s, rep, new Map(Object.entries(lp.output.files)), await filesWithDatums(s, outCommit.root as NodeId), outCommit, new Map());
  if (rep.files.length > 0) failed(rep, `${plural(rep.files.length, 'output file')} in the lock ${rep.files.length === 1 ? 'differs' : 'differ'} from output commit ${name}@${lp.output.commit}`);
  return rep;
}

/** The re-run's outcome against what the lock expects: its state, failed datums, files and tree. */
async function compareRun(s: VerifyEngine, rep: PipelineVerification, name: string, lp: LockedPipeline, expected: ExpectedOutput, run: RerunResult): Promise<PipelineVerification> {
  rep.datums = run.datums;
  rep.reran = run.reran;
  rep.reused = run.reused;
  rep.actualTree = run.tree;
  rep.failedDatums = run.failed;
  for (const p of run.problems) failed(rep, p);
  if (run.failed.length > 0) failed(rep, `${plural(run.failed.length, 'datum')} failed when re-run`);
  if (run.state !== 'JOB_SUCCESS') return failed(rep, `re-run job ended ${run.state.replace(/^JOB_/, '').toLowerCase()}${run.reason ? `: ${run.reason}` : ''}`);
  if (expected.files) {
    await compareFiles(s, rep, expected.files, run.files, expected.commit, run.datumInputs);
    if (rep.files.length > 0) failed(rep, `${plural(rep.files.length, 'output file')} ${rep.files.length === 1 ? 'differs' : 'differ'} from the lock`);
    else if (expected.tree && run.tree !== expected.tree) failed(rep, `output tree ${differ(run.tree ?? 'empty', expected.tree, 'differs from the locked')} (same file contents: which datum wrote a file differs)`);
  } else if (expected.tree) {
    if (run.tree !== expected.tree) failed(rep, `output tree ${differ(run.tree ?? 'empty', expected.tree, 'differs from the locked')} (the lock lists no files and the store lacks ${name}@${lp.output.commit}: no per-file detail)`);
  } else failed(rep, 'the lock records neither output files nor an output tree');
  return rep;
}

function hasCron(input: InputSpec): boolean {
  return input.kind === 'cron' || (input.kind !== 'pfs' && input.inputs.some(hasCron));
}

interface OutFile {
  id: string;
  size: number;
  datum: string | null;
}

async function treeFiles(s: VerifyEngine, root: NodeId): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const pe of s.walkFiles(root)) out.set(pe.path, pe.entry.id.toString('hex'));
  return out;
}

async function filesWithDatums(s: VerifyEngine, root: NodeId | null): Promise<Map<string, OutFile>> {
  const out = new Map<string, OutFile>();
  if (root) for await (const pe of s.walkFiles(root)) out.set(pe.path, { id: pe.entry.id.toString('hex'), size: pe.entry.size, datum: pe.entry.datum ?? null });
  return out;
}

/** Record every path whose content id differs between `expected` (locked) and `actual`. */
async function compareFiles(
  s: VerifyEngine,
  rep: PipelineVerification,
  expected: Map<string, string>,
  actual: Map<string, OutFile>,
  lockedCommit: CommitRecord | undefined,
  datumInputs: Map<string, string[]>,
): Promise<void> {
  const paths = [...new Set([...expected.keys(), ...actual.keys()])].sort().filter((p) => {
    const e = expected.get(p);
    return e === undefined || e !== actual.get(p)?.id;
  });
  // the expected contents' sizes: one lookup for every file that differs
  const sizes = await contentSizes(s, paths.map((p) => expected.get(p)).filter((e): e is string => e !== undefined));
  for (const p of paths) {
    const e = expected.get(p);
    const a = actual.get(p);
    const lockedEntry = lockedCommit?.root ? await s.lookupPath(lockedCommit.root as NodeId, p) : undefined;
    const datum = a?.datum ?? lockedEntry?.datum ?? null;
    const d: FileDifference = {
      path: p,
      kind: e === undefined ? 'extra' : a === undefined ? 'missing' : 'content',
      datum,
      datumInputs: datum ? (datumInputs.get(datum) ?? (await inputsOfRealDatum(s, lockedCommit, datum))) : [],
      expected: e ?? null,
      actual: a?.id ?? null,
    };
    const eSize = e !== undefined ? sizes.get(e) : undefined;
    if (eSize !== undefined) d.expectedSize = eSize;
    if (a) d.actualSize = a.size;
    if (e !== undefined && a && eSize !== undefined && eSize <= SMALL_FILE && a.size <= SMALL_FILE) {
      const fd = firstDifference(await readAll(s, e), await readAll(s, a.id));
      if (fd) d.firstDifference = fd;
    }
    rep.files.push(d);
  }
}

async function inputsOfRealDatum(s: VerifyEngine, lockedCommit: CommitRecord | undefined, datum: string): Promise<string[]> {
  if (!lockedCommit) return [];
  const row = await s.jobs.getDatum(lockedCommit.repo, lockedCommit.id, datum);
  return row ? describeFiles(row.inputs) : [];
}

function describeFiles(files: readonly DatumFile[]): string[] {
  return files.map((f) => `${f.name}:${f.path}`);
}

const EMPTY_HEX = EMPTY_CONTENT_ID.toString('hex');

/** Sizes of contents in the store by hex id; an id the store does not have (a made-up one) is absent. */
async function contentSizes(s: VerifyEngine, hexes: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const ids: ContentId[] = [];
  for (const hex of hexes) {
    if (hex === EMPTY_HEX) out.set(hex, 0);
    else if (/^[0-9a-f]{64}$/.test(hex)) ids.push(fromHex(hex) as ContentId);
  }
  for (const rec of await s.contentSizes(ids)) out.set(rec.id.toString('hex'), rec.size);
  return out;
}

async function readAll(s: VerifyEngine, hex: string): Promise<Buffer> {
  if (hex === EMPTY_HEX) return Buffer.alloc(0);
  const parts: Uint8Array[] = [];
  for await (const b of s.readContent(fromHex(hex) as ContentId, { describe: () => `content ${short(hex)}` })) parts.push(b);
  return Buffer.concat(parts);
}

/** Where two byte strings first differ, with a few bytes of each from there, escaped. */
export function firstDifference(a: Buffer, b: Buffer): { offset: number; expected: string; actual: string } | undefined {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return undefined;
  return { offset: i, expected: escapeBytes(a.subarray(i, i + WINDOW)), actual: escapeBytes(b.subarray(i, i + WINDOW)) };
}

function escapeBytes(b: Buffer): string {
  let out = '';
  for (const c of b) {
    if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x22) out += '\\"';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** A copy of `input` reading the given commits (`repo@branch` → commit). */
function pinInput(input: InputSpec, pins: Record<string, string>): InputSpec {
  if (input.kind === 'pfs') {
    const c = pins[`${input.repo}@${input.branch}`];
    return c ? { ...input, commit: c } : input;
  }
  if (input.kind === 'cron') return input;
  return { ...input, inputs: input.inputs.map((i) => pinInput(i, pins)) };
}

async function planPinned(s: VerifyEngine, input: InputSpec, pins: Record<string, string>): Promise<Map<string, DatumFile[]> | undefined> {
  let missing = false;
  const pinned = pinInput(input, pins);
  const planned = await s.planDatums(pinned, async (i: PfsInput) => {
    const c = i.commit && (await s.graph.getRepo(i.repo)) ? await s.graph.getCommit(i.repo, i.commit) : undefined;
    if (!c) missing = true;
    return c;
  });
  const out = new Map<string, DatumFile[]>();
  for (const d of planned) out.set(d.id, d.files);
  return missing ? undefined : out;
}

/**
 * For --changed: which datums of the locked job have the same inputs as in the base lock. Their
 * results come from the real job's records; the rest run again. No base, another spec or code,
 * or missing records: everything runs again (priors undefined).
 */
async function planChanged(s: VerifyEngine, name: string, spec: PipelineSpec, lp: LockedPipeline, bp: LockedPipeline | undefined): Promise<{ priors?: Map<string, NodeId | null>; changed: number; total: number }> {
  const full = { changed: -1, total: 0 };
  if (!bp || bp.specHash !== lp.specHash || bp.codeHash !== lp.codeHash) return full;
  const head = await planPinned(s, spec.input, lp.inputs);
  const before = await planPinned(s, spec.input, bp.inputs);
  if (!head || !before) return full;
  const rows = new Map<string, DatumRecord>();
  for (const r of await s.jobs.datumsOf(name, lp.output.commit)) rows.set(r.id, r);
  const priors = new Map<string, NodeId | null>();
  let changed = 0;
  for (const [id, files] of head) {
    const old = before.get(id);
    const same = old !== undefined && datumHash(id, old, '') === datumHash(id, files, '');
    const row = rows.get(id);
    if (same && row && (row.state === 'success' || row.state === 'skipped')) priors.set(id, row.output);
    else changed++;
  }
  return { priors, changed, total: head.size };
}

interface RerunResult {
  state: string;
  reason: string | null;
  tree: string | null;
  files: Map<string, OutFile>;
  datums: number;
  reran: number;
  reused: number;
  failed: FailedDatum[];
  datumInputs: Map<string, string[]>;
  problems: string[];
}

/** Run the spec as a temporary pipeline on the pinned inputs; always removes it again. */
async function rerun(s: VerifyEngine, realName: string, raw: Record<string, unknown>, where: { baseDir: string; workdir: WorkdirRule }, pins: Record<string, string>, priors?: Map<string, NodeId | null>): Promise<RerunResult> {
  const temp = `tusk-verify-${randomBytes(6).toString('hex')}`;
  const salt = randomBytes(16).toString('hex');
  const r = structuredClone(raw) as Record<string, any>;
  r.pipeline = { ...(isObj(r.pipeline) ? r.pipeline : {}), name: temp };
  r.salt = salt;
  delete r.update;
  delete r.reprocess;
  // the code sees the real pipeline's name, as it did when the locked output was made
  const transform = isObj(r.transform) ? r.transform : {};
  transform.env = { ...(isObj(transform.env) ? transform.env : {}), PPS_PIPELINE_NAME: realName, TUSK_PIPELINE: realName };
  r.transform = transform;
  const unpinned: string[] = [];
  pinRaw(r.input, pins, unpinned);
  const result: RerunResult = { state: 'JOB_FAILURE', reason: null, tree: null, files: new Map(), datums: 0, reran: 0, reused: 0, failed: [], datumInputs: new Map(), problems: [] };
  if (unpinned.length > 0) {
    result.problems.push(`the lock has no commit for input ${unpinned.join(', ')}`);
    return result;
  }
  try {
    let jobId = '';
    // the temporary pipeline runs where the real one does (its name is not the real name)
    await s.createPipelines(JSON.stringify(r), {
      baseDir: where.baseDir,
      workdir: (p) => where.workdir({ ...p, name: realName }),
      // its first job must not run before the priors that let it skip unchanged datums are there
      inSameUnit: async () => {
        if (priors && priors.size > 0) await insertPriors(s, temp, salt, r, where.baseDir, priors);
      },
    });
    // the priors' job was never started: the newest started one is the pipeline's first job
    jobId = (await s.jobs.jobsOf(temp)).find((j) => j.state !== 'JOB_KILLED')!.id;
    const done = async () => {
      const j = await s.jobs.getJob(temp, jobId);
      return !j || s.isFinished(j.state);
    };
    // Running here runs every open job of the store, a concurrent verify's scratch job included;
    // when that verify deletes its pipeline mid-run, the job runner fails on it. Our job is then
    // still fine: keep waiting for it (a failure that persists is ours, and is thrown).
    for (let attempt = 1; ; attempt++) {
      try {
        await s.runUntil(done);
        break;
      } catch (err) {
        if (attempt >= 5 || !(await s.jobs.getJob(temp, jobId))) throw err;
        if (await done()) break;
      }
    }
    const job = await s.jobs.getJob(temp, jobId);
    if (!job) throw new Error(`the scratch pipeline ${temp} was deleted while it ran`);
    const out = await s.graph.getCommit(temp, jobId);
    result.state = job.state;
    result.reason = job.reason;
    const rows = await s.jobs.datumsOf(temp, jobId);
    result.datums = rows.length;
    result.reused = rows.filter((d) => d.state === 'skipped').length;
    result.reran = rows.length - result.reused;
    for (const d of rows) result.datumInputs.set(d.id, describeFiles(d.inputs));
    for (const d of rows.filter((x) => x.state === 'failed')) {
      const log = (await s.readLogs({ pipeline: temp, job: jobId, datum: d.id })).slice(-8).map((l) => `${l.stream}: ${l.message}`);
      result.failed.push({ datum: d.id, inputs: result.datumInputs.get(d.id) ?? [], error: d.error, log });
    }
    if (out?.root) {
      result.tree = (out.root as NodeId).toString('hex');
      result.files = await filesWithDatums(s, out.root as NodeId);
    }
  } finally {
    try {
      await s.deletePipeline(temp);
    } catch {
      // a later verify removes leftovers too
    }
    await s.removeLogs(temp);
  }
  return result;
}

/** Pin every pfs input of a raw spec to the locked commit of its repo@branch. */
function pinRaw(input: unknown, pins: Record<string, string>, unpinned: string[]): void {
  if (!isObj(input)) return;
  if (isObj(input.pfs)) {
    const p = input.pfs;
    const key = `${String(p.repo)}@${typeof p.branch === 'string' ? p.branch : 'master'}`;
    if (pins[key]) p.commit = pins[key];
    else unpinned.push(key);
  }
  for (const k of ['cross', 'union', 'join', 'group']) if (Array.isArray(input[k])) for (const i of input[k] as unknown[]) pinRaw(i, pins, unpinned);
}

/**
 * Give the temporary pipeline earlier results for unchanged datums: rows of a job that never ran
 * (JOB_KILLED, so no later job builds on its output) carrying the real job's datum outputs. The
 * temporary job then skips those datums, as any incremental job skips unchanged ones.
 */
async function insertPriors(s: VerifyEngine, temp: string, salt: string, raw: Record<string, unknown>, baseDir: string, priors: Map<string, NodeId | null>): Promise<void> {
  const { spec } = normalizeSpec(raw, { baseDir });
  const planned = await planPinned(s, spec.input, {});
  if (!planned) return;
  const fake = newCommitId();
  const now = Date.now();
  const version = (await s.jobs.getPipeline(temp))!.version;
  await s.jobs.insertJob(temp, fake, version, salt);
  await s.jobs.setJobState(temp, fake, 'JOB_KILLED', 'tusk verify --changed: results of unchanged datums', now);
  const rows: NewDatum[] = [];
  for (const [id, files] of planned) {
    if (!priors.has(id)) continue;
    rows.push({ pipeline: temp, job: fake, id, seq: rows.length, hash: datumHash(id, files, salt), state: 'success', inputs: files, output: priors.get(id) ?? null, started: now, finished: now });
  }
  await s.jobs.insertDatums(rows);
}

function isObj(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Remove temporary pipelines an interrupted verify left behind (their names start with tusk-verify-). */
export async function removeLeftovers(s: VerifyEngine): Promise<string[]> {
  const gone: string[] = [];
  for (const p of await s.jobs.listPipelines()) {
    if (!p.name.startsWith('tusk-verify-') || Date.now() - p.created < 24 * 3600_000) continue;
    try {
      await s.deletePipeline(p.name);
      gone.push(p.name);
    } catch {
      // in use by another verify
    }
  }
  return gone;
}
