import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { parseJobRef } from '../../cli/job-refs.js';
import type { DatumInfo } from '../../app/api.js';
import { datumDetails } from '../../ui/pipeline-views.js';

export type InspectDatumResult = DatumInfo;

export default class InspectDatum extends TuskCommand<InspectDatumResult> {
  static override summary = 'Show the details of one datum of a job.';
  static override description = 'The datum may be given by a unique prefix of its id.';
  static override examples = ['<%= config.bin %> inspect datum edges@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a 5c0f2a'];
  static override args = {
    job: Args.string({ required: true, description: 'pipeline@job-id' }),
    datum: Args.string({ required: true, description: 'datum id (or a prefix of it)' }),
  };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  async run(): Promise<InspectDatumResult> {
    const { args } = await this.parse(InspectDatum);
    const ref = parseJobRef(args.job);
    const datum = await (await this.tusk()).pipelines.inspectDatum(ref.pipeline, ref.id, args.datum);
    this.render(() => datumDetails(datum));
    return datum;
  }
}
