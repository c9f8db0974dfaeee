// Pipelines as users see them: create/update (validating the whole DAG first), list, inspect,
// stop/start, delete; jobs and datums (logs: logs.ts). Each change is one transaction.
import { randomBytes } from 'node:crypto';
import { AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { validateName, type CommitRef } from '../store/address.js';
import { newCommitId, type ContentId } from '../store/hash.js';
import { cleanPath } from '../store/paths.js';
import type { DatumAttempt, DatumRecord, JobRecord, JobState, PipelineRecord } from '../store/job-records.js';
import { iso, TERMINAL_JOB_STATES, type StoreHandle } from '../store/store-handle.js';
import { runPipelineChecks } from './checks.js';
import { cronInputs } from './cron-ticker.js';
import { datumHash, planDatums, resolveInputs, type DatumFile } from './datums.js';
import { requireJobsSucceeded } from './job-outcome.js';
import { killJob, specOf } from './job-runner.js';
import { describeInput, inputRepos, normalizeSpec, parseSpecText, type WorkdirRule } from './spec.js';
import type { PfsInput, PipelineSpec } from './spec-types.js';

export interface PipelineInfo {
  name: string;
  version: number;
  description: string;
  input: string;
  created: string;
  updated: string;
  state: 'running' | 'paused';
  lastJobState: string | null;
  /** id of the newest job (= its commit set), if any */
  lastJob: string | null;
  outputBranch: string;
  spec: PipelineSpec;
  raw: Record<string, unknown>;
  salt: string;
}

export interface JobInfo {
  pipeline: string;
  id: string;
  version: number;
  state: string;
  reason: string | null;
  created: string;
  started: string | null;
  finished: string | null;
  processed: number;
  skipped: number;
  failed: number;
  recovered: number;
  total: number;
  downloadBytes: number;
  uploadBytes: number;
  outputCommit: string;
  inputs: { repo: string; branch: string | null; commit: string }[];
}

export interface DatumInfo {
  id: string;
  job: string;
  pipeline: string;
  state: 'pending' | 'running' | 'success' | 'skipped' | 'failed' | 'recovered';
  files: DatumFile[];
  hash: string;
  attempts: number;
  started: string | null;
  finished: string | null;
  error: string | null;
  /** a successful datum's note of what it did not upload (symbolic links outside its inputs) */
  warning: string | null;
  downloadBytes: number;
  uploadBytes: number;
  /** the worker (runner) of the datum's last attempt; null for a datum never claimed */
  worker: string | null;
  /** every attempt, oldest first (inspect datum only) */
  attemptLog?: AttemptInfo[];
}

/** One attempt at a datum: who ran it, when, how it ended (null while it runs, or when its worker went away). */
export interface AttemptInfo {
  attempt: number;
  worker: string;
  started: string;
  finished: string | null;
  outcome: DatumAttempt['outcome'];
  error: string | null;
}

function toAttemptInfo(a: DatumAttempt): AttemptInfo {
  return { attempt: a.attempt, worker: a.worker, started: iso(a.started)!, finished: iso(a.finished), outcome: a.outcome, error: a.error };
}

async function toPipelineInfo(s: StoreHandle, p: PipelineRecord): Promise<PipelineInfo> {
  const spec = specOf(p);
  const last = (await s.jobs.jobsOf(p.name))[0];
  return {
    name: p.name,
    version: p.version,
    description: spec.description,
    input: describeInput(spec.input),
    created: iso(p.created),
    updated: iso(p.updated),
    state: p.stopped ? 'paused' : 'running',
    lastJobState: last ? jobStateWord(last.state) : null,
    lastJob: last ? last.id : null,
    outputBranch: p.outputBranch,
    spec,
    raw: JSON.parse(p.raw) as Record<string, unknown>,
    salt: p.salt,
  };
}

/** `JOB_SUCCESS` → `success`, as pachctl prints states. */
export function jobStateWord(state: string): string {
  return state.replace(/^JOB_/, '').toLowerCase();
}

export async function toJobInfo(s: StoreHandle, j: JobRecord): Promise<JobInfo> {
  // a running job's counters are written when it ends: count its datums meanwhile
  if (j.state === 'JOB_RUNNING') {
    const n = await s.jobs.datumStates(j.pipeline, j.id);
    j = { ...j, processed: n.success, skipped: n.skipped, failed: n.failed, recovered: n.recovered };
  }
  return {
    pipeline: j.pipeline,
    id: j.id,
    version: j.version,
    state: j.state,
    reason: j.reason,
    created: iso(j.created),
    started: iso(j.started),
    finished: iso(j.finished),
    processed: j.processed,
    skipped: j.skipped,
    failed: j.failed,
    recovered: j.recovered,
    total: j.total,
    downloadBytes: j.downloadBytes,
    uploadBytes: j.uploadBytes,
    outputCommit: j.id,
    inputs: (await s.graph.commitProvenance(j.pipeline, j.id)).map((p) => ({ repo: p.fromRepo, branch: p.fromBranch, commit: p.fromCommit })),
  };
}

function toDatumInfo(d: DatumRecord, last: DatumAttempt | undefined): DatumInfo {
  return {
    id: d.id,
    job: d.job,
    pipeline: d.pipeline,
    state: d.state,
    files: d.inputs,
    hash: d.hash,
    attempts: d.attempts,
    started: iso(d.started),
    finished: iso(d.finished),
    error: d.state === 'success' ? null : d.error,
    warning: d.state === 'success' ? d.error : null,
    downloadBytes: d.downloadBytes,
    uploadBytes: d.uploadBytes,
    worker: last?.worker ?? null,
  };
}

/** The pipeline's row; NotFoundError naming it when there is none. */
export async function requirePipeline(s: StoreHandle, name: string): Promise<PipelineRecord> {
  const p = await s.jobs.getPipeline(name);
  if (!p) throw new NotFoundError('pipeline', name, `pipeline "${name}" not found`, 'run `tusk list pipeline` to see what exists');
  return p;
}

/** Every repo a pipeline's output depends on, transitively through other pipelines. */
async function upstreamRepos(s: StoreHandle, spec: PipelineSpec, seen = new Set<string>()): Promise<Set<string>> {
  for (const i of inputRepos(spec.input)) {
    if (seen.has(i.repo)) continue;
    seen.add(i.repo);
    const p = await s.jobs.getPipeline(i.repo);
    if (p) await upstreamRepos(s, specOf(p), seen);
  }
  return seen;
}

/** Check a spec against the store before anything is created: repos, branches, cycles. */
async function checkDag(s: StoreHandle, spec: PipelineSpec, updating: boolean): Promise<void> {
  for (const i of inputRepos(spec.input)) {
    if (i.kind === 'cron') continue;
    if (!(await s.graph.getRepo(i.repo))) throw new NotFoundError('repo', i.repo, `input repo ${i.repo} of pipeline ${spec.name} not found`, `create it first: tusk create repo ${i.repo}`);
    // master appears on first use, as in Pachyderm; any other branch must exist already
    if (i.branch !== 'master' && !(await s.graph.getBranch(i.repo, i.branch)))
      throw new NotFoundError('branch', `${i.repo}@${i.branch}`, `branch "${i.branch}" not found in repo ${i.repo} (input of pipeline ${spec.name})`, `create it: tusk create branch ${i.repo}@${i.branch}`);
  }
  if ((await upstreamRepos(s, spec)).has(spec.name)) throw new InvalidArgumentError(`pipeline ${spec.name} would consume its own output: the pipeline graph would have a cycle`, 'remove the input that leads back to this pipeline');
  if (!updating && (await s.graph.getRepo(spec.name)))
    throw new ConflictError(`pipeline "${spec.name}" cannot be created because a repo with the same name already exists`, 'pick another pipeline name, or delete the repo');
}

/** Output branch provenance: every input branch (cron inputs read their own repo's master). */
function provenanceOf(spec: PipelineSpec): { repo: string; branch: string }[] {
  const seen = new Map<string, { repo: string; branch: string }>();
  for (const i of inputRepos(spec.input)) seen.set(`${i.repo}@${i.branch}`, { repo: i.repo, branch: i.branch });
  return [...seen.values()];
}

async function ensureInputBranches(s: StoreHandle, spec: PipelineSpec): Promise<void> {
  for (const i of inputRepos(spec.input)) {
    if (i.kind === 'cron' && !(await s.graph.getRepo(i.repo))) await s.graph.insertRepo({ name: i.repo, type: 'user', description: cronRepoDescription(spec.name), created: Date.now() });
    if (!(await s.graph.getBranch(i.repo, i.branch))) {
      // a branch always has a head: an empty finished commit
      const c = await s.insertCommit({ repo: i.repo, branch: i.branch, parent: null, origin: 'AUTO', finished: true });
      await s.graph.setBranch(i.repo, i.branch, c.id, Date.now());
    }
  }
}

export interface CreateOptions {
  baseDir: string;
  /** the local stand-in for each pipeline's image WORKDIR (`--workdir`, tusk.yaml) */
  workdir?: WorkdirRule;
  /** on update, a pipeline the rule gives no workdir keeps the one it had (`update pipeline` without --workdir) */
  keepWorkdir?: boolean;
  update?: boolean;
  reprocess?: boolean;
  /** runs in the unit of work that creates the pipelines, so that what it writes lands with them or not at all (metadata only: the unit may run again) */
  inSameUnit?: () => Promise<void>;
}

/** First 64 KiB of a file at the head of repo@branch, as text; undefined when absent. */
async function readHead(s: StoreHandle, input: { repo: string; branch: string }, p: string): Promise<string | undefined> {
  const b = await s.graph.getBranch(input.repo, input.branch);
  const c = b ? await s.graph.getCommit(input.repo, b.head) : undefined;
  const e = c?.root ? await s.lookupPath(c.root, cleanPath(p)) : undefined;
  if (!e || e.kind !== 'file') return undefined;
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of s.readContent(e.id as ContentId, { describe: () => `file ${p} in ${input.repo}@${input.branch}` })) {
    parts.push(chunk);
    n += chunk.length;
    if (n >= 65536) break;
  }
  return Buffer.concat(parts).subarray(0, 65536).toString('utf8');
}

