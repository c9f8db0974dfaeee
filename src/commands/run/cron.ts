import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import type { CronTick, JobInfo } from '../../app/api.js';
import { jobProgress, jobStateCell } from '../../ui/pipeline-views.js';

/** The tick written, and the job it created (null when the pipeline is stopped). */
export type RunCronResult = Omit<CronTick, 'job'> & { job: JobInfo | null };

export default class RunCron extends TuskCommand<RunCronResult> {
  static override summary = 'Trigger one cron tick now.';
  static override description =
    "Writes a tick file named after the current time (RFC 3339, UTC) into the repo of each of the pipeline's " +
    'cron inputs, as one commit set, which creates a job as any commit to an input does. The schedule goes ' +
    'on from this tick. The job runs in the background, or here with --wait or TUSK_RUNNER=foreground.';
  static override examples = ['<%= config.bin %> run cron scrape', '<%= config.bin %> run cron scrape --wait --json'];
  static override args = { pipeline: Args.string({ required: true, description: 'pipeline name' }) };
  static override flags = {
    wait: Flags.boolean({ description: 'Run the new job here and return when it has ended; exit 7 if it failed.' }),
  };

  async run(): Promise<RunCronResult> {
    const { args, flags } = await this.parse(RunCron);
    const tick = await (await this.tusk()).pipelines.runCron(args.pipeline, { wait: flags.wait });
    const job = tick.job;
    this.render(() =>
      tick.commits.map((c) => `${c.repo}@${c.commit}:${c.path}\n`).join('') + (job ? `${job.pipeline}@${job.id} ${jobStateCell(job)} (${jobProgress(job)})` : `${tick.pipeline} is stopped: no job`),
    );
    return tick;
  }
}
