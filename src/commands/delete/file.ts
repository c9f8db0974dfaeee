import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { requirePath } from '../../cli/refs.js';
import { afterWrite } from '../../pipeline/runner.js';
import { parseFileRef } from '../../store/address.js';
import type { CommitInfo } from '../../store/types.js';

export type DeleteFileResult = CommitInfo;

export default class DeleteFile extends TuskCommand<DeleteFileResult> {
  static override summary = 'Delete a file, or a directory with -r.';
  static override examples = [
    '<%= config.bin %> delete file images@master:/cat.png',
    '<%= config.bin %> delete file -r images@master:/raw',
  ];
  static override args = { file: Args.string({ required: true, description: 'repo@branch:/path' }) };
  static override flags = {
    recursive: Flags.boolean({ char: 'r', description: 'Delete a directory and everything under it.' }),
  };

  async run(): Promise<DeleteFileResult> {
    const { args, flags } = await this.parse(DeleteFile);
    const ref = parseFileRef(args.file);
    const commit = this.store().deleteFiles(requirePath(ref, 'file path', `${ref.repo}@master:/file.txt`), {
      recursive: flags.recursive,
    });
    await afterWrite(this.store().core);
    return commit;
  }
}