/**
 * Create (or update) every pipeline in a spec file, in order. Validates all of them first, the
 * registered checks (src/pipeline/checks.ts: the ML chain check among them) included.
 */
export async function createPipelines(s: StoreHandle, text: string, opts: CreateOptions): Promise<{ pipelines: PipelineInfo[]; warnings: string[] }> {
  const raws = parseSpecText(text, { baseDir: opts.baseDir });
  if (raws.length === 0) throw new InvalidArgumentError('no pipeline spec found in the input', 'give a JSON or YAML pipeline spec');
  const normalized = raws.map((r) => normalizeSpec(r.value, { baseDir: opts.baseDir, workdir: opts.workdir }));
  const warnings = normalized.flatMap((n) => n.warnings);
  await runPipelineChecks(normalized.map((n) => n.spec), (input, p) => readHead(s, input, p));
  const names = new Set<string>();
  for (const n of normalized) {
    if (names.has(n.spec.name)) throw new InvalidArgumentError(`pipeline "${n.spec.name}" is defined twice in the spec file`, 'give each pipeline its own name');
    names.add(n.spec.name);
  }
  // the specs are copied per attempt: the body may run again, and it sets a workdir on them
  const done = await s.unitOfWork(async (tx) => {
    const out: PipelineInfo[] = [];
    for (const n of normalized) {
      const { raw } = n;
      const spec = structuredClone(n.spec);
      validateName('pipeline', spec.name);
      const existing = await tx.jobs.getPipeline(spec.name);
      if (opts.update && !existing) throw new NotFoundError('pipeline', spec.name, `pipeline "${spec.name}" not found`, 'create it with `tusk create pipeline`');
      if (!opts.update && existing) throw new AlreadyExistsError(`pipeline "${spec.name}" already exists`, 'use `tusk update pipeline` to change it');
      await checkDag(s, spec, !!opts.update);
      const before = existing && opts.keepWorkdir && spec.workdir === undefined ? specOf(existing).workdir : undefined;
      if (before !== undefined) spec.workdir = before;
      await ensureInputBranches(s, spec);
      const now = Date.now();
      const rawJson = JSON.stringify(raw);
      let row: PipelineRecord;
      if (existing) {
        // old-version jobs still running are stopped: their results would not match the new spec
        // (killJob's unit joins this one)
        for (const j of await tx.jobs.jobsOf(spec.name)) if (!TERMINAL_JOB_STATES.includes(j.state)) await killJob(s, spec.name, j.id, 'pipeline updated');
        row = { ...existing, version: existing.version + 1, spec, raw: rawJson, salt: opts.reprocess ? randomBytes(16).toString('hex') : existing.salt, outputBranch: spec.output_branch, updated: now };
        await tx.jobs.updatePipeline(row);
        // cron inputs keep their schedule across an update (by name); removed ones are forgotten
        await tx.jobs.keepCronTicks(spec.name, cronInputs(spec.input).map((i) => i.name));
      } else {
        row = {
          name: spec.name,
          version: 1,
          spec,
          raw: rawJson,
          salt: typeof raw.salt === 'string' && raw.salt ? (raw.salt as string) : randomBytes(16).toString('hex'),
          outputBranch: spec.output_branch,
          stopped: false,
          created: now,
          updated: now,
        };
        await tx.graph.insertRepo({ name: spec.name, type: 'output', description: `Output repo for pipeline ${spec.name}.`, created: now });
        await tx.jobs.insertPipeline(row);
      }
      await tx.graph.setBranchProvenance(spec.name, spec.output_branch, provenanceOf(spec));
      // a first job (or, after an update, a new one) over the current heads of the inputs
      if (!row.stopped) await s.createJobCommit(row, spec.output_branch, newCommitId());
      out.push(await toPipelineInfo(s, (await tx.jobs.getPipeline(spec.name))!));
    }
    await opts.inSameUnit?.();
    return out;
  });
  return { pipelines: done, warnings };
}

