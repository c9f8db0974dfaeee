import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { parseCommitish } from '../../cli/refs.js';
import { type BranchInfo, parseBranchRef } from '../../app/api.js';

export type CreateBranchResult = BranchInfo;

export default class CreateBranch extends TuskCommand<CreateBranchResult> {
  static override summary = 'Create a branch, or move an existing one.';
  static override description =
    'Without --head a new branch gets an empty, finished commit as its head; with --head it points at ' +
    'that commit (no data is copied). --provenance makes the branch depend on other branches.';
  static override examples = [
    '<%= config.bin %> create branch images@staging --head master',
    '<%= config.bin %> create branch images@v1 --head b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a',
    '<%= config.bin %> create branch edges@master --provenance images@master',
  ];
  static override args = { branch: Args.string({ required: true, description: 'repo@branch' }) };
  static override flags = {
    head: Flags.string({ description: 'Commit or branch to point at (id, branch, or repo@branch=id).' }),
    provenance: Flags.string({
      char: 'p',
      description: 'A repo@branch this branch depends on (repeatable).',
      multiple: true,
      multipleNonGreedy: true,
    }),
  };

  async run(): Promise<CreateBranchResult> {
    const { args, flags } = await this.parse(CreateBranch);
    const { repo, branch } = parseBranchRef(args.branch);
    return (await this.tusk()).data.createBranch(repo, branch, {
      head: flags.head === undefined ? undefined : parseCommitish(repo, flags.head),
      provenance: flags.provenance?.map((p) => parseBranchRef(p)),
    });
  }
}
