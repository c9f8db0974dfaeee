// The metadata contracts as a network database implements them. JobRecords, CommitGraph and
// ChunkIndex are asynchronous in themselves; RemoteChunkIndex is still synchronous, so its
// asynchronous form is derived here: a method added there is required here too; streams become
// AsyncIterable, every other result a Promise.
import type { ChunkIndex } from '../chunk-index.js';
import type { CommitGraph } from '../commit-graph.js';
import type { JobRecords } from '../job-records.js';
import type { RemoteChunkIndex } from '../remote-chunks.js';

// [R] in brackets: a union result (`T | undefined`) stays one Promise, not a union of Promises
// a method that already answers asynchronously keeps its answer
type AsyncResult<R> = [R] extends [Promise<unknown>]
  ? R
  : [R] extends [AsyncIterable<unknown>]
    ? R
    : [R] extends [IterableIterator<infer Y>]
      ? AsyncIterable<Y>
      : Promise<R>;

/** Each method of T with the same arguments, answering asynchronously. */
export type Async<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => AsyncResult<R> : never;
};

export type AsyncRemoteChunkIndex = Async<RemoteChunkIndex>;

/** The contracts as one unit of work sees them: every call goes to the same transaction. */
export interface AsyncMetadata {
  readonly graph: CommitGraph;
  readonly index: ChunkIndex;
  readonly jobs: JobRecords;
  readonly remoteChunks: AsyncRemoteChunkIndex;
}

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