export async function listPipelines(s: StoreHandle): Promise<PipelineInfo[]> {
  const out: PipelineInfo[] = [];
  for (const p of await s.jobs.listPipelines()) out.push(await toPipelineInfo(s, p));
  return out;
}

export async function inspectPipeline(s: StoreHandle, name: string): Promise<PipelineInfo> {
  return toPipelineInfo(s, await requirePipeline(s, name));
}

/** The description of a repo created for a pipeline's cron input: it marks the repos deleting the pipeline removes. */
function cronRepoDescription(pipeline: string): string {
  return `Cron tick repo for pipeline ${pipeline}.`;
}

/** Delete a pipeline, its jobs and (unless keepRepo) its output repo and cron tick repos. Refused while others consume it, unless forced. */
export async function deletePipeline(s: StoreHandle, name: string, opts: { force?: boolean; keepRepo?: boolean } = {}): Promise<{ pipeline: string }> {
  await s.unitOfWork(async (tx) => {
    const p = await requirePipeline(s, name);
    const consumers = (await tx.jobs.listPipelines()).filter((q) => q.name !== name && inputRepos(specOf(q).input).some((i) => i.repo === name));
    if (consumers.length > 0 && !opts.force)
      throw new ConflictError(`cannot delete pipeline ${name}: pipelines [${consumers.map((c) => c.name).join(', ')}] read its output`, 'delete those first, or pass --force');
    for (const j of await tx.jobs.jobsOf(name)) if (!TERMINAL_JOB_STATES.includes(j.state)) await killJob(s, name, j.id, 'pipeline deleted');
    await tx.jobs.deletePipeline(name);
    if (opts.keepRepo) {
      // what is kept is plain data now, as in Pachyderm: write to it, read it, delete it
      (await s.graph.setBranchProvenance(name, p.outputBranch, []));
      if (await s.graph.getRepo(name)) await s.graph.setRepoType(name, 'user');
    } else {
      if (await s.graph.getRepo(name)) await s.graph.deleteRepo(name);
      // the tick repos created for its cron inputs go with it, unless another pipeline reads one
      const others = (await tx.jobs.listPipelines()).flatMap((q) => inputRepos(specOf(q).input).map((i) => i.repo));
      for (const c of cronInputs(specOf(p).input)) {
        const repo = await s.graph.getRepo(c.repo);
        if (repo && repo.description === cronRepoDescription(name) && !others.includes(c.repo)) await s.graph.deleteRepo(c.repo);
      }
    }
  });
  // after the unit, which may run more than once: its logs go once its records are gone
  await s.logs.removePipeline(name);
  return { pipeline: name };
}

