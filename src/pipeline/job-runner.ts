// Running jobs: plan datums (skipping those with a successful result for the same hash), claim
// and run them with bounded parallelism, then merge their outputs into the job's output commit.
// Organised by a job's life: plan → claim → run → collect → finish.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConflictError, InvalidArgumentError, LockedError, TuskError } from '../errors.js';
import { emptyRoot, propagate, rootTotals } from '../store/commit-service.js';
import { killableSync, onInterrupt } from '../signals.js';
import { pausePoint } from '../store/crash-points.js';
import { getFile, writeLocalTree, type AppendedOutput } from '../store/file-service.js';
import { applyPathEdits, lookupPath, walkTree, type PathEdit } from '../store/file-tree.js';
import type { NodeId } from '../store/hash.js';
import { TERMINAL_JOB_STATES, type DatumRow, type JobRow, type JobState, type PipelineRow } from '../store/job-records.js';
import type { StoreCore } from '../store/store-core.js';
import { datumHash, planDatums, type DatumFile } from './datums.js';
import { materializeDatum, type PriorContent } from './materialize.js';
import { outputLinkResolver } from './output-links.js';
import type { PfsInput, PipelineSpec } from './spec-types.js';
import { previousRun, type PreviousRun } from './previous-run.js';
import { ScratchSlot } from './scratch.js';
import { MAX_PARALLELISM } from './spec.js';
import { commitHistory, windowEnv } from './windows.js';
import { ChildProcessTransform, jobLogger, type DatumContext, type Transform } from './transform.js';

/** A datum whose runner vanished is taken over after this long without a lease renewal. */
const DATUM_LEASE_MS = 60_000;
/** Datums claimed per write at first: small enough that another runner on the same job still gets a share. */
const CLAIM_BATCH = 16;
/**
 * While batches are used up within CLAIM_FAST_MS the next one is twice as big, up to this: a
 * claim is a write transaction, which costs more than a quick datum. A batch that lasts longer
 * than CLAIM_SLOW_MS (slow datums) sends it back to CLAIM_BATCH, so that a job's tail is shared.
 */
const CLAIM_BATCH_MAX = 256;
const CLAIM_FAST_MS = 100;
const CLAIM_SLOW_MS = 1000;

/** The JSON-lines log file of a job. */
export function logFile(s: StoreCore, pipeline: string, job: string): string {
  return path.join(s.path, 'logs', pipeline, `${job}.log`);
}

/** Transforms other than child processes (the ML trainers) register here. */
export type TransformFactory = (spec: PipelineSpec) => Transform | undefined;
const factories: TransformFactory[] = [];
export function registerTransform(f: TransformFactory): void {
  factories.push(f);
}
function transformFor(spec: PipelineSpec): Transform {
  for (const f of factories) {
    const t = f(spec);
    if (t) return t;
  }
  return new ChildProcessTransform(spec.transform);
}

export function specOf(p: PipelineRow): PipelineSpec {
  return JSON.parse(p.spec) as PipelineSpec;
}

/**
 * End a job: record its state, give its output commit the merged tree (and the error), and
 * trigger what lies downstream. `root`: the tree collected (null: empty); undefined: the commit
 * keeps what it holds.
 */
function finishJob(s: StoreCore, job: JobRow, state: JobState, reason: string | null, root: NodeId | null | undefined): void {
  const now = Date.now();
  s.jobs.setJobState(job.pipeline, job.id, state, reason, now);
  s.jobs.leaseJob(job.pipeline, job.id, null, null);
  const c = s.graph.getCommit(job.pipeline, job.id);
  if (!c) return;
  // an empty collection is an empty tree: falling back to the commit's own root here kept the
  // previous job's outputs (those of a datum that has just failed) in the new commit
  const r = (root === undefined ? c.root : root) ?? emptyRoot(s);
  const totals = rootTotals(s, r);
  s.graph.setCommitRoot(c.repo, c.id, r, totals.size, totals.files);
  s.graph.finishCommit(c.repo, c.id, now, c.description);
  if (reason) s.graph.setCommitError(c.repo, c.id, reason);
  if (c.branch && s.graph.getBranch(c.repo, c.branch)?.head === c.id) propagate(s, c.repo, c.branch, c.id);
}

