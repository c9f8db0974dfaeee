import { Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { readSpecSource, workdirRule } from '../../cli/spec-source.js';
import { createPipelines, inspectPipeline, type PipelineInfo } from '../../pipeline/pipeline-service.js';
import { afterWrite } from '../../pipeline/runner.js';
import { pipelineMsg } from '../../ui/messages.js';

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
    const core = this.store().core;
    // the ML chain check loads only for specs that mention an ml transform
    const check = /\bml\b/.test(spec.text) ? (await import('../../ml/create-check.js')).checkMlPipeline : undefined;
    const result = createPipelines(core, spec.text, { baseDir: spec.baseDir, workdir: workdirRule(flags.workdir, spec), check });
    if (!this.jsonEnabled()) for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    const sets = result.pipelines.flatMap((p) => (p.lastJob === null ? [] : [p.lastJob]));
    await afterWrite(core, { wait: flags.wait, commitSet: sets, written: pipelineMsg.pipelinesWritten('created', result.pipelines.map((p) => p.name)) });
    // after --wait, show the jobs' outcome rather than the state at creation
    return flags.wait ? { ...result, pipelines: result.pipelines.map((p) => inspectPipeline(core, p.name)) } : result;
  }
}
