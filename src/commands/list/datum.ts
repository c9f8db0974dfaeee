import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { parseJobRef } from '../../cli/job-refs.js';
import { readSpecSource } from '../../cli/spec-source.js';
import { InvalidArgumentError } from '../../errors.js';
import type { DatumInfo } from '../../app/api.js';
import { pipelineMsg } from '../../ui/messages.js';
import { datumTable } from '../../ui/pipeline-views.js';

export type ListDatumResult = DatumInfo[];

export default class ListDatum extends TuskCommand<ListDatumResult> {
  static override summary = "List a job's datums, or the datums a spec would produce.";
  static override description =
    'FILES lists each input file of a datum as repo@commit:/path. With -f, nothing is created: the datums ' +
    'are computed from the current heads of the inputs (ID and STATUS print as -), the way to check a glob ' +
    'or a join before creating the pipeline.';
  static override examples = [
    '<%= config.bin %> list datum edges@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a',
    '<%= config.bin %> list datum -f joins.json',
  ];
  static override args = { job: Args.string({ description: 'pipeline@job-id' }) };
  static override flags = {
    ...outputFlags,
    file: Flags.string({ char: 'f', description: 'Preview the datums of this spec file (- for stdin).' }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<ListDatumResult> {
    const { args, flags } = await this.parse(ListDatum);
    if (args.job !== undefined && flags.file !== undefined) throw new InvalidArgumentError(pipelineMsg.datumJobAndSpec, pipelineMsg.datumJobAndSpecHint);
    if (args.job === undefined && flags.file === undefined) throw new InvalidArgumentError(pipelineMsg.datumNeither, pipelineMsg.datumNeitherHint);
    const pipelines = (await this.tusk()).pipelines;
    if (flags.file !== undefined) {
      const spec = await readSpecSource(flags.file);
      const datums = await pipelines.previewDatums(spec.text, spec.baseDir);
      this.render(() => datumTable(datums, { preview: true }));
      return datums;
    }
    const ref = parseJobRef(args.job!);
    const datums = await pipelines.listDatums(ref.pipeline, ref.id);
    this.render(() => datumTable(datums));
    return datums;
  }
}
