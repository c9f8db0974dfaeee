// Datum results waiting to be written, in batches, with the rows of the attempts that made them.
import type { DatumAttempt } from '../store/job-records.js';
import type { StoreHandle } from '../store/store-handle.js';

type JobRecords = StoreHandle['jobs'];
/** A datum's result, as its runner records it. */
export type DatumResult = Parameters<JobRecords['finishDatums']>[0][number];

/** Rows taken from a batch, to be written together. */
export interface PendingRows {
  results: DatumResult[];
  attempts: DatumAttempt[];
}

/**
 * Rows written in one transaction at most; a batch is also written once its oldest row is this
 * old (ms). Big batches matter: attempt rows are keyed by datum id (a hash), so a write of n of
 * them rewrites about n pages of their table (up to all of it), few rows or many per page.
 */
const BATCH_ROWS = 1024;
const BATCH_AGE_MS = 1000;

/**
 * Datum results waiting to be written: one write per batch rather than per datum (a write
 * transaction costs more than running a small command). A crash loses at most the batch: those
 * datums are still `running` under this runner's lease and are retaken when it expires.
 */
export class ResultBatch {
  private rows: DatumResult[] = [];
  private attempts: DatumAttempt[] = [];
  // when the oldest pending row came (every result comes with an attempt row)
  private since = 0;
  constructor(private readonly s: StoreHandle) {}

  /** A datum's result and the attempt that ended with it (or an attempt alone: a retry, a datum given back). */
  async add(row: DatumResult | undefined, attempt: DatumAttempt): Promise<void> {
    if (this.attempts.length === 0) this.since = Date.now();
    if (row) this.rows.push(row);
    this.attempts.push(attempt);
    await this.flushIfDue();
  }

  /** The datums whose results wait to be written (still `running` in the store, under this runner's lease). */
  pendingIds(): string[] {
    return this.rows.map((r) => r.id);
  }

  /** Write the pending rows if there are enough of them, or the oldest has waited long enough. */
  async flushIfDue(): Promise<void> {
    if (this.attempts.length === 0) return;
    if (this.rows.length + this.attempts.length >= BATCH_ROWS || Date.now() - this.since >= BATCH_AGE_MS) await this.flush();
  }

  /**
   * Take the pending rows, to be written with `jobs` in the caller's unit of work. Taken before
   * the unit, not in it: a unit's body may run again, and must find the same rows each time.
   */
  take(): PendingRows {
    const taken = { results: this.rows, attempts: this.attempts };
    this.rows = [];
    this.attempts = [];
    return taken;
  }

  /** Write rows taken with take() in the caller's unit; if that unit fails they are pending again. */
  static async writeInto(jobs: JobRecords, rows: PendingRows): Promise<void> {
    if (rows.results.length > 0) await jobs.finishDatums(rows.results);
    if (rows.attempts.length > 0) await jobs.finishAttempts(rows.attempts);
  }

  /** Give rows back after the unit that was to write them failed. */
  putBack(rows: PendingRows): void {
    if (this.attempts.length === 0) this.since = Date.now();
    this.rows.unshift(...rows.results);
    this.attempts.unshift(...rows.attempts);
  }

  /** Write the pending rows now (one unit of work). */
  async flush(): Promise<void> {
    const rows = this.take();
    if (rows.results.length === 0 && rows.attempts.length === 0) return;
    try {
      await this.s.unitOfWork((tx) => ResultBatch.writeInto(tx.jobs, rows));
    } catch (err) {
      this.putBack(rows);
      throw err;
    }
  }
}
