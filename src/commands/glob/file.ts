import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { requirePath } from '../../cli/refs.js';
import { type FileInfo, parseFileRef } from '../../app/api.js';
import { fileTable } from '../../ui/views.js';

export type GlobFileResult = FileInfo[];

export default class GlobFile extends TuskCommand<GlobFileResult> {
  static override summary = 'List the files and directories matching a glob pattern.';
  static override description = 'Uses the same glob dialect as pipeline inputs. Quote the argument so the shell leaves it alone.';
  static override examples = ["<%= config.bin %> glob file 'images@master:/*'", "<%= config.bin %> glob file 'images@master:/**/*.png'"];
  static override args = { pattern: Args.string({ required: true, description: 'repo@branch:/pattern' }) };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  async run(): Promise<GlobFileResult> {
    const { args } = await this.parse(GlobFile);
    const ref = parseFileRef(args.pattern);
    const files = await (await this.tusk()).data.globFiles(requirePath(ref, 'glob pattern', `'${ref.repo}@master:/*'`));
    this.render(() => fileTable(files));
    return files;
  }
}
