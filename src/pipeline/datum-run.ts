// Run: one datum's attempts, its err_cmd, and its output tree stored with its result.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConflictError, TuskError } from '../errors.js';
import type { NodeId } from '../store/hash.js';
import type { AttemptOutcome, DatumAttempt, DatumRecord, DatumResult, JobRecord } from '../store/job-records.js';
import type { AppendedOutput, StoreHandle } from '../store/store-handle.js';
import { layOut, realStoreDir, type LaidOut } from './datum-layout.js';
import { ResultBatch } from './datum-results.js';
import { fetchDatumInputs } from './materialize.js';
import type { DatumFile } from './datums.js';
import { outputLinkResolver } from './output-links.js';
import type { PreviousRuns } from './previous-run.js';
import type { ScratchSlot } from './scratch.js';
import type { PipelineSpec } from './spec-types.js';
import type { DatumContext, Transform } from './transform.js';
import { windowEnv } from './windows.js';

/** The abort reason of a datum `restart datum` sent back to the queue: it records no result. */
export const RESTARTED = 'restarted';

/** Everything one datum's run needs. */
export interface DatumRun {
  s: StoreHandle;
  job: JobRecord;
  spec: PipelineSpec;
  datum: DatumRecord;
  transform: Transform;
  slot: ScratchSlot;
  results: ResultBatch;
  /** aborted when the job stops, or with RESTARTED when the datum is sent back to the queue */
  signal: AbortSignal;
  log: DatumContext['log'];
  /** the slot already holds this datum's inputs (laid out while the previous datum ran) */
  ready: LaidOut | undefined;
  /** which of the job's lanes runs it */
  lane: number;
  /** this job's memo of the datums' last runs */
  earlier: PreviousRuns;
  /** the runner (worker) running it, named in its attempt rows */
  runner: string;
}

/**
 * How a datum's run ended here, as its last attempt row records it: the datum's result, or
 * `returned` (sent back to the queue, no result).
 */
export interface DatumEnd {
  outcome: AttemptOutcome;
  error: string | null;
}

/** Where a datum stands between attempts; its result row is made from it. */
interface Outcome {
  state: Exclude<AttemptOutcome, 'returned'>;
  error: string | null;
  downloaded: number;
  /** the attempt that made it */
  attempt?: { n: number; started: number };
}

/**
 * Where user code runs: the spec's working_dir (relative to the spec file), else the stand-in for
 * the image's WORKDIR, else the spec file's directory.
 */
export function workingDirOf(spec: PipelineSpec): string {
  if (spec.transform.working_dir) return path.resolve(spec.base_dir, spec.transform.working_dir);
  return spec.workdir ?? spec.base_dir;
}

/** Run one datum: up to datum_tries attempts, then err_cmd; store its output tree on success. */
export async function runDatum(run: DatumRun): Promise<DatumEnd> {
  const { s, job, spec, datum: d, transform, signal, log } = run;
  const files = d.inputs;
  await run.earlier.prepare(d.id);
  const outcome: Outcome = { state: 'failed', error: null, downloaded: 0 };
  // the attempt being made, for its row: claiming opened the first one's
  let current: { n: number; started: number } | undefined;
  for (let attempt = 1; attempt <= spec.datum_tries && outcome.state !== 'success'; attempt++) {
    if (signal.aborted) break;
    // claiming counted the first try; `attempts` counts every try, as datum_tries does
    if (attempt > 1) {
      await run.results.add(undefined, attemptRow(run, current!, 'failed', outcome.error));
      await s.jobs.addAttempt(job.pipeline, job.id, d.id, run.runner);
    }
    current = { n: d.attempts + attempt - 1, started: Date.now() };
    outcome.attempt = current;
    try {
      // a lazy clone's inputs come from its remote first; a failure to reach it fails the attempt, naming the file
      if (!(attempt === 1 && run.ready)) await fetchDatumInputs(s, files);
      outcome.downloaded += attempt === 1 && run.ready ? run.ready.downloaded : await layOut(s, spec, run.earlier, d.id, files, run.slot, transform.protectsInputs);
      const appended: AppendedOutput[] = [];
      const ctx = datumContext(run, files, appended);
      const r = await transform.run(ctx, 'main');
      if (r.ok) {
        outcome.state = 'success';
        outcome.error = null;
        await storeOutput(run, files, appended, outcome);
      } else {
        outcome.error = r.reason ?? 'failed';
        log('system', `attempt ${attempt} of ${spec.datum_tries} failed: ${outcome.error}`);
        if (signal.aborted) break;
      }
      if (outcome.state !== 'success' && attempt === spec.datum_tries && spec.transform.err_cmd && !signal.aborted) {
        const er = await transform.run(ctx, 'error');
        if (er.ok) outcome.state = 'recovered';
      }
    } catch (err) {
      outcome.state = 'failed';
      outcome.error = err instanceof TuskError ? err.message : (err as Error).message;
      log('system', `attempt ${attempt} failed: ${outcome.error}`);
    }
  }
  // a datum whose output and result were stored before the restart came is a success, not returned:
  // its result row is queued and will say so (reporting it returned named a run nobody saw end)
  if (signal.aborted && signal.reason === RESTARTED && outcome.state !== 'success') {
    log('system', 'restarted: the datum is back in the queue');
    if (current) await run.results.add(undefined, attemptRow(run, current, 'returned', null));
    return { outcome: 'returned', error: null };
  }
  if (outcome.state !== 'success') await run.results.add(resultRow(run, outcome, null, 0), attemptRow(run, current ?? { n: d.attempts, started: Date.now() }, outcome.state, outcome.error));
  return { outcome: outcome.state, error: outcome.error };
}

