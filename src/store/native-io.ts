// The optional file-system addon (src/native/tusk-io.c, built into dist/native/tusk-io.node).
// Every function here works without it: the addon only makes things faster.
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Addon {
  fallocate(fd: number, offset: number, length: number, keepSize?: boolean): number;
}

/** This module (src/store, dist/store, dist/bundle) sits two levels below the package root. */
const ADDON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/native/tusk-io.node');

let addon: Addon | null | undefined;

function load(): Addon | null {
  if (addon === undefined) {
    try {
      addon = process.env.TUSK_NO_NATIVE_IO === '1' ? null : (createRequire(import.meta.url)(ADDON) as Addon);
    } catch {
      addon = null; // not built here (no compiler or headers at install), or built for another Node
    }
  }
  return addon;
}

/** Whether the addon is loaded (tests check that the build made it). */
export function hasNativeIo(): boolean {
  return load() !== null;
}

const codeOf = (errno: number) => Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `E${errno}`;

/** Errors a file system gives when it cannot reserve blocks at all: the write goes ahead without. */
const UNSUPPORTED = new Set(['EOPNOTSUPP', 'ENOTSUP', 'ENOSYS', 'ENODEV', 'ESPIPE', 'EINVAL']);

/**
 * Reserve `length` bytes of blocks for a file about to be written from its start (and size it):
 * cheaper page-cache writes on ext4, and a full disk reported before the first byte rather than
 * part way through. A file system that cannot reserve, or no addon, is not an error; no space
 * (ENOSPC, EDQUOT, EFBIG) is, thrown the way a failed write would throw it.
 */
export function reserve(fd: number, length: number): void {
  const io = load();
  if (!io || length <= 0) return;
  const errno = io.fallocate(fd, 0, length);
  if (errno === 0) return;
  const code = codeOf(errno);
  if (UNSUPPORTED.has(code)) return;
  throw Object.assign(new Error(`${code}: cannot reserve ${length} bytes, fallocate`), { code, errno: -errno, syscall: 'fallocate' });
}

/**
 * Reserve blocks for `length` bytes at `offset` of a file being appended to, without changing
 * its size (the bytes past its end stay unwritten until appends reach them). A hint: returns
 * false, and changes nothing, where it cannot be done; a disk too full to reserve is found by
 * the write itself. Whoever reserves trims what was not used (ftruncate to the file's size).
 */
export function reserveAhead(fd: number, offset: number, length: number): boolean {
  const io = load();
  return io !== null && fd >= 0 && length > 0 && io.fallocate(fd, offset, length, true) === 0;
}
