import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { parseJobOrSet } from '../../cli/job-refs.js';
import { InvalidArgumentError } from '../../errors.js';
import { type JobInfo, type JobSetInfo, type JobState, parseCommitRef } from '../../app/api.js';
import { pipelineMsg } from '../../ui/messages.js';
import { jobSetTable, jobTable } from '../../ui/pipeline-views.js';
import type { TimeFormatter } from '../../ui/views.js';

/** Job sets without -p/-x/an id, else jobs. */
export type ListJobResult = JobSetInfo[] | JobInfo[];

const JOB_STATES: readonly JobState[] = ['JOB_CREATED', 'JOB_STARTING', 'JOB_RUNNING', 'JOB_FINISHING', 'JOB_SUCCESS', 'JOB_FAILURE', 'JOB_KILLED', 'JOB_UNRUNNABLE'];

export default class ListJob extends TuskCommand<ListJobResult> {
  static override summary = 'List job sets, the jobs of one set, or the jobs of a pipeline.';
  static override description =
    'With no argument, lists job sets: the jobs that share one id (the commit set of an input change) ' +
    'across pipelines, PROGRESS showing succeeded / running / failed. With a job id, lists the jobs of ' +
    'that set. With -p PIPELINE or -x, lists jobs newest first (PROGRESS is `processed + skipped / ' +
    "total`), from the pipeline's current version unless --history says otherwise.";
  static override examples = [
    '<%= config.bin %> list job',
    '<%= config.bin %> list job b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a',
    '<%= config.bin %> list job -p edges -n 5',
    '<%= config.bin %> list job -p edges --history all',
    '<%= config.bin %> list job -x --state failure --state killed',
    '<%= config.bin %> list job -x -i images@master',
  ];
  static override args = { job: Args.string({ description: 'a job id, or pipeline@job-id' }) };
  static override flags = {
    ...outputFlags,
    pipeline: Flags.string({ char: 'p', description: 'Only the jobs of this pipeline.' }),
    expand: Flags.boolean({ char: 'x', description: 'One row per job instead of one per job set.' }),
    input: Flags.string({ char: 'i', multiple: true, description: 'Only jobs that read this input commit (repo@branch or repo@commit; repeatable: all of them).' }),
    state: Flags.string({ multiple: true, description: 'Only jobs in this state, e.g. running, failure or JOB_SUCCESS (repeatable).' }),
    history: Flags.string({ description: 'Jobs of earlier pipeline versions too: none, all, or how many versions back.', default: 'none' }),
    number: Flags.integer({ char: 'n', description: 'Show at most this many (0 = all).', min: 0, default: 0 }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<ListJobResult> {
    const { args, flags } = await this.parse(ListJob);
    const filters = { '--state': flags.state !== undefined, '--input': flags.input !== undefined, '--history': flags.history !== 'none' };
    const time: TimeFormatter = (t) => this.time(t);

    if (args.job === undefined && flags.pipeline === undefined && !flags.expand) {
      refuse(filters, 'listing all jobs');
      const sets = await (await this.tusk()).pipelines.listJobSets({ number: flags.number });
      this.render(() => jobSetTable(sets, time, this.isTty));
      return sets;
    }
    if (args.job !== undefined) {
      refuse({ ...filters, '--pipeline': flags.pipeline !== undefined }, 'listing sub-jobs');
      const ref = parseJobOrSet(args.job);
      const jobs = await (await this.tusk()).pipelines.listJobs({ pipeline: ref.pipeline, id: ref.id, number: flags.number });
      this.render(() => jobTable(jobs, time));
      return jobs;
    }
    const jobs = await (await this.tusk()).pipelines.listJobs({
      pipeline: flags.pipeline,
      states: flags.state?.map(parseJobState),
      inputs: flags.input?.map(parseCommitRef),
      history: parseHistory(flags.history),
      number: flags.number,
    });
    this.render(() => jobTable(jobs, time));
    return jobs;
  }
}

/** pachctl refuses filters where they mean nothing, rather than ignoring them. */
function refuse(given: Record<string, boolean>, what: string): void {
  const flag = Object.keys(given).find((f) => given[f]);
  if (flag) throw new InvalidArgumentError(pipelineMsg.jobFilterNotHere(flag, what), pipelineMsg.jobFilterNotHereHint);
}

/** `running`, `JOB_RUNNING`, any case. */
function parseJobState(value: string): JobState {
  const upper = value.toUpperCase();
  const state = JOB_STATES.find((s) => s === upper || s === `JOB_${upper}`);
  if (!state) throw new InvalidArgumentError(pipelineMsg.unknownJobState(value), pipelineMsg.unknownJobStateHint(JOB_STATES));
  return state;
}

/** none → 0 (the current version), all → -1, N → N versions back. */
function parseHistory(value: string): number {
  if (value === 'none') return 0;
  if (value === 'all') return -1;
  if (/^\d+$/.test(value)) return Number(value);
  throw new InvalidArgumentError(pipelineMsg.badHistory(value), pipelineMsg.badHistoryHint);
}