/** Pause: running jobs are killed and new input commits create no jobs. */
export async function stopPipeline(s: StoreHandle, name: string): Promise<PipelineInfo> {
  await s.unitOfWork(async (tx) => {
    await requirePipeline(s, name);
    for (const j of await tx.jobs.jobsOf(name)) if (!TERMINAL_JOB_STATES.includes(j.state)) await killJob(s, name, j.id, 'pipeline stopped');
    await tx.jobs.setStopped(name, true);
  });
  return inspectPipeline(s, name);
}

/** Resume: one new job catches up on everything committed while stopped. */
export async function startPipeline(s: StoreHandle, name: string): Promise<PipelineInfo> {
  await s.unitOfWork(async (tx) => {
    const p = await requirePipeline(s, name);
    if (!p.stopped) return;
    await tx.jobs.setStopped(name, false);
    await s.createJobCommit(p, p.outputBranch, newCommitId());
  });
  return inspectPipeline(s, name);
}

// ---------------------------------------------------------------------------------------------
// jobs and datums

export async function requireJob(s: StoreHandle, pipeline: string, id: string): Promise<JobRecord> {
  await requirePipeline(s, pipeline);
  const j = await s.jobs.getJob(pipeline, id);
  if (!j) throw new NotFoundError('job', `${pipeline}@${id}`, `job ${pipeline}@${id} not found`, `run \`tusk list job -p ${pipeline}\``);
  return j;
}

