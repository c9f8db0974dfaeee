// Datum results waiting to be written, in batches.
import type { StoreHandle } from '../store/store-handle.js';

type JobRecords = StoreHandle['jobs'];
/** A datum's result, as its runner records it. */
export type DatumResult = Parameters<JobRecords['finishDatums']>[0][number];

/** Rows written in one transaction at most; a batch is also written once it is this old (ms). */
const BATCH_ROWS = 256;
const BATCH_AGE_MS = 100;

/**
 * Datum results waiting to be written: one write per batch rather than per datum (a write
 * transaction costs more than running a small command). A crash loses at most the batch: those
 * datums are still `running` under this runner's lease and are retaken when it expires.
 */
export class ResultBatch {
  private rows: DatumResult[] = [];
  private since = Date.now();
  constructor(private readonly s: StoreHandle) {}

  async add(row: DatumResult): Promise<void> {
    this.rows.push(row);
    if (this.rows.length >= BATCH_ROWS || Date.now() - this.since >= BATCH_AGE_MS) await this.flush();
  }

  /**
   * Take the pending rows, to be written with `jobs` in the caller's unit of work. Taken before
   * the unit, not in it: a unit's body may run again, and must find the same rows each time.
   */
  take(): DatumResult[] {
    const rows = this.rows;
    this.rows = [];
    this.since = Date.now();
    return rows;
  }

  /** Write rows taken with take() in the caller's unit; if that unit fails they are pending again. */
  static writeInto(jobs: JobRecords, rows: readonly DatumResult[]): Promise<void> {
    return rows.length > 0 ? jobs.finishDatums(rows) : Promise.resolve();
  }

  /** Give rows back after the unit that was to write them failed. */
  putBack(rows: readonly DatumResult[]): void {
    this.rows.unshift(...rows);
  }

  /** Write the pending rows now (one batch write, its own unit). */
  async flush(): Promise<void> {
    const rows = this.take();
    if (rows.length === 0) return;
    try {
      await this.s.jobs.finishDatums(rows);
    } catch (err) {
      this.putBack(rows);
      throw err;
    }
  }
}
