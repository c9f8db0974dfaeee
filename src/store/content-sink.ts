// The two shapes content-io.ts and parallel-content.ts share: where one file's bytes are sent,
// and what a read error names. Both modules use them, neither owns them.
import type { ContentRecord } from './chunk-index.js';

/** Where ingest code sends one file's bytes: ContentWriter, or ParallelContentWriter for big files. */
export interface ContentSink {
  /**
   * A buffer for the next at most `size` bytes: fill it (or a prefix of it), then push() it.
   * May wait for the chunks of earlier blocks to be stored, so that their buffers come back.
   */
  buffer(size: number): Promise<Buffer>;
  /**
   * Feed bytes. The buffer must not be used by the caller afterwards: chunks may view it, and a
   * buffer from buffer() may be transferred to the worker (it then reads as empty here). Settles
   * once the chunks it completed are stored or queued within the pack writer's batch.
   */
  push(block: Buffer): Promise<void>;
  finish(): Promise<ContentRecord>;
  /** Give up on this file after an error, releasing what the writer holds. */
  abort(): void;
}

/** What a read error should name: the user sees repo, commit and path, not chunk ids. */
export interface ReadContext {
  describe(): string;
}
