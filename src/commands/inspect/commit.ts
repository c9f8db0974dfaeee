import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { InvalidArgumentError } from '../../errors.js';
import { type CommitInfo, isCommitId, parseCommitRef } from '../../app/api.js';
import { msg } from '../../ui/messages.js';
import { commitDetails } from '../../ui/views.js';

export type InspectCommitResult = CommitInfo;

export default class InspectCommit extends TuskCommand<InspectCommitResult> {
  static override summary = 'Show the details of a commit.';
  static override examples = [
    '<%= config.bin %> inspect commit images@master',
    '<%= config.bin %> inspect commit images@master^',
    '<%= config.bin %> inspect commit images@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a --raw',
  ];
  static override args = { commit: Args.string({ required: true, description: 'repo@branch or repo@commit' }) };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  async run(): Promise<InspectCommitResult> {
    const { args } = await this.parse(InspectCommit);
    if (!args.commit.includes('@') && isCommitId(args.commit)) {
      throw new InvalidArgumentError(msg.inspectCommitSet(args.commit), msg.inspectCommitSetHint(args.commit));
    }
    const commit = await (await this.tusk()).data.inspectCommit(parseCommitRef(args.commit));
    this.render(() => commitDetails(commit, (t) => this.time(t)));
    return commit;
  }
}
