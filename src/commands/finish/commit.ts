import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { type CommitInfo, parseCommitRef } from '../../app/api.js';

export type FinishCommitResult = CommitInfo;

export default class FinishCommit extends TuskCommand<FinishCommitResult> {
  static override summary = 'Close an open commit, making it immutable.';
  static override examples = [
    '<%= config.bin %> finish commit images@master',
    '<%= config.bin %> finish commit images@master -m "nightly import, 312 files"',
  ];
  static override args = { commit: Args.string({ required: true, description: 'repo@branch or repo@commit' }) };
  static override flags = {
    message: Flags.string({ char: 'm', aliases: ['description'], description: 'Replace the commit description.' }),
    force: Flags.boolean({ char: 'f', description: 'Finish even if the commit has provenance.' }),
    wait: Flags.boolean({ description: 'Return only when the jobs this write started downstream have ended (runs them here); exit 7 if one failed.' }),
  };

  async run(): Promise<FinishCommitResult> {
    const { args, flags } = await this.parse(FinishCommit);
    return (await this.tusk()).data.finishCommit(parseCommitRef(args.commit), { description: flags.message, force: flags.force, wait: flags.wait });
  }
}
