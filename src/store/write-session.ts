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

  private constructor(
    private readonly s: StoreCore,
    readonly id: string,
  ) {
    this.writer = new PackWriter(s.index, s.packs, id);
  }

  /** Step 1: a session registered as a writer. */
  static async start(s: StoreCore, id: string = randomBytes(16).toString('hex')): Promise<WriteSession> {
    await s.index.addWriter(id);
    return new WriteSession(s, id);
  }

  /** Step 3, where packs may be objects: upload, then fsync. */
  async makeDurable(): Promise<void> {
    await this.writer.publish();
    await this.writer.sync();
  }

  /** Step 4, inside the unit of work, last: the session's chunks are now referenced or recorded, and gc may sweep again. */
  async end(): Promise<void> {
    await this.s.index.removeWriter(this.id);
  }

  /** Step 5, in a `finally`: `failed` unless the unit of work that ended the session returned. */
  async close(failed: boolean): Promise<void> {
    await this.writer.close(failed);
    if (!failed) return;
    try {
      await this.s.index.removeWriter(this.id);
    } catch {
      // the session row is cleaned up by the next liveness check
    }
  }
}
