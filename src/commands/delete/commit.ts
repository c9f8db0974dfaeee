import { Args } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { parseCommitOrSet } from '../../cli/refs.js';
import type { CommitInfo } from '../../app/api.js';

export type DeleteCommitResult = { deleted: CommitInfo[] };

export default class DeleteCommit extends TuskCommand<DeleteCommitResult> {
  static override summary = 'Drop the newest commit set and its data.';
  static override description =
    'Removes every commit with that id, in every repo, and the data they added; branch heads move back ' +
    'to the parents. Only commits without children can be dropped.';
  static override examples = [
    '<%= config.bin %> delete commit b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a',
    '<%= config.bin %> delete commit images@master',
  ];
  static override args = { commit: Args.string({ required: true, description: 'commit id, or repo@branch / repo@commit' }) };

  async run(): Promise<DeleteCommitResult> {
    const { args } = await this.parse(DeleteCommit);
    return (await this.tusk()).data.deleteCommit(parseCommitOrSet(args.commit));
  }
}
