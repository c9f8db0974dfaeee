// Bringing the store in line with a project and writing tusk.lock: what the pre-commit hook and
// `tusk lock` do. Tracked directories go into their branches (one commit per directory that
// changed), pipelines whose spec or code changed are created or updated (and reprocessed, so the
// locked outputs never mix results of two code versions), the pipelines run (here when `wait`,
// else in the background) and the lock records every id.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { specOf } from '../pipeline/job-runner.js';
import { normalizeSpec, parseSpecText, specHash, type WorkdirRule } from '../pipeline/spec.js';
import type { CommitRef, FileRef } from '../store/address.js';
import type { CommitRecord } from '../store/commit-graph.js';
import type { NodeId } from '../store/hash.js';
import { TERMINAL_JOB_STATES, type StoreHandle } from '../store/store-handle.js';
import type { CommitInfo, PutResult, PutSource, RepoInfo } from '../store/types.js';
import { hookMsg } from '../ui/messages.js';
import { projectPath, projectWorkdir, trackedDir, type PipelineEntry, type Project, type TrackEntry } from './config.js';
import { branchKey, emptyLock, readLock, writeLock, type LockedOutput, type LockFile } from './lock.js';
import { digestPath, digestScan, scanDir, type PathDigest } from './local-scan.js';
import { compareDir, type Comparison } from './worktree.js';

// What the project layer (tusk lock, the git hooks, status, checkout, verify) is handed by the
// composition root (src/app/tusk.ts), which opens the store and builds the services: the project
// code never opens a store itself, and its writes go through the same services as the commands'.
/** The writes `tusk lock` makes; each one that can start jobs starts them unless a batch holds them. */
export interface ProjectData {
  createRepo(name: string, opts?: { description?: string }): Promise<RepoInfo>;
  startCommit(repo: string, branch: string, opts?: { description?: string }): Promise<CommitInfo>;
  putFiles(target: CommitRef, sources: PutSource[], opts?: { description?: string }): Promise<PutResult>;
  deleteFiles(ref: FileRef): Promise<CommitInfo>;
  finishCommit(ref: CommitRef): Promise<CommitInfo>;
}

/** A store opened for a project. */
export interface ProjectStore {
  /** the store's handle (store-handle.ts): the metadata contracts, trees and contents the project code reads */
  readonly core: StoreHandle;
  readonly data: ProjectData;
  /** create or update pipelines as a spec file says; the registered checks run, as for `create pipeline` */
  syncPipelines(text: string, opts: { baseDir: string; workdir: WorkdirRule; update?: boolean; reprocess?: boolean }): Promise<void>;
  /**
   * Make `fn`'s writes one step for the jobs: none starts during it; at its end they run here
   * until `until()` holds when given, else as after any write.
   */
  batch<T>(fn: () => Promise<T>, opts?: { until?: () => Promise<boolean> }): Promise<T>;
  close(): void;
}

/** Opens the store of a project (its `store:`, TUSK_STORE or a `.tusk` above it). */
export type OpenProjectStore = (project: Project, opts?: { readonly?: boolean }) => ProjectStore;

/** What happened to one tracked directory. */
export interface TrackResult {
  path: string;
  repo: string;
  branch: string;
  /** the commit the lock pins (null: nothing committed yet and no local directory) */
  commit: string | null;
  /** committed: a new commit was made; missing: the directory is not here, the pinned commit is kept */
  action: 'unchanged' | 'committed' | 'missing';
  added: number;
  modified: number;
  deleted: number;
}

export interface PipelineAction {
  name: string;
  spec: string;
  /** reprocessed: spec or code changed, every datum runs again */
  action: 'created' | 'updated' | 'reprocessed' | 'unchanged';
}

export interface LockOutputSummary {
  pipeline: string;
  commit: string;
  state: LockedOutput['state'];
  error?: string;
}

export interface LockUpdateResult {
  lock: string;
  /** the lock file's bytes changed */
  changed: boolean;
  tracked: TrackResult[];
  pipelines: PipelineAction[];
  outputs: LockOutputSummary[];
  /** every locked output had finished */
  complete: boolean;
  ms: number;
}