/** Stop a job: running datums are killed by their runner at its next check. */
export function killJob(s: StoreCore, pipeline: string, id: string, reason: string): JobRow {
  return s.unitOfWork(() => {
    const job = s.jobs.getJob(pipeline, id);
    if (!job) throw new ConflictError(`job ${pipeline}@${id} not found`);
    if (TERMINAL_JOB_STATES.includes(job.state)) throw new ConflictError(`job ${pipeline}@${id} has already finished`, 'only running jobs can be stopped');
    finishJob(s, job, 'JOB_KILLED', reason, undefined);
    return s.jobs.getJob(pipeline, id)!;
  });
}

type Readiness = { kind: 'ready' } | { kind: 'waiting' } | { kind: 'unrunnable'; reason: string };

/** A job can start when every input commit is finished; an errored input makes it unrunnable. */
function readiness(s: StoreCore, job: JobRow): Readiness {
  const failed: string[] = [];
  for (const p of s.graph.commitProvenance(job.pipeline, job.id)) {
    const c = s.graph.getCommit(p.from_repo, p.from_commit);
    if (!c) return { kind: 'unrunnable', reason: `input commit ${p.from_repo}@${p.from_commit} no longer exists` };
    if (c.finished === null) return { kind: 'waiting' };
    if (c.error) failed.push(p.from_repo);
  }
  if (failed.length > 0) return { kind: 'unrunnable', reason: `unrunnable because the following upstream pipelines failed: ${failed.join(', ')}` };
  return { kind: 'ready' };
}

/**
 * Plan the job's datums: match the globs and look up earlier results first, outside any
 * transaction (trees are immutable, and a glob over a big input takes as long as the input is
 * big), then record the rows in one short transaction. Two runners planning one job both do the
 * reading; the first to record wins, the other finds the job started and records nothing.
 */
function planJob(s: StoreCore, job: JobRow, spec: PipelineSpec, runner: string): void {
  const prov = s.graph.commitProvenance(job.pipeline, job.id);
  const resolve = (i: PfsInput) => {
    const p = prov.find((x) => x.from_repo === i.repo && (x.from_branch ?? 'master') === i.branch) ?? prov.find((x) => x.from_repo === i.repo);
    const commitId = i.commit ?? p?.from_commit;
    const c = commitId ? s.graph.getCommit(i.repo, commitId) : undefined;
    return { commit: c?.id ?? '', root: (c?.root as NodeId | null) ?? null, history: () => (c ? commitHistory(s.graph, i.repo, c.id) : []) };
  };
  const planned = killableSync(() => {
    const datums = planDatums(s.reader, spec.input, resolve);
    pausePoint('plan-datums');
    return datums;
  });
  // the previous job's rows hold every result still in use (skipped rows carry theirs
  // forward): one read of them replaces a lookup per datum; a miss still asks the index
  const recent = new Map<string, { hash: string; output: DatumRow['output'] }>();
  const prev = spec.reprocess_spec === 'every_job' ? undefined : s.jobs.previousJob(job.pipeline, job.id);
  if (prev) for (const r of s.jobs.datumResults(job.pipeline, prev)) if (r.state === 'success' || r.state === 'skipped') recent.set(r.id, { hash: r.hash, output: r.output });
  const rows: { id: string; hash: string; inputs: string; prior: { output: DatumRow['output'] } | undefined }[] = [];
  const seen = new Set<string>();
  for (const d of planned) {
    if (seen.has(d.id)) continue; // overlapping globs (e.g. /**) can name a datum twice
    seen.add(d.id);
    const hash = datumHash(d.id, d.files, job.salt);
    const hit = recent.get(d.id);
    const prior = spec.reprocess_spec === 'every_job' ? undefined : hit && hit.hash === hash ? hit : s.jobs.datumResult(job.pipeline, d.id, hash);
    rows.push({ id: d.id, hash, inputs: JSON.stringify(d.files), prior });
  }
  s.unitOfWork(() => {
    const fresh = s.jobs.getJob(job.pipeline, job.id);
    if (!fresh || fresh.state !== 'JOB_CREATED') return;
    const now = Date.now();
    let seq = 0;
    for (const r of rows) {
      s.jobs.insertDatum({
        pipeline: job.pipeline,
        job: job.id,
        id: r.id,
        seq: seq++,
        hash: r.hash,
        state: r.prior ? 'skipped' : 'pending',
        inputs: r.inputs,
        output: r.prior ? r.prior.output : null,
        started: r.prior ? now : null,
        finished: r.prior ? now : null,
      });
    }
    s.jobs.startJob(job.pipeline, job.id, seq, runner, now + DATUM_LEASE_MS);
  });
}

