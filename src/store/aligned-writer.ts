// Writing a big file out in the pieces the page cache takes fastest.
//
// Chunks end wherever their content says, so writing one chunk per call leaves a partial page at
// both ends of every write. On ext4 (this kernel has large folios) writing 1 GiB into reserved
// blocks measured, in C on the same disk:
//   one write per chunk (~150 KiB, unaligned)     ~165 ms
//   writes of 128 KiB at multiples of 128 KiB     ~100 ms
//   writes of 256 KiB / 512 KiB / 2 MiB, aligned  mostly ~100 ms, but often 0.3–2 s
// Bigger writes make the kernel allocate bigger folios, which now and then waits for memory to
// be compacted; 128 KiB never did. So the bytes of each run of chunks are gathered into pieces
// of PIECE bytes that start at multiples of PIECE in the file, one writev each; what is left at
// the end of a run waits in a carry buffer for the next run's bytes.
//
// Doing this in C, one call per run instead of one writev per piece, measured no faster: the
// time is in the kernel's copies, not in the calls.
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
