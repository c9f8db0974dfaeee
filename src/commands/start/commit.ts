import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { parseCommitish, parseTimeFlag } from '../../cli/refs.js';
import { type CommitInfo, parseBranchRef } from '../../app/api.js';

export type StartCommitResult = CommitInfo;

export default class StartCommit extends TuskCommand<StartCommitResult> {
  static override summary = 'Open a commit on a branch; prints its id.';
  static override description =
    'Writes (put, copy, delete file) to the branch go into the open commit until `finish commit`. ' +
    'The parent defaults to the branch head; a missing branch is created.';
  static override examples = [
    '<%= config.bin %> start commit images@master -m "nightly import"',
    '<%= config.bin %> start commit images@fix --parent master',
    '<%= config.bin %> start commit metrics@master --time 2026-12-01T09:00:00Z',
  ];
  static override args = { branch: Args.string({ required: true, description: 'repo@branch' }) };
  static override flags = {
    parent: Flags.string({ char: 'p', description: 'Parent commit (id, branch, or repo@branch=id).' }),
    message: Flags.string({ char: 'm', aliases: ['description'], description: 'Description of the commit.' }),
    time: Flags.string({ description: 'Commit time (RFC 3339, in the past) instead of now: where windowed pipelines file the commit.' }),
  };

  async run(): Promise<StartCommitResult> {
    const { args, flags } = await this.parse(StartCommit);
    const { repo, branch } = parseBranchRef(args.branch);
    const commit = await (await this.tusk()).data.startCommit(repo, branch, {
      parent: flags.parent === undefined ? undefined : parseCommitish(repo, flags.parent),
      description: flags.message,
      time: flags.time === undefined ? undefined : parseTimeFlag('--time', flags.time),
    });
    this.render(() => commit.id);
    return commit;
  }
}
