import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { validateName } from '../../store/address.js';
import type { RepoInfo } from '../../store/types.js';

export type UpdateRepoResult = RepoInfo;

export default class UpdateRepo extends TuskCommand<UpdateRepoResult> {
  static override summary = "Set a repo's description (creates the repo if missing).";
  static override examples = ['<%= config.bin %> update repo images -d "Photos, deduplicated"'];
  static override args = { repo: Args.string({ required: true, description: 'repo name' }) };
  static override flags = {
    description: Flags.string({ char: 'd', description: 'New description of the repo.', required: true }),
  };

  async run(): Promise<UpdateRepoResult> {
    const { args, flags } = await this.parse(UpdateRepo);
    return this.store().updateRepo(validateName('repo', args.repo), { description: flags.description });
  }
}
