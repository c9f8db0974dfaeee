import { Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { parseJobRef } from '../cli/job-refs.js';
import { InvalidArgumentError } from '../errors.js';
import { parseInputTerms, type LogFilter, type LogLine } from '../app/api.js';
import { pipelineMsg } from '../ui/messages.js';
import { logJsonLines, logLineStream, logMessages } from '../ui/pipeline-views.js';

/** The `--json` payload (not with --follow): one array, printed as the lines are read (see TuskCommand.streamRows). */
export type LogsResult = LogLine[];

export default class Logs extends TuskCommand<void> {
  static override summary = 'Print the logs of user code (and, with --system, of the runner).';
  static override description =
    'By default prints the message of each stdout/stderr line the user code wrote, oldest first. --system adds ' +
    "the runner's lines (`beginning to run user code`, retries, timeouts); --raw prints one JSON object per line. " +
    '--inputs keeps the lines of datums whose input files match every given path or content hash. ' +
    '-f keeps printing lines as they are written, including those of jobs that start meanwhile: with -j it ' +
    'exits once the job has ended and its log is drained, otherwise it runs until interrupted (Ctrl-C, status 0).';
  static override examples = [
    '<%= config.bin %> logs -p edges',
    '<%= config.bin %> logs -j edges@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a --datum 5c0f2a',
    '<%= config.bin %> logs -p edges --inputs /liberty.png',
    '<%= config.bin %> logs -j edges@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a -f',
    '<%= config.bin %> logs -p edges --system --raw -f',
  ];
  static override flags = {
    pipeline: Flags.string({ char: 'p', description: 'Only the logs of this pipeline.' }),
    job: Flags.string({ char: 'j', description: 'Only the logs of this job (pipeline@job-id).' }),
    datum: Flags.string({ description: 'Only the logs of this datum (id or prefix).' }),
    inputs: Flags.string({
      description: 'Only the logs of datums whose input files match all of these comma-separated paths (/dir/file) or hex content hashes.',
    }),
    follow: Flags.boolean({ char: 'f', description: 'Keep printing new lines as they are written (with -j: until the job has ended).' }),
    system: Flags.boolean({ description: "Include the runner's own lines." }),
    raw: Flags.boolean({ description: 'One JSON object per line (pipeline_name, job_id, datum_id, user, ts, message).' }),
  };
  static override storeAccess = 'read' as const;

  // --raw here means JSON lines, not the --json document other commands print for it
  override jsonEnabled(): boolean {
    const end = this.argv.indexOf('--');
    return (end < 0 ? this.argv : this.argv.slice(0, end)).includes('--json');
  }

  // Nothing is returned: the lines, JSON included, are written as they are read.
  async run(): Promise<void> {
    const { flags } = await this.parse(Logs);
    if (flags.pipeline !== undefined && flags.job !== undefined) throw new InvalidArgumentError(pipelineMsg.logsBoth, pipelineMsg.logsBothHint);
    if (flags.follow && this.jsonEnabled()) throw new InvalidArgumentError(pipelineMsg.logsFollowJson, pipelineMsg.logsFollowJsonHint);
    const job = flags.job === undefined ? undefined : parseJobRef(flags.job);
    const filter: LogFilter = {
      pipeline: job?.pipeline ?? flags.pipeline,
      job: job?.id,
      datum: flags.datum,
      includeSystem: flags.system,
      inputs: flags.inputs === undefined ? undefined : parseInputTerms(flags.inputs),
    };
    const pipelines = (await this.tusk()).pipelines;
    if (!flags.follow) return this.streamRows(pipelines.logBatches(filter), logLineStream(flags.raw));
    await pipelines.followLogs(filter, {
      signal: this.untilInterrupted(),
      onLines: (lines) => this.render(() => (flags.raw ? logJsonLines(lines) : logMessages(lines))),
    });
  }
}