interface RunOptions {
  runner: string;
  parallelism?: number;
  onEvent?: (e: { job: JobRow; datum?: DatumRow; message: string }) => void;
}

type DatumResultRow = Parameters<StoreCore['jobs']['finishDatum']>[0];

/**
 * Datum results waiting to be written: one transaction per batch rather than per datum (a
 * write transaction costs more than running a small command). A crash loses at most the batch:
 * those datums are still `running` under this runner's lease and are retaken when it expires.
 */
class ResultBatch {
  private rows: DatumResultRow[] = [];
  private since = Date.now();
  constructor(private readonly s: StoreCore) {}

  add(row: DatumResultRow): void {
    this.rows.push(row);
    if (this.rows.length >= 256 || Date.now() - this.since >= 100) this.flush();
  }
  /** Write the pending rows in the caller's transaction. */
  writeInto(): void {
    for (const r of this.rows) this.s.jobs.finishDatum(r);
    this.rows = [];
    this.since = Date.now();
  }
  flush(): void {
    if (this.rows.length > 0) this.s.unitOfWork(() => this.writeInto());
  }
}

const realDirs = new WeakMap<StoreCore, string>();
/**
 * The store directory with every link resolved: datum scratch lies below it, and the namespace
 * that hides the store from user code compares the two paths as they really are.
 */
function realStoreDir(s: StoreCore): string {
  let d = realDirs.get(s);
  if (!d) realDirs.set(s, (d = fs.realpathSync(s.path)));
  return d;
}

/** Directories (relative to pfs/) a datum's inputs live in: its worker's scratch keeps them. */
function inputDirs(files: readonly DatumFile[]): string[] {
  return files.map((f) => (f.type === 'file' ? path.posix.dirname(`${f.name}${f.window ? `/${f.commit}` : ''}${f.path}`) : `${f.name}${f.path === '/' ? '' : f.path}`));
}

/**
 * Empty a slot for this datum and lay out its inputs; returns the bytes read from packs. `share`:
 * the transform cannot write its inputs, so they may be links into the input cache.
 */
function layOut(s: StoreCore, job: JobRow, spec: PipelineSpec, datum: string, files: readonly DatumFile[], slot: ScratchSlot, share: boolean): number {
  const present = slot.prepare(inputDirs(files));
  return materializeDatum(s, files, slot.pfsDir, present, share, appendedSince(s, job, spec, datum, files));
}

/**
 * Input files this datum had in its last run that were only appended to since, with what they
 * held then: each is laid out as its cached earlier copy plus the new bytes. Asked only when a
 * file is not in the cache (reading it from packs costs more than looking the last run up).
 */
