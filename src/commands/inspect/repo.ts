import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { type RepoInfo, validateName } from '../../app/api.js';
import { repoDetails } from '../../ui/views.js';

export type InspectRepoResult = RepoInfo;

export default class InspectRepo extends TuskCommand<InspectRepoResult> {
  static override summary = 'Show the details of a repo.';
  static override examples = ['<%= config.bin %> inspect repo images', '<%= config.bin %> inspect repo images --raw -o yaml'];
  static override args = { repo: Args.string({ required: true, description: 'repo name' }) };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  async run(): Promise<InspectRepoResult> {
    const { args } = await this.parse(InspectRepo);
    const repo = await (await this.tusk()).data.inspectRepo(validateName('repo', args.repo));
    this.render(() => repoDetails(repo, (t) => this.time(t)));
    return repo;
  }
}