/** A watched path and its digest before it was read: what the hook state records. */
export interface Watched extends PathDigest {
  path: string;
}

/**
 * Sync tracked directories and pipelines into the store, run the pipelines and write the lock.
 * With `stopOnFailure` (a commit with wait: true), a failed pipeline is a ConflictError and the
 * lock file is left as it was: it must never record outputs the commit did not accept.
 */
export async function updateLock(store: ProjectStore, project: Project, opts: { wait?: boolean; stopOnFailure?: boolean } = {}): Promise<LockUpdateResult & { watch: Watched[] }> {
  const started = Date.now();
  const s = store.core;
  const prev = readPreviousLock(project.lockPath);
  const watch: Watched[] = [];
  const tracked: TrackResult[] = [];
  const owned: OwnedPipeline[] = [];
  const pipelines: PipelineAction[] = [];
  const names = new Set<string>();
  const ours = async () => (await s.jobs.openJobs()).filter((j) => names.has(j.pipeline));
  // the jobs these writes start run once, after the last of them: here (wait) or in the background
  await store.batch(
    async () => {
      for (const t of project.config.track) tracked.push(await syncTrack(store, project, t, prev, watch));
      for (const entry of project.config.pipelines) pipelines.push(...(await ensurePipelines(store, project, entry, prev, watch, owned)));
      for (const o of owned) names.add(o.name);
    },
    { until: opts.wait ? async () => (await ours()).length === 0 : undefined },
  );
  const lock = await buildLock(s, project, tracked, owned);
  const outputs = Object.entries(lock.pipelines).map(([pipeline, p]) => ({ pipeline, commit: p.output.commit, state: p.output.state, ...(p.output.error ? { error: p.output.error } : {}) }));
  const failed = outputs.filter((o) => o.state === 'failure');
  if (opts.stopOnFailure && failed.length > 0) {
    const what = failed.map((f) => `${f.pipeline} (${f.error ?? 'failed'})`).join(', ');
    throw new ConflictError(hookMsg.commitStopped(what), hookMsg.commitStoppedHint(failed[0]!.pipeline));
  }
  const changed = writeLock(project.lockPath, lock);
  return {
    lock: project.lockPath,
    changed,
    tracked,
    pipelines,
    outputs,
    complete: outputs.every((o) => o.state !== 'running'),
    ms: Date.now() - started,
    watch,
  };
}

// A lock that does not parse (merge conflict markers, a bad edit) is what `tusk lock` is run to
// repair: start from the store and the work tree instead of refusing.
function readPreviousLock(file: string): LockFile | undefined {
  try {
    return readLock(file);
  } catch (err) {
    if (err instanceof InvalidArgumentError) return undefined;
    throw err;
  }
}

async function headOf(s: StoreHandle, repo: string, branch: string): Promise<CommitRecord | undefined> {
  const b = await s.graph.getRepo(repo) ? await s.graph.getBranch(repo, branch) : undefined;
  return b ? await s.graph.getCommit(repo, b.head) : undefined;
}

