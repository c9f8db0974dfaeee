import { resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { requirePath } from '../../cli/refs.js';
import { InvalidArgumentError } from '../../errors.js';
import { parseFileRef } from '../../app/api.js';
import { msg } from '../../ui/messages.js';

export type GetFileResult = { files: number; bytes: number };

export default class GetFile extends TuskCommand<GetFileResult> {
  static override summary = 'Write a file to stdout, or files and directories to a local path.';
  static override description =
    'The path is a glob pattern. Without -r it must match exactly one file. With -r -o DIR, a directory ' +
    'is downloaded as a tree rooted at DIR.';
  static override examples = [
    '<%= config.bin %> get file images@master:/cat.png -o cat.png',
    '<%= config.bin %> get file notes@master:/hello.txt',
    '<%= config.bin %> get file -r images@master:/raw -o ./raw',
    '<%= config.bin %> get file images@master^:/cat.png -o old-cat.png',
    '<%= config.bin %> get file tables@master:/sales.csv --offset 1048576 --length 1048576',
  ];
  static override args = { file: Args.string({ required: true, description: 'repo@branch:/path' }) };
  static override flags = {
    output: Flags.string({ char: 'o', description: 'Local path to write to (default: stdout).' }),
    recursive: Flags.boolean({ char: 'r', description: 'Download directories and everything under them.' }),
    offset: Flags.integer({ description: 'Start reading at this byte offset.', min: 0 }),
    length: Flags.integer({ description: 'Read at most this many bytes (from --offset, or the start): only the chunks that hold them are read.', min: 0 }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<GetFileResult> {
    const { args, flags } = await this.parse(GetFile);
    let ref = parseFileRef(args.file);
    if (flags.recursive && flags.output === undefined) {
      throw new InvalidArgumentError(msg.recursiveNeedsOutput, msg.recursiveNeedsOutputHint);
    }
    if (flags.output === undefined && this.jsonEnabled()) {
      throw new InvalidArgumentError(msg.jsonNeedsOutput, msg.jsonNeedsOutputHint);
    }
    ref = flags.recursive && ref.path === undefined ? { ...ref, path: '/' } : requirePath(ref, 'file path', `${ref.repo}@master:/file.txt`);

    const output = flags.output === undefined ? undefined : resolve(flags.output);
    const progress = output === undefined ? undefined : this.progress();
    try {
      return await (await this.tusk()).data.getFile(ref, {
        output,
        recursive: flags.recursive,
        offset: flags.offset,
        length: flags.length,
        stdout: output === undefined ? process.stdout : undefined,
        onProgress: progress?.onProgress,
      });
    } finally {
      progress?.done();
    }
  }
}
