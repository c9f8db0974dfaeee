import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { parseJobOrSet } from '../../cli/job-refs.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { requireJob, waitJobs, type JobInfo } from '../../pipeline/pipeline-service.js';
import { runUntil } from '../../pipeline/runner.js';
import { TERMINAL_JOB_STATES } from '../../store/job-records.js';
import { pipelineMsg } from '../../ui/messages.js';
import { jobTable } from '../../ui/pipeline-views.js';

/** The job, or every job of the commit set when a bare id was given. */
export type WaitJobResult = JobInfo | JobInfo[];

export default class WaitJob extends TuskCommand<WaitJobResult> {
  static override summary = 'Wait until a job (or every job of a commit set) has ended, then show it.';
  static override description =
    'Jobs that can run are run here while no background runner is alive, so waiting never hangs on a ' +
    'runner that is not there. Exits 7 (E_JOB_FAILED) when a job it waited for did not succeed.';
  static override examples = [
    '<%= config.bin %> wait job edges@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a',
    '<%= config.bin %> wait job b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a --timeout 60',
  ];
  static override args = { job: Args.string({ required: true, description: 'pipeline@job-id, or a job id' }) };
  static override flags = {
    ...outputFlags,
    timeout: Flags.integer({ description: 'Give up after this many seconds.', min: 1 }),
  };

  async run(): Promise<WaitJobResult> {
    const { args, flags } = await this.parse(WaitJob);
    const ref = parseJobOrSet(args.job);
    const core = this.store().core;
    const pipeline = ref.pipeline;
    const select = pipeline === undefined ? () => core.jobs.jobsById(ref.id) : () => [requireJob(core, pipeline, ref.id)];
    if (select().length === 0) throw new NotFoundError('job', ref.id, pipelineMsg.noJobsInSet(ref.id), pipelineMsg.noJobsInSetHint);
    const timeoutMs = flags.timeout === undefined ? undefined : flags.timeout * 1000;
    const ended = await runUntil(core, () => select().every((j) => TERMINAL_JOB_STATES.includes(j.state)), { timeoutMs });
    if (!ended) throw new ConflictError(pipelineMsg.jobsTimeout(args.job, flags.timeout ?? 0), pipelineMsg.jobsTimeoutHint);
    const jobs = await waitJobs(core, select);
    this.render(() => jobTable(jobs, (t) => this.time(t)));
    return pipeline === undefined ? jobs : jobs[0]!;
  }
}