/** Which jobs `list job -p`/`-x` shows (PACHYDERM.md 5.2). */
export interface JobFilter {
  pipeline?: string;
  /** one commit set */
  id?: string;
  /** only these states */
  states?: readonly JobState[];
  /** only jobs that read every one of these input commits */
  inputs?: readonly CommitRef[];
  /** pipeline versions back from the current one: 0 = the current only, -1 = all (the default here) */
  history?: number;
  number?: number;
}

export async function listJobs(s: StoreHandle, opts: JobFilter = {}): Promise<JobInfo[]> {
  let rows: JobRecord[];
  if (opts.pipeline) {
    await requirePipeline(s, opts.pipeline);
    rows = await s.jobs.jobsOf(opts.pipeline);
    if (opts.id) rows = rows.filter((j) => j.id === opts.id);
  } else if (opts.id) rows = await s.jobs.jobsById(opts.id);
  else rows = await s.jobs.allJobs();
  if (opts.states?.length) rows = rows.filter((j) => opts.states!.includes(j.state));
  const history = opts.history ?? -1;
  if (history >= 0) {
    const current = new Map<string, number>();
    for (const j of rows) if (!current.has(j.pipeline)) current.set(j.pipeline, (await s.jobs.getPipeline(j.pipeline))?.version ?? 0);
    rows = rows.filter((j) => j.version >= current.get(j.pipeline)! - history);
  }
  let jobs = await jobInfos(s, rows);
  if (opts.inputs?.length) {
    const wanted: { repo: string; commit: string }[] = [];
    for (const ref of opts.inputs) wanted.push({ repo: ref.repo, commit: (await s.resolveCommit(ref)).id });
    jobs = jobs.filter((j) => wanted.every((w) => j.inputs.some((i) => i.repo === w.repo && i.commit === w.commit)));
  }
  return opts.number && opts.number > 0 ? jobs.slice(0, opts.number) : jobs;
}

/** The jobs of one commit set, across pipelines: a row of `list job` without `-p`/`-x`. */
export interface JobSetInfo {
  id: string;
  subjobs: number;
  succeeded: number;
  /** not yet terminal */
  running: number;
  /** failed, killed or unrunnable */
  failed: number;
  /** when its first job was created */
  created: string;
  /** when any of its jobs last changed state */
  modified: string;
  jobs: JobInfo[];
}

/** Job sets, newest first (by their newest job). */
export async function listJobSets(s: StoreHandle, opts: { number?: number } = {}): Promise<JobSetInfo[]> {
  const sets = new Map<string, JobRecord[]>();
  for (const j of await s.jobs.allJobs()) {
    const set = sets.get(j.id);
    if (set) set.push(j);
    else if (!opts.number || sets.size < opts.number) sets.set(j.id, [j]);
  }
  const out: JobSetInfo[] = [];
  for (const [id, rows] of sets) {
    const succeeded = rows.filter((j) => j.state === 'JOB_SUCCESS').length;
    const ended = rows.filter((j) => TERMINAL_JOB_STATES.includes(j.state)).length;
    const times = rows.flatMap((j) => [j.created, j.started ?? 0, j.finished ?? 0]);
    out.push({
      id,
      subjobs: rows.length,
      succeeded,
      running: rows.length - ended,
      failed: ended - succeeded,
      created: iso(Math.min(...rows.map((j) => j.created))),
      modified: iso(Math.max(...times)),
      jobs: await jobInfos(s, rows),
    });
  }
  return out;
}