/** Put a tracked directory into its branch when it differs from the pinned commit and the head. */
async function syncTrack(store: ProjectStore, project: Project, t: TrackEntry, prev: LockFile | undefined, watch: Watched[]): Promise<TrackResult> {
  const s = store.core;
  const dir = trackedDir(project, t);
  const head = await headOf(s, t.repo, t.branch);
  const locked = prev?.inputs[branchKey(t.repo, t.branch)];
  const pinned = locked && (await s.graph.getRepo(t.repo)) ? await s.graph.getCommit(t.repo, locked.commit) : undefined;
  const base: TrackResult = { path: t.path, repo: t.repo, branch: t.branch, commit: null, action: 'unchanged', added: 0, modified: 0, deleted: 0 };
  if (!fs.existsSync(dir)) {
    // not checked out in this work tree (a fresh clone): keep what the lock pins, never delete
    watch.push({ path: dir, ...digestPath(dir) });
    return { ...base, commit: pinned?.id ?? head?.id ?? null, action: 'missing' };
  }
  let first: Comparison | undefined;
  const remember = (c: Comparison) => {
    if (!first) {
      first = c;
      watch.push({ path: dir, ...digestScan(c.files, c.exists) });
    }
    return c;
  };
  if (pinned && pinned.finished !== null && pinned.id !== head?.id) {
    if (remember(await compareDir(s, dir, pinned, '/')).changes.length === 0) return { ...base, commit: pinned.id };
  }
  let changes: Comparison['changes'];
  if (head) {
    if (head.finished === null) throw new ConflictError(`branch ${t.repo}@${t.branch} has an open commit (${head.id})`, `finish it first: tusk finish commit ${t.repo}@${t.branch}`);
    const cmp = remember(await compareDir(s, dir, head, '/'));
    if (cmp.changes.length === 0) return { ...base, commit: head.id };
    changes = cmp.changes;
  } else {
    if (!(await s.graph.getRepo(t.repo))) await store.data.createRepo(t.repo, { description: `Tracked from ${t.path} (tusk.yaml).` });
    // a first commit: everything local is new (an empty directory still gets a commit to pin)
    const scan = scanDir(dir);
    watch.push({ path: dir, ...digestScan(scan.files, scan.exists) });
    changes = scan.files.map((f) => ({ path: f.rel, change: 'added' as const }));
  }
  const puts: PutSource[] = changes.filter((c) => c.change !== 'deleted').map((c) => ({ kind: 'local', localPath: path.join(dir, c.path), repoPath: `/${c.path}`, recursive: false }));
  const dels = changes.filter((c) => c.change === 'deleted');
  const description = `tusk: ${t.path}`;
  let commit: string;
  if (dels.length === 0 && puts.length > 0) {
    commit = (await store.data.putFiles({ repo: t.repo, branch: t.branch }, puts, { description })).commit;
  } else {
    const open = await store.data.startCommit(t.repo, t.branch, { description });
    if (puts.length > 0) await store.data.putFiles({ repo: t.repo, commit: open.id }, puts);
    for (const d of dels) await store.data.deleteFiles({ repo: t.repo, commit: open.id, path: `/${d.path}` });
    commit = (await store.data.finishCommit({ repo: t.repo, commit: open.id })).id;
  }
  const count = (k: string) => changes.filter((c) => c.change === k).length;
  return { ...base, commit, action: 'committed', added: count('added'), modified: count('modified'), deleted: count('deleted') };
}

interface OwnedPipeline {
  name: string;
  spec: string;
  specHash: string;
  codeHash?: string;
}

/** sha256 over the declared code files (path and content of each, in path order). */
export function hashCode(project: Project, code: readonly string[]): string {
  const h = createHash('sha256');
  for (const rel of [...code].sort()) {
    const abs = projectPath(project, rel);
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (!st) {
      h.update(`${rel}\0missing\n`);
      continue;
    }
    const files: string[] = [];
    if (st.isDirectory()) {
      const walk = (d: string, prefix: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          if (e.isDirectory()) walk(path.join(d, e.name), `${prefix}${e.name}/`);
          else if (e.isFile()) files.push(`${prefix}${e.name}`);
        }
      };
      walk(abs, `${rel}/`);
      files.sort();
    } else files.push(rel);
    for (const f of files) h.update(`${f}\0${createHash('sha256').update(fs.readFileSync(projectPath(project, f))).digest('hex')}\n`);
  }
  return h.digest('hex');
}

/** The specs of one spec file, as the project's working tree has them. */
export function readSpecFile(project: Project, entry: PipelineEntry): { raw: Record<string, unknown>; baseDir: string; workdir: WorkdirRule; name: string; specHash: string }[] {
  const file = projectPath(project, entry.spec);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('local file', entry.spec, `pipeline spec ${entry.spec} (listed in tusk.yaml) not found`, 'fix the path under pipelines: in tusk.yaml');
    throw err;
  }
  const baseDir = path.dirname(file);
  const workdir = projectWorkdir(project, entry.spec);
  return parseSpecText(text, { baseDir, source: entry.spec }).map((r) => {
    const { spec } = normalizeSpec(r.value, { baseDir, workdir });
    return { raw: r.value as Record<string, unknown>, baseDir, workdir, name: spec.name, specHash: specHash(spec) };
  });
}

