import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import type { PipelineInfo } from '../../app/api.js';
import { pipelineDetails } from '../../ui/pipeline-views.js';

export type InspectPipelineResult = PipelineInfo;

export default class InspectPipeline extends TuskCommand<InspectPipelineResult> {
  static override summary = 'Show the details of a pipeline.';
  static override examples = ['<%= config.bin %> inspect pipeline edges', '<%= config.bin %> inspect pipeline edges --raw -o yaml'];
  static override args = { pipeline: Args.string({ required: true, description: 'pipeline name' }) };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  async run(): Promise<InspectPipelineResult> {
    const { args } = await this.parse(InspectPipeline);
    const p = await (await this.tusk()).pipelines.inspect(args.pipeline);
    this.render(() => pipelineDetails(p, (t) => this.time(t)));
    return p;
  }
}
