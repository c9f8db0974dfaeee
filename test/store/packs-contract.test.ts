// The pack contract (src/store/packs.ts), one suite run against every backend: the local
// `packs/` directory, and BucketPacks over a real S3 server (s3rver on loopback) and over a
// directory object store.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketPacks } from '../../src/app/pack-backends.js';
import { CorruptError } from '../../src/errors.js';
import { BLOCK_BYTES } from '../../src/store/bucket-packs.js';
import { LocalPackStorage } from '../../src/store/pack-storage.js';
import type { Packs } from '../../src/store/packs.js';
import { seededBytes, tempDir, processEnv } from '../helpers.js';
import { startS3, type S3Server } from '../remote/s3-server.js';

let s3: S3Server;
const env = processEnv();
const dirs: string[] = [];
beforeAll(async () => {
  s3 = await startS3(['tusk']);
  env.set(s3.env);
});
afterAll(async () => {
  env.restore();
  await s3?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir('tusk-packs-');
  dirs.push(d);
  return d;
}

let n = 0;
const backends: { name: string; open: () => Packs }[] = [
  { name: 'local directory', open: () => new LocalPackStorage(path.join(dir(), 'packs')) },
  { name: 'bucket (s3rver)', open: () => bucketPacks(dir(), { url: `s3://tusk/contract-${n++}`, endpoint: s3.endpoint, pathStyle: true, checksums: 'when-required' }) },
  { name: 'bucket (directory object store)', open: () => bucketPacks(dir(), { url: `file://${dir()}` }) },
];

async function corrupt(p: Promise<unknown>): Promise<CorruptError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CorruptError) return err;
    throw err;
  }
  throw new Error('expected a CorruptError');
}

describe.each(backends)('the pack contract on $name', ({ open }) => {
  it('puts an object from a buffer or a stream and reads it back whole and by ranges, across block boundaries', async () => {
    const packs = open();
    try {
      const small = Buffer.from('TUSKPACK a small pack');
      const big = seededBytes(2 * BLOCK_BYTES + 12_345, 7);
      await packs.put('aa01', small);
      await packs.put('bb02', Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]));
      expect((await packs.get('aa01')).equals(small)).toBe(true);
      expect((await packs.get('bb02')).equals(big)).toBe(true);
      expect(await packs.size('aa01')).toBe(small.length);
      expect(await packs.size('bb02')).toBe(big.length);
      for (const [off, len] of [
        [0, 1],
        [BLOCK_BYTES - 10, 20],
        [BLOCK_BYTES, BLOCK_BYTES],
        [5, 2 * BLOCK_BYTES + 12_340],
        [big.length - 1, 1],
        [17, 0],
      ] as const) {
        expect((await packs.getRange('bb02', off, len)).equals(big.subarray(off, off + len))).toBe(true);
      }
    } finally {
      packs.close();
    }
  });

  it('an absent object, or a range past its end, is a CorruptError naming the pack; size is null', async () => {
    const packs = open();
    try {
      await packs.put('cc03', Buffer.alloc(1000, 1));
      expect(await packs.size('dd04')).toBeNull();
      expect((await corrupt(packs.get('dd04'))).message).toContain('dd04');
      expect((await corrupt(packs.getRange('dd04', 0, 10))).message).toContain('dd04');
      expect((await corrupt(packs.getRange('cc03', 990, 11))).message).toContain('cc03');
    } finally {
      packs.close();
    }
  });

  it('lists by prefix in ascending order; remove deletes, and removing an absent object is no error', async () => {
    const packs = open();
    try {
      for (const name of ['ab12', 'ab03', 'cd01', 'ab99']) await packs.put(name, Buffer.from(name));
      const all: string[] = [];
      for await (const name of packs.list()) all.push(name);
      expect(all).toEqual(['ab03', 'ab12', 'ab99', 'cd01']);
      const ab: string[] = [];
      for await (const name of packs.list('ab')) ab.push(name);
      expect(ab).toEqual(['ab03', 'ab12', 'ab99']);
      await packs.remove('ab12');
      await packs.remove('zz00');
      expect(await packs.size('ab12')).toBeNull();
      const left: string[] = [];
      for await (const name of packs.list('ab')) left.push(name);
      expect(left).toEqual(['ab03', 'ab99']);
      expect((await packs.get('ab99')).toString()).toBe('ab99');
    } finally {
      packs.close();
    }
  });
});