/** Create or update the pipelines of one spec file; appends them to `owned`. */
async function ensurePipelines(store: ProjectStore, project: Project, entry: PipelineEntry, prev: LockFile | undefined, watch: Watched[], owned: OwnedPipeline[]): Promise<PipelineAction[]> {
  const s = store.core;
  const file = projectPath(project, entry.spec);
  watch.push({ path: file, ...digestPath(file) });
  for (const c of entry.code) watch.push({ path: projectPath(project, c), ...digestPath(projectPath(project, c)) });
  const codeHash = entry.code.length > 0 ? hashCode(project, entry.code) : undefined;
  const out: PipelineAction[] = [];
  for (const { raw, baseDir, workdir, name, specHash: hash } of readSpecFile(project, entry)) {
    const text = JSON.stringify(raw);
    const existing = await s.jobs.getPipeline(name);
    let action: PipelineAction['action'] = 'unchanged';
    if (!existing) {
      await store.syncPipelines(text, { baseDir, workdir });
      action = 'created';
    } else {
      const locked = prev?.pipelines[name];
      const codeChanged = codeHash !== undefined && locked !== undefined && locked.codeHash !== codeHash;
      const specChanged = specHash(specOf(existing)) !== hash;
      // the store runs another version than the lock records (a commit stopped by this pipeline
      // failing left the failed version in place): reprocess, or the failed output would stay
      const drifted = locked !== undefined && existing.salt !== locked.salt;
      if (specChanged || codeChanged || drifted) {
        // a new salt: no datum result of the old code is reused, so the output is what this code makes
        await store.syncPipelines(text, { baseDir, workdir, update: true, reprocess: true });
        action = 'reprocessed';
      } else {
        const { spec } = normalizeSpec(raw, { baseDir, workdir });
        if (JSON.stringify(existing.spec) !== JSON.stringify(spec)) {
          await store.syncPipelines(text, { baseDir, workdir, update: true });
          action = 'updated';
        }
      }
    }
    owned.push({ name, spec: entry.spec, specHash: hash, codeHash });
    out.push({ name, spec: entry.spec, action });
  }
  return out;
}

/** The lock as the store stands now. */
async function buildLock(s: StoreHandle, project: Project, tracked: TrackResult[], owned: OwnedPipeline[]): Promise<LockFile> {
  const lock = emptyLock();
  for (const t of tracked) {
    if (!t.commit) continue;
    const c = (await s.graph.getCommit(t.repo, t.commit))!;
    lock.inputs[branchKey(t.repo, t.branch)] = { path: t.path, repo: t.repo, branch: t.branch, commit: c.id, tree: (c.root as NodeId).toString('hex'), files: c.files, bytes: c.size };
  }
  for (const o of owned) {
    const p = (await s.jobs.getPipeline(o.name))!;
    const head = (await headOf(s, o.name, p.outputBranch))!;
    const job = await s.jobs.getJob(o.name, head.id);
    const state: LockedOutput['state'] = job
      ? job.state === 'JOB_SUCCESS'
        ? 'success'
        : TERMINAL_JOB_STATES.includes(job.state)
          ? 'failure'
          : 'running'
      : head.finished !== null
        ? 'success'
        : 'running';
    const output: LockedOutput = { branch: p.outputBranch, commit: head.id, state };
    if (state === 'success' && head.root) {
      output.tree = (head.root as NodeId).toString('hex');
      output.fileCount = head.files;
      output.bytes = head.size;
      if (head.files <= project.config.lockFiles) {
        const files: Record<string, string> = {};
        for await (const batch of s.walkTree(head.root as NodeId, '/')) for (const pe of batch) if (pe.entry.kind === 'file') files[pe.path] = pe.entry.id.toString('hex');
        output.files = files;
      }
    }
    if (state === 'failure') output.error = job?.reason ?? head.error ?? 'failed';
    const inputs: Record<string, string> = {};
    for (const pr of await s.graph.commitProvenance(o.name, head.id)) inputs[branchKey(pr.fromRepo, pr.fromBranch ?? 'master')] = pr.fromCommit;
    lock.pipelines[o.name] = { spec: o.spec, specHash: o.specHash, ...(o.codeHash ? { codeHash: o.codeHash } : {}), salt: p.salt, version: p.version, inputs, output };
  }
  return lock;
}