function appendedSince(s: StoreCore, job: JobRow, spec: PipelineSpec, datum: string, files: readonly DatumFile[]): (f: DatumFile) => PriorContent | undefined {
  let prev: PreviousRun | undefined | null = null;
  const lookUp = (): PreviousRun | undefined => {
    try {
      return spec.reprocess_spec === 'every_job' ? undefined : previousRun(s, job, datum, files);
    } catch {
      return undefined; // laid out whole: the transform reports what cannot be read
    }
  };
  return (f) => {
    if (f.type !== 'file' || f.window) return undefined;
    if (prev === null) prev = lookUp();
    const c = prev?.inputs.get(`/pfs/${f.name}${f.path}`);
    return c?.change === 'appended' ? { hash: c.beforeHash, size: c.before } : undefined;
  };
}

/** Lay out a datum's inputs ahead of its first attempt; undefined: the attempt does it (and reports what fails). */
function prefetch(s: StoreCore, job: JobRow, spec: PipelineSpec, d: DatumRow, slot: ScratchSlot, share: boolean): { downloaded: number } | undefined {
  try {
    return { downloaded: layOut(s, job, spec, d.id, JSON.parse(d.inputs) as DatumFile[], slot, share) };
  } catch {
    return undefined;
  }
}

/**
 * Where user code runs: the spec's working_dir (relative to the spec file), else the stand-in for
 * the image's WORKDIR, else the spec file's directory.
 */
export function workingDirOf(spec: PipelineSpec): string {
  if (spec.transform.working_dir) return path.resolve(spec.base_dir, spec.transform.working_dir);
  return spec.workdir ?? spec.base_dir;
}

/** The abort reason of a datum `restart datum` sent back to the queue: it records no result. */
const RESTARTED = 'restarted';

/** Run one datum: up to datum_tries attempts, then err_cmd; store its output tree on success. */
async function runDatum(
  s: StoreCore,
  job: JobRow,
  spec: PipelineSpec,
  d: DatumRow,
  transform: Transform,
  slot: ScratchSlot,
  results: ResultBatch,
  signal: AbortSignal,
  log: DatumContext['log'],
  /** the slot already holds this datum's inputs (laid out while the previous datum ran) */
  ready: { downloaded: number } | undefined,
  lane: number,
): Promise<void> {
  const files = JSON.parse(d.inputs) as DatumFile[];
  let state: DatumRow['state'] = 'failed';
  let error: string | null = null;
  let downloaded = 0;
  const finish = (output: NodeId | null, uploaded: number): DatumResultRow => ({ pipeline: job.pipeline, job: job.id, id: d.id, state, output, finished: Date.now(), error, download_bytes: downloaded, upload_bytes: uploaded });
  for (let attempt = 1; attempt <= spec.datum_tries && state !== 'success'; attempt++) {
    if (signal.aborted) break;
    // claiming counted the first try; `attempts` counts every try, as datum_tries does
    if (attempt > 1) s.jobs.addAttempt(job.pipeline, job.id, d.id);
    const { pfsDir, tmpDir } = slot;
    try {
      downloaded += attempt === 1 && ready ? ready.downloaded : layOut(s, job, spec, d.id, files, slot, transform.protectsInputs);
      const env: Record<string, string> = {
        PACH_JOB_ID: job.id,
        PACH_DATUM_ID: d.id,
        PACH_OUTPUT_COMMIT_ID: job.id,
        PPS_PIPELINE_NAME: job.pipeline,
        TUSK_JOB_ID: job.id,
        TUSK_DATUM_ID: d.id,
        TUSK_PIPELINE: job.pipeline,
        TUSK_PFS: pfsDir,
      };
      for (const f of files) {
        env[f.name] = `/pfs/${f.name}${f.path === '/' || f.window ? '' : f.path}`;
        env[`${f.name}_COMMIT`] = f.commit;
        if (f.joinKey !== undefined) env[`PACH_DATUM_${f.name}_JOIN_ON`] = f.joinKey;
        if (f.groupKey !== undefined) env[`PACH_DATUM_${f.name}_GROUP_BY`] = f.groupKey;
      }
      Object.assign(env, windowEnv(files));
      const appended: AppendedOutput[] = [];
      const ctx: DatumContext = {
        pipeline: job.pipeline,
        jobId: job.id,
        datumId: d.id,
        pfsDir,
        tmpDir,
        workingDir: workingDirOf(spec),
        hideDir: realStoreDir(s),
        env,
        timeoutMs: spec.datum_timeout_ms,
        signal,
        log,
        lane,
        previous: spec.reprocess_spec === 'every_job' ? undefined : () => previousRun(s, job, d.id, files),
        appendOutput: (p, base, tail) => appended.push({ path: p, base, tail }),
      };
      const r = await transform.run(ctx, 'main');
      if (r.ok) {
        state = 'success';
        error = null;
        const out = path.join(pfsDir, 'out');
        for (const a of appended) if (fs.existsSync(path.join(out, a.path))) throw new ConflictError(`${a.path} was both written to /pfs/out and given as an appended output`, 'write each output path one way');
        if (appended.length === 0 && fs.readdirSync(out).length === 0) results.add(finish(null, 0));
        else {
          const skipped: string[] = [];
          // the output tree and the datum's success are recorded in one transaction, so gc never
          // sees the tree unreferenced
          writeLocalTree(s, out, {
            datum: d.id,
            resolveLink: outputLinkResolver(s, files, pfsDir),
            onWarning: (msg) => {
              skipped.push(msg);
              log('system', msg);
              // a successful datum's error column holds what it did not upload (shown as its warning)
              error = `${skipped.length} symbolic link${skipped.length === 1 ? '' : 's'} not uploaded: ${skipped.join('; ')}`;
            },
            appended,
            beforeCommit: (root, stats) => {
              results.writeInto();
              s.jobs.finishDatum(finish(root, stats.bytes));
            },
          });
        }
      } else {
        error = r.reason ?? 'failed';
        log('system', `attempt ${attempt} of ${spec.datum_tries} failed: ${error}`);
        if (signal.aborted) break;
      }
      if (state !== 'success' && attempt === spec.datum_tries && spec.transform.err_cmd && !signal.aborted) {
        const er = await transform.run(ctx, 'error');
        if (er.ok) state = 'recovered';
      }
    } catch (err) {
      state = 'failed';
      error = err instanceof TuskError ? err.message : (err as Error).message;
      log('system', `attempt ${attempt} failed: ${error}`);
    }
  }
  if (signal.aborted && signal.reason === RESTARTED) {
    log('system', 'restarted: the datum is back in the queue');
    return;
  }
  if (state !== 'success') results.add(finish(null, 0));
}

