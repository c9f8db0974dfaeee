// User-facing text of the CLI layer, kept apart from command logic. Messages that mirror
// pachctl's are worded exactly as pachctl words them; tests assert error codes, not this text.

import { formatBytes } from './format.js';

/** Error messages (one line each) and the hints printed under them. */
export const msg = {
  outputWithoutRaw: 'cannot set --output (-o) without --raw',
  outputWithoutRawHint: 'add --raw to print the record, e.g. --raw -o yaml',

  stdinNeedsPath: 'must specify filename when reading data from stdin',
  stdinNeedsPathHint: 'give the path in the repo, e.g. tusk put file images@master:/a.txt',
  recursiveStdin: 'cannot set -r and read from stdin (must also set -f or -i)',
  recursiveStdinHint: 'name the directory to put with -f, e.g. tusk put file -r images@master -f ./photos',
  stdinTwice: 'stdin can only be read once',
  stdinTwiceHint: 'pass -f - at most once',
  isDirectory: (path: string) => `${path} is a directory`,
  isDirectoryHint: 'pass -r to put a directory and everything under it',
  untarDirectory: (path: string) => `${path} is a directory, not a tar archive`,
  untarDirectoryHint: 'pass a .tar, .tar.gz or .tgz file with --untar',
  localMissing: (path: string) => `${path} doesn't exist`,
  localMissingHint: 'check the path given with -f',
  listedMissing: (path: string, list: string, line: number) => `${path} doesn't exist (listed on line ${line} of ${list})`,
  listedMissingHint: (list: string, line: number) => `fix or remove line ${line} of ${list}; relative paths are read from the working directory`,

  recursiveNeedsOutput: 'an output path needs to be specified when using the --recursive flag',
  recursiveNeedsOutputHint: 'add -o DIR to download the files into DIR',
  jsonNeedsOutput: 'cannot write file contents to stdout with --json',
  jsonNeedsOutputHint: 'add -o PATH to write the contents to a file',
  pathRequired: (what: string) => `a ${what} is required`,
  pathRequiredHint: (example: string) => `give it after a colon, e.g. ${example}`,

  bothAllAndOrigin: 'cannot specify both --all and --origin',
  bothAllAndOriginHint: '--all already includes every origin',
  unknownOrigin: (origin: string, known: readonly string[]) =>
    `unknown commit origin type '${origin}', must be one of: ${known.join(', ')}`,
  listCommitByRef: (arg: string) => `invalid format "${arg}": list commit takes a repo, repo@branch or a commit id`,
  listCommitByRefHint: 'use `tusk inspect commit REPO@COMMIT` for one commit',
  inspectCommitSet: (id: string) => `cannot inspect commit ${id} without a repo`,
  inspectCommitSetHint: (id: string) =>
    `Use "tusk list commit ${id}" to see commits with a given ID across different repos`,

  deleteRepoTarget: 'either a repo name or --all needs to be provided',
  deleteRepoTargetHint: 'e.g. tusk delete repo images',
  deleteRepoBoth: 'cannot use --all together with a repo name',
  deleteRepoBothHint: 'drop the repo name to delete every repo, or drop --all',

  fsckProblems: (n: number) => `fsck found ${n} ${n === 1 ? 'problem' : 'problems'}`,
  fsckProblemsHint: 'restore the damaged data from a copy of the store, or delete the commits that hold it',

  missingArgs: (args: { name: string; description?: string }[]) =>
    `missing required argument${args.length === 1 ? '' : 's'} ` +
    args.map((a) => `${a.name.toUpperCase()}${a.description ? ` (${a.description})` : ''}`).join(', '),
  tooManyArgs: (command: string, max: number, extra: string[]) =>
    `unexpected argument${extra.length === 1 ? '' : 's'} ${extra.map((a) => `"${a}"`).join(', ')}: ` +
    `tusk ${command} takes ${max === 0 ? 'no arguments' : `at most ${max} argument${max === 1 ? '' : 's'}`}`,
  unknownFlag: (flags: string[]) => `unknown flag${flags.length === 1 ? '' : 's'} ${flags.join(', ')}`,
  usageHint: (command: string) => `run \`tusk ${command} --help\` for usage`,
  commandNotFound: (id: string) => `command ${id} not found`,
  commandNotFoundHint: 'run `tusk --help` to see the commands',

  interrupted: 'interrupted',
  internalHint: 'rerun with --debug to see where it failed',
} as const;

