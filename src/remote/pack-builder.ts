// Builds remote packs from chunk records: records are copied into a buffer in tusk's pack format
// until it passes the target size, then the pack is uploaded, and after it its index object.
// A reader trusts only indexed packs, so a pack cut short by a crash is never used (gc reclaims
// it), and an interrupted push resumes by sending only chunks no index names yet.
import { createHash, randomBytes } from 'node:crypto';
import { recordBases } from '../store/store.js';
import { encodeIndex, indexKey, packKey, type IndexEntry } from './layout.js';
import type { ObjectStore } from './object-store.js';
import type { RemoteIndex } from './remote-index.js';

const PACK_MAGIC = Buffer.from('TUSKPK01', 'latin1');

/**
 * Remote pack size. 32 MiB: one PUT and one ranged GET per pack, where smaller packs cost
 * proportionally more requests and bigger ones pass the single-PUT limit (multipart uploads,
 * slower and more requests); a crash costs at most the packs in flight, and a pull of a few
 * files reads ranges, not whole packs (docs/remotes.md, "Why 32 MiB packs", has the comparison).
 * TUSK_REMOTE_PACK_MIB overrides it (tests use small packs to cut a push short).
 */
export function packTargetBytes(): number {
  const mib = Number(process.env.TUSK_REMOTE_PACK_MIB);
  return (Number.isFinite(mib) && mib > 0 ? mib : 32) * (1 << 20);
}

/** Uploads in flight at once: one pack fills while the others go out. Memory: (IN_FLIGHT + 1) packs. */
const IN_FLIGHT = 2;

export class PackBuilder {
  private buf: Buffer | null = null;
  private length = 0;
  private hash = createHash('sha256');
  private entries: IndexEntry[] = [];
  private readonly uploads: Promise<void>[] = [];
  packs = 0;
  chunks = 0;
  bytes = 0;

  constructor(
    private readonly os: ObjectStore,
    private readonly index: RemoteIndex,
    private readonly onBytes: (n: number) => void,
    private readonly target = packTargetBytes(),
  ) {}

  async add(id: Buffer, record: Buffer): Promise<void> {
    if (!this.buf) this.open();
    if (this.length + record.length > this.buf!.length) {
      // a record bigger than the room left (only with a tiny target): grow once
      const bigger = Buffer.allocUnsafe(this.length + record.length);
      this.buf!.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.entries.push({ id: Buffer.from(id), offset: this.length, length: record.length, bases: recordBases(record) });
    this.append(record);
    this.chunks++;
    if (this.length >= this.target) await this.seal();
  }

  private open(): void {
    // room for the target plus one largest record (512 KiB chunk + header), so a pack is one buffer
    this.buf = Buffer.allocUnsafe(this.target + (1 << 20));
    this.length = 0;
    this.hash = createHash('sha256');
    this.entries = [];
    this.append(PACK_MAGIC);
  }

  private append(b: Buffer): void {
    b.copy(this.buf!, this.length);
    this.hash.update(b);
    this.length += b.length;
  }

  private async seal(): Promise<void> {
    let sha = this.hash.digest('hex');
    if (this.index.isDoomed(sha)) {
      // the same chunks in the same order as a pack a gc run listed: the same name, which that
      // gc would delete under this push. Random bytes after the last record (no reader reads
      // past the records its index names) make it a new object.
      const tail = randomBytes(32);
      const hash = createHash('sha256').update(this.buf!.subarray(0, this.length)).update(tail);
      if (this.length + tail.length > this.buf!.length) this.buf = Buffer.concat([this.buf!.subarray(0, this.length), tail]);
      else tail.copy(this.buf!, this.length);
      this.length += tail.length;
      sha = hash.digest('hex');
    }
    const body = this.buf!.subarray(0, this.length);
    const entries = this.entries;
    this.buf = null;
    if (this.uploads.length >= IN_FLIGHT) await this.uploads.shift();
    const upload = (async () => {
      await this.os.put(packKey(sha), body);
      const idx = encodeIndex(entries);
      // the index goes up after its pack: an index never names bytes that are not there
      await this.os.put(indexKey(sha), idx);
      this.index.remember(sha, idx);
      this.index.add(sha, entries);
      this.packs++;
      this.bytes += body.length;
      this.onBytes(body.length);
    })();
    // a failed upload is reported by finish(); until then it must not count as unhandled
    upload.catch(() => {});
    this.uploads.push(upload);
  }

  /** Seal the last pack and wait until every pack and index is on the remote. */
  async finish(): Promise<void> {
    if (this.buf && this.entries.length > 0) await this.seal();
    this.buf = null;
    const results = await Promise.allSettled(this.uploads.splice(0));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