/**
 * Merge the job's datum outputs into its output commit: start from the last successful job's
 * output, remove outputs of datums that changed or disappeared, add the new ones. Cost follows
 * what changed, not the number of datums. Two datums writing one path fail the job.
 */
function collect(s: StoreCore, job: JobRow): { root: NodeId | null; error: string | null } {
  const base = s.jobs.lastSuccessfulJob(job.pipeline, job.id);
  const baseCommit = base ? s.graph.getCommit(job.pipeline, base.id) : undefined;
  const baseRoot = (baseCommit?.root as NodeId | null) ?? null;
  const before = new Map<string, NodeId | null>();
  if (base) for (const d of s.jobs.datumResults(job.pipeline, base.id)) if (d.state === 'success' || d.state === 'skipped') before.set(d.id, d.output);
  const after = new Map<string, NodeId | null>();
  for (const d of s.jobs.datumResults(job.pipeline, job.id)) after.set(d.id, d.state === 'success' || d.state === 'skipped' ? d.output : null);
  const edits: PathEdit[] = [];
  const removed = new Set<string>();
  const sameTree = (a: NodeId | null | undefined, b: NodeId | null | undefined) => (a ? (b ? a.equals(b) : false) : !b);
  for (const [id, out] of before) {
    if (after.has(id) && sameTree(after.get(id), out)) continue;
    if (out) for (const pe of walkTree(s.reader, out, '/')) if (pe.entry.kind === 'file') removed.add(pe.path);
  }
  for (const p of removed) edits.push({ path: p, entry: null });
  const added = new Map<string, string>();
  for (const [id, out] of after) {
    if (!out || (before.has(id) && sameTree(before.get(id), out))) continue;
    for (const pe of walkTree(s.reader, out, '/')) {
      if (pe.entry.kind !== 'file') continue;
      const other = added.get(pe.path) ?? (!removed.has(pe.path) && baseRoot ? lookupPath(s.reader, baseRoot, pe.path)?.datum : undefined);
      if (other && other !== id) return { root: baseRoot, error: `duplicate path output by different datums (${pe.path} from ${other} and ${pe.path} from ${id})` };
      added.set(pe.path, id);
      edits.push({ path: pe.path, entry: { ...pe.entry, datum: id } });
    }
  }
  try {
    const ref = applyPathEdits(s.reader, s.pages, baseRoot, edits);
    return { root: ref ? ref.id : null, error: null };
  } catch (err) {
    if (err instanceof TuskError) return { root: baseRoot, error: err.message };
    throw err;
  }
}

