import { Args } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import type { RemoteConfig } from '../../app/remotes.js';

export type RemoteRemoveResult = RemoteConfig;

export default class RemoteRemove extends TuskCommand<RemoteRemoveResult> {
  static override summary = 'Forget a remote (nothing on the remote is deleted).';
  static override examples = ['<%= config.bin %> remote remove origin'];
  static override args = { name: Args.string({ required: true, description: 'remote name' }) };

  async run(): Promise<RemoteRemoveResult> {
    const { args } = await this.parse(RemoteRemove);
    const r = (await this.tusk()).remotes.remove(args.name);
    this.render(() => `removed remote ${r.name} (${r.url})`);
    return r;
  }
}
