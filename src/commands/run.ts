import { Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { listJobs, type JobInfo } from '../pipeline/pipeline-service.js';
import { runDaemon, runForeground } from '../pipeline/runner.js';
import { MAX_PARALLELISM } from '../pipeline/spec.js';
import { TERMINAL_JOB_STATES } from '../store/job-records.js';
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
    const core = this.store().core;
    if (flags.daemon) {
      const idle = Number(process.env.TUSK_RUNNER_IDLE_MS);
      await runDaemon(core, { idleMs: Number.isFinite(idle) && idle > 0 ? idle : undefined });
      return [];
    }
    const started = Date.now();
    const before = new Set(listJobs(core).filter((j) => !isEnded(j)).map((j) => `${j.pipeline}@${j.id}`));
    await runForeground(core, { parallelism: flags.parallelism });
    const ended = listJobs(core)
      .filter((j) => isEnded(j) && (before.has(`${j.pipeline}@${j.id}`) || Date.parse(j.created) >= started))
      .reverse();
    this.render(() => ended.map((j) => `${j.pipeline}@${j.id} ${jobStateCell(j)} (${jobProgress(j)})\n`).join(''));
    return ended;
  }
}

function isEnded(j: JobInfo): boolean {
  return (TERMINAL_JOB_STATES as readonly string[]).includes(j.state);
}
