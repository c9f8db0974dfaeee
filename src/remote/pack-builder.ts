// Builds remote packs from chunk records: records go to a temporary file in tusk's pack format
// until it passes the target size, then the pack is uploaded, and after it its index object.
// A reader trusts only indexed packs, so a pack cut short by a crash is never used (gc reclaims
// it), and an interrupted push resumes by sending only chunks no index names yet.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { encodeIndex, indexKey, packKey, type IndexEntry } from './layout.js';
import type { ObjectStore } from './object-store.js';
import type { RemoteIndex } from './remote-index.js';

const PACK_MAGIC = Buffer.from('TUSKPK01', 'latin1');

/**
 * Remote pack size. 32 MiB: a 1 GiB push is 32 packs (one object, one index each), a crash
 * costs at most the packs in flight, and a pull of a few files reads ranges, not whole packs.
 * TUSK_REMOTE_PACK_MIB overrides it (tests use small packs to cut a push short).
 */
export function packTargetBytes(): number {
  const mib = Number(process.env.TUSK_REMOTE_PACK_MIB);
  return (Number.isFinite(mib) && mib > 0 ? mib : 32) * (1 << 20);
}

/** Uploads in flight at once: one pack fills while the other goes out. */
const IN_FLIGHT = 2;

export class PackBuilder {
  private fd = -1;
  private file = '';
  private hash = createHash('sha256');
  private entries: IndexEntry[] = [];
  private length = 0;
  private readonly uploads: Promise<void>[] = [];
  packs = 0;
  chunks = 0;
  bytes = 0;

  constructor(
    private readonly os: ObjectStore,
    private readonly index: RemoteIndex,
    private readonly tmpDir: string,
    private readonly onBytes: (n: number) => void,
    private readonly target = packTargetBytes(),
  ) {
    removeDeadPushFiles(tmpDir);
  }

  async add(id: Buffer, record: Buffer): Promise<void> {
    if (this.fd < 0) this.open();
    this.entries.push({ id: Buffer.from(id), offset: this.length, length: record.length });
    this.write(record);
    this.chunks++;
    if (this.length >= this.target) await this.seal();
  }

  private open(): void {
    fs.mkdirSync(this.tmpDir, { recursive: true });
    this.file = path.join(this.tmpDir, `push-${process.pid}-${randomBytes(8).toString('hex')}.pack`);
    this.fd = fs.openSync(this.file, 'w');
    this.hash = createHash('sha256');
    this.entries = [];
    this.length = 0;
    this.write(PACK_MAGIC);
  }

  private write(buf: Buffer): void {
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, this.length + done);
    this.hash.update(buf);
    this.length += buf.length;
  }

  private async seal(): Promise<void> {
    fs.closeSync(this.fd);
    this.fd = -1;
    const sha = this.hash.digest('hex');
    const { file, entries, length } = this;
    if (this.uploads.length >= IN_FLIGHT) await this.uploads.shift();
    const upload = (async () => {
      try {
        await this.os.putFile(packKey(sha), file, length);
        const idx = encodeIndex(entries);
        // the index goes up after its pack: an index never names bytes that are not there
        await this.os.put(indexKey(sha), idx);
        this.index.remember(sha, idx);
        this.index.add(sha, entries);
        this.packs++;
        this.bytes += length;
        this.onBytes(length);
      } finally {
        fs.rmSync(file, { force: true });
      }
    })();
    // a failed upload is reported by finish(); until then it must not count as unhandled
    upload.catch(() => {});
    this.uploads.push(upload);
  }

  /** Seal the last pack and wait until every pack and index is on the remote. */
  async finish(): Promise<void> {
    if (this.fd >= 0) await this.seal();
    const all = this.uploads.splice(0);
    const results = await Promise.allSettled(all);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Drop what was not sent (after a failure). */
  discard(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
      fs.rmSync(this.file, { force: true });
    }
  }
}

/** Packs a killed push was building: their process is gone, and nothing names them. */
function removeDeadPushFiles(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^push-(\d+)-[0-9a-f]+\.pack$/.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, name), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
