// Generated inputs for comparing the single-threaded and the parallel content paths.
import { CHUNK_PROFILE_V1 } from '../../src/store/chunker.js';
import { seededBytes } from '../helpers.js';

const MiB = 1024 * 1024;
const P = CHUNK_PROFILE_V1;

/** Sizes around every limit the two paths handle differently, and past the 4 MiB block. */
export const SIZES = [
  0, 1, 2, P.minSize - 1, P.minSize, P.minSize + 1, P.avgSize - 1, P.avgSize, P.avgSize + 1, P.maxSize - 1, P.maxSize, P.maxSize + 1,
  2 * P.maxSize + 3, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 13 * MiB + 12345,
];

/** Random bytes, a run of zeros (every cut at maxSize), and text (compressible, cuts on content). */
export function inputs(size: number, seed: number): [string, Buffer][] {
  const text = Buffer.alloc(size);
  const line = Buffer.from(`row ${seed},alpha,beta,0.125,${'x'.repeat(seed % 40)}\n`);
  for (let i = 0, n = 0; i < size; i += line.length, n++) {
    line.write(String(n % 1000).padStart(3, '0'), 4);
    line.copy(text, i, 0, Math.min(line.length, size - i));
  }
  return [
    ['random', seededBytes(size, seed)],
    ['zeros', Buffer.alloc(size)],
    ['text', text],
  ];
}
