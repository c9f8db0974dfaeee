import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';

export type DeletePipelineResult = { pipeline: string };

export default class DeletePipeline extends TuskCommand<DeletePipelineResult> {
  static override summary = 'Delete a pipeline, its jobs and its output repo.';
  static override description =
    'Running jobs are killed. Refused while other pipelines read its output, unless --force. With --keep-repo ' +
    'the output repo and its commits stay (and the name cannot be reused until the repo is deleted).';
  static override examples = ['<%= config.bin %> delete pipeline edges', '<%= config.bin %> delete pipeline edges --keep-repo'];
  static override args = { pipeline: Args.string({ required: true, description: 'pipeline name' }) };
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'Delete even if other pipelines read its output.' }),
    'keep-repo': Flags.boolean({ description: 'Keep the output repo and its commits.' }),
  };

  async run(): Promise<DeletePipelineResult> {
    const { args, flags } = await this.parse(DeletePipeline);
    return (await this.tusk()).pipelines.delete(args.pipeline, { force: flags.force, keepRepo: flags['keep-repo'] });
  }
}
