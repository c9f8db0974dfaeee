// What a wait ended on: the jobs that did not succeed, with their first failed datum, as the one
// error that `--wait`, `wait job` and `wait commit` exit with (scripts trust the exit status).
import { JobFailedError, type FailedJob } from '../errors.js';
import type { JobRecord, JobState } from '../store/job-records.js';
import type { StoreHandle } from '../store/store-handle.js';

// A failed job is the cause; the jobs it made unrunnable, and stopped ones, follow it.
const ORDER: Partial<Record<JobState, number>> = { JOB_FAILURE: 0, JOB_UNRUNNABLE: 1, JOB_KILLED: 2 };

/** The ended jobs among `jobs` that did not succeed, failures first, each with its first failed datum. */
export async function failedJobs(s: StoreHandle, jobs: readonly JobRecord[]): Promise<FailedJob[]> {
  const ended = jobs.filter((j) => ORDER[j.state] !== undefined).sort((a, b) => ORDER[a.state]! - ORDER[b.state]!);
  const out: FailedJob[] = [];
  for (const j of ended) {
    const id = await s.jobs.firstFailedDatum(j.pipeline, j.id);
    const d = id === undefined ? undefined : await s.jobs.getDatum(j.pipeline, j.id, id);
    out.push({
      pipeline: j.pipeline,
      job: j.id,
      state: j.state,
      reason: j.reason,
      datum: d?.id ?? null,
      datumFiles: d ? d.inputs.map((f) => `${f.name}:${f.path}`) : [],
      datumError: d?.error ?? null,
    });
  }
  return out;
}

/** Throw JobFailedError when any of `jobs` ended without success; `done` says what did succeed (the write). */
export async function requireJobsSucceeded(s: StoreHandle, jobs: readonly JobRecord[], done?: string): Promise<void> {
  const failed = await failedJobs(s, jobs);
  if (failed.length === 0) return;
  throw new JobFailedError(failedMessage(failed[0]!, failed.length - 1, done), failedHint(failed[0]!), { jobs: failed });
}

/** Throw JobFailedError when the commit is a job's output and that job did not succeed. */
export async function requireCommitJobSucceeded(s: StoreHandle, repo: string, commit: string): Promise<void> {
  const job = await s.jobs.getJob(repo, commit);
  if (job) await requireJobsSucceeded(s, [job]);
}

// `wrote images@master=…, but job edges@… failed: datum 5f… (images:/a.png) failed: exit status 1`
function failedMessage(j: FailedJob, more: number, done?: string): string {
  const what = j.state === 'JOB_FAILURE' ? 'failed' : j.state === 'JOB_KILLED' ? 'was stopped' : 'could not run';
  const files = j.datumFiles.length > 0 ? ` (${j.datumFiles.join(', ')})` : '';
  const why = j.datum === null ? (j.reason ? `: ${j.reason}` : '') : `: datum ${j.datum}${files} failed${j.datumError ? `: ${j.datumError}` : ''}`;
  const others = more > 0 ? ` (and ${more} more job${more === 1 ? '' : 's'} did not succeed)` : '';
  return `${done ? `${done}, but ` : ''}job ${j.pipeline}@${j.job} ${what}${why}${others}`;
}

function failedHint(j: FailedJob): string {
  return j.datum === null
    ? `run \`tusk inspect job ${j.pipeline}@${j.job}\` to see why`
    : `run \`tusk logs -j ${j.pipeline}@${j.job} --datum ${j.datum}\` to see its output; fix the code or data, and the next job retries it`;
}
