// readFrom: the bytes of a content from an offset on, its chunks located from the end back to
// the one holding the offset, each read verified.
import { describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import { readFrom } from '../../src/store/content-io.js';
import { fromHex, type ContentId } from '../../src/store/hash.js';
import { allBytes, seededBytes, streamOf, tempStores } from '../helpers.js';

describe('readFrom', () => {
  const newStore = tempStores();

  it('gives the bytes from any offset: in a chunk, at a boundary, at the ends, past many chunks', async () => {
    const store = newStore();
    await store.createRepo('r');
    const data = seededBytes(6 << 20, 7);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(data), repoPath: '/big' }]);
    const id = fromHex((await store.inspectFile(parseFileRef('r@master:/big'))).hash) as ContentId;
    const chunks = (await store.core.index.getContent(id))!.chunks;
    // more chunks than one look-up batch, so the walk back from the end takes several
    expect(chunks.length).toBeGreaterThan(20);
    const locs = (await store.core.index.getChunks(chunks));
    const boundary = chunks.slice(0, 5).reduce((a, c) => a + locs.get(c.toString('latin1'))!.rawLen, 0);
    const read = (offset: number) => allBytes(readFrom(store.core.index, store.core.packs, id, { describe: () => 'big' }, offset));
    for (const offset of [0, 1, boundary - 1, boundary, boundary + 1, data.length >> 1, data.length - 1, data.length]) {
      expect((await read(offset)).equals(data.subarray(offset)), `from ${offset}`).toBe(true);
    }
  });
});
