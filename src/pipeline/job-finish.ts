// Finish: a job's terminal state, its output commit's tree, counts and error, what lies
// downstream, and egress.
import * as fs from 'node:fs';
import type { NodeId } from '../store/hash.js';
import type { JobRecord, JobState } from '../store/job-records.js';
import { TERMINAL_JOB_STATES, type StoreHandle } from '../store/store-handle.js';
import { ResultBatch, type PendingRows } from './datum-results.js';
import { collect } from './job-collect.js';

/**
 * End a job: record its state, give its output commit the merged tree (and the error), and
 * trigger what lies downstream. `root`: the tree collected (null: empty); undefined: the commit
 * keeps what it holds. Runs in the caller's unit of work.
 */
export async function finishJob(s: StoreHandle, job: JobRecord, state: JobState, reason: string | null, root: NodeId | null | undefined): Promise<void> {
  const now = Date.now();
  await s.jobs.setJobState(job.pipeline, job.id, state, reason, now);
  await s.jobs.leaseJob(job.pipeline, job.id, null, null);
  const c = await s.graph.getCommit(job.pipeline, job.id);
  if (!c) return;
  // an empty collection is an empty tree: falling back to the commit's own root here kept the
  // previous job's outputs (those of a datum that has just failed) in the new commit
  const r = (root === undefined ? c.root : root) ?? (await s.emptyRoot());
  const totals = await s.rootTotals(r);
  await s.graph.setCommitRoot(c.repo, c.id, r, totals.size, totals.files);
  await s.graph.finishCommit(c.repo, c.id, now, c.description);
  if (reason) await s.graph.setCommitError(c.repo, c.id, reason);
  if (c.branch && (await s.graph.getBranch(c.repo, c.branch))?.head === c.id) await s.propagate(c.repo, c.branch, c.id);
}

/**
 * Finish the job once every datum is done (another runner may still hold some): its counts, its
 * collected output, success or the first failure. Returns whether this call ended it with
 * success (the runner that did runs egress). `results`: datum results still to be written,
 * written first in the same unit.
 */
export async function finishWhenDone(s: StoreHandle, job: JobRecord, results: PendingRows = { results: [], attempts: [] }): Promise<boolean> {
  return s.unitOfWork(async (tx) => {
    await ResultBatch.writeInto(tx.jobs, results);
    const j = await tx.jobs.getJob(job.pipeline, job.id);
    // gone (its pipeline was deleted meanwhile) or ended by someone else: nothing to finish
    if (!j || TERMINAL_JOB_STATES.includes(j.state)) return false;
    const states = await tx.jobs.datumStates(job.pipeline, job.id);
    if (states.pending + states.running > 0) return false;
    const bytes = await tx.jobs.datumBytes(j.pipeline, j.id);
    await tx.jobs.setCounts({ pipeline: j.pipeline, id: j.id, processed: states.success, skipped: states.skipped, failed: states.failed, recovered: states.recovered, ...bytes });
    const firstFailed = await tx.jobs.firstFailedDatum(j.pipeline, j.id);
    const { root, error } = await collect(s, j);
    if (firstFailed) await finishJob(s, j, 'JOB_FAILURE', `datum ${firstFailed} failed`, root);
    else if (error) await finishJob(s, j, 'JOB_FAILURE', error, root);
    else {
      await finishJob(s, j, 'JOB_SUCCESS', null, root);
      return true;
    }
    return false;
  });
}

/**
 * Copy a successful job's output commit to the spec's egress directory (a local path). A failed
 * copy fails the job with the reason; the output commit itself stays as it is.
 */
export async function egress(s: StoreHandle, job: JobRecord, dir: string): Promise<void> {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const c = await s.graph.getCommit(job.pipeline, job.id);
    if (c && c.files > 0) await s.getFile({ repo: job.pipeline, commit: job.id, path: '/' }, { output: dir, recursive: true });
  } catch (err) {
    const reason = `egress to ${dir} failed: ${(err as Error).message}`;
    await s.jobs.setJobState(job.pipeline, job.id, 'JOB_FAILURE', reason, Date.now());
  }
}
