// Datum results waiting to be written, in batches.
import type { StoreHandle } from '../store/store-handle.js';

export type DatumResultRow = Parameters<StoreHandle['jobs']['finishDatum']>[0];

/** Rows written in one transaction at most; a batch is also written once it is this old (ms). */
const BATCH_ROWS = 256;
const BATCH_AGE_MS = 100;

/**
 * Datum results waiting to be written: one transaction per batch rather than per datum (a
 * write transaction costs more than running a small command). A crash loses at most the batch:
 * those datums are still `running` under this runner's lease and are retaken when it expires.
 */
export class ResultBatch {
  private rows: DatumResultRow[] = [];
  private since = Date.now();
  constructor(private readonly s: StoreHandle) {}

  add(row: DatumResultRow): void {
    this.rows.push(row);
    if (this.rows.length >= BATCH_ROWS || Date.now() - this.since >= BATCH_AGE_MS) this.flush();
  }
  /** Write the pending rows in the caller's transaction. */
  writeInto(): void {
    for (const r of this.rows) this.s.jobs.finishDatum(r);
    this.rows = [];
    this.since = Date.now();
  }
  flush(): void {
    if (this.rows.length > 0) this.s.unitOfWork(() => this.writeInto());
  }
}