async function jobInfos(s: StoreHandle, rows: readonly JobRecord[]): Promise<JobInfo[]> {
  const out: JobInfo[] = [];
  for (const j of rows) out.push(await toJobInfo(s, j));
  return out;
}

export async function inspectJob(s: StoreHandle, pipeline: string, id: string): Promise<JobInfo> {
  return toJobInfo(s, await requireJob(s, pipeline, id));
}

export async function stopJob(s: StoreHandle, pipeline: string, id: string): Promise<JobInfo> {
  await requireJob(s, pipeline, id);
  return toJobInfo(s, await killJob(s, pipeline, id, 'job stopped'));
}

/** Wait until the job (or every job of a commit set) is terminal; JobFailedError when one did not succeed. Polls: other processes run them. */
export async function waitJobs(s: StoreHandle, select: () => Promise<JobRecord[]>, opts: { timeoutMs?: number } = {}): Promise<JobInfo[]> {
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const jobs = await select();
    if (jobs.every((j) => TERMINAL_JOB_STATES.includes(j.state))) {
      await requireJobsSucceeded(s, jobs);
      return jobInfos(s, jobs);
    }
    if (Date.now() > deadline) throw new ConflictError(`jobs did not finish within ${opts.timeoutMs} ms`, 'check `tusk list job`');
    await new Promise((r) => setTimeout(r, delay));
  }
}

export async function listDatums(s: StoreHandle, pipeline: string, job: string): Promise<DatumInfo[]> {
  await requireJob(s, pipeline, job);
  const last = new Map<string, DatumAttempt>();
  // ordered by datum and attempt: the last row of each datum wins
  for (const a of await s.jobs.attemptsOf(pipeline, job)) last.set(a.datum, a);
  return (await s.jobs.datumsOf(pipeline, job)).map((d) => toDatumInfo(d, last.get(d.id)));
}

export async function inspectDatum(s: StoreHandle, pipeline: string, job: string, id: string): Promise<DatumInfo> {
  await requireJob(s, pipeline, job);
  const d = (await s.jobs.getDatum(pipeline, job, id)) ?? (await s.jobs.datumsOf(pipeline, job)).find((x) => x.id.startsWith(id));
  if (!d) throw new NotFoundError('datum', id, `datum ${id} not found in job ${pipeline}@${job}`);
  const attempts = await s.jobs.attemptsOf(pipeline, job, d.id);
  return { ...toDatumInfo(d, attempts.at(-1)), attemptLog: attempts.map(toAttemptInfo) };
}

/** The datums a spec would produce on the current input heads (`list datum -f`); nothing is created. */
export async function previewDatums(s: StoreHandle, text: string, baseDir: string): Promise<DatumInfo[]> {
  const [raw] = parseSpecText(text, { baseDir });
  if (!raw) throw new InvalidArgumentError('no pipeline spec found in the input');
  const { spec } = normalizeSpec(raw.value, { baseDir });
  const resolve = await resolveInputs(spec.input, s.graph, async (i: PfsInput) => {
    await s.requireRepo(i.repo);
    const b = await s.graph.getBranch(i.repo, i.branch);
    return i.commit ? s.graph.getCommit(i.repo, i.commit) : b ? s.graph.getCommit(i.repo, b.head) : undefined;
  });
  return (await planDatums(s, spec.input, resolve)).map((d) => ({
    id: d.id,
    job: '',
    pipeline: spec.name,
    state: 'pending',
    files: d.files,
    hash: datumHash(d.id, d.files, ''),
    attempts: 0,
    started: null,
    finished: null,
    error: null,
    warning: null,
    downloadBytes: 0,
    uploadBytes: 0,
    worker: null,
  }));
}
