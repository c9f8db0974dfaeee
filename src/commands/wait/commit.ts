import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { type CommitInfo, parseCommitRef } from '../../app/api.js';
import { commitDetails } from '../../ui/views.js';

export type WaitCommitResult = CommitInfo;

export default class WaitCommit extends TuskCommand<WaitCommitResult> {
  static override summary = 'Wait until a commit is finished, then show it.';
  static override description =
    "An output commit finishes when its pipeline's job ends. Jobs that can run are run here while no " +
    'background runner is alive, so waiting never hangs on a runner that is not there. Exits 7 (E_JOB_FAILED) ' +
    'when the job producing the commit did not succeed.';
  static override examples = [
    '<%= config.bin %> wait commit edges@master',
    '<%= config.bin %> wait commit edges@master --timeout 60',
  ];
  static override args = { commit: Args.string({ required: true, description: 'repo@branch or repo@commit' }) };
  static override flags = {
    ...outputFlags,
    timeout: Flags.integer({ description: 'Give up after this many seconds.', min: 1 }),
  };

  async run(): Promise<WaitCommitResult> {
    const { args, flags } = await this.parse(WaitCommit);
    const timeoutMs = flags.timeout === undefined ? undefined : flags.timeout * 1000;
    const commit = await (await this.tusk()).pipelines.waitCommit(parseCommitRef(args.commit), { timeoutMs, timeoutSeconds: flags.timeout ?? 0 });
    this.render(() => commitDetails(commit, (t) => this.time(t)));
    return commit;
  }
}
