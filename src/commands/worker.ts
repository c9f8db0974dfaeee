import { Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { InvalidArgumentError } from '../errors.js';
import { BUSY_WAIT_MS, MAX_PARALLELISM, type WorkerDatumEvent, type WorkerSummary } from '../app/api.js';
import { workerDatumLine } from '../ui/pipeline-views.js';

/** What the worker did, printed when it ends. */
export type WorkerResult = WorkerSummary;

export default class Worker extends TuskCommand<WorkerResult> {
  static override summary = "Run datums of the store's open jobs, beside other workers and runners, until stopped.";
  static override description =
    'Joins every open job of the store (TUSK_STORE or the nearest .tusk) and runs its datums as a job run here ' +
    'would: the same transforms, retries and timeouts. Any number of workers, on one machine or many, share the ' +
    'jobs with each other and with `tusk run`; whoever records the last datum of a job ends it. One line per ' +
    'datum goes to stderr (a JSON object per line with --json). SIGTERM or SIGINT gives the datums the worker ' +
    'holds back to the queue and exits 0. A worker whose store is deleted or stops answering exits 1 (E_STORE_LOST); ' +
    'one whose store is busy (another process holding its write lock) waits for it, and exits 6 (E_LOCKED) if it stays busy past --busy-wait.';
  static override examples = ['<%= config.bin %> worker', '<%= config.bin %> worker --concurrency 4 --exit-when-idle 60', '<%= config.bin %> worker --json'];
  static override flags = {
    concurrency: Flags.integer({ description: `Run at most this many datums at once (default: each pipeline's parallelism; at most ${MAX_PARALLELISM}).`, min: 1, max: MAX_PARALLELISM }),
    'exit-when-idle': Flags.string({ description: 'Exit (status 0) after this many seconds with no datum left to run in any job.' }),
    'busy-wait': Flags.string({ description: `Wait this many seconds for a busy store before exiting with E_LOCKED (default ${BUSY_WAIT_MS / 1000}).` }),
  };

  async run(): Promise<WorkerResult> {
    const { flags } = await this.parse(Worker);
    const idle = flags['exit-when-idle'] === undefined ? undefined : parseSeconds('--exit-when-idle', flags['exit-when-idle']);
    const busyWait = flags['busy-wait'] === undefined ? undefined : parseSeconds('--busy-wait', flags['busy-wait']);
    const json = this.jsonEnabled();
    const line = (e: WorkerDatumEvent) => process.stderr.write(json ? JSON.stringify(e) + '\n' : workerDatumLine(e));
    const summary = await (await this.tusk()).pipelines.runWorker({
      concurrency: flags.concurrency,
      exitWhenIdleMs: idle === undefined ? undefined : idle * 1000,
      busyWaitMs: busyWait === undefined ? undefined : busyWait * 1000,
      stop: this.untilInterrupted(),
      onStart: (worker) => process.stderr.write(json ? JSON.stringify({ time: new Date().toISOString(), worker, event: 'started' }) + '\n' : `worker ${worker} started\n`),
      onDatum: line,
      onBusy: (worker, waitMs) =>
        process.stderr.write(json ? JSON.stringify({ time: new Date().toISOString(), worker, event: 'busy', waitMs }) + '\n' : `worker ${worker}: the store is busy (another process holds its write lock); waiting up to ${waitMs / 1000} s\n`),
    });
    this.render(() => `worker ${summary.worker} ${summary.ended}: ${summary.datums} datums (${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.returned} given back)`);
    return summary;
  }
}

function parseSeconds(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag}: expected a number of seconds, got ${JSON.stringify(raw)}`, `e.g. ${flag} 60`);
  return n;
}
