// isContentPrefix: an append is told from an edit by chunk ids and the bytes of the old chunks
// past the last shared one, never by size.
import { describe, expect, it } from 'vitest';
import { isContentPrefix } from '../../src/store/content-prefix.js';
import { fromHex, type ContentId } from '../../src/store/hash.js';
import { parseFileRef } from '../../src/store/address.js';
import { seededBytes, streamOf, tempStores } from '../helpers.js';

describe('isContentPrefix', () => {
  const newStore = tempStores();

  it('finds appends and refuses edits, truncations and same-size changes', async () => {
    const store = newStore();
    await store.createRepo('r');
    const ids: Record<string, ContentId> = {};
    const put = async (name: string, data: Buffer) => {
      await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(data), repoPath: `/${name}` }]);
      ids[name] = fromHex((await store.inspectFile(parseFileRef(`r@master:/${name}`))).hash) as ContentId;
    };
    // several chunks, so that the shared ones are skipped and only the tail is compared
    const base = seededBytes(6 << 20, 1);
    await put('base', base);
    await put('appended', Buffer.concat([base, seededBytes(300_000, 2)]));
    await put('appendedTiny', Buffer.concat([base, Buffer.from('x')]));
    const edited = Buffer.from(base);
    edited[100] = edited[100]! ^ 1; // same size, one bit in the first chunk
    await put('editedEarly', Buffer.concat([edited, seededBytes(1000, 3)]));
    const editedLate = Buffer.concat([base, seededBytes(1000, 3)]);
    editedLate[base.length - 10] = editedLate[base.length - 10]! ^ 1; // the old file's last bytes
    await put('editedLate', editedLate);
    await put('truncated', base.subarray(0, base.length - 1));
    const check = (a: string, b: string) => isContentPrefix(store.core.index, store.core.packs, ids[a]!, ids[b]!, { describe: () => `${a} → ${b}` });
    expect((await store.core.index.getContent(ids.base!))!.chunks.length).toBeGreaterThan(2);
    expect(await check('base', 'base')).toBe(true);
    expect(await check('base', 'appended')).toBe(true);
    expect(await check('base', 'appendedTiny')).toBe(true);
    expect(await check('appended', 'base')).toBe(false);
    expect(await check('base', 'editedEarly')).toBe(false);
    expect(await check('base', 'editedLate')).toBe(false);
    expect(await check('base', 'truncated')).toBe(false);
    expect(await check('truncated', 'base')).toBe(true);
  });
});
