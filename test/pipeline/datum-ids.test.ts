// Datum ids and hashes are stored: a datum's id names its results across jobs and its hash says
// whether a later job may skip it, so their encoding must never drift. These values were made by
// the first encoding (a buffer per part and per length, concatenated).
import { describe, expect, it } from 'vitest';
import { datumHash, datumId } from '../../src/pipeline/datums.js';
import type { DatumFile } from '../../src/store/types.js';

const FILES: DatumFile[] = [
  { name: 'in', repo: 'in', branch: 'master', commit: 'c'.repeat(32), path: '/src/f00001', type: 'file', hash: 'a'.repeat(64), size: 9 },
  { name: 'w', repo: 'w', branch: 'master', commit: 'e'.repeat(32), path: '/a.csv', type: 'file', hash: 'f'.repeat(64), size: 3, window: { by: 'commits', start: 1, end: 2 } },
  // multi-byte names and a long path: lengths are of UTF-8 bytes, not characters
  { name: 'naïve', repo: 'données', branch: 'master', commit: 'd'.repeat(32), path: `/répertoire/文件-${'x'.repeat(300)}`, type: 'dir', hash: 'b'.repeat(64), size: 0, emptyFiles: true },
];

describe('datum ids and hashes', () => {
  it('are the same as the stores already hold', () => {
    const id = datumId(FILES);
    expect(id).toBe('19b410a642ffd2dc168932186a94ca7ae83cade64fcbaecdac950353bcb64c79');
    expect(datumHash(id, FILES, 'salt-1')).toBe('7bb63e2e082c13754d2f79dbbc62e41232b89f0567409603cddfc7c55f7e0121');
  });
});
