// A remote in a directory (`file:///path`: a mounted share, a USB disk). Objects are files;
// each is written to a temporary name, fsynced and renamed (or hard-linked, for put-if-absent),
// so a reader never sees half an object and a crash leaves at most a stray temporary file.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError } from '../errors.js';
import { newCounts, type ObjectStore } from './object-store.js';

const TMP = '.tmp';
/** Piece size of a streamed range read. */
const READ_PIECE = 1 << 20;

export class DirObjectStore implements ObjectStore {
  readonly requests = newCounts();

  constructor(
    private readonly root: string,
    readonly url: string,
  ) {}

  private fileOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  private async stage(write: (tmp: string) => Promise<void>): Promise<string> {
    const dir = path.join(this.root, TMP);
    await fs.promises.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, randomBytes(12).toString('hex'));
    await write(tmp);
    const fh = await fs.promises.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  }

  private async publish(tmp: string, key: string, exclusive: boolean): Promise<boolean> {
    const dest = this.fileOf(key);
    await fs.promises.mkdir(path.dirname(dest), { recursive: true });
    try {
      if (exclusive) {
        // link() fails when the name exists: an atomic create-if-absent
        try {
          await fs.promises.link(tmp, dest);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw err;
        }
        await fs.promises.rm(tmp, { force: true });
      } else {
        await fs.promises.rename(tmp, dest);
      }
      await syncDir(path.dirname(dest));
      return true;
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    this.requests.put++;
    await this.guard(key, async () => this.publish(await this.stage((tmp) => fs.promises.writeFile(tmp, body)), key, false));
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    this.requests.put++;
    return this.guard(key, async () => this.publish(await this.stage((tmp) => fs.promises.writeFile(tmp, body)), key, true));
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.requests.get++;
    try {
      return await fs.promises.readFile(this.fileOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.ioError(key, err);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    this.requests.get++;
    return this.guard(key, async () => {
      const fh = await fs.promises.open(this.fileOf(key), 'r');
      try {
        const buf = Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
          if (bytesRead === 0) throw new IoError(`remote object ${key} at ${this.url} is shorter than expected`, 'run `tusk fsck --remote` on a store that pushed to it');
          done += bytesRead;
        }
        return buf;
      } finally {
        await fh.close();
      }
    });
  }

  async *readRange(key: string, offset: number, length: number): AsyncIterable<Buffer> {
    this.requests.get++;
    const fh = await this.guard(key, () => fs.promises.open(this.fileOf(key), 'r'));
    try {
      for (let done = 0; done < length; ) {
        const buf = Buffer.allocUnsafe(Math.min(READ_PIECE, length - done));
        const { bytesRead } = await this.guard(key, () => fh.read(buf, 0, buf.length, offset + done));
        if (bytesRead === 0) throw new IoError(`remote object ${key} at ${this.url} is shorter than expected`, 'run `tusk fsck --remote` on a store that pushed to it');
        done += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }

  async list(prefix: string): Promise<string[]> {
    this.requests.list++;
    // walk only the directory the prefix names, as an object store lists only under it
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut);
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(path.join(this.root, ...rel.split('/').filter(Boolean)), { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw this.ioError(rel, err);
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (key === TMP) continue;
        if (e.isDirectory()) {
          if (prefix.startsWith(key + '/') || key.startsWith(prefix)) await walk(key);
        } else if (key.startsWith(prefix)) out.push(key);
      }
    };
    await walk(base);
    return out.sort();
  }

  // a directory is read whole by readdir: what it can stream is the keys, not the reading
  async *scan(prefix: string): AsyncIterable<string> {
    yield* await this.list(prefix);
  }

  async delete(key: string): Promise<void> {
    this.requests.delete++;
    await fs.promises.rm(this.fileOf(key), { force: true });
  }

  close(): void {}

  private async guard<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.ioError(key, err);
    }
  }

  private ioError(key: string, err: unknown): Error {
    if (err instanceof IoError) return err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return new IoError(`remote object ${key} is missing at ${this.url}`, 'run `tusk fsck --remote` on a store that pushed to it', { cause: err });
    return new IoError(`cannot reach ${key} at ${this.url}: ${e.message}`, 'check that the directory is mounted and writable', { cause: err });
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await fs.promises.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // some file systems refuse fsync on directories; the file's own fsync is what matters most
  }
}
