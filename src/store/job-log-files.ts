// The job logs of a local store: one append-only JSON-lines file per job,
// `<store>/logs/<pipeline>/<job>.log`, `{ts, datum, stream, message}` per line. One file per job
// rather than per datum: 10,000 datums must not cost 10,000 file creations. Files are read forward
// in chunks, so memory depends on line length, never on how much a job logged.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { batchedAppender, type JobLogs, type LogCursor, type StoredLogLine } from './job-logs.js';

/** Bytes read from one log file at a time. */
const READ_CHUNK = 64 * 1024;

/** The job logs kept as files under `<dir>/logs`. */
export function jobLogFiles(dir: string): JobLogs {
  const fileOf = (pipeline: string, job: string) => path.join(dir, 'logs', pipeline, `${job}.log`);
  return {
    appender(pipeline, job) {
      const file = fileOf(pipeline, job);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const fd = fs.openSync(file, 'a');
      const batches = batchedAppender(async (lines) => {
        // whole lines per write: a reader never sees half of one unless the runner dies mid-write
        fs.writeSync(fd, lines.map((l) => `${JSON.stringify({ ts: l.ts, datum: l.datum, stream: l.stream, message: l.message })}\n`).join(''));
      });
      return {
        append: (line) => batches.append(line),
        close: async () => {
          try {
            await batches.close();
          } finally {
            fs.closeSync(fd);
          }
        },
      };
    },
    cursor: (pipeline, job) => new LogFile(fileOf(pipeline, job)),
    async removePipeline(pipeline) {
      fs.rmSync(path.join(dir, 'logs', pipeline), { recursive: true, force: true });
    },
  };
}

/** A log file read forward from where the last read stopped, one complete line at a time. */
class LogFile implements LogCursor {
  private fd: number | undefined;
  /** the next byte to read */
  private pos = 0;
  /** bytes of a last line whose newline has not been written yet */
  private partial: Buffer = Buffer.alloc(0);

  constructor(readonly path: string) {}

  async read(): Promise<{ lines: StoredLogLine[]; more: boolean }> {
    if (this.fd === undefined) {
      try {
        this.fd = fs.openSync(this.path, 'r');
      } catch (err) {
        // no file yet: the job has not run a datum (or has no runner yet)
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], more: false };
        throw err;
      }
    }
    const size = fs.fstatSync(this.fd).size;
    const n = Math.min(READ_CHUNK, size - this.pos);
    if (n <= 0) return { lines: [], more: false };
    const buf = Buffer.allocUnsafe(n);
    const got = fs.readSync(this.fd, buf, 0, n, this.pos);
    this.pos += got;
    const data = this.partial.length > 0 ? Buffer.concat([this.partial, buf.subarray(0, got)]) : buf.subarray(0, got);
    const lines: StoredLogLine[] = [];
    let start = 0;
    // split on the newline byte, not on decoded text: a read may end inside a UTF-8 sequence
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
      if (nl > start) {
        const l = parseLine(data.toString('utf8', start, nl));
        if (l) lines.push(l);
      }
      start = nl + 1;
    }
    // copied, so the chunk it came from can be freed
    this.partial = Buffer.from(data.subarray(start));
    return { lines, more: this.pos < size };
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

function parseLine(text: string): StoredLogLine | undefined {
  try {
    const l = JSON.parse(text) as StoredLogLine;
    return { ts: l.ts, datum: l.datum, stream: l.stream, message: l.message };
  } catch {
    // a runner killed mid-write leaves a torn line; the next runner's lines still follow it
    return undefined;
  }
}
