import { Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { readSpecSource, workdirRule } from '../../cli/spec-source.js';
import type { PipelineInfo } from '../../app/api.js';

export type UpdatePipelineResult = { pipelines: PipelineInfo[]; warnings: string[] };

export default class UpdatePipeline extends TuskCommand<UpdatePipelineResult> {
  static override summary = 'Replace the spec of existing pipelines.';
  static override description =
    'Each pipeline gets version+1; running jobs of the old version are killed ("pipeline updated") and a new ' +
    'job runs over the current inputs. The salt is kept, so datums whose inputs did not change are skipped; ' +
    '--reprocess draws a new salt and processes everything again. A stopped pipeline stays stopped.';
  static override examples = [
    '<%= config.bin %> update pipeline -f edges.json',
    '<%= config.bin %> update pipeline -f edges.json --reprocess --wait',
  ];
  static override flags = {
    file: Flags.string({ char: 'f', description: 'The spec file, or - for stdin.', default: '-' }),
    workdir: Flags.string({ description: "Local directory standing in for the image's WORKDIR: the code runs there unless the spec sets working_dir (default: tusk.yaml's entry for the spec or its image, else the spec file's directory)." }),
    reprocess: Flags.boolean({ description: 'Process every datum again, even unchanged ones.' }),
    wait: Flags.boolean({ description: 'Run the new jobs here and return when they have ended; exit 7 if one failed.' }),
  };

  async run(): Promise<UpdatePipelineResult> {
    const { flags } = await this.parse(UpdatePipeline);
    const spec = await readSpecSource(flags.file);
    // cluster-only fields are reported on stderr (the JSON result carries them too)
    const onWarning = this.jsonEnabled() ? undefined : (w: string) => process.stderr.write(`warning: ${w}\n`);
    return (await this.tusk()).pipelines.update(spec.text, { baseDir: spec.baseDir, workdir: workdirRule(flags.workdir, spec), reprocess: flags.reprocess, wait: flags.wait, onWarning });
  }
}
