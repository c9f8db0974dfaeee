import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { type BranchInfo, parseBranchRef } from '../../app/api.js';
import { branchDetails } from '../../ui/views.js';

export type InspectBranchResult = BranchInfo;

export default class InspectBranch extends TuskCommand<InspectBranchResult> {
  static override summary = "Show a branch's head and provenance.";
  static override examples = ['<%= config.bin %> inspect branch images@master'];
  static override args = { branch: Args.string({ required: true, description: 'repo@branch' }) };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  async run(): Promise<InspectBranchResult> {
    const { args } = await this.parse(InspectBranch);
    const { repo, branch } = parseBranchRef(args.branch);
    const info = await (await this.tusk()).data.inspectBranch(repo, branch);
    this.render(() => branchDetails(info));
    return info;
  }
}
