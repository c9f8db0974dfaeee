// The update protocol of remote branches (src/remote/refs.ts) under interleavings chosen by the
// test, on a real directory object store: what each pusher is told and what readers see.
import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DirObjectStore } from '../../src/remote/dir-store.js';
import { encodeUpdate, refsPrefix, ROOT } from '../../src/remote/layout.js';
import { readBranch, UpdateCache, updatesSince, writeUpdate } from '../../src/remote/refs.js';
import { tempDir } from '../helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function remote() {
  const dir = tempDir('tusk-refs-');
  dirs.push(dir);
  const os = new DirObjectStore(dir, `file://${dir}`);
  // each client caches update records on its own disk
  const cache = () => new UpdateCache(os, tempDir('tusk-refs-cache-'));
  return { os, cache };
}

const move = (head: string, previous: string | null = null) => ({ head, previous, bundles: [], force: false, local: head });

describe('remote branch updates', () => {
  it('acknowledge the first of two pushers that read the same tip, and refuse the second', async () => {
    const { os, cache } = remote();
    const [ca, cb] = [cache(), cache()];
    const stateA = await readBranch(os, ca, 'r', 'b');
    const stateB = await readBranch(os, cb, 'r', 'b');
    await writeUpdate(os, stateA, move('a'.repeat(32)));
    await expect(writeUpdate(os, stateB, move('b'.repeat(32)))).rejects.toMatchObject({ code: 'E_NON_FAST_FORWARD' });
    const seen = await readBranch(os, cache(), 'r', 'b');
    expect(seen.tipBody?.head).toBe('a'.repeat(32));
    expect(seen.diverged).toBeUndefined();
  });

  it('refuse both when both records are written before either lists: nothing acknowledged, nothing visible', async () => {
    const { os, cache } = remote();
    const state = await readBranch(os, cache(), 'r', 'b');
    // B's record lands between A's write and A's listing
    const b = encodeUpdate({ format: 1, repo: 'r', branch: 'b', parent: ROOT, head: 'b'.repeat(32), previous: null, bundles: [], force: false, time: '', nonce: '1' });
    await os.put(`${refsPrefix('r', 'b')}${ROOT}.${b.id}`, b.data);
    await expect(writeUpdate(os, state, move('a'.repeat(32)))).rejects.toMatchObject({ code: 'E_NON_FAST_FORWARD' });
    // A withdrew; B (which lists next) sees only itself: at most one is acknowledged
    const after = await readBranch(os, cache(), 'r', 'b');
    expect(after.diverged).toBeUndefined();
    expect(after.tipBody?.head).toBe('b'.repeat(32));
  });

  it('try again when both withdrew (each listed before the other withdrew): one is acknowledged, the other refused', async () => {
    const { os, cache } = remote();
    const state = await readBranch(os, cache(), 'r', 'b');
    // the first listing of each pusher waits until both records are written: both see a rival
    let written = 0;
    let bothWritten!: () => void;
    const barrier = new Promise<void>((resolve) => (bothWritten = resolve));
    let held = 0;
    const racing = Object.assign(Object.create(os) as DirObjectStore, {
      putIfAbsent: async (key: string, body: Buffer) => {
        const r = await os.putIfAbsent(key, body);
        if (++written === 2) bothWritten();
        return r;
      },
      list: async (prefix: string) => {
        if (held++ < 2) await barrier;
        return os.list(prefix);
      },
    });
    // A waits 1 ms before looking again, B 300 ms: A writes again first and stands alone
    const results = await Promise.allSettled([
      writeUpdate(racing, state, move('a'.repeat(32)), { attempts: 5, delayMs: () => 1 }),
      writeUpdate(racing, state, move('b'.repeat(32)), { attempts: 5, delayMs: () => 300 }),
    ]);
    expect(held).toBeGreaterThanOrEqual(4); // both listed twice: the tie was seen and looked at again
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'E_NON_FAST_FORWARD', hint: expect.stringMatching(/pull/) });
    const after = await readBranch(os, cache(), 'r', 'b');
    expect(after.diverged).toBeUndefined();
    expect(after.tipBody?.head).toBe('a'.repeat(32));
  });

  it('give up after the last attempt with nothing moved, and say to push again', async () => {
    const { os, cache } = remote();
    const state = await readBranch(os, cache(), 'r', 'b');
    // a rival whose record lands before each of the pusher's own listings and is withdrawn right
    // after it (the pusher's looks between attempts find the branch unmoved)
    let lists = 0;
    const rivalled = Object.assign(Object.create(os) as DirObjectStore, {
      list: async (prefix: string) => {
        if (lists++ % 2 === 1) return os.list(prefix);
        const r = encodeUpdate({ format: 1, repo: 'r', branch: 'b', parent: ROOT, head: 'b'.repeat(32), previous: null, bundles: [], force: false, time: '', nonce: String(lists) });
        const key = `${refsPrefix('r', 'b')}${ROOT}.${r.id}`;
        await os.put(key, r.data);
        const keys = await os.list(prefix);
        await os.put(`${key}.dead`, Buffer.alloc(0));
        return keys;
      },
    });
    await expect(writeUpdate(rivalled, state, move('a'.repeat(32)), { attempts: 3, delayMs: () => 1 })).rejects.toMatchObject({
      code: 'E_NON_FAST_FORWARD',
      hint: expect.stringMatching(/push again/),
    });
    expect(lists).toBe(5); // three records written and withdrawn, with a look between each
    const after = await readBranch(os, cache(), 'r', 'b');
    expect(after.tip).toBe(ROOT);
  });

  it('report two standing siblings (a pusher that crashed before withdrawing) as diverged, with both heads', async () => {
    const { os, cache } = remote();
    const first = await writeUpdate(os, await readBranch(os, cache(), 'r', 'b'), move('1'.repeat(32)));
    const crashed = encodeUpdate({ format: 1, repo: 'r', branch: 'b', parent: first, head: 'c'.repeat(32), previous: '1'.repeat(32), bundles: [], force: false, time: '', nonce: '2' });
    await os.put(`${refsPrefix('r', 'b')}${first}.${crashed.id}`, crashed.data);
    const stale = await readBranch(os, cache(), 'r', 'b');
    expect(stale.tipBody?.head).toBe('c'.repeat(32));
    const other = encodeUpdate({ format: 1, repo: 'r', branch: 'b', parent: first, head: 'd'.repeat(32), previous: '1'.repeat(32), bundles: [], force: false, time: '', nonce: '3' });
    await os.put(`${refsPrefix('r', 'b')}${first}.${other.id}`, other.data);
    const state = await readBranch(os, cache(), 'r', 'b');
    expect(state.diverged?.tips.map((t) => t.head).sort()).toEqual(['c'.repeat(32), 'd'.repeat(32)]);
    // a forced push replaces both and is the one head afterwards
    const forced = await writeUpdate(os, { ...state, tip: first }, { ...move('e'.repeat(32)), force: true });
    const after = await readBranch(os, cache(), 'r', 'b');
    expect(after.diverged).toBeUndefined();
    expect(after.tip).toBe(forced);
    expect(after.tipBody?.head).toBe('e'.repeat(32));
  });

  it('walk back from the tip to the first head a reader has, oldest first', async () => {
    const { os, cache } = remote();
    const c = cache();
    for (const h of ['1', '2', '3']) await writeUpdate(os, await readBranch(os, c, 'r', 'b'), move(h.repeat(32)));
    const state = await readBranch(os, c, 'r', 'b');
    const since = await updatesSince(c, state, (head) => head === '1'.repeat(32));
    expect(since.map((u) => u.head)).toEqual(['2'.repeat(32), '3'.repeat(32)]);
  });
});
