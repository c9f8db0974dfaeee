import { Args } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { parseCommitOrSet } from '../../cli/refs.js';
import type { CommitInfo } from '../../app/api.js';

export type SquashCommitResult = { squashed: CommitInfo[] };

export default class SquashCommit extends TuskCommand<SquashCommitResult> {
  static override summary = 'Remove a commit set from history, keeping its data in the children.';
  static override examples = ['<%= config.bin %> squash commit b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a'];
  static override args = { commit: Args.string({ required: true, description: 'commit id, or repo@commit' }) };

  async run(): Promise<SquashCommitResult> {
    const { args } = await this.parse(SquashCommit);
    return (await this.tusk()).data.squashCommit(parseCommitOrSet(args.commit));
  }
}
