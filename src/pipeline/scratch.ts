// A worker's scratch directory, reused from datum to datum. Creating and removing a fresh tree
// per datum (scratch, pfs, out, tmp, the input dirs) costs more directory operations on ext4
// than running a small command. Instead each worker keeps one tree and, before each
// attempt, empties it down to the directories the next datum needs: for `/*`-style globs that is
// one unlink per datum and no mkdir/rmdir at all.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export class ScratchSlot {
  private root: string;

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
    try {
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
