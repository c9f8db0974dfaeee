import { Args } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { requirePath } from '../../cli/refs.js';
import { type FileInfo, parseFileRef } from '../../app/api.js';
import { fileDetails } from '../../ui/views.js';

export type InspectFileResult = FileInfo;

export default class InspectFile extends TuskCommand<InspectFileResult> {
  static override summary = 'Show the type, size and datum of a file or directory.';
  static override examples = ['<%= config.bin %> inspect file images@master:/cat.png'];
  static override args = { file: Args.string({ required: true, description: 'repo@branch:/path' }) };
  static override flags = { ...outputFlags };
  static override storeAccess = 'read' as const;

  async run(): Promise<InspectFileResult> {
    const { args } = await this.parse(InspectFile);
    const ref = parseFileRef(args.file);
    const file = await (await this.tusk()).data.inspectFile(requirePath(ref, 'file path', `${ref.repo}@master:/file.txt`));
    this.render(() => fileDetails(file));
    return file;
  }
}