/** One-line summaries printed after successful writes and maintenance. */
export const done = {
  /** What a put did, when a job it waited for then failed. */
  putWritten: (target: string) => `wrote ${target}`,
  init: (path: string, created: boolean, packs?: string, metadata?: string) =>
    metadata
      ? `${created ? 'Joined' : 'Already joined'} the team store in ${metadata}, its packs in ${packs}: this machine's client directory is ${path}`
      : (created ? `Initialized empty tusk store in ${path}` : `tusk store already exists in ${path}`) + (packs ? `, its packs in ${packs}` : ''),
  put: (r: { files: number; bytes: number; storedBytes: number; newChunks: number }, target: string) =>
    `${r.files} ${r.files === 1 ? 'file' : 'files'}, ${formatBytes(r.bytes)} → ${target}` +
    ` (${formatBytes(r.storedBytes)} new in ${r.newChunks} ${r.newChunks === 1 ? 'chunk' : 'chunks'})`,
  fsckOk: (c: { repos: number; commits: number; chunks: number; chunksVerified: number; cachedInputs: number; remoteChunks?: number }) =>
    `No errors found: ${c.repos} repos, ${c.commits} commits, ${c.chunks} chunks checked` +
    (c.chunksVerified > 0 ? `, ${c.chunksVerified} chunks read and verified` : '') +
    (c.remoteChunks ? `, ${c.remoteChunks} chunks on a remote (lazy clone; \`tusk fsck --remote NAME\` checks them there)` : '') +
    (c.cachedInputs > 0 ? `, ${c.cachedInputs} cached pipeline inputs verified` : ''),
  gc: (r: {
    bytesReclaimed: number;
    chunksRemoved: number;
    packsRemoved: number;
    packsRewritten: number;
    storeBytesAfter: number;
    cacheFilesRemoved: number;
    cacheBytesRemoved: number;
    removedPacks: string[];
    rewrittenPacks: string[];
    dryRun?: boolean;
  }) =>
    r.dryRun
      ? `Dry run, nothing changed: would reclaim ${formatBytes(r.bytesReclaimed)} of packs, removing ${r.chunksRemoved} ${r.chunksRemoved === 1 ? 'chunk' : 'chunks'}` +
        ` and ${r.packsRemoved} ${r.packsRemoved === 1 ? 'pack' : 'packs'}, rewriting ${r.packsRewritten}` +
        r.removedPacks.map((p) => `\n  ${p}`).join('') +
        r.rewrittenPacks.map((p) => `\n  ${p} (rewritten)`).join('')
      : `Reclaimed ${formatBytes(r.bytesReclaimed)}: removed ${r.chunksRemoved} ${r.chunksRemoved === 1 ? 'chunk' : 'chunks'}` +
    ` and ${r.packsRemoved} ${r.packsRemoved === 1 ? 'pack' : 'packs'}, rewrote ${r.packsRewritten}` +
    ` ${r.packsRewritten === 1 ? 'pack' : 'packs'}; the store now holds ${formatBytes(r.storeBytesAfter)}` +
    (r.cacheFilesRemoved > 0 ? `; removed ${r.cacheFilesRemoved} cached ${r.cacheFilesRemoved === 1 ? 'input' : 'inputs'} (${formatBytes(r.cacheBytesRemoved)})` : ''),
  remoteGc: (r: { url: string; listed: string[]; deleted: string[]; kept: string[]; waiting: number }) =>
    [
      r.deleted.length > 0 ? `Deleted ${r.deleted.length} ${r.deleted.length === 1 ? 'pack' : 'packs'} from ${r.url}` : `Deleted nothing from ${r.url}`,
      r.kept.length > 0 ? `; ${r.kept.length} listed ${r.kept.length === 1 ? 'pack is' : 'packs are'} needed again and kept` : '',
      r.listed.length > 0 ? `; listed ${r.listed.length} unneeded ${r.listed.length === 1 ? 'pack' : 'packs'}: a run after the grace period deletes them` : '',
      r.waiting > 0 ? `; ${r.waiting} earlier ${r.waiting === 1 ? 'list waits' : 'lists wait'} for the grace period to pass` : '',
    ].join(''),
} as const;

