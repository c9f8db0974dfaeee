import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { parseJobRef } from '../../cli/job-refs.js';
import type { JobInfo } from '../../app/api.js';
import { jobDetails } from '../../ui/pipeline-views.js';

export type InspectJobResult = JobInfo;

export default class InspectJob extends TuskCommand<InspectJobResult> {
  static override summary = 'Show the details of a job.';
  static override examples = ['<%= config.bin %> inspect job edges@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a'];
  static override args = { job: Args.string({ required: true, description: 'pipeline@job-id' }) };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  async run(): Promise<InspectJobResult> {
    const { args } = await this.parse(InspectJob);
    const ref = parseJobRef(args.job);
    const pipelines = (await this.tusk()).pipelines;
    const job = await pipelines.inspectJob(ref.pipeline, ref.id);
    const pipeline = await pipelines.inspect(job.pipeline);
    this.render(() => jobDetails(job, pipeline, (t) => this.time(t)));
    return job;
  }
}
