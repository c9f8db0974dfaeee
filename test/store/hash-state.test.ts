// A big content keeps its BLAKE3 state at its end, and a content that extends it is hashed from
// that state over its new bytes only (src/store/hash-state.ts). The resumed digest must be the
// digest of all the bytes, at any size and any cut; the state must depend on the bytes alone; a
// damaged state must never be used; and an append that resumed must give the ids a whole put
// gives, while every byte read back is still checked against its id.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import { readContent } from '../../src/store/content-io.js';
import { writeLocalTree } from '../../src/store/file-service.js';
import { lookupPath } from '../../src/store/file-tree.js';
import { createWholeHasher, resumeHasher, stateInputBytes, STATE_MIN_BYTES } from '../../src/store/hash-state.js';
import { fromHex, hashBytes, type ContentId } from '../../src/store/hash.js';
import { nativeStateHasher } from '../../src/store/native-io.js';
import { allBytes, damageChunk, seededBytes, streamOf, tempStores } from '../helpers.js';

const KiB = 1024;
const canResume = nativeStateHasher(null) !== null;
if (!canResume) console.warn('hash-state tests skipped: dist/native/tusk-io.node was built without BLAKE3 (run `npm run build` with a C compiler and Node headers)');

/** A state of `bytes` fed in pieces of `piece` bytes. */
function stateOf(bytes: Buffer, piece = bytes.length): Buffer {
  const h = nativeStateHasher(null)!;
  for (let at = 0; at < bytes.length; at += piece) h.update(bytes.subarray(at, at + piece));
  return h.state();
}

describe.skipIf(!canResume)('a resumable BLAKE3 hasher', () => {
  // around the 64-byte block, the 1 KiB chunk and the power-of-two subtrees BLAKE3 builds
  const sizes = [0, 1, 63, 64, 65, 1023, 1024, 1025, 2047, 2048, 2049, 3 * KiB, 4 * KiB - 1, 4 * KiB, 8 * KiB + 1, 64 * KiB, 64 * KiB + 63, 1 << 20, (1 << 20) + 1025, 5 * (1 << 20) + 77];

  it('digests, after taking up a state and the rest of the bytes, exactly what a fresh hash of all of them digests', () => {
    let checked = 0;
    for (const total of sizes) {
      const data = seededBytes(total, total + 1);
      const cuts = new Set([0, 1, 64, 1023, 1024, 1025, 2048, 4096 + 7, total >> 1, (total >> 10) << 10, total - 1, total].filter((c) => c >= 0 && c <= total));
      for (const cut of cuts) {
        const state = stateOf(data.subarray(0, cut));
        expect(stateInputBytes(state)).toBe(cut);
        const head = nativeStateHasher(state)!;
        expect(head.digest().equals(hashBytes(data.subarray(0, cut))), `prefix ${cut} of ${total}`).toBe(true);
        const h = nativeStateHasher(state)!;
        h.update(data.subarray(cut));
        expect(h.digest().toString('hex'), `${total} bytes cut at ${cut}`).toBe(hashBytes(data).toString('hex'));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  it('writes one state for the same bytes, however they came in', () => {
    for (const total of [1024, 2048, 8 * KiB, 7 * KiB + 5, 1 << 20, (1 << 20) + 3, 5 * (1 << 20) + 1000]) {
      const data = seededBytes(total, 7);
      const whole = stateOf(data);
      for (const piece of [1, 64, 1000, 1024, 4096, 65_537]) {
        if (piece === 1 && total > 64 * KiB) continue;
        expect(stateOf(data, piece).equals(whole), `${total} bytes in pieces of ${piece}`).toBe(true);
      }
    }
  });

  it('frees a closed hasher at once: many hashed contents do not pile up memory V8 does not see', () => {
    const h = nativeStateHasher(null)!;
    h.update(Buffer.from('abc'));
    h.close();
    expect(() => h.digest()).toThrow(TypeError);
    expect(() => h.update(Buffer.from('d'))).toThrow(/closed/);
    h.close();
    // each hasher holds ~1.9 KB outside V8's heap: 100,000 left to the collector held ~200 MB
    const before = process.memoryUsage().rss;
    const block = Buffer.alloc(100);
    for (let i = 0; i < 100_000; i++) {
      const x = nativeStateHasher(null)!;
      x.update(block);
      x.digest();
      x.close();
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });

  it('is not taken up from a state that is damaged, of another size, or of another content', () => {
    const data = seededBytes(6 << 20, 9);
    const id = hashBytes(data) as ContentId;
    const state = stateOf(data);
    expect(resumeHasher(state, id, data.length)).not.toBeNull();
    expect(resumeHasher(undefined, id, data.length)).toBeNull();
    expect(resumeHasher(state, id, data.length - 1)).toBeNull();
    expect(resumeHasher(state, hashBytes(data.subarray(1)) as ContentId, data.length)).toBeNull();
    // every byte of the state, flipped in turn: refused as a state, or digesting to another id
    for (let i = 0; i < state.length; i++) {
      const bad = Buffer.from(state);
      bad[i] = bad[i]! ^ 0x01;
      expect(resumeHasher(bad, id, data.length), `byte ${i} flipped`).toBeNull();
    }
    expect(resumeHasher(state.subarray(0, state.length - 1), id, data.length)).toBeNull();
    expect(nativeStateHasher(Buffer.from([2, ...state.subarray(1)]))).toBeNull();
  });
});

describe.skipIf(!canResume)('appending to a content that kept its state', () => {
  const newStore = tempStores();
  const base = seededBytes(STATE_MIN_BYTES + (1 << 20) + 333, 11);
  const tail = seededBytes(300_000, 12);

  const recordOf = async (store: ReturnType<typeof newStore>, p: string) => {
    const id = fromHex((await store.inspectFile(parseFileRef(`r@master:${p}`))).hash) as ContentId;
    return (await store.core.index.getContent(id))!;
  };

  /** The predictions-style append: an earlier content plus a tail file, as a datum output. */
  const appendOutput = async (store: ReturnType<typeof newStore>, baseId: ContentId, bytes: Buffer) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-state-'));
    try {
      fs.mkdirSync(path.join(dir, 'out'));
      fs.writeFileSync(path.join(dir, 'tail'), bytes);
      const r = await writeLocalTree(store.core, path.join(dir, 'out'), { datum: 'd1', appended: [{ path: '/appended', base: baseId, tail: path.join(dir, 'tail') }], beforeCommit: async () => {} });
      return (await lookupPath(store.core.reader, r.root!, '/appended'))!.id as ContentId;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  const damage = damageChunk;

  it('keeps the state of a big put, and of each append, so that appends go on from it', async () => {
    const store = newStore();
    await store.createRepo('r');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(base), repoPath: '/base' }]);
    const first = await recordOf(store, '/base');
    expect((await store.core.index.getContentState(first.id))?.equals(stateOf(base))).toBe(true);
    const once = await appendOutput(store, first.id, tail);
    expect(once.equals(hashBytes(Buffer.concat([base, tail])))).toBe(true);
    const twice = await appendOutput(store, once, tail.subarray(0, 1000));
    const all = Buffer.concat([base, tail, tail.subarray(0, 1000)]);
    expect(twice.toString('hex')).toBe(hashBytes(all).toString('hex'));
    expect((await store.core.index.getContentState(twice))?.equals(stateOf(all))).toBe(true);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(tail), repoPath: '/base' }], { append: true });
    const put = await recordOf(store, '/base');
    expect(put.id.equals(hashBytes(Buffer.concat([base, tail])))).toBe(true);
    expect((await store.core.index.getContentState(put.id))?.equals(stateOf(Buffer.concat([base, tail])))).toBe(true);
  });

  it('reads only the earlier last chunk, yet every byte read back later is checked against its id', async () => {
    const store = newStore();
    await store.createRepo('r');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(base), repoPath: '/base' }]);
    const first = await recordOf(store, '/base');
    expect(first.chunks.length).toBeGreaterThan(2);
    // a chunk before the last: reading the earlier content back (what the append did before
    // states) would fail on it, so an append that succeeds did not read it
    await damage(store, first.chunks[1]!);
    const appended = await appendOutput(store, first.id, tail);
    expect(appended.equals(hashBytes(Buffer.concat([base, tail])))).toBe(true);
    await expect(allBytes(readContent(store.core.index, store.core.packs, appended, { describe: () => 'the appended file' }))).rejects.toThrow(/the appended file cannot be read/);
  });

  it('hashes the earlier content again when its kept state is damaged, and gets the same id', async () => {
    const store = newStore();
    await store.createRepo('r');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(base), repoPath: '/base' }]);
    const first = await recordOf(store, '/base');
    const state = (await store.core.index.getContentState(first.id))!;
    state[50] = state[50]! ^ 0xff;
    store.core.db.prepare('UPDATE content_states SET state = ? WHERE content = ?').run(state, first.id);
    const appended = await appendOutput(store, first.id, tail);
    expect(appended.equals(hashBytes(Buffer.concat([base, tail])))).toBe(true);
    const back = await allBytes(readContent(store.core.index, store.core.packs, appended, { describe: () => 'back' }));
    expect(back.equals(Buffer.concat([base, tail]))).toBe(true);
  });

  it('gc drops the state with its content', async () => {
    const store = newStore();
    await store.createRepo('r');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(base), repoPath: '/base' }]);
    const first = await recordOf(store, '/base');
    await store.deleteRepo('r');
    await store.gc();
    expect((await store.core.index.getContentState(first.id))).toBeUndefined();
  });
});

