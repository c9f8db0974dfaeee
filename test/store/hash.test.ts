// The store's BLAKE3: small inputs go to a wasm one-shot, larger ones to the native hasher
// (src/store/blake3-backends.ts). Every id ever written depends on these agreeing with BLAKE3.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { nativeBackend, SMALL_INPUT, wasmOneShot } from '../../src/store/blake3-backends.js';
import { createHasher, hashBytes } from '../../src/store/hash.js';
import { seededBytes } from '../helpers.js';

const reference = createRequire(import.meta.url)('blake3') as { hash(input: Uint8Array): Buffer };
const SIZES = [0, 1, 63, 64, 65, 1023, 1024, 1025, 4096, 8191, SMALL_INPUT - 1, SMALL_INPUT, SMALL_INPUT + 1, 100_000, 1 << 20];

describe('BLAKE3 backends', () => {
  it('both fast paths load in this install (else the package fallback would hide a slowdown)', () => {
    expect(wasmOneShot()).not.toBeNull();
    expect(nativeBackend()).not.toBe(reference);
  });

  it('hashBytes, the wasm one-shot and the native hasher give the package\'s digests at every size', () => {
    const small = wasmOneShot()!;
    const native = nativeBackend();
    for (const size of SIZES) {
      const data = seededBytes(size, size + 1);
      const want = reference.hash(data).toString('hex');
      expect(hashBytes(data).toString('hex'), `size ${size}`).toBe(want);
      expect(native.hash(data).toString('hex'), `native, size ${size}`).toBe(want);
      if (size < SMALL_INPUT) expect(small(data).toString('hex'), `wasm, size ${size}`).toBe(want);
    }
  });

  it('the wasm one-shot keeps no state between calls, and views into bigger buffers hash their own bytes', () => {
    const small = wasmOneShot()!;
    const big = seededBytes(3 * 4096, 9);
    const a = big.subarray(0, 4096);
    const b = big.subarray(4096, 8192);
    for (let i = 0; i < 3; i++) {
      expect(small(a).equals(reference.hash(Buffer.from(a)))).toBe(true);
      expect(small(b).equals(reference.hash(Buffer.from(b)))).toBe(true);
    }
  });

  it('an incremental hash of pieces equals the one-shot hash of the whole', () => {
    const data = seededBytes(300_000, 3);
    const h = createHasher();
    for (let off = 0; off < data.length; off += 7_777) h.update(data.subarray(off, off + 7_777));
    expect(h.digest().equals(reference.hash(data))).toBe(true);
  });
});
