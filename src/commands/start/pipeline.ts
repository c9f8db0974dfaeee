import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { inspectPipeline, startPipeline, type PipelineInfo } from '../../pipeline/pipeline-service.js';
import { afterWrite } from '../../pipeline/runner.js';

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
    const core = this.store().core;
    const p = startPipeline(core, args.pipeline);
    await afterWrite(core, { wait: flags.wait, commitSet: p.lastJob ?? undefined });
    return flags.wait ? inspectPipeline(core, p.name) : p;
  }
}
