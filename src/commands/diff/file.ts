import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { type DiffEntry, parseFileRef } from '../../app/api.js';
import { diffNames, diffTable } from '../../ui/views.js';

export type DiffFileResult = DiffEntry[];

export default class DiffFile extends TuskCommand<DiffFileResult> {
  static override summary = 'Show the files that differ between two commits.';
  static override description =
    'Compares NEW against OLD, or against the parent of NEW when OLD is not given. "+" marks files only in ' +
    'NEW (or their new version), "-" files only in OLD (or their old version).';
  static override examples = [
    '<%= config.bin %> diff file images@master',
    '<%= config.bin %> diff file images@master:/raw images@v1:/raw',
    '<%= config.bin %> diff file images@master --name-only',
  ];
  static override args = {
    new: Args.string({ required: true, description: 'repo@commit[:/path] to compare' }),
    old: Args.string({ description: 'repo@commit[:/path] to compare against (default: the parent)' }),
  };
  static override flags = {
    ...outputFlags,
    'name-only': Flags.boolean({ description: 'Print only the names of changed files.' }),
    shallow: Flags.boolean({ char: 's', description: "Don't descend into changed subdirectories." }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<DiffFileResult> {
    const { args, flags } = await this.parse(DiffFile);
    const newRef = parseFileRef(args.new);
    const path = newRef.path ?? '/';
    const oldRef = args.old === undefined ? undefined : parseFileRef(args.old);
    const entries = await (await this.tusk()).data.diffFiles(
      { ...newRef, path },
      oldRef === undefined ? undefined : { ...oldRef, path: oldRef.path ?? path },
      { shallow: flags.shallow },
    );
    this.render(() => (flags['name-only'] ? diffNames(entries) : diffTable(entries)));
    return entries;
  }
}