function attemptRow(run: DatumRun, a: { n: number; started: number }, outcome: AttemptOutcome, error: string | null): DatumAttempt {
  return { pipeline: run.job.pipeline, job: run.job.id, datum: run.datum.id, attempt: a.n, worker: run.runner, started: a.started, finished: Date.now(), outcome, error };
}

function resultRow(run: DatumRun, outcome: Outcome, output: NodeId | null, uploaded: number): DatumResult {
  const { job, datum } = run;
  return { pipeline: job.pipeline, job: job.id, id: datum.id, seq: datum.seq, runner: run.runner, state: outcome.state, output, finished: Date.now(), error: outcome.error, downloadBytes: outcome.downloaded, uploadBytes: uploaded };
}

/** What the transform sees of one attempt: paths, Pachyderm's environment, limits, the appended-output hook. */
function datumContext(run: DatumRun, files: readonly DatumFile[], appended: AppendedOutput[]): DatumContext {
  const { s, job, spec, datum: d, slot } = run;
  return {
    pipeline: job.pipeline,
    jobId: job.id,
    datumId: d.id,
    pfsDir: slot.pfsDir,
    tmpDir: slot.tmpDir,
    workingDir: workingDirOf(spec),
    hideDir: realStoreDir(s),
    env: datumEnv(job, d, files, slot.pfsDir),
    timeoutMs: spec.datum_timeout_ms,
    signal: run.signal,
    log: run.log,
    lane: run.lane,
    previous: spec.reprocess_spec === 'every_job' ? undefined : () => run.earlier.of(d.id, files),
    appendOutput: (p, base, tail) => appended.push({ path: p, base, tail }),
  };
}

/** Pachyderm's variables for a datum (and tusk's own), one per input and window. */
function datumEnv(job: JobRecord, d: DatumRecord, files: readonly DatumFile[], pfsDir: string): Record<string, string> {
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
  return env;
}

/**
 * Record a successful attempt: no output is a result without a tree; otherwise the output tree
 * and the datum's success are recorded in one transaction, so gc never sees the tree
 * unreferenced. Symbolic links that are not uploaded become the datum's warning (its error
 * column, on a success).
 */
async function storeOutput(run: DatumRun, files: readonly DatumFile[], appended: readonly AppendedOutput[], outcome: Outcome): Promise<void> {
  const { s, datum: d, slot, results, log } = run;
  const out = path.join(slot.pfsDir, 'out');
  for (const a of appended) if (fs.existsSync(path.join(out, a.path))) throw new ConflictError(`${a.path} was both written to /pfs/out and given as an appended output`, 'write each output path one way');
  const attempt = attemptRow(run, outcome.attempt!, 'success', null);
  if (appended.length === 0 && slot.isOutEmpty()) {
    await results.add(resultRow(run, outcome, null, 0), attempt);
    return;
  }
  const skipped: string[] = [];
  // the results waiting in the batch are written with this one, in the unit that records the tree
  const waiting = results.take();
  try {
    await s.writeLocalTree(out, {
      datum: d.id,
      resolveLink: outputLinkResolver(s, files, slot.pfsDir),
      onWarning: (msg) => {
        skipped.push(msg);
        log('system', msg);
        outcome.error = `${skipped.length} symbolic link${skipped.length === 1 ? '' : 's'} not uploaded: ${skipped.join('; ')}`;
      },
      appended,
      beforeCommit: (root, stats) => ResultBatch.writeInto(s.jobs, { results: [...waiting.results, resultRow(run, outcome, root, stats.bytes)], attempts: [...waiting.attempts, { ...attempt, finished: Date.now() }] }),
    });
  } catch (err) {
    results.putBack(waiting);
    throw err;
  }
}
