import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { InvalidArgumentError } from '../../errors.js';
import { validateName } from '../../app/api.js';
import { msg } from '../../ui/messages.js';

export type DeleteRepoResult = { deleted: string[] };

export default class DeleteRepo extends TuskCommand<DeleteRepoResult> {
  static override summary = 'Delete a repo, its branches and commits.';
  static override examples = ['<%= config.bin %> delete repo images', '<%= config.bin %> delete repo --all'];
  static override args = { repo: Args.string({ description: 'repo name' }) };
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'Delete even if other branches have provenance on it.' }),
    all: Flags.boolean({ description: 'Delete every repo.' }),
  };

  async run(): Promise<DeleteRepoResult> {
    const { args, flags } = await this.parse(DeleteRepo);
    if (args.repo === undefined && !flags.all) throw new InvalidArgumentError(msg.deleteRepoTarget, msg.deleteRepoTargetHint);
    if (args.repo !== undefined && flags.all) throw new InvalidArgumentError(msg.deleteRepoBoth, msg.deleteRepoBothHint);
    const data = (await this.tusk()).data;
    if (args.repo !== undefined) return { deleted: [(await data.deleteRepo(validateName('repo', args.repo), { force: flags.force })).repo] };
    // all or nothing: provenance between the deleted repos themselves does not block
    return data.deleteUserRepos({ force: flags.force });
  }
}
