import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import type { StatusResult } from '../app/api.js';
import { status } from '../app/project.js';
import { statusView } from '../project/views.js';

export type { StatusResult };

export default class Status extends TuskCommand<StatusResult> {
  static override summary = 'Show what differs between a local directory and a commit.';
  static override description =
    'Like `git status`: files modified, added (only local) or deleted (only in the commit). Unchanged files are ' +
    'recognised by size, mtime and inode from the file cache and are not read again. Without an argument, inside ' +
    'a project: every tracked directory of tusk.yaml against the commit tusk.lock pins.';
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status images@master -d ./images',
    '<%= config.bin %> status images@master:/raw -d ./raw --json',
  ];
  static override args = { ref: Args.string({ description: 'repo@ref[:/path] to compare with' }) };
  static override flags = {
    dir: Flags.string({ char: 'd', description: 'Local directory (default: the tracked directory of the branch, else ./REPO).' }),
  };

  async run(): Promise<StatusResult> {
    const { args, flags } = await this.parse(Status);
    const result = await status(process.cwd(), { ref: args.ref, dir: flags.dir });
    this.render(() => statusView(result));
    return result;
  }
}
