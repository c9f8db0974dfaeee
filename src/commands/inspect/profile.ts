import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { parseDelimiter, requirePath } from '../../cli/refs.js';
import { parseFileRef, type FileProfile } from '../../app/api.js';
import { profileView } from '../../monitor/views.js';

export type InspectProfileResult = FileProfile;

export default class InspectProfile extends TuskCommand<InspectProfileResult> {
  static override summary = 'Show the column profile of a CSV file: types, counts, missing, distinct values, mean, spread, quantiles, top values.';
  static override description =
    'Computed in one streamed pass and kept in the store by content id: asking again for the same bytes, under any ' +
    'path or commit, reads the kept profile. Quantiles come from a KLL sketch (rank error ±0.0165, exact below 200 ' +
    'values). See docs/monitoring.md.';
  static override examples = ['<%= config.bin %> inspect profile sales@master:/sales.csv', '<%= config.bin %> inspect profile sales@v1:/sales.csv --json'];
  static override args = { file: Args.string({ required: true, description: 'repo@ref:/path of a CSV file' }) };
  static override flags = {
    ...outputFlags,
    delimiter: Flags.string({ char: 'd', description: 'Field separator (one character); profiles of other separators than a comma are not kept.', default: ',' }),
  };

  async run(): Promise<InspectProfileResult> {
    const { args, flags } = await this.parse(InspectProfile);
    const ref = parseFileRef(args.file);
    const profile = await (await this.tusk()).models.profile(requirePath(ref, 'file path', `${ref.repo}@master:/data.csv`), { delimiter: parseDelimiter(flags.delimiter) });
    this.render(() => profileView(profile, { tty: this.isTty }));
    return profile;
  }
}
