// The read path asks the chunk index in batches: a network index answers a batch in one round
// trip, so a loop of single-chunk lookups would cost one per chunk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import { readContent } from '../../src/store/content-io.js';
import { readRange } from '../../src/store/content-range.js';
import { getFile } from '../../src/store/file-service.js';
import { materializeDatum } from '../../src/pipeline/materialize.js';
import { StoreHandle } from '../../src/store/store-handle.js';
import { fromHex, type ContentId } from '../../src/store/hash.js';
import { fsck } from '../../src/store/maintenance.js';
import { Codec } from '../../src/store/pack-format.js';
import { PARALLEL_MIN_BYTES } from '../../src/store/parallel-content.js';
import type { LocalStore as Store } from '../../src/store/store.js';
import { allBytes, counted, seededBytes, streamOf, tempDir, tempStores } from '../helpers.js';
import { tableVersions } from './table-versions.js';

/** The single-item reads a batch replaces: none of them may be asked per chunk or per file. */
const SINGLE_READS = ['getChunk', 'getSoleChunk', 'getContent', 'hasContent'];

const singles = (calls: Map<string, number>) => SINGLE_READS.reduce((n, k) => n + (calls.get(k) ?? 0), 0);

/** A store holding `count` versions of a table (1 MiB unless told) at /t.csv, the later ones stored as deltas; their content ids, oldest first. */
async function deltaVersions(store: Store, count: number, bytes = 1 << 20): Promise<{ ids: ContentId[]; data: Buffer[] }> {
  await store.createRepo('r');
  const data = tableVersions(bytes, count);
  const ids: ContentId[] = [];
  for (const v of data) {
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(v), repoPath: '/t.csv' }]);
    ids.push(fromHex((await store.inspectFile(parseFileRef('r@master:/t.csv'))).hash) as ContentId);
  }
  const deltas = store.core.db.prepare(`SELECT COUNT(*) FROM chunks WHERE codec = ${Codec.Delta}`).pluck().get() as number;
  expect(deltas, 'the later versions are stored as deltas').toBeGreaterThan(2);
  return { ids, data };
}


