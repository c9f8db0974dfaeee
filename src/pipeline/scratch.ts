// A worker's scratch directory, reused from datum to datum. Creating and removing a fresh tree
// per datum (scratch, pfs, out, tmp, the input dirs) costs more directory operations on ext4
// than running a small command. Instead each worker keeps one tree and, before each
// attempt, empties it down to the directories the next datum needs: for `/*`-style globs that is
// one unlink per datum and no mkdir/rmdir at all. Where user code cannot write its inputs (the
// helper's read-only /pfs), the files laid out are recorded and the next datum of the same shape
// removes just those: only out/ and tmp/, which user code writes, are read back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** The input files of the last layout, and the directories it kept for them (joined). */
interface Placed {
  shape: string;
  files: readonly string[];
}

export class ScratchSlot {
  private root: string;
  private placed: Placed | undefined;
  // the last attempt's output check found out/ empty, and its command has ended since
  private outSeenEmpty = false;

  constructor(private readonly parent: string) {
    this.root = this.fresh();
  }

  get pfsDir(): string {
    return path.join(this.root, 'pfs');
  }
  get tmpDir(): string {
    return path.join(this.root, 'tmp');
  }
  /**
   * Empty the tree for the next attempt, keeping the directories listed (relative to `pfs/`,
   * e.g. `in/src`) and their parents. Anything user code left — files, dirs, changed modes — is
   * removed; a tree that cannot be emptied is abandoned for a fresh one. Returns the kept
   * directories that exist now (absolute paths): laying out the datum needs no mkdir for them.
   */
  prepare(keepDirs: readonly string[]): Set<string> {
    const keep = new Set<string>(['pfs', 'pfs/out', 'tmp']);
    for (const d of keepDirs) for (let p = path.posix.join('pfs', d); p !== '.' && p !== '/'; p = path.posix.dirname(p)) keep.add(p);
    const seen = new Set<string>();
    // taken before anything is removed: a layout that then fails leaves no record behind
    const placed = this.placed;
    this.placed = undefined;
    const outSeenEmpty = this.outSeenEmpty;
    this.outSeenEmpty = false;
    try {
      if (placed && placed.shape === keepDirs.join('\0')) {
        // the kept directories are the ones the last layout made or found, and user code could
        // not remove them: only its own files and what was written to out/ and tmp/ go (out/
        // not read again when the output check just found it empty)
        for (const f of placed.files) fs.unlinkSync(f);
        for (const k of outSeenEmpty ? ['tmp'] : ['pfs/out', 'tmp']) this.empty(path.join(this.root, k), k, keep, seen);
        return new Set([...keep].map((r) => path.join(this.root, r)));
      }
      this.empty(this.root, '', keep, seen);
    } catch {
      this.dispose();
      this.root = this.fresh();
      return new Set();
    }
    const present = new Set<string>();
    for (const r of seen) present.add(path.join(this.root, r));
    return present;
  }

  /**
   * Record the input files just laid out for `keepDirs` (absolute paths, each in one of those
   * directories). Only for a command that cannot write below pfs/ but for out/: the next
   * prepare for the same directories then removes these files instead of reading pfs/ back.
   */
  laidOut(keepDirs: readonly string[], files: readonly string[]): void {
    this.placed = { shape: keepDirs.join('\0'), files };
  }

  /**
   * Whether the attempt's command left nothing in pfs/out (its output check, once the command has
   * ended). An empty out/ is not read again when the slot is next emptied.
   */
  isOutEmpty(): boolean {
    return (this.outSeenEmpty = fs.readdirSync(path.join(this.pfsDir, 'out')).length === 0);
  }

  dispose(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private fresh(): string {
    const root = path.join(this.parent, `w-${randomBytes(6).toString('hex')}`);
    fs.mkdirSync(path.join(root, 'pfs', 'out'), { recursive: true });
    fs.mkdirSync(path.join(root, 'tmp'));
    return root;
  }

  /** Remove everything below `dir` except kept directories (emptied in turn). */
  private empty(dir: string, rel: string, keep: Set<string>, seen = new Set<string>()): void {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const p = path.join(dir, e.name);
      if (e.isDirectory() && keep.has(r)) {
        seen.add(r);
        this.empty(p, r, keep, seen);
      } else if (e.isDirectory()) {
        fs.rmSync(p, { recursive: true, force: true });
      } else {
        fs.unlinkSync(p);
      }
    }
    // user code may have removed out/ or tmp/: put the skeleton back
    if (rel === '') for (const k of ['pfs', 'pfs/out', 'tmp']) if (!seen.has(k)) fs.mkdirSync(path.join(this.root, k), { recursive: true });
  }
}
