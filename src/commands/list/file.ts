import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { parseFileRef } from '../../store/address.js';
import type { FileInfo } from '../../store/types.js';
import { fileTable } from '../../ui/views.js';

export type ListFileResult = FileInfo[];

export default class ListFile extends TuskCommand<ListFileResult> {
  static override summary = 'List the files in a directory, or those matching a glob.';
  static override examples = [
    '<%= config.bin %> list file images@master',
    '<%= config.bin %> list file images@master:/raw',
    "<%= config.bin %> list file 'images@master:/raw/*.png'",
  ];
  static override args = { dir: Args.string({ required: true, description: 'repo@branch[:/dir-or-glob]' }) };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  async run(): Promise<ListFileResult> {
    const { args } = await this.parse(ListFile);
    const ref = parseFileRef(args.dir);
    const files = this.store().listFiles({ ...ref, path: ref.path ?? '/' });
    this.render(() => fileTable(files));
    return files;
  }
}
