import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import type { PipelineInfo } from '../../app/api.js';

export type StartPipelineResult = PipelineInfo;

export default class StartPipeline extends TuskCommand<StartPipelineResult> {
  static override summary = 'Resume a stopped pipeline.';
  static override description =
    'One new job runs over the current heads of the inputs, catching up on everything committed while the ' +
    'pipeline was stopped (unchanged datums are skipped as usual). Starting a running pipeline does nothing.';
  static override examples = ['<%= config.bin %> start pipeline edges', '<%= config.bin %> start pipeline edges --wait'];
  static override args = { pipeline: Args.string({ required: true, description: 'pipeline name' }) };
  static override flags = {
    wait: Flags.boolean({ description: 'Run the new job here and return when it has ended; exit 7 if it failed.' }),
  };

  async run(): Promise<StartPipelineResult> {
    const { args, flags } = await this.parse(StartPipeline);
    return (await this.tusk()).pipelines.start(args.pipeline, { wait: flags.wait });
  }
}
