// Writing a big file out in the pieces the page cache takes fastest.
//
// Chunks end wherever their content says, so writing one chunk per call leaves a partial page at
// both ends of every write, and on ext4 with large folios unaligned writes cost clearly more
// than aligned ones. Aligned writes bigger than 128 KiB make the kernel allocate bigger folios,
// which now and then waits for memory to be compacted (stalls of up to seconds); 128 KiB never
// did. So the bytes of each run of chunks are gathered into pieces of PIECE bytes that start at
// multiples of PIECE in the file, one writev each; what is left at the end of a run waits in a
// carry buffer for the next run's bytes. (bench/README.md, "Figures behind the code", has the
// times of each way.)
//
// The writes themselves cost the same from C: one call per run instead of one writev per piece
// is no faster, as the time is in the kernel's copies, not in the calls. The addon's copy loop
// (tusk-io.c) gains elsewhere: in the reads, the hashing thread and the messages it avoids.
import * as fs from 'node:fs';

/** Bytes per write; also the alignment of every write but the file's first and last. */
export const PIECE = 128 << 10;

/** [buffer index, offset, length] per piece of a run, as ReadRun holds them. */
export type Pieces = Int32Array;

export class AlignedWriter {
  /** holds the bytes after the last whole piece (less than PIECE) until the next run's come */
  private readonly carry = new ArrayBuffer(PIECE);
  private carryLen = 0;
  /** where carry[0] goes */
  private at: number;

  constructor(
    private readonly fd: number,
    position = 0,
  ) {
    this.at = position;
  }

  /** The file position after everything given so far. */
  get position(): number {
    return this.at + this.carryLen;
  }

  /**
   * Write the run's pieces next; `last` writes everything, short piece included. The buffers may
   * be reused as soon as this returns.
   */
  writeRun(bufs: readonly ArrayBuffer[], pieces: Pieces, last = false): void {
    const views: Uint8Array[] = [];
    let filled = 0;
    if (this.carryLen > 0) {
      views.push(new Uint8Array(this.carry, 0, this.carryLen));
      filled = this.carryLen;
    }
    for (let i = 0; i < pieces.length; i += 3) {
      const buf = bufs[pieces[i]!]!;
      let off = pieces[i + 1]!;
      let len = pieces[i + 2]!;
      while (len > 0) {
        const room = PIECE - ((this.at + filled) % PIECE);
        const take = Math.min(len, room);
        views.push(new Uint8Array(buf, off, take));
        filled += take;
        off += take;
        len -= take;
        if (take === room) {
          writeAll(this.fd, views, this.at);
          this.at += filled;
          filled = 0;
          views.length = 0;
        }
      }
    }
    if (last) {
      writeAll(this.fd, views, this.at);
      this.at += filled;
      this.carryLen = 0;
      return;
    }
    // keep the rest for the next run; the carry, if still here, is views[0] at its own start
    const carry = new Uint8Array(this.carry);
    this.carryLen = 0;
    for (const v of views) {
      if (v.buffer !== this.carry) carry.set(v, this.carryLen);
      this.carryLen += v.length;
    }
  }

  /** Write what waits in the carry (the file's last, short piece). */
  end(): void {
    if (this.carryLen > 0) this.writeRun([], new Int32Array(0), true);
  }
}

/** writev of all `views` at `pos`, through short writes (rare on regular files). */
function writeAll(fd: number, views: Uint8Array[], pos: number): void {
  if (views.length === 0) return;
  const written = fs.writevSync(fd, views, pos);
  let vStart = 0;
  for (const v of views) {
    for (let off = Math.max(0, written - vStart); off < v.length; ) off += fs.writeSync(fd, v, off, v.length - off, pos + vStart + off);
    vStart += v.length;
  }
}
