import { Args } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { parseJobRef } from '../../cli/job-refs.js';
import type { JobInfo } from '../../app/api.js';

export type StopJobResult = JobInfo;

export default class StopJob extends TuskCommand<StopJobResult> {
  static override summary = 'Kill a running job.';
  static override description = 'The job ends as killed and its output commit is finished with that error.';
  static override examples = ['<%= config.bin %> stop job edges@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a'];
  static override args = { job: Args.string({ required: true, description: 'pipeline@job-id' }) };

  async run(): Promise<StopJobResult> {
    const { args } = await this.parse(StopJob);
    const ref = parseJobRef(args.job);
    return (await this.tusk()).pipelines.stopJob(ref.pipeline, ref.id);
  }
}
