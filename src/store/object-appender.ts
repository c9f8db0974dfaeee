// Writing a pack where packs are immutable objects (a bucket): the records are appended to a
// staged file on this machine (the backend's stagingDir), and publish() uploads that file as the
// pack's one object. The pack writer starts the upload as soon as the pack is full and waits for
// it before the metadata transaction that references the pack, so metadata never names an
// object that is not there; a process that dies in between leaves at most an object nobody
// references (gc removes it) and a staged file (removed by close(), or with the staging
// directory). Such a pack is never appended to again.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { IoError } from '../errors.js';
import { crashArmed, crashPoint } from './crash-points.js';
import type { PackAppender, Packs } from './packs.js';

/** Staged files older than this were left by a process that died before its upload. */
const STALE_STAGED_MS = 24 * 60 * 60 * 1000;

/**
 * Remove staged packs that a dead process left in `dir`. By age, not by owner: a live write
 * appends to its staged file or uploads it within minutes, and a pack is at most 64 MiB.
 */
export function removeStaleStaged(dir: string, now = Date.now()): number {
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.endsWith('.staged')) continue;
    const file = path.join(dir, name);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st || now - st.mtimeMs <= STALE_STAGED_MS) continue;
    try {
      fs.unlinkSync(file);
      removed++;
    } catch {
      // removed by another process meanwhile
    }
  }
  return removed;
}

export class ObjectPackAppender implements PackAppender {
  private fd: number;
  private readonly file: string;
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
    const dir = packs.stagingDir ?? path.join(os.tmpdir(), 'tusk-staging');
    this.file = path.join(dir, `${name}.${process.pid}-${randomBytes(4).toString('hex')}.staged`);
    try {
      fs.mkdirSync(dir, { recursive: true });
      this.fd = fs.openSync(this.file, 'wx+', 0o600);
    } catch (err) {
      throw new IoError(`cannot stage pack ${name} in ${dir}: ${(err as Error).message}`, 'free disk space or make the directory writable, then retry; nothing was committed', { cause: err });
    }
    if (header) this.append([header]);
  }

  append(parts: readonly Uint8Array[]): number {
    if (this.sealed) throw new IoError(`pack ${this.name} was uploaded and is immutable: nothing more can be appended to it`);
    if (this.failed) throw new IoError(`pack ${this.name} is unusable after an earlier error`, undefined, { cause: this.failed });
    const at = this.length;
    try {
      let total = 0;
      for (const p of parts) total += p.length;
      if (crashArmed('mid-pack-write')) fs.writeSync(this.fd, Buffer.concat(parts as Uint8Array[]), 0, total >> 1, at); // test-only: a torn append
      crashPoint('mid-pack-write');
      let written = fs.writevSync(this.fd, parts as Uint8Array[], at);
      if (written !== total) {
        const joined = Buffer.concat(parts as Uint8Array[]);
        while (written < total) written += fs.writeSync(this.fd, joined, written, total - written, at + written);
      }
      this.length += total;
    } catch (err) {
      this.failed = err;
      throw new IoError(`cannot stage pack ${this.name}: ${(err as Error).message}`, 'free disk space, then retry; nothing was committed', { cause: err });
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
    try {
      await this.packs.put(this.name, this.staged());
    } catch (err) {
      this.failed = err;
      throw err;
    }
    this.uploaded = true;
    this.discard();
  }

  /** The staged file, read a MiB at a time (the backend decides whether it gathers the pieces). */
  private async *staged(): AsyncGenerator<Uint8Array> {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let at = 0; at < this.length; ) {
      const n = fs.readSync(this.fd, buf, 0, Math.min(buf.length, this.length - at), at);
      if (n === 0) throw new IoError(`staged pack ${this.name} ended early at ${at} of ${this.length} bytes`);
      yield Buffer.from(buf.subarray(0, n));
      at += n;
    }
  }

  sync(): void {
    // the metadata may reference these bytes only once the object is durable in the backend
    if (!this.uploaded) throw new IoError(`pack ${this.name} has not been uploaded`, "this write path needs the store's packs on a local disk");
  }

  close(): void {
    this.discard();
  }

  private discard(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
      fs.rmSync(this.file, { force: true });
    }
  }
}
