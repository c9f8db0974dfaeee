// Writing a pack where packs are immutable objects (a bucket): the records are gathered in
// memory — at most one pack's target size, PACK_TARGET_BYTES — and uploaded whole by publish(),
// which the pack writer starts as soon as the pack is full and waits for before the metadata
// transaction that references it. Such a pack is never appended to again.
import { IoError } from '../errors.js';
import type { PackAppender, Packs } from './packs.js';

export class ObjectPackAppender implements PackAppender {
  private parts: Uint8Array[] = [];
  /** true once the upload has started: the object holds what was appended before */
  private sealed = false;
  private upload: Promise<void> | null = null;
  private uploaded = false;
  private failed: unknown = null;
  length = 0;

  constructor(
    private readonly packs: Packs,
    readonly name: string,
    header?: Uint8Array,
  ) {
    if (header) this.append([header]);
  }

  append(parts: readonly Uint8Array[]): number {
    if (this.sealed) throw new IoError(`pack ${this.name} was uploaded and is immutable: nothing more can be appended to it`);
    if (this.failed) throw new IoError(`pack ${this.name} is unusable after an earlier upload error`, undefined, { cause: this.failed });
    const at = this.length;
    for (const p of parts) {
      // copied: the caller may reuse its buffers once append returns, as with a file write
      this.parts.push(Uint8Array.prototype.slice.call(p));
      this.length += p.length;
    }
    return at;
  }

  flushAhead(): void {}

  /** Upload once; a second call waits for the first upload. */
  publish(): Promise<void> {
    this.upload ??= this.put();
    return this.upload;
  }

  private async put(): Promise<void> {
    this.sealed = true;
    const body = Buffer.concat(this.parts);
    this.parts = [];
    try {
      await this.packs.put(this.name, body);
    } catch (err) {
      this.failed = err;
      throw err;
    }
    this.uploaded = true;
  }

  sync(): void {
    // the metadata may reference these bytes only once the object is durable in the backend
    if (!this.uploaded) throw new IoError(`pack ${this.name} has not been uploaded`, "this write path needs the store's packs on a local disk");
  }

  close(): void {
    this.parts = [];
  }
}
