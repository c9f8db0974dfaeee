// Where streamed predictions go, a batch of text at a time: a stream such as stdout, a local file
// that appears only once complete, or a temporary spool read back at the end. Writes wait for the
// text to be taken, so the next batch is read only then: memory holds one batch, whatever the
// size of the input.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { specialFileKind } from '../local-target.js';

export interface TextSink {
  /** Text, or the bytes of UTF-8 text, which the caller reuses once the promise settles. */
  write(text: string | Uint8Array): Promise<void>;
}

/**
 * Text to a stream; each write resolves once the stream has written it out (and let go of the
 * bytes), so a slow reader slows the reading, and the last write resolving means all was written.
 */
export function streamSink(stream: NodeJS.WritableStream): TextSink {
  return {
    write(text) {
      return new Promise((resolve, reject) => stream.write(text, (err) => (err ? reject(err) : resolve())));
    },
  };
}

/** A file being written through a descriptor; deleted when the process exits before it is closed. */
class FdFile {
  private fd: number | null;
  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'wx');
    // Ctrl-C leaves through process.exit (see the base command): 'exit' handlers still run there
    process.once('exit', this.remove);
  }

  write(text: string | Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.file} is closed`);
    const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    for (let off = 0; off < b.length; ) off += fs.writeSync(this.fd, b, off, b.length - off);
  }

  /** Close; the file stays. */
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    process.removeListener('exit', this.remove);
  }

  /** Close and delete. Safe to call twice. */
  readonly remove = (): void => {
    this.close();
    fs.rmSync(this.file, { force: true });
  };
}

/** A file that appears under its name only once complete (commit); a failed or stopped run leaves none. */
export interface FileSink extends TextSink {
  /** Move the finished file into place, replacing any file of that name. */
  commit(): void;
  /** Delete what was written. Safe after commit (does nothing then). */
  abort(): void;
}

/**
 * Write `file` through a temporary file beside it (same directory, so the rename is atomic); a
 * device, FIFO or socket (`-o /dev/null`) is written into in order, never renamed over or removed.
 */
export function fileSink(file: string): FileSink {
  if (specialFileKind(file)) return specialFileSink(file);
  const tmp = new FdFile(path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`));
  let committed = false;
  return {
    async write(text) {
      tmp.write(text);
    },
    commit() {
      tmp.close();
      fs.renameSync(tmp.file, file);
      committed = true;
    },
    abort() {
      if (!committed) tmp.remove();
    },
  };
}

function specialFileSink(file: string): FileSink {
  let fd: number | null = fs.openSync(file, 'w');
  const close = () => {
    if (fd !== null) fs.closeSync(fd);
    fd = null;
  };
  return {
    async write(text) {
      if (fd === null) throw new Error(`${file} is closed`);
      const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      for (let off = 0; off < b.length; ) off += fs.writeSync(fd, b, off, b.length - off);
    },
    commit: close,
    abort: close,
  };
}

/** Text set aside in a temporary file, to be copied out once what must precede it is known. */
export interface SpoolSink extends TextSink {
  /** Copy everything written to `stream` (left open). */
  copyTo(stream: NodeJS.WritableStream): Promise<void>;
  /** Delete the spool. Safe to call twice. */
  remove(): void;
}

export function spoolSink(): SpoolSink {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-spool-'));
  const spool = new FdFile(path.join(dir, 'spool'));
  const remove = () => {
    spool.remove();
    fs.rmSync(dir, { recursive: true, force: true });
    process.removeListener('exit', remove);
  };
  process.once('exit', remove);
  return {
    async write(text) {
      spool.write(text);
    },
    async copyTo(stream) {
      spool.close();
      await pipeline(fs.createReadStream(spool.file), stream, { end: false });
    },
    remove,
  };
}
