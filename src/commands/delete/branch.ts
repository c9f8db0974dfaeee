import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { parseBranchRef } from '../../app/api.js';

export type DeleteBranchResult = { repo: string; branch: string };

export default class DeleteBranch extends TuskCommand<DeleteBranchResult> {
  static override summary = 'Delete a branch (its commits are kept).';
  static override examples = ['<%= config.bin %> delete branch images@staging'];
  static override args = { branch: Args.string({ required: true, description: 'repo@branch' }) };
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'Delete even if other branches depend on it.' }),
  };

  async run(): Promise<DeleteBranchResult> {
    const { args, flags } = await this.parse(DeleteBranch);
    const { repo, branch } = parseBranchRef(args.branch);
    return (await this.tusk()).data.deleteBranch(repo, branch, { force: flags.force });
  }
}
