import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { requirePath } from '../../cli/refs.js';
import { type CommitInfo, parseFileRef } from '../../app/api.js';

export type CopyFileResult = CommitInfo;

export default class CopyFile extends TuskCommand<CopyFileResult> {
  static override summary = 'Copy files between commits without moving bytes.';
  static override description = 'Directories are copied with everything under them. DST defaults to the same path as SRC.';
  static override examples = [
    '<%= config.bin %> copy file images@master:/cat.png images@staging:/cat.png',
    '<%= config.bin %> copy file images@v1:/raw archive@master:/2024/raw',
  ];
  static override args = {
    src: Args.string({ required: true, description: 'repo@commit:/path to copy' }),
    dst: Args.string({ required: true, description: 'repo@branch[:/path] to copy to' }),
  };
  static override flags = {
    append: Flags.boolean({ char: 'a', description: 'Append to existing files instead of overwriting them.' }),
  };

  async run(): Promise<CopyFileResult> {
    const { args, flags } = await this.parse(CopyFile);
    const src = requirePath(parseFileRef(args.src), 'source path', 'images@master:/cat.png');
    const dst = parseFileRef(args.dst);
    return (await this.tusk()).data.copyFile(src, { ...dst, path: dst.path ?? src.path }, { append: flags.append });
  }
}
