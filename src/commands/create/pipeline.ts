import { Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { readSpecSource, workdirRule } from '../../cli/spec-source.js';
import type { PipelineInfo } from '../../app/api.js';

export type CreatePipelineResult = { pipelines: PipelineInfo[]; warnings: string[] };

export default class CreatePipeline extends TuskCommand<CreatePipelineResult> {
  static override summary = 'Create pipelines from a JSON or YAML spec file.';
  static override description =
    'A file may hold several specs (YAML documents separated by ---, concatenated JSON objects, or a list); ' +
    'they are created in order, all or none. Each new pipeline starts a first job over the current heads of ' +
    'its inputs. Relative paths in the spec (working_dir, scripts) resolve against the spec file\'s directory ' +
    '(the working directory for stdin). Cluster-only fields are accepted, ignored, and reported on stderr.';
  static override examples = [
    '<%= config.bin %> create pipeline -f edges.json',
    '<%= config.bin %> create pipeline -f pipelines.yaml --wait',
    { description: "Run the code where the image's Dockerfile copied it (WORKDIR):", command: '<%= config.bin %> create pipeline -f pipelines/inner/inner_join.pipeline.json --workdir src' },
    { description: 'Read the spec from stdin:', command: 'cat edges.json | <%= config.bin %> create pipeline' },
  ];
  static override flags = {
    file: Flags.string({ char: 'f', description: 'The spec file, or - for stdin.', default: '-' }),
    workdir: Flags.string({ description: "Local directory standing in for the image's WORKDIR: the code runs there unless the spec sets working_dir (default: tusk.yaml's entry for the spec or its image, else the spec file's directory)." }),
    wait: Flags.boolean({ description: 'Run the first jobs here and return when they have ended; exit 7 if one failed.' }),
  };

  async run(): Promise<CreatePipelineResult> {
    const { flags } = await this.parse(CreatePipeline);
    const spec = await readSpecSource(flags.file);
    // cluster-only fields are reported on stderr (the JSON result carries them too)
    const onWarning = this.jsonEnabled() ? undefined : (w: string) => process.stderr.write(`warning: ${w}\n`);
    return (await this.tusk()).pipelines.create(spec.text, { baseDir: spec.baseDir, workdir: workdirRule(flags.workdir, spec), wait: flags.wait, onWarning });
  }
}
