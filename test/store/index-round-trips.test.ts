// The read path asks the chunk index in batches: a network index answers a batch in one round
// trip, so a loop of single-chunk lookups would cost one per chunk.
import { describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import type { ChunkIndex } from '../../src/store/chunk-index.js';
import { readContent } from '../../src/store/content-io.js';
import { fromHex, type ContentId } from '../../src/store/hash.js';
import { fsck } from '../../src/store/maintenance.js';
import { seededBytes, streamOf, tempStores } from '../helpers.js';

/** The index with a count of the calls made to each of its methods. */
function counted(index: ChunkIndex): { index: ChunkIndex; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(index, {
    get(target, key, recv) {
      const v = Reflect.get(target, key, recv) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { index: proxy, calls };
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
    const read = Buffer.concat([...readContent(index, store.core.packs, id, { describe: () => 'r@master:/f' })]);
    expect(read.equals(data)).toBe(true);
    expect(store.core.index.getContent(id)!.chunks.length).toBeGreaterThan(20);
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
});
