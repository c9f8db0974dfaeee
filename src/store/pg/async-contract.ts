// The metadata store as a network database offers it. The four contracts (CommitGraph,
// ChunkIndex, JobRecords, RemoteChunkIndex) answer asynchronously in themselves, so a unit of
// work here sees what one on SQLite sees: the store core's UnitTx.
import type { UnitTx } from '../store-core.js';

/** The contracts as one unit of work sees them: every call goes to the same transaction. */
export type AsyncMetadata = UnitTx;

/** The metadata store: contracts outside a unit read the last committed state; `unitOfWork` groups writes. */
export interface AsyncMetadataStore extends AsyncMetadata {
  /**
   * Run `fn` as one unit of work: all its writes land, or none. The body may run more than once
   * (a serialization conflict with a concurrent unit retries it), so it must not have effects
   * outside the store other than ones safe to repeat.
   */
  unitOfWork<T>(fn: (tx: AsyncMetadata) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
