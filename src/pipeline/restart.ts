// `restart datum`: send running datums of a job back to its queue. The runner holding one sees
// its claim gone (it checks every 250 ms), kills the datum's process tree without recording a
// result, and the datum is claimed and run again from its first try. Datums that are not running
// (queued, or already done) are left as they are, as in Pachyderm.
import { ConflictError, NotFoundError } from '../errors.js';
import { TERMINAL_JOB_STATES } from '../store/store-handle.js';
import type { StoreHandle } from '../store/store-handle.js';
import { inputsMatch, type InputTerm } from './logs.js';
import { requireJob } from './pipeline-service.js';

export interface RestartResult {
  pipeline: string;
  job: string;
  /** datums of the job the terms select */
  matched: string[];
  /** those of them that were running and are queued again */
  restarted: string[];
}

/**
 * Restart the running datums of `pipeline@job` that match every term: an input file's path or
 * content hash, or the datum's own id (a 64-hex term is tried as both).
 */
export async function restartDatums(s: StoreHandle, pipeline: string, job: string, terms: readonly InputTerm[]): Promise<RestartResult> {
  const j = await requireJob(s, pipeline, job);
  if (TERMINAL_JOB_STATES.includes(j.state)) {
    throw new ConflictError(`job ${pipeline}@${job} has already finished`, 'only datums of a running job can be restarted; a later job retries failed datums');
  }
  const matched: string[] = [];
  for await (const d of s.jobs.iterateDatumInputs(pipeline, job)) {
    const byId = terms.length === 1 && 'hash' in terms[0]! && terms[0].hash === d.id;
    if (byId || inputsMatch(d.inputs, terms)) matched.push(d.id);
  }
  if (matched.length === 0) {
    throw new NotFoundError('datum', `${pipeline}@${job}`, `no datum of job ${pipeline}@${job} matches the filter`, `run \`tusk list datum ${pipeline}@${job}\` to see its datums and their input files`);
  }
  const restarted = await s.jobs.restartDatums(pipeline, job, matched);
  return { pipeline, job, matched, restarted };
}
