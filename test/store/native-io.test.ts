// The optional file-system addon: built wherever the namespace helper is, and harmless where a
// file cannot have blocks reserved.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hasNativeCopy, hasNativeIo, reserve } from '../../src/store/native-io.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-native-io-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('native-io', () => {
  // the build compiles both helpers with the same compiler: where the namespace helper was built
  // and Node's headers are where the build looks, a missing addon is a build bug
  const headers = [path.join(path.dirname(process.execPath), '..', 'include', 'node'), path.join(os.homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node')];
  const buildable = fs.existsSync(path.join(root, 'dist', 'native', 'tusk-ns')) && headers.some((d) => fs.existsSync(path.join(d, 'node_api.h')));
  it.runIf(buildable)('is built and loads where the namespace helper was built and Node has headers', () => {
    expect(hasNativeIo()).toBe(true);
    // with the copy loop get -o uses: the BLAKE3 sources come with the blake3 package
    expect(hasNativeCopy()).toBe(true);
  });

  it.runIf(hasNativeIo())('reserves the blocks of a file about to be written and sizes it', () => {
    const file = path.join(dir, 'reserved');
    const fd = fs.openSync(file, 'w');
    try {
      reserve(fd, 3 << 20);
      const st = fs.fstatSync(fd);
      expect(st.size).toBe(3 << 20);
      expect(st.blocks * 512).toBeGreaterThanOrEqual(3 << 20);
      // writing over the reservation works as any write does
      fs.writeSync(fd, Buffer.alloc(1 << 20, 7), 0, 1 << 20, 1 << 20);
    } finally {
      fs.closeSync(fd);
    }
    const back = fs.readFileSync(file);
    expect(back.subarray(1 << 20, 2 << 20).every((b) => b === 7)).toBe(true);
    expect(back.subarray(0, 1 << 20).every((b) => b === 0)).toBe(true);
  });

  it('does nothing where blocks cannot be reserved (a pipe), and throws what a write would throw for a descriptor that cannot be written', () => {
    const [r, w] = pipeFds();
    try {
      expect(() => reserve(w, 1 << 20)).not.toThrow();
      expect(() => reserve(r, 0)).not.toThrow();
    } finally {
      fs.closeSync(r);
      fs.closeSync(w);
    }
    if (!hasNativeIo()) return;
    const file = path.join(dir, 'read-only');
    fs.writeFileSync(file, 'x');
    const fd = fs.openSync(file, 'r');
    try {
      expect(() => reserve(fd, 1 << 20)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'fallocate' }));
      expect(fs.fstatSync(fd).size).toBe(1);
    } finally {
      fs.closeSync(fd);
    }
  });
});

/** A pipe's two ends as descriptors (Node has no pipe(2); a FIFO opened both ways is one). */
function pipeFds(): [number, number] {
  const fifo = path.join(dir, `fifo-${process.pid}`);
  fs.rmSync(fifo, { force: true });
  if (spawnSync('mkfifo', [fifo]).status !== 0) throw new Error(`mkfifo ${fifo} failed`);
  const r = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const w = fs.openSync(fifo, fs.constants.O_WRONLY);
  return [r, w];
}
