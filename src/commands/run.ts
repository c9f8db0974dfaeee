import { Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { MAX_PARALLELISM, type JobInfo } from '../app/api.js';
import { jobProgress, jobStateCell } from '../ui/pipeline-views.js';

/** The jobs that ended while the command ran (none for --daemon). */
export type RunResult = JobInfo[];

export default class Run extends TuskCommand<RunResult> {
  static override summary = 'Run every pending job here, then exit.';
  static override description =
    'Runs the jobs that can run (downstream ones as their inputs finish) until none is left that can make ' +
    'progress, printing one line per job that ended. Meant for CI and scripts; writes normally start a ' +
    'background runner instead (TUSK_RUNNER=foreground makes every write run its jobs itself).';
  static override examples = ['<%= config.bin %> run', '<%= config.bin %> run --json'];
  static override flags = {
    parallelism: Flags.integer({ description: `Run at most this many datums at once (default: per pipeline; at most ${MAX_PARALLELISM}).`, min: 1, max: MAX_PARALLELISM }),
    daemon: Flags.boolean({ hidden: true, description: 'Be the background runner: run jobs until idle for a while.' }),
  };

  async run(): Promise<RunResult> {
    const { flags } = await this.parse(Run);
    const pipelines = (await this.tusk()).pipelines;
    if (flags.daemon) {
      const idle = Number(process.env.TUSK_RUNNER_IDLE_MS);
      await pipelines.runDaemon({ idleMs: Number.isFinite(idle) && idle > 0 ? idle : undefined });
      return [];
    }
    const ended = await pipelines.runHere({ parallelism: flags.parallelism });
    this.render(() => ended.map((j) => `${j.pipeline}@${j.id} ${jobStateCell(j)} (${jobProgress(j)})\n`).join(''));
    return ended;
  }
}
