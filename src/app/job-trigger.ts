// When writes start jobs. Every write that can feed a pipeline (a finished commit, a moved head, a
// new or restarted pipeline) ends by calling `afterWrite` here, inside the service that made it,
// so no caller has to remember to. A caller that makes several writes as one step (`tusk lock`)
// holds the trigger for the step and runs the jobs once at its end.
import { afterWrite, runUntil } from '../pipeline/runner.js';
import type { StoreHandle } from '../store/store-handle.js';

/** What a write asks of the jobs it started. */
export interface RunJobs {
  /** run them here and return when every job of `commitSet` has ended; a failed one throws JobFailedError */
  wait?: boolean;
  /** the commit set(s) the write created */
  commitSet?: string | readonly string[];
  /** what did succeed, named by the JobFailedError when a job of the set failed */
  written?: string;
}

export class JobTrigger {
  private held = 0;

  constructor(private readonly core: StoreHandle) {}

  /** After a write: start (or, with `wait`, run here) the jobs it created, unless a batch holds them. */
  async afterWrite(opts: RunJobs = {}): Promise<void> {
    if (this.held > 0) return;
    await afterWrite(this.core, opts);
  }

  /**
   * Run `fn` with the trigger held, then start the jobs its writes created once: run here until
   * `until()` holds when it is given, else as `afterWrite` does. When `fn` throws, nothing starts.
   */
  async batch<T>(fn: () => Promise<T>, opts: { until?: () => Promise<boolean> } = {}): Promise<T> {
    this.held++;
    let result: T;
    try {
      result = await fn();
    } finally {
      this.held--;
    }
    if (this.held === 0) {
      if (opts.until) await runUntil(this.core, opts.until);
      else await afterWrite(this.core);
    }
    return result;
  }
}
