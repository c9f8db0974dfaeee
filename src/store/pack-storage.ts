// The local pack backend: packs as files under `.tusk/packs/`. It implements the pack contract
// (packs.ts) and, beside it, the local capability the write path and the native copy loop use.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CorruptError, IoError, TuskError } from '../errors.js';
import type { LocalPackAccess, PackAppender, PackBody, Packs } from './packs.js';
import { reserveAhead } from './native-io.js';
import { crashArmed, crashPoint } from './crash-points.js';

/** Packs as files under `<store>/packs/<first two chars>/<name>.pack`. */
export class LocalPackStorage implements Packs, LocalPackAccess {
  private readonly fds = new Map<string, number>();
  private readonly dirsSynced = new Set<string>();
  readonly local: LocalPackAccess = this;

  constructor(private readonly root: string) {}

  // --- the contract

  async put(name: string, body: PackBody): Promise<void> {
    const file = this.fileOf(name);
    const dir = path.dirname(file);
    // written aside and renamed: a reader never sees a half object under its name
    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.promises.mkdir(dir, { recursive: true });
      const fh = await fs.promises.open(tmp, 'w', 0o644);
      try {
        if (body instanceof Uint8Array) await fh.write(body);
        else for await (const part of body) await fh.write(part);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.promises.rename(tmp, file);
      syncDir(dir);
      syncDir(this.root);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw asIoError(err, `cannot write pack ${name}`);
    }
  }

  async get(name: string): Promise<Buffer> {
    const size = this.sizeOf(name);
    if (size === null) throw new CorruptError(`pack ${name} is missing`, 'run `tusk fsck` to see what is affected');
    return this.read(name, 0, size);
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    return this.read(name, offset, length);
  }

  async size(name: string): Promise<number | null> {
    return this.sizeOf(name);
  }

  async *list(prefix = ''): AsyncIterable<string> {
    for (const name of this.names()) if (name.startsWith(prefix)) yield name;
  }

  async remove(name: string): Promise<void> {
    this.removeNow(name);
  }

  // --- the local capability

  private fileOf(name: string): string {
    return path.join(this.root, name.slice(0, 2), `${name}.pack`);
  }

  openAppender(name: string, committedSize: number, header?: Uint8Array): PackAppender {
    const file = this.fileOf(name);
    const dir = path.dirname(file);
    try {
      fs.mkdirSync(dir, { recursive: true });
      const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      const onDisk = fs.fstatSync(fd).size;
      if (onDisk < committedSize) {
        fs.closeSync(fd);
        // never pad a lost or cut pack with zeros: that would turn "missing" into "wrong bytes"
        throw new CorruptError(`pack ${name} is shorter (${onDisk} bytes) than its committed ${committedSize} bytes`, 'run `tusk fsck` to see what is affected');
      }
      // Bytes past the committed size belong to nobody: a crashed or failed writer left them.
      fs.ftruncateSync(fd, committedSize);
      let length = committedSize;
      if (length === 0 && header) {
        fs.writeSync(fd, header, 0, header.length, 0);
        length = header.length;
      }
      const isNew = committedSize === 0;
      return new LocalAppender(name, file, fd, length, () => {
        // a new pack's directory entry must be durable too, or a crash could lose the whole file
        if (isNew && !this.dirsSynced.has(dir)) {
          syncDir(dir);
          syncDir(this.root);
          this.dirsSynced.add(dir);
        }
      });
    } catch (err) {
      throw asIoError(err, `cannot write pack ${name}`);
    }
  }

  read(name: string, offset: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    this.readInto(name, offset, buf);
    return buf;
  }

  readInto(name: string, offset: number, dest: Uint8Array): void {
    const fd = this.open(name);
    const length = dest.length;
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, dest, done, length - done, offset + done);
      if (n === 0) throw new CorruptError(`pack ${name} is truncated (wanted ${length} bytes at offset ${offset})`, 'run `tusk fsck` to see what is affected');
      done += n;
    }
  }

  fdOf(name: string): number {
    return this.open(name);
  }

  /** The pack's file descriptor, opened on first use and kept until close() or remove(). */
  private open(name: string): number {
    let fd = this.fds.get(name);
    if (fd === undefined) {
      try {
        fd = fs.openSync(this.fileOf(name), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptError(`pack ${name} is missing`, 'run `tusk fsck` to see what is affected');
        throw asIoError(err, `cannot open pack ${name}`);
      }
      this.fds.set(name, fd);
    }
    return fd;
  }

  sizeOf(name: string): number | null {
    try {
      return fs.statSync(this.fileOf(name)).size;
    } catch {
      return null;
    }
  }

  truncate(name: string, size: number): void {
    fs.truncateSync(this.fileOf(name), size);
  }

  removeNow(name: string): void {
    const fd = this.fds.get(name);
    if (fd !== undefined) {
      fs.closeSync(fd);
      this.fds.delete(name);
    }
    fs.rmSync(this.fileOf(name), { force: true });
  }

  names(): string[] {
    const out: string[] = [];
    if (!fs.existsSync(this.root)) return out;
    for (const sub of fs.readdirSync(this.root)) {
      const dir = path.join(this.root, sub);
      if (!fs.statSync(dir).isDirectory()) continue;
      for (const f of fs.readdirSync(dir)) if (f.endsWith('.pack')) out.push(f.slice(0, -5));
    }
    return out.sort();
  }

  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }
}