describe('chunk index round trips', () => {
  const newStore = tempStores();

  it('reading a file of many chunks looks them up in one call, not one per chunk', async () => {
    const store = newStore();
    await store.createRepo('r');
    // below the size read on the content worker: the chunks are read one by one here
    const data = seededBytes(6 << 20, 11);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(data), repoPath: '/f' }]);
    const id = fromHex((await store.inspectFile(parseFileRef('r@master:/f'))).hash) as ContentId;
    const { index, calls } = counted(store.core.index);
    const read = await allBytes(readContent(index, store.core.packs, id, { describe: () => 'r@master:/f' }));
    expect(read.equals(data)).toBe(true);
    expect((await store.core.index.getContent(id))!.chunks.length).toBeGreaterThan(20);
    expect(calls.get('getChunk') ?? 0).toBe(0);
    expect(calls.get('getChunks')).toBe(1);
  });

  it('fsck checks the chunks of a content in one lookup, not one per chunk', async () => {
    const store = newStore();
    await store.createRepo('r');
    const data = seededBytes(6 << 20, 12);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(data), repoPath: '/f' }]);
    const { index, calls } = counted(store.core.index);
    const report = await fsck({ ...store.core, index });
    expect(report.problems).toEqual([]);
    expect(calls.get('getChunk') ?? 0).toBe(0);
    expect(calls.get('getChunks')).toBe(1);
  });

  it('a delta version is read with one lookup of its chains, not one per delta chunk or per base', async () => {
    const store = newStore();
    const { ids, data } = await deltaVersions(store, 4);
    const { index, calls } = counted(store.core.index);
    const read = await allBytes(readContent(index, store.core.packs, ids[3]!, { describe: () => 'r@master:/t.csv' }));
    expect(read.equals(data[3]!)).toBe(true);
    expect(singles(calls)).toBe(1); // the content's record
    expect(calls.get('getChunks')).toBe(1);
    expect(calls.get('getChainChunks')).toBe(1);
  });

  it('a range of a delta version looks up the chains of the chunks in the range in one call', async () => {
    const store = newStore();
    const { ids, data } = await deltaVersions(store, 4);
    const { index, calls } = counted(store.core.index);
    const at = 300_000;
    const part = await allBytes(readRange(index, store.core.packs, ids[3]!, { describe: () => 'r@master:/t.csv' }, at, 200_000));
    expect(part.equals(data[3]!.subarray(at, at + 200_000))).toBe(true);
    expect(singles(calls)).toBe(1);
    expect(calls.get('getChunks')).toBe(1);
    expect(calls.get('getChainChunks')).toBe(1);
  });

  it('a big delta version, read by the copy loops, looks its places and chains up a window of chunks at a time', async () => {
    const store = newStore();
    // more chunks than one window of lookups (256): a run of small delta records spans both
    const { ids, data } = await deltaVersions(store, 2, PARALLEL_MIN_BYTES + (28 << 20));
    const chunks = (await store.core.index.getContent(ids[1]!))!.chunks.length;
    expect(chunks).toBeGreaterThan(256);
    const { index, calls } = counted(store.core.index);
    const out = path.join(tempDir(), 't.csv');
    await getFile({ ...store.core, index }, parseFileRef('r@master:/t.csv'), { output: out });
    expect(fs.readFileSync(out).equals(data[1]!)).toBe(true);
    const windows = Math.ceil(chunks / 256);
    expect(singles(calls)).toBe(1); // the content's record
    expect(calls.get('getChunks')).toBeLessThanOrEqual(windows);
    expect(calls.get('getChainChunks')).toBeLessThanOrEqual(windows);
  });

  it('get -r of many small files looks their records and chunks up a group at a time, not per file', async () => {
    const store = newStore();
    await store.createRepo('r');
    const src = tempDir();
    const files = 300;
    // one-chunk files and a few of several chunks
    for (let i = 0; i < files; i++) fs.writeFileSync(path.join(src, `f${i}`), i % 100 === 0 ? seededBytes(600_000, i) : `file ${i}\n`);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'local', localPath: src, repoPath: '/d', recursive: true }]);
    const out = tempDir();
    const { index, calls } = counted(store.core.index);
    const got = await getFile({ ...store.core, index }, parseFileRef('r@master:/d'), { recursive: true, output: out });
    expect(got.files).toBe(files);
    for (let i = 0; i < files; i++) expect(fs.readFileSync(path.join(out, `f${i}`)).equals(fs.readFileSync(path.join(src, `f${i}`))), `f${i}`).toBe(true);
    expect(singles(calls)).toBe(0);
    expect(calls.get('getContents')).toBe(1);
    expect(calls.get('getChunks')).toBe(1);
  });

  it('fsck looks the contents of a directory page up together, not one per file', async () => {
    const store = newStore();
    await store.createRepo('r');
    const src = tempDir();
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(src, `f${i}`), `file ${i}\n`);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'local', localPath: src, repoPath: '/d', recursive: true }]);
    const { index, calls } = counted(store.core.index);
    const report = await fsck({ ...store.core, index });
    expect(report.problems).toEqual([]);
    expect(singles(calls)).toBe(0);
    // one per page holding files: far fewer than the files
    expect(calls.get('getContents') ?? 0).toBeGreaterThan(0);
    expect(calls.get('getContents')!).toBeLessThan(20);
  });

  it('laying out a directory input looks the records of the files not cached up a group at a time', async () => {
    const store = newStore();
    await store.createRepo('in');
    const src = tempDir();
    for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(src, `f${i}`), `input ${i}\n`);
    await store.putFiles({ repo: 'in', branch: 'master' }, [{ kind: 'local', localPath: src, repoPath: '/d', recursive: true }]);
    const info = await store.inspectFile(parseFileRef('in@master:/d'));
    const dir = { name: 'in', repo: 'in', branch: 'master', commit: info.commit, path: '/d', type: 'dir' as const, hash: info.hash, size: info.sizeBytes };
    const { index, calls } = counted(store.core.index);
    const pfs = path.join(tempDir(), 'pfs');
    expect(await materializeDatum(new StoreHandle({ ...store.core, index }), [dir], pfs)).toBeGreaterThan(0);
    for (let i = 0; i < 300; i++) expect(fs.readFileSync(path.join(pfs, 'in', 'd', `f${i}`), 'utf8')).toBe(`input ${i}\n`);
    expect(singles(calls)).toBe(0);
    expect(calls.get('getContents')).toBe(1);
  });
});
