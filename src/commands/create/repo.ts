import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { type RepoInfo, validateName } from '../../app/api.js';

export type CreateRepoResult = RepoInfo;

export default class CreateRepo extends TuskCommand<CreateRepoResult> {
  static override summary = 'Create a new repo.';
  static override examples = [
    '<%= config.bin %> create repo images',
    '<%= config.bin %> create repo images -d "Raw photos from the field"',
  ];
  static override args = { repo: Args.string({ required: true, description: 'repo name' }) };
  static override flags = {
    description: Flags.string({ char: 'd', description: 'Description of the repo.' }),
  };

  async run(): Promise<CreateRepoResult> {
    const { args, flags } = await this.parse(CreateRepo);
    return (await this.tusk()).data.createRepo(validateName('repo', args.repo), { description: flags.description });
  }
}
