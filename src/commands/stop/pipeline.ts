import { Args } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import type { PipelineInfo } from '../../app/api.js';

export type StopPipelineResult = PipelineInfo;

export default class StopPipeline extends TuskCommand<StopPipelineResult> {
  static override summary = 'Pause a pipeline: kill its running jobs and start no new ones.';
  static override description = 'New input commits create no output commits or jobs until `start pipeline`.';
  static override examples = ['<%= config.bin %> stop pipeline edges'];
  static override args = { pipeline: Args.string({ required: true, description: 'pipeline name' }) };

  async run(): Promise<StopPipelineResult> {
    const { args } = await this.parse(StopPipeline);
    return (await this.tusk()).pipelines.stop(args.pipeline);
  }
}
