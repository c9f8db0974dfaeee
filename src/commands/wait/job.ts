import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { parseJobOrSet } from '../../cli/job-refs.js';
import type { JobInfo } from '../../app/api.js';
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
    const timeoutMs = flags.timeout === undefined ? undefined : flags.timeout * 1000;
    const jobs = await (await this.tusk()).pipelines.waitJobs(ref, { timeoutMs, what: args.job, timeoutSeconds: flags.timeout ?? 0 });
    this.render(() => jobTable(jobs, (t) => this.time(t)));
    return ref.pipeline === undefined ? jobs : jobs[0]!;
  }
}
