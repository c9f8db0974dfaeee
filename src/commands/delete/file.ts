import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { requirePath } from '../../cli/refs.js';
import { type CommitInfo, parseFileRef } from '../../app/api.js';

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
    return (await this.tusk()).data.deleteFiles(requirePath(ref, 'file path', `${ref.repo}@master:/file.txt`), {
      recursive: flags.recursive,
    });
  }
}
