import { Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import type { RepoInfo } from '../../app/api.js';
import { repoTable } from '../../ui/views.js';

export type ListRepoResult = RepoInfo[];

export default class ListRepo extends TuskCommand<ListRepoResult> {
  static override summary = 'List repos, newest first.';
  static override examples = ['<%= config.bin %> list repo', '<%= config.bin %> list repo --all'];
  static override flags = {
    ...outputFlags,
    all: Flags.boolean({ description: 'Include system repos (pipeline spec and meta repos).' }),
    type: Flags.string({ description: 'Only repos of this type (user, spec, meta).' }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<ListRepoResult> {
    const { flags } = await this.parse(ListRepo);
    const repos = await (await this.tusk()).data.listRepos({ all: flags.all, type: flags.type });
    this.render(() => repoTable(repos, (t) => this.time(t)));
    return repos;
  }
}
