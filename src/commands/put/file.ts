import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { localDeps, planPutSources } from '../../cli/put-targets.js';
import { readListedSources } from '../../cli/source-list.js';
import { InvalidArgumentError } from '../../errors.js';
import { formatCommitRef, parseFileRef, type PutResult } from '../../app/api.js';
import { done, msg } from '../../ui/messages.js';

export type PutFileResult = PutResult;

export default class PutFile extends TuskCommand<PutFileResult> {
  static override summary = 'Put local files, directories, tar archives or stdin into a repo.';
  static override description =
    'Without an open commit on the branch, one commit is started and finished around all the sources; ' +
    'inside an open commit (`start commit`) the writes join it. Existing files are overwritten unless -a.\n\n' +
    'Where sources land: no path → /<basename> (--full-path keeps the given path); one source and a path → ' +
    'that path, / included (for -r: the directory its contents go into; a file target ending in / keeps the ' +
    "source's name under it, as does -r with --full-path); several sources → path/<basename>; " +
    'stdin needs a path; --untar puts each archive entry at its own path under the path.';
  static override examples = [
    '<%= config.bin %> put file images@master -f ./cat.png',
    '<%= config.bin %> put file images@master:/pets/tom.png -f ./cat.png',
    '<%= config.bin %> put file -r images@master:/raw -f ./photos',
    { description: 'Put stdin at a path:', command: 'echo hello | <%= config.bin %> put file notes@master:/hello.txt' },
    '<%= config.bin %> put file --untar images@master -f ./batch.tar.gz',
  ];
  static override args = { target: Args.string({ required: true, description: 'repo@branch[:path]' }) };
  static override flags = {
    file: Flags.string({
      char: 'f',
      description: 'Local file or directory to put, or - for stdin (repeatable; default: stdin).',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'input-file': Flags.string({ char: 'i', description: 'Read the sources to put from this file, one per line (- for stdin).' }),
    recursive: Flags.boolean({ char: 'r', description: 'Put directories and everything under them.' }),
    append: Flags.boolean({ char: 'a', description: 'Append to existing files instead of overwriting them.' }),
    untar: Flags.boolean({ description: 'Unpack each source as a tar archive (.tar, .tar.gz, .tgz).' }),
    'full-path': Flags.boolean({ description: "Keep each source's whole path, not just its basename." }),
    message: Flags.string({ char: 'm', aliases: ['description'], description: 'Description of the commit made.' }),
    wait: Flags.boolean({ description: 'Return only when the jobs this write started downstream have ended (runs them here); exit 7 if one failed.' }),
  };

  async run(): Promise<PutFileResult> {
    const { args, flags } = await this.parse(PutFile);
    const target = parseFileRef(args.target);
    const files = flags.file ?? [];
    const inputFile = flags['input-file'];
    if (inputFile === '-' && files.includes('-')) throw new InvalidArgumentError(msg.stdinTwice, msg.stdinTwiceHint);
    const listed = inputFile === undefined ? [] : await readListedSources(inputFile, localDeps.stat);
    const sources = planPutSources(
      {
        target,
        targetIsDir: target.path !== undefined && args.target.endsWith('/'),
        files: [...files, ...listed],
        recursive: flags.recursive,
        untar: flags.untar,
        fullPath: flags['full-path'],
      },
      localDeps,
    );

    const { path: _path, ...commit } = target;
    const progress = this.progress();
    let result: PutResult;
    try {
      result = await (await this.tusk()).data.putFiles(commit, sources, {
        append: flags.append,
        onProgress: progress.onProgress,
        description: flags.message,
        wait: flags.wait,
        // skipped symbolic links and special files: said on stderr, never silently
        onWarning: this.jsonEnabled() ? undefined : (w: string) => process.stderr.write(`warning: ${w}\n`),
      });
    } finally {
      progress.done();
    }
    const into = formatCommitRef({ repo: result.repo, branch: result.branch ?? undefined, commit: result.commit });
    this.render(() => done.put(result, into));
    return result;
  }
}
