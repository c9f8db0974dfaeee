import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { ConflictError } from '../../errors.js';
import { requireCommitJobSucceeded } from '../../pipeline/job-outcome.js';
import { runUntil } from '../../pipeline/runner.js';
import { parseCommitRef } from '../../store/address.js';
import type { CommitInfo } from '../../store/types.js';
import { pipelineMsg } from '../../ui/messages.js';
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
    const store = this.store();
    // a branch may move while we wait: keep waiting for the commit it named first
    const first = store.inspectCommit(parseCommitRef(args.commit));
    const ref = { repo: first.repo, commit: first.id };
    const timeoutMs = flags.timeout === undefined ? undefined : flags.timeout * 1000;
    const finished = await runUntil(store.core, () => store.inspectCommit(ref).finished !== null, { timeoutMs });
    if (!finished) throw new ConflictError(pipelineMsg.commitTimeout(`${first.repo}@${first.branch ?? ''}=${first.id}`, flags.timeout ?? 0), pipelineMsg.commitTimeoutHint);
    const commit = await store.waitCommit(ref);
    requireCommitJobSucceeded(store.core, commit.repo, commit.id);
    this.render(() => commitDetails(commit, (t) => this.time(t)));
    return commit;
  }
}
