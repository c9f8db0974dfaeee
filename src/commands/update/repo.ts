import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { type RepoInfo, validateName } from '../../app/api.js';

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
    return (await this.tusk()).data.updateRepo(validateName('repo', args.repo), { description: flags.description });
  }
}
