// Job logs: what runners append to a job's log and what `tusk logs` reads back. A local store keeps
// them in files of its directory (job-log-files.ts); a team store in rows of its database
// (pg/job-logs.ts), so that every machine reads the lines any machine's workers wrote. The
// pipeline layer sees only this contract.

/** One line of a job's log as stored: when, which datum, which stream, what. */
export interface StoredLogLine {
  ts: string;
  datum: string;
  stream: 'stdout' | 'stderr' | 'system';
  message: string;
}

/** One job's log, read forward from where the last read stopped. */
export interface LogCursor {
  /**
   * The next page of lines appended since the last read, in the order they were written (at most
   * a page: memory never holds a whole log); `more` when more is there already. A job that has
   * logged nothing yet reads as empty.
   */
  read(): Promise<{ lines: StoredLogLine[]; more: boolean }>;
  /** Give back what the cursor holds open; a later read goes on where this one stopped. */
  close(): void;
}

/** A runner's lines for one job, written in batches. */
export interface LogAppender {
  /** Keep a line for the next batch; never blocks and never throws (a failed write shows at close). */
  append(line: StoredLogLine): void;
  /** Write what is kept and stop; resolves once every batch is written, rejects with the first write that failed. */
  close(): Promise<void>;
}

/** Where a store keeps its job logs. */
export interface JobLogs {
  /**
   * Start appending to a job's log. Lines are written in batches (one write each: a file append,
   * one INSERT), at BATCH_BYTES or every BATCH_MS, so `logs -f` sees them at most that late; a
   * store that notifies wakes followers with each batch.
   */
  appender(pipeline: string, job: string): LogAppender;
  /** Read a job's log from its first line. */
  cursor(pipeline: string, job: string): LogCursor;
  /**
   * After a pipeline's records were deleted: remove its logs where they are kept apart from the
   * records (a local store's files). Where they are rows of the records' database, they were
   * deleted with the records, in the same unit.
   */
  removePipeline(pipeline: string): Promise<void>;
}

/** How late a batch of lines is written at most. */
export const BATCH_MS = 200;
/** A batch is written at once when it holds this many bytes of messages. */
export const BATCH_BYTES = 64 * 1024;

/**
 * Batching shared by the stores: lines are kept until BATCH_BYTES or BATCH_MS, then handed to
 * `write`. One write is in flight at a time, so batches land in the order they were made; lines
 * that come meanwhile go into the next batch.
 */
export function batchedAppender(write: (lines: StoredLogLine[]) => Promise<void>): LogAppender {
  let pending: StoredLogLine[] = [];
  let bytes = 0;
  let inFlight: Promise<void> | undefined;
  let failure: unknown;
  const flush = (): void => {
    if (inFlight || pending.length === 0 || failure !== undefined) return;
    const batch = pending;
    pending = [];
    bytes = 0;
    inFlight = write(batch).then(
      () => {
        inFlight = undefined;
        // what came while this batch was written goes now if it is already due
        if (bytes >= BATCH_BYTES) flush();
      },
      (err: unknown) => {
        inFlight = undefined;
        failure ??= err;
      },
    );
  };
  const timer = setInterval(flush, BATCH_MS);
  timer.unref();
  return {
    append(line) {
      pending.push(line);
      bytes += line.message.length + 64;
      if (bytes >= BATCH_BYTES) flush();
    },
    async close() {
      clearInterval(timer);
      while (inFlight) await inFlight;
      flush();
      while (inFlight) await inFlight;
      if (failure !== undefined) throw failure;
    },
  };
}