/** Run one job to a terminal state (or until its inputs are not ready). Returns false when it must wait. */
export async function runJob(s: StoreCore, job: JobRow, opts: RunOptions): Promise<boolean> {
  const pipeline = s.jobs.getPipeline(job.pipeline);
  if (!pipeline) return true;
  const spec = specOf(pipeline);
  if (job.state === 'JOB_CREATED') {
    const r = readiness(s, job);
    if (r.kind === 'waiting') return false;
    if (r.kind === 'unrunnable') {
      s.unitOfWork(() => finishJob(s, s.jobs.getJob(job.pipeline, job.id)!, 'JOB_UNRUNNABLE', r.reason, undefined));
      return true;
    }
    planJob(s, job, spec, opts.runner);
    opts.onEvent?.({ job, message: 'planned' });
  }
  // progress = planned, ran a datum, or ended the job; a job whose remaining datums another
  // runner holds is "must wait", or runPendingJobs would spin on it without yielding
  let progressed = job.state === 'JOB_CREATED';
  const transform = transformFor(spec);
  const parallelism = Math.max(1, opts.parallelism ?? spec.parallelism ?? os.availableParallelism());
  // a spec stored before the limit was checked at creation
  if (!(parallelism <= MAX_PARALLELISM))
    throw new InvalidArgumentError(`parallelism_spec.constant: must be at most ${MAX_PARALLELISM}, got ${parallelism}`, 'update the pipeline with a smaller parallelism_spec.constant');
  const abort = new AbortController();
  const logs = jobLogger(logFile(s, job.pipeline, job.id));
  const deadline = spec.job_timeout_ms ? (s.jobs.getJob(job.pipeline, job.id)?.started ?? Date.now()) + spec.job_timeout_ms : Infinity;
  const results = new ResultBatch(s);
  // claimed in batches (one write each) and handed out in order to the workers
  const queue: DatumRow[] = [];
  // datums being run, and those `restart datum` sent back to the queue before they started
  const active = new Map<string, AbortController>();
  const restarted = new Set<string>();
  /** runDatum with a signal of its own: the job's abort stops it, and so does a restart */
  const runClaimed = async (d: DatumRow, slot: ScratchSlot, ready: { downloaded: number } | undefined, lane: number) => {
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    abort.signal.addEventListener('abort', stop);
    active.set(d.id, ctl);
    try {
      await runDatum(s, job, spec, d, transform, slot, results, ctl.signal, logs.forDatum(d.id), ready, lane);
    } finally {
      active.delete(d.id);
      abort.signal.removeEventListener('abort', stop);
    }
  };
  // a job stopped elsewhere (stop job, pipeline update) aborts its running datums
  const watch = setInterval(() => {
    // results of quick datums must not wait behind a slow one to become visible
    results.flush();
    const j = s.jobs.getJob(job.pipeline, job.id);
    if (!j || TERMINAL_JOB_STATES.includes(j.state)) abort.abort();
    if (Date.now() > deadline) abort.abort();
    s.jobs.renewDatumLeases(job.pipeline, job.id, opts.runner, Date.now() + DATUM_LEASE_MS);
    // a datum whose claim is gone was restarted (or retaken after this runner's lease ran out)
    const ours = s.jobs.datumsClaimedBy(job.pipeline, job.id, opts.runner);
    for (const [id, ctl] of active) if (!ours.has(id)) ctl.abort(RESTARTED);
    for (const d of queue) if (!ours.has(d.id)) restarted.add(d.id);
  }, 250);
  // stopped by Ctrl-C or SIGTERM: the datums this runner holds go back to the queue at once
  const unregister = onInterrupt(() => {
    results.flush();
    s.jobs.releaseClaims(job.pipeline, job.id, opts.runner);
  });
  const slots: ScratchSlot[] = [];
  let batch = CLAIM_BATCH;
  let claimedAt = -Infinity;
  const claim = (): DatumRow | undefined => {
    if (queue.length === 0) {
      const now = Date.now();
      if (now - claimedAt < CLAIM_FAST_MS) batch = Math.min(batch * 2, CLAIM_BATCH_MAX);
      else if (now - claimedAt > CLAIM_SLOW_MS) batch = CLAIM_BATCH;
      claimedAt = now;
      queue.push(...s.jobs.claimDatums(job.pipeline, job.id, opts.runner, DATUM_LEASE_MS, batch));
    }
    return queue.shift();
  };
  try {
    const scratchRoot = path.join(realStoreDir(s), 'tmp', 'datums');
    // Each worker has two scratch trees: while one datum's command runs in one, the next datum's
    // inputs are laid out in the other, so the command's wait hides the runner's own work. A
    // transform that queues gets that next datum at once and starts it when the current command
    // ends: recording a result then no longer sits between one command and the next.
    const worker = async (lane: number) => {
      let slot = new ScratchSlot(scratchRoot);
      let spare = new ScratchSlot(scratchRoot);
      slots.push(slot, spare);
      // sent back to the queue before it started: someone claims it again
      const begin = (d: DatumRow, into: ScratchSlot, ready: { downloaded: number } | undefined) => (restarted.delete(d.id) ? Promise.resolve() : runClaimed(d, into, ready, lane));
      let d = abort.signal.aborted ? undefined : claim();
      let running = d ? begin(d, slot, prefetch(s, job, spec, d, slot, transform.protectsInputs)) : undefined;
      while (d && running && !abort.signal.aborted) {
        progressed = true;
        // after the current datum's command has been sent off
        await new Promise((r) => setImmediate(r));
        const next = abort.signal.aborted ? undefined : claim();
        const nextReady = next ? prefetch(s, job, spec, next, spare, transform.protectsInputs) : undefined;
        let nextRunning = next && transform.queues ? begin(next, spare, nextReady) : undefined;
        try {
          await running;
        } catch (err) {
          // the datum handed over meanwhile still runs in the spare slot: let it end first
          await nextRunning?.catch(() => undefined);
          throw err;
        }
        opts.onEvent?.({ job, datum: d, message: 'datum done' });
        if (next && !nextRunning && !abort.signal.aborted) nextRunning = begin(next, spare, nextReady);
        [slot, spare] = [spare, slot];
        d = next;
        running = nextRunning;
      }
      // stopped with a datum already handed over: its slot stays until it has ended
      await running;
    };
    // no more lanes (each with two scratch trees) than datums left to claim (running ones may be
    // retaken when their runner's lease runs out)
    const states = s.jobs.datumStates(job.pipeline, job.id);
    const left = states.pending + states.running;
    await Promise.all(Array.from({ length: Math.max(1, Math.min(parallelism, left)) }, (_, lane) => worker(lane)));
  } finally {
    unregister();
    clearInterval(watch);
    results.flush();
    logs.close();
    transform.close?.();
    for (const slot of slots) slot.dispose();
  }
  if (Date.now() > deadline) {
    try {
      killJob(s, job.pipeline, job.id, `job timed out after ${spec.job_timeout_ms} ms`);
    } catch {
      // already finished
    }
    return true;
  }
  // finish once every datum is done (another runner may still hold some)
  let succeededHere = false;
  s.unitOfWork(() => {
    const j = s.jobs.getJob(job.pipeline, job.id);
    // gone (its pipeline was deleted meanwhile) or ended by someone else: nothing to finish
    if (!j || TERMINAL_JOB_STATES.includes(j.state)) return;
    const states = s.jobs.datumStates(job.pipeline, job.id);
    if (states.pending + states.running > 0) return;
    s.jobs.setCounts({ pipeline: j.pipeline, id: j.id, processed: states.success, skipped: states.skipped, failed: states.failed, recovered: states.recovered, ...s.jobs.datumBytes(j.pipeline, j.id) });
    const firstFailed = s.jobs.firstFailedDatum(j.pipeline, j.id);
    const { root, error } = collect(s, j);
    if (firstFailed) finishJob(s, j, 'JOB_FAILURE', `datum ${firstFailed} failed`, root);
    else if (error) finishJob(s, j, 'JOB_FAILURE', error, root);
    else {
      finishJob(s, j, 'JOB_SUCCESS', null, root);
      succeededHere = true;
    }
  });
  let after = s.jobs.getJob(job.pipeline, job.id);
  // egress once, by the runner that ended the job
  if (succeededHere && after && spec.egress) {
    await egress(s, after, spec.egress);
    after = s.jobs.getJob(job.pipeline, job.id);
  }
  return progressed || !after || TERMINAL_JOB_STATES.includes(after.state);
}

