// Writing a pack where packs are immutable objects (a bucket): the records are gathered in
// memory — at most one pack's target size, PACK_TARGET_BYTES — and uploaded whole by publish()
// before the metadata transaction that references them. Such a pack is never appended to again.
import { IoError } from '../errors.js';
import type { PackAppender, Packs } from './packs.js';

export class ObjectPackAppender implements PackAppender {
  private parts: Uint8Array[] = [];
  private published = false;
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
    if (this.published) throw new IoError(`pack ${this.name} was uploaded and is immutable: nothing more can be appended to it`);
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

  async publish(): Promise<void> {
    if (this.published) return;
    try {
      await this.packs.put(this.name, Buffer.concat(this.parts));
    } catch (err) {
      this.failed = err;
      throw err;
    }
    this.published = true;
    this.parts = [];
  }

  sync(): void {
    // the metadata may reference these bytes only once the object is durable in the backend
    if (!this.published) throw new IoError(`pack ${this.name} has not been uploaded`, 'this write path needs the store\'s packs on a local disk');
  }

  close(): void {
    this.parts = [];
  }
}
