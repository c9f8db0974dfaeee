// TEST-ONLY crash injection for test/reliability/crash.test.ts and team-crash.test.ts. Nothing in
// tusk sets TUSK_CRASH_AT; with it unset every call below is one comparison against `undefined`.
//
// TUSK_CRASH_AT=NAME[:N] kills this process with SIGKILL (no cleanup, no exit handlers: the same
// as a power cut for everything above the OS page cache) the N-th time (default 1st) the write
// path passes the point NAME:
//
//   mid-pack-write     inside a pack append, after half of the batch's bytes reached the file (a
//                      local pack, or the staged file of a pack bound for a bucket)
//   mid-pack-upload    where packs are in a bucket: a pack's object is uploaded, its sums object
//                      (which makes it complete) is not
//   after-pack-sync    the packs are fsynced (uploaded, where packs are in a bucket), the metadata
//                      transaction has not begun
//   before-commit-txn  right before the commit's BEGIN IMMEDIATE (put, copy, delete file)
//   in-commit-txn      inside the commit's transaction, every row written, before COMMIT
//   after-commit-txn   the commit's transaction is durable, the command has not returned
//   in-finish-txn      inside `finish commit`'s transaction, before COMMIT
//   after-finish-txn   after `finish commit`'s transaction
//   in-gc-repack       gc has copied a pack's live chunks and synced (uploaded, where packs are
//                      in a bucket), before the switch-over

import * as fs from 'node:fs';
import * as path from 'node:path';

export type CrashPoint =
  | 'mid-pack-write'
  | 'mid-pack-upload'
  | 'after-pack-sync'
  | 'before-commit-txn'
  | 'in-commit-txn'
  | 'after-commit-txn'
  | 'in-finish-txn'
  | 'after-finish-txn'
  | 'in-gc-repack';

const spec = process.env.TUSK_CRASH_AT;
const [target, nth] = spec ? [spec.split(':')[0], Number(spec.split(':')[1] ?? 1)] : [undefined, 0];
let hits = 0;

/** Whether the next crashPoint(name) will kill the process (lets a caller do half a write first). */
export function crashArmed(name: CrashPoint): boolean {
  return target === name && hits + 1 === nth;
}

/** Test-only: SIGKILL this process here when TUSK_CRASH_AT names this point (see above). */
export function crashPoint(name: CrashPoint): void {
  if (target !== name) return;
  if (++hits === nth) process.kill(process.pid, 'SIGKILL');
}

// TEST-ONLY pauses, for tests that must catch a process in the middle of slow work (what locks
// it holds there). TUSK_PAUSE_AT=NAME:DIR makes the process, at the point NAME, create DIR/reached
// and then block (synchronously, as slow work would) until DIR/release exists. Points:
//
//   plan-datums        a job's datums are matched against its globs, not yet recorded

export type PausePoint = 'plan-datums';

const pauseSpec = process.env.TUSK_PAUSE_AT;
const [pauseTarget, pauseDir] = pauseSpec ? [pauseSpec.slice(0, pauseSpec.indexOf(':')), pauseSpec.slice(pauseSpec.indexOf(':') + 1)] : [undefined, ''];

/** Test-only: block here until released when TUSK_PAUSE_AT names this point (see above). */
export function pausePoint(name: PausePoint): void {
  if (pauseTarget !== name) return;
  fs.writeFileSync(path.join(pauseDir, 'reached'), String(process.pid));
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!fs.existsSync(path.join(pauseDir, 'release'))) Atomics.wait(cell, 0, 0, 20);
}