/**
 * Copy a successful job's output commit to the spec's egress directory (a local path). A failed
 * copy fails the job with the reason; the output commit itself stays as it is.
 */
async function egress(s: StoreCore, job: JobRow, dir: string): Promise<void> {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const c = s.graph.getCommit(job.pipeline, job.id);
    if (c && c.files > 0) await getFile(s, { repo: job.pipeline, commit: job.id, path: '/' }, { output: dir, recursive: true });
  } catch (err) {
    const reason = `egress to ${dir} failed: ${(err as Error).message}`;
    s.unitOfWork(() => s.jobs.setJobState(job.pipeline, job.id, 'JOB_FAILURE', reason, Date.now()));
  }
}

/**
 * runJob, where an error that belongs to this job (a bad stored spec, a transform that cannot be
 * set up, a bug) fails the job with the reason instead of ending the runner: the jobs of every
 * other pipeline still run. A busy or read-only store is no fault of the job and still ends the
 * runner.
 */
async function runJobOrFail(s: StoreCore, job: JobRow, opts: RunOptions): Promise<boolean> {
  try {
    return await runJob(s, job, opts);
  } catch (err) {
    if (err instanceof LockedError) throw err;
    const reason = err instanceof TuskError ? err.message : `runner error: ${(err as Error).message}`;
    s.unitOfWork(() => {
      const j = s.jobs.getJob(job.pipeline, job.id);
      if (j && !TERMINAL_JOB_STATES.includes(j.state)) finishJob(s, j, 'JOB_FAILURE', reason, null);
    });
    opts.onEvent?.({ job, message: `failed: ${reason}` });
    return true;
  }
}

/**
 * Run every open job until none is left that can make progress. Jobs of one pipeline run in
 * order (each builds on the previous one's output); different pipelines interleave by age.
 */
export async function runPendingJobs(s: StoreCore, opts: RunOptions): Promise<number> {
  let ran = 0;
  for (;;) {
    let progressed = false;
    const busy = new Set<string>();
    for (const job of s.jobs.openJobs()) {
      if (busy.has(job.pipeline)) continue;
      busy.add(job.pipeline);
      if (await runJobOrFail(s, job, opts)) {
        progressed = true;
        ran++;
        break; // the job list changed: downstream jobs may now be ready
      }
    }
    if (!progressed) return ran;
  }
}