/**
 * How far a pack's blocks are reserved ahead of its appends (native-io.ts): appending into
 * reserved blocks measured ~20% cheaper than letting ext4 allocate them page by page. What is not
 * used is given back by sync() (or, after a crash or a failure, when the next appender opens).
 */
const RESERVE_AHEAD = 8 << 20;

class LocalAppender implements PackAppender {
  private failed: unknown = null;
  /** end of the blocks reserved past `length` */
  private reserved = 0;
  /** false once the file system refused to reserve: appends go on without */
  private reserving = true;
  constructor(
    readonly name: string,
    private readonly file: string,
    private fd: number,
    public length: number,
    private readonly onFirstSync: () => void,
  ) {}

  append(parts: readonly Uint8Array[]): number {
    if (this.failed) throw asIoError(this.failed, `pack ${this.name} is unusable after an earlier write error`);
    const at = this.length;
    try {
      // one writev per record: header and payload land together
      let total = 0;
      for (const p of parts) total += p.length;
      if (crashArmed('mid-pack-write')) fs.writeSync(this.fd, Buffer.concat(parts as Uint8Array[]), 0, total >> 1, at); // test-only: a torn append
      crashPoint('mid-pack-write');
      if (at + total > this.reserved && this.reserving) {
        if (reserveAhead(this.fd, at, total + RESERVE_AHEAD)) this.reserved = at + total + RESERVE_AHEAD;
        else this.reserving = false;
      }
      let written = fs.writevSync(this.fd, parts as Uint8Array[], at);
      if (written !== total) {
        // short write (rare): finish it piece by piece
        const joined = Buffer.concat(parts as Uint8Array[]);
        while (written < total) written += fs.writeSync(this.fd, joined, written, total - written, at + written);
      }
      this.length += total;
      return at;
    } catch (err) {
      this.failed = err;
      throw asIoError(err, `cannot write pack ${this.name}`);
    }
  }

  sync(): void {
    if (this.failed) throw asIoError(this.failed, `pack ${this.name} is unusable after an earlier write error`);
    try {
      // Give back the blocks reserved past the end (ext4 frees them on a truncate to the same
      // size). Here and not in close(): sync() comes before the transaction that records the
      // pack's size and may hand it to another writer, and after that a truncate here would cut
      // off what that writer appends. A failed session leaves its reservation to the next
      // appender, whose open truncates to the committed size.
      if (this.reserved > this.length) {
        fs.ftruncateSync(this.fd, this.length);
        this.reserved = this.length;
      }
      fs.fsyncSync(this.fd);
      this.onFirstSync();
    } catch (err) {
      this.failed = err;
      throw asIoError(err, `cannot sync pack ${this.name}`);
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  // The fdatasync runs on libuv's thread pool (this thread may be busy for seconds without turning
  // the event loop) through a descriptor of its own, and its errors are ignored: Linux (4.13+)
  // reports a writeback error to every descriptor that was open when it happened, so sync()'s
  // fsync on the main descriptor still sees it.
  flushAhead(): void {
    if (this.failed || this.fd < 0) return;
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return; // only a head start for sync()
    }
    fs.fdatasync(fd, () => fs.close(fd, () => {}));
  }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // some filesystems refuse fsync on directories; the file fsync is what matters most
  }
}

function asIoError(err: unknown, what: string): TuskError {
  if (err instanceof TuskError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOSPC') return new IoError(`${what}: no space left on device`, 'free disk space, then retry; nothing was committed', { cause: err });
  if (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS')
    return new IoError(`${what}: the store is read-only (${e.code})`, 'use a writable store or check its permissions', { cause: err });
  return new IoError(`${what}: ${e.message}`, undefined, { cause: err });
}
