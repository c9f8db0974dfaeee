import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import type { PipelineInfo } from '../../app/api.js';
import { pipelineTable } from '../../ui/pipeline-views.js';

/** The pipelines; with --spec, the specs as written (usable by `create pipeline`). */
export type ListPipelineResult = PipelineInfo[] | Record<string, unknown>[];

export default class ListPipeline extends TuskCommand<ListPipelineResult> {
  static override summary = 'List pipelines, newest first.';
  static override examples = [
    '<%= config.bin %> list pipeline',
    '<%= config.bin %> list pipeline edges',
    { description: 'Save every spec to recreate the pipelines elsewhere:', command: '<%= config.bin %> list pipeline --spec > specs.json' },
  ];
  static override args = { pipeline: Args.string({ description: 'only this pipeline' }) };
  static override flags = {
    ...outputFlags,
    spec: Flags.boolean({ char: 's', description: 'Print the specs as written, as JSON that `create pipeline` reads.' }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<ListPipelineResult> {
    const { args, flags } = await this.parse(ListPipeline);
    const service = (await this.tusk()).pipelines;
    const pipelines = args.pipeline === undefined ? await service.list() : [await service.inspect(args.pipeline)];
    if (flags.spec) {
      const specs = pipelines.map((p) => p.raw);
      this.render(() => specs.map((s) => JSON.stringify(s, null, 2) + '\n').join(''));
      return specs;
    }
    this.render(() => pipelineTable(pipelines, (t) => this.time(t)));
    return pipelines;
  }
}