it('a whole-file hasher without the addon still hashes (no state)', () => {
  const h = createWholeHasher();
  h.update(Buffer.from('abc'));
  expect(h.digest().toString('hex')).toBe('6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
});

describe.skipIf(!canResume)('fsck and kept hasher states', () => {
  const newStore = tempStores();

  it('--verify-data checks every kept state, and removes one that does not digest to its content id', async () => {
    const store = newStore();
    await store.createRepo('r');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(seededBytes(STATE_MIN_BYTES + 5000, 21)), repoPath: '/a' }]);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(seededBytes(STATE_MIN_BYTES + 7000, 22)), repoPath: '/b' }]);
    const good = await store.fsck({ verifyData: true });
    expect(good.ok).toBe(true);
    expect(good.checked.hasherStates).toBe(2);
    const b = fromHex((await store.inspectFile(parseFileRef('r@master:/b'))).hash) as ContentId;
    const state = (await store.core.index.getContentState(b))!;
    state[state.length - 1] = state[state.length - 1]! ^ 0x80;
    store.core.db.prepare('UPDATE content_states SET state = ? WHERE content = ?').run(state, b);
    const bad = await store.fsck({ verifyData: true });
    expect(bad.ok).toBe(false);
    expect(bad.problems).toEqual([{ subject: `hasher state of content ${b.toString('hex').slice(0, 16)}`, problem: expect.stringContaining('does not digest to its content id (removed') }]);
    expect((await store.core.index.getContentState(b))).toBeUndefined();
    expect((await store.fsck({ verifyData: true }))).toMatchObject({ ok: true, checked: { hasherStates: 1 } });
  });
});