/** Error messages and hints of the pipeline, job, datum and logs commands. */
export const pipelineMsg = {
  jobFormat: (arg: string) => `invalid format "${arg}": expected pipeline@job-id`,
  jobFormatHint: 'e.g. edges@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a; `tusk list job` shows the ids',
  jobNoPipeline: (arg: string) => `invalid format "${arg}": pipeline must be specified`,
  jobNoPipelineHint: 'put the pipeline name before the @, e.g. edges@<job-id>',
  jobIdAlone: (id: string) => `Use "list job ${id}" to see jobs with a given ID across different pipelines`,
  jobIdAloneHint: (id: string) => `then address one of them as PIPELINE@${id}`,
  jobOrId: (arg: string) => `invalid format "${arg}": expected a job id or pipeline@job-id`,
  jobOrIdHint: 'e.g. b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a or edges@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a',
  jobFilterNotHere: (flag: string, what: string) => `cannot specify '${flag}' when ${what}`,
  jobFilterNotHereHint: 'filters apply to the job rows: add -x (all pipelines) or -p PIPELINE, without a job id',
  unknownJobState: (value: string) => `invalid job state "${value}"`,
  unknownJobStateHint: (states: readonly string[]) => `use one of ${states.map((s) => s.replace(/^JOB_/, '').toLowerCase()).join(', ')} (or the JOB_ names)`,
  badHistory: (value: string) => `invalid history value "${value}"`,
  badHistoryHint: 'use none, all, or a number of pipeline versions back, e.g. --history 2',
  noJobsInSet: (id: string) => `no jobs found for commitset ${id}`,
  noJobsInSetHint: 'run `tusk list job` to see the job ids',
  pipelinesWritten: (verb: string, names: string[]) => `${verb} pipeline${names.length === 1 ? '' : 's'} ${names.join(', ')}`,
  jobsTimeout: (what: string, seconds: number) => `${what} did not finish within ${seconds} seconds`,
  jobsTimeoutHint: 'check `tusk list job`, or wait longer with a larger --timeout',
  commitTimeout: (what: string, seconds: number) => `commit ${what} did not finish within ${seconds} seconds`,
  commitTimeoutHint: 'finish it with `tusk finish commit`, or wait longer',
  datumJobAndSpec: "can't specify both a job and a pipeline spec",
  datumJobAndSpecHint: 'give PIPELINE@JOB to list the datums of a job, or -f SPEC to preview a spec',
  datumNeither: 'must specify either a job or a pipeline spec',
  datumNeitherHint: 'e.g. tusk list datum edges@<job-id>, or tusk list datum -f edges.json',
  logsBoth: 'only one of pipeline or job should be specified',
  logsBothHint: 'a job address already names its pipeline: drop -p',
  logsFollowJson: 'cannot follow logs with --json: a JSON document is only complete once the command ends',
  logsFollowJsonHint: 'use --raw with -f for one JSON object per line, printed as each line is written',
  specUnreadable: (file: string) => `cannot read pipeline spec ${file}`,
  specUnreadableHint: 'give a JSON or YAML file with -f, or - for stdin',
} as const;

/** Messages of the project commands (lock, verify, hooks). */
export const projectMsg = {
  unknownBase: (base: string) => `--base ${base} is neither a lock file nor a git revision`,
  unknownBaseHint: 'give a lock file or a revision such as origin/main; in a shallow CI clone, fetch the base first (git fetch --depth=1 origin main)',
  inputsMismatch: (n: number) => `${n} locked input${n === 1 ? ' does' : 's do'} not match the store`,
  pipelinesFailed: (failed: number, total: number) => `${failed} of ${total} locked pipelines did not reproduce`,
};

/** What the git hooks tell the user (stderr, prefixed `tusk: `). */
export const hookMsg = {
  onlyLockChanged: (lock: string, command: string | undefined) =>
    `only ${lock} changed in git (the data is in git-ignored directories), so git may stop with "nothing to commit": ` +
    `then run ${command ? `\`${command}\`` : 'the same `git commit` command'} again, and it commits the new ${lock}`,
  commitStopped: (what: string) => `commit stopped: pipeline ${what} failed; tusk.lock is unchanged`,
  commitStoppedHint: (pipeline: string) => `see \`tusk logs -p ${pipeline}\`; fix it and commit again, or commit with --no-verify`,
};
