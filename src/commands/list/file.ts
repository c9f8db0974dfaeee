import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { type FileInfo, parseFileRef } from '../../app/api.js';
import { fileTableStream } from '../../ui/views.js';

/** The `--json` payload: one array, printed as the files are read (see TuskCommand.streamRows). */
export type ListFileResult = FileInfo[];

export default class ListFile extends TuskCommand<void> {
  static override summary = 'List the files in a directory, or those matching a glob.';
  static override examples = [
    '<%= config.bin %> list file images@master',
    '<%= config.bin %> list file images@master:/raw',
    "<%= config.bin %> list file 'images@master:/raw/*.png'",
  ];
  static override args = { dir: Args.string({ required: true, description: 'repo@branch[:/dir-or-glob]' }) };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  // Nothing is returned: the rows, JSON included, are written as the directory is read.
  async run(): Promise<void> {
    const { args } = await this.parse(ListFile);
    const ref = parseFileRef(args.dir);
    const files = await (await this.tusk()).data.iterateFiles({ ...ref, path: ref.path ?? '/' });
    await this.streamRows(files, fileTableStream());
  }
}
