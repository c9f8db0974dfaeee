import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { type BranchInfo, validateName } from '../../app/api.js';
import { branchTable } from '../../ui/views.js';

export type ListBranchResult = BranchInfo[];

export default class ListBranch extends TuskCommand<ListBranchResult> {
  static override summary = 'List the branches of a repo.';
  static override examples = ['<%= config.bin %> list branch images'];
  static override args = { repo: Args.string({ required: true, description: 'repo name' }) };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  async run(): Promise<ListBranchResult> {
    const { args } = await this.parse(ListBranch);
    const branches = await (await this.tusk()).data.listBranches(validateName('repo', args.repo));
    this.render(() => branchTable(branches));
    return branches;
  }
}
