import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { parseJobOrSet } from '../../cli/job-refs.js';
import { listJobs, type JobInfo } from '../../pipeline/pipeline-service.js';
import { jobTable } from '../../ui/pipeline-views.js';

export type ListJobResult = JobInfo[];

export default class ListJob extends TuskCommand<ListJobResult> {
  static override summary = 'List jobs, newest first.';
  static override description =
    'With a job id, lists the jobs of that commit set across pipelines (one id per input change: every ' +
    'downstream job shares it). PROGRESS is `processed + skipped / total`.';
  static override examples = [
    '<%= config.bin %> list job',
    '<%= config.bin %> list job -p edges -n 5',
    '<%= config.bin %> list job b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a',
  ];
  static override args = { job: Args.string({ description: 'a job id, or pipeline@job-id' }) };
  static override flags = {
    ...outputFlags,
    pipeline: Flags.string({ char: 'p', description: 'Only the jobs of this pipeline.' }),
    number: Flags.integer({ char: 'n', description: 'Show at most this many (0 = all).', min: 0, default: 0 }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<ListJobResult> {
    const { args, flags } = await this.parse(ListJob);
    const ref = args.job === undefined ? undefined : parseJobOrSet(args.job);
    const jobs = listJobs(this.store().core, { pipeline: ref?.pipeline ?? flags.pipeline, id: ref?.id, number: flags.number });
    this.render(() => jobTable(jobs, (t) => this.time(t)));
    return jobs;
  }
}
