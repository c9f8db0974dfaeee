// The write protocol every write into the store follows, in one place:
//   1. register the session as a writer: from then on gc does not sweep, so a chunk the session
//      decides to reuse cannot be deleted under it;
//   2. write chunks to packs (PackWriter);
//   3. make them durable — upload where packs are objects, fsync where they are files — before
//   4. one unit of work records the chunk rows with what uses them and ends the session;
//   5. on any failure, release the session's pack leases and its writer row.
import { randomBytes } from 'node:crypto';
import { PackWriter } from './pack-writer.js';
import type { StoreCore } from './store-core.js';

export class WriteSession {
  readonly writer: PackWriter;

  constructor(
    private readonly s: StoreCore,
    readonly id: string = randomBytes(16).toString('hex'),
  ) {
    s.index.addWriter(id);
    this.writer = new PackWriter(s.index, s.packs, id);
  }

  /** Step 3, where packs may be objects: upload, then fsync. */
  async makeDurable(): Promise<void> {
    await this.writer.publish();
    this.writer.sync();
  }

  /** Step 3 for a synchronous caller: packs must be local (an object upload is refused by sync()). */
  makeDurableSync(): void {
    this.writer.sync();
  }

  /** Step 4, inside the unit of work, last: the session's chunks are now referenced or recorded, and gc may sweep again. */
  end(): void {
    this.s.index.removeWriter(this.id);
  }

  /** Step 5, in a `finally`: `failed` unless the unit of work that ended the session returned. */
  close(failed: boolean): void {
    this.writer.close(failed);
    if (!failed) return;
    try {
      this.s.index.removeWriter(this.id);
    } catch {
      // the session row is cleaned up by the next liveness check
    }
  }
}
