import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { parseCommitRef } from '../../store/address.js';
import type { CommitInfo } from '../../store/types.js';
import { commitDetails } from '../../ui/views.js';

export type WaitCommitResult = CommitInfo;

export default class WaitCommit extends TuskCommand<WaitCommitResult> {
  static override summary = 'Wait until a commit is finished, then show it.';
  static override examples = [
    '<%= config.bin %> wait commit edges@master',
    '<%= config.bin %> wait commit edges@master --timeout 60',
  ];
  static override args = { commit: Args.string({ required: true, description: 'repo@branch or repo@commit' }) };
  static override flags = {
    ...outputFlags,
    timeout: Flags.integer({ description: 'Give up after this many seconds.', min: 1 }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<WaitCommitResult> {
    const { args, flags } = await this.parse(WaitCommit);
    const timeoutMs = flags.timeout === undefined ? undefined : flags.timeout * 1000;
    const commit = await this.store().waitCommit(parseCommitRef(args.commit), { timeoutMs });
    this.render(() => commitDetails(commit, (t) => this.time(t)));
    return commit;
  }
}
