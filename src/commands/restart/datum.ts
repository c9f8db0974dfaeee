import { Args } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { parseJobRef } from '../../cli/job-refs.js';
import { parseInputTerms, type RestartResult } from '../../app/api.js';

export type RestartDatumResult = RestartResult;

export default class RestartDatum extends TuskCommand<RestartDatumResult> {
  static override summary = 'Run the matching datums of a running job again.';
  static override description =
    'Selects datums as `logs --inputs` does: comma-separated input file paths and content hashes, all of ' +
    'which a datum must have (a datum id selects that datum). Each selected datum that is running is ' +
    'killed and queued again, to run from its first try; datums not running are left alone.';
  static override examples = [
    '<%= config.bin %> restart datum edges@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a /images/bird.png',
    '<%= config.bin %> restart datum join@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a /a/1.txt,/b/1.csv',
  ];
  static override args = {
    job: Args.string({ required: true, description: 'pipeline@job-id' }),
    datums: Args.string({ required: true, description: 'input file paths, content hashes or a datum id, comma-separated' }),
  };

  async run(): Promise<RestartDatumResult> {
    const { args } = await this.parse(RestartDatum);
    const ref = parseJobRef(args.job);
    const r = await (await this.tusk()).pipelines.restartDatums(ref.pipeline, ref.id, parseInputTerms(args.datums, 'datum filter'));
    const skipped = r.matched.length - r.restarted.length;
    this.render(() => `Restarted ${r.restarted.length} of ${r.matched.length} matching ${r.matched.length === 1 ? 'datum' : 'datums'}${skipped > 0 ? ` (${skipped} not running)` : ''}\n`);
    return r;
  }
}
