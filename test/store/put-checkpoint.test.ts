// A put of one big file records its chunk rows as it goes (bounded memory), and what it recorded
// before a failure is only unreferenced data: the branch does not move, gc takes it, fsck passes.
// (Streams of 16 MiB and more take the path of big files.)
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBack, seededBytes, tempStores } from '../helpers.js';

const MiB = 1024 * 1024;
const newStore = tempStores();

function chunkRows(store: ReturnType<typeof newStore>): number {
  return (store.core.db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
}

describe('put of one big file', () => {
  it('records chunk rows before the file ends, and reads back whole', async () => {
    const store = newStore();
    await store.createRepo('r');
    const data = seededBytes(40 * MiB, 7);
    const seen: number[] = [];
    async function* body() {
      for (let pos = 0; pos < data.length; pos += MiB) {
        seen.push(chunkRows(store));
        yield Buffer.from(data.subarray(pos, pos + MiB));
      }
    }
    const r = await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: Readable.from(body()), repoPath: '/big' }], { checkpointRows: 8 });
    // rows appeared in the index while the stream was still being read
    expect(Math.max(...seen)).toBeGreaterThan(0);
    expect(seen[seen.length - 1]).toBeLessThan(r.newChunks);
    expect(chunkRows(store)).toBe(r.newChunks);
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/big' })).equals(data)).toBe(true);
    expect((await store.fsck({ verifyData: true })).ok).toBe(true);
  });

  it('a stream that fails after a checkpoint leaves the branch where it was; gc reclaims the rows', async () => {
    const store = newStore();
    await store.createRepo('r');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: Readable.from([Buffer.from('v1\n')]), repoPath: '/small' }]);
    const head = (await store.inspectBranch('r', 'master')).head;
    const before = chunkRows(store);
    const data = seededBytes(32 * MiB, 9);
    async function* failing() {
      for (let pos = 0; pos < data.length; pos += MiB) yield Buffer.from(data.subarray(pos, pos + MiB));
      throw new Error('source went away');
    }
    await expect(store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: Readable.from(failing()), repoPath: '/big' }], { checkpointRows: 8 })).rejects.toThrow('source went away');
    // the checkpoints did record rows, none of them referenced
    expect(chunkRows(store)).toBeGreaterThan(before);
    expect((await store.inspectBranch('r', 'master')).head).toBe(head);
    expect((await store.fsck()).ok).toBe(true);
    const g = await store.gc({ waitMs: 0 });
    expect(g.chunksRemoved).toBeGreaterThan(0);
    expect(chunkRows(store)).toBe(before);
    expect((await store.fsck({ verifyData: true })).ok).toBe(true);
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/small' })).toString()).toBe('v1\n');
  });
});
