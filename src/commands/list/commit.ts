import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { InvalidArgumentError } from '../../errors.js';
import { type CommitInfo, type CommitOrigin, type CommitSetInfo, isCommitId, parseCommitRef } from '../../app/api.js';
import { msg } from '../../ui/messages.js';
import { commitSetTable, commitTable, type TimeFormatter } from '../../ui/views.js';

/** Commit sets when no argument is given, else commits. */
export type ListCommitResult = CommitSetInfo[] | CommitInfo[];

// The order pachctl names them in its error message.
const ORIGINS: readonly CommitOrigin[] = ['USER', 'AUTO', 'FSCK', 'ALIAS'];

export default class ListCommit extends TuskCommand<ListCommitResult> {
  static override summary = 'List commit sets, the commits of one set, or the commits of a repo or branch.';
  static override description =
    'With no argument, lists commit sets (all commits sharing one id across repos). With a commit id, ' +
    'lists the commits of that set. With REPO or REPO@BRANCH, lists commits newest first: a branch ' +
    "shows the branch's history, a repo every commit in it.";
  static override examples = [
    '<%= config.bin %> list commit',
    '<%= config.bin %> list commit images@master -n 10',
    '<%= config.bin %> list commit b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a',
    '<%= config.bin %> list commit edges --origin AUTO',
  ];
  static override args = { commit: Args.string({ description: 'repo, repo@branch, or a commit id' }) };
  static override flags = {
    ...outputFlags,
    number: Flags.integer({ char: 'n', description: 'Show at most this many (0 = all).', min: 0, default: 0 }),
    all: Flags.boolean({ description: 'Include ALIAS commits.' }),
    origin: Flags.string({ description: 'Only commits of this origin: USER, AUTO, FSCK or ALIAS.' }),
    from: Flags.string({ char: 'f', description: 'Only commits after this commit id.' }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<ListCommitResult> {
    const { args, flags } = await this.parse(ListCommit);
    if (flags.all && flags.origin !== undefined) {
      throw new InvalidArgumentError(msg.bothAllAndOrigin, msg.bothAllAndOriginHint);
    }
    const origin = flags.origin === undefined ? undefined : parseOrigin(flags.origin);
    const number = flags.number > 0 ? flags.number : undefined;
    const time: TimeFormatter = (t) => this.time(t);

    if (args.commit === undefined) {
      const sets = await (await this.tusk()).data.listCommitSets({ number });
      this.render(() => commitSetTable(sets, time, this.isTty));
      return sets;
    }
    const commits = await (await this.tusk()).data.listCommits({
      ...selectCommits(args.commit),
      number,
      all: flags.all,
      origin,
      from: flags.from,
    });
    this.render(() => commitTable(commits, time));
    return commits;
  }
}

function parseOrigin(value: string): CommitOrigin {
  const origin = ORIGINS.find((o) => o === value.toUpperCase());
  if (!origin) throw new InvalidArgumentError(msg.unknownOrigin(value, ORIGINS), 'e.g. --origin USER');
  return origin;
}

// A bare commit id is a commit set; otherwise a repo or a branch (a commit address is refused).
function selectCommits(arg: string): { commitSet?: string; repo?: string; branch?: string } {
  if (!arg.includes('@') && isCommitId(arg)) return { commitSet: arg };
  const ref = parseCommitRef(arg);
  if (ref.commit !== undefined || ref.ancestry !== undefined) {
    throw new InvalidArgumentError(msg.listCommitByRef(arg), msg.listCommitByRefHint);
  }
  return { repo: ref.repo, branch: ref.branch };
}
