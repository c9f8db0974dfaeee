// Every CommitGraph method is one round trip on PostgreSQL. The reads that list, check and send
// many commits, repos or branches ask for all of them in a few batch calls: their number of calls
// stays the same whatever the store holds. Counted here on SQLite, through the same contract.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, tempStore } from '../helpers.js';
import type { LocalStore as Store } from '../../src/store/store.js';
import type { CommitGraph } from '../../src/store/commit-graph.js';
import { insertCommit } from '../../src/store/commit-service.js';
import { addRemote } from '../../src/remote/config.js';
import { push } from '../../src/remote/push.js';
import { fetchRemote } from '../../src/remote/fetch.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function newStore(): Store {
  const env = tempStore();
  cleanups.push(env.cleanup);
  return env.store;
}

/** Count the calls made on the store's commit graph while `fn` runs. */
async function graphCalls(store: Store, fn: () => Promise<unknown>): Promise<number> {
  const core = store.core as { graph: CommitGraph };
  const real = core.graph;
  let calls = 0;
  const counting = new Proxy(real, {
    get(t, key) {
      const v = Reflect.get(t, key) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls++;
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
  Object.defineProperty(core, 'graph', { value: counting, configurable: true, writable: true });
  try {
    await fn();
  } finally {
    Object.defineProperty(core, 'graph', { value: real, configurable: true, writable: true });
  }
  return calls;
}

/** `n` finished commits in a row on repo@master, in one unit. */
async function chain(store: Store, repo: string, n: number): Promise<string> {
  const s = store.core;
  return s.unitOfWork(async () => {
    let parent = null;
    for (let i = 0; i < n; i++) parent = await insertCommit(s, { repo, branch: 'master', parent, origin: 'USER', finished: true });
    await s.graph.setBranch(repo, 'master', parent!.id, Date.now());
    return parent!.id;
  });
}

describe('batch reads of the commit graph', () => {
  it('list repo: the same few calls for 4 repos and for 40', async () => {
    const counts: number[] = [];
    for (const n of [4, 40]) {
      const store = newStore();
      for (let i = 0; i < n; i++) {
        await store.createRepo(`r${i}`);
        await chain(store, `r${i}`, 2);
        await store.createBranch(`r${i}`, 'dev', {});
      }
      let listed: Awaited<ReturnType<Store['listRepos']>> = [];
      counts.push(await graphCalls(store, async () => (listed = await store.listRepos())));
      expect(listed).toHaveLength(n);
      expect(listed.every((r) => r.branches.length === 2 && r.branches.includes('master') && r.branches.includes('dev'))).toBe(true);
    }
    expect(counts[1]).toBe(counts[0]);
    expect(counts[0]).toBeLessThanOrEqual(3);
  });

  it('list branch: the same few calls for 3 branches and for 30, provenance and subvenance as before', async () => {
    const counts: number[] = [];
    for (const n of [3, 30]) {
      const store = newStore();
      await store.createRepo('in');
      await store.createRepo('mid');
      await store.createRepo('out');
      await store.createBranch('in', 'master', {});
      await store.createBranch('mid', 'master', { provenance: [{ repo: 'in', branch: 'master' }] });
      await store.createBranch('out', 'master', { provenance: [{ repo: 'mid', branch: 'master' }] });
      for (let i = 0; i < n; i++) await store.createBranch('in', `b${i}`, {});
      let listed: Awaited<ReturnType<Store['listBranches']>> = [];
      counts.push(await graphCalls(store, async () => (listed = await store.listBranches('in'))));
      expect(listed).toHaveLength(n + 1);
      expect(listed.find((b) => b.name === 'master')!.subvenance).toEqual(['mid@master', 'out@master']);
      const mid = await store.listBranches('out');
      expect(mid[0]!.provenance).toEqual(['mid@master']);
    }
    expect(counts[1]).toBe(counts[0]);
    expect(counts[0]).toBeLessThanOrEqual(4);
  });

  it("fsck's commit check: the same calls for 10 commits and for 100, and a missing parent is still found", async () => {
    const counts: number[] = [];
    for (const n of [10, 100]) {
      const store = newStore();
      await store.createRepo('r');
      await chain(store, 'r', n);
      let ok = false;
      counts.push(await graphCalls(store, async () => (ok = (await store.fsck()).ok)));
      expect(ok).toBe(true);
    }
    expect(counts[1]).toBe(counts[0]);
    const store = newStore();
    await store.createRepo('r');
    const head = await chain(store, 'r', 3);
    const c = (await store.core.graph.getCommit('r', head))!;
    store.core.db.prepare('UPDATE commits SET parent = ? WHERE repo = ? AND id = ?').run('f'.repeat(32), 'r', head);
    const report = await store.fsck();
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => `${p.subject}: ${p.problem}`)).toContain(`commit r@${head}: has parent ${'f'.repeat(32)}, which does not exist`);
    expect(c.parent).not.toBeNull();
  });

  it('push and fetch --dry-run: for 200 commits a few calls more than for 20 (history is read in growing stretches), not one per commit', async () => {
    const counts: { push: number; again: number; fetch: number }[] = [];
    for (const n of [20, 200]) {
      const root = tempDir('tusk-batch-remote-');
      cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
      const url = `file://${path.join(root, 'remote')}`;
      const a = newStore();
      const b = newStore();
      await a.createRepo('r');
      await chain(a, 'r', n);
      addRemote(a.core.path, 'origin', url);
      addRemote(b.core.path, 'origin', url);
      let pushed = 0;
      const pushCalls = await graphCalls(a, async () => (pushed = (await push(a, 'origin')).branches[0]!.commits));
      expect(pushed).toBe(n);
      // a second push of n more: the walk of what the remote has is the one that grows with history
      const more = await a.core.unitOfWork(async () => {
        let parent = (await a.core.graph.getCommit('r', (await a.core.graph.getBranch('r', 'master'))!.head))!;
        for (let i = 0; i < n; i++) parent = await insertCommit(a.core, { repo: 'r', branch: 'master', parent, origin: 'USER', finished: true });
        await a.core.graph.setBranch('r', 'master', parent.id, Date.now());
        return parent.id;
      });
      let again = 0;
      const againCalls = await graphCalls(a, async () => (again = (await push(a, 'origin')).branches[0]!.commits));
      expect(again).toBe(n);
      let would = 0;
      const fetchCalls = await graphCalls(b, async () => (would = (await fetchRemote(b, 'origin', { dryRun: true })).commits));
      expect(would).toBe(2 * n);
      expect(more).toHaveLength(32);
      counts.push({ push: pushCalls, again: againCalls, fetch: fetchCalls });
    }
    for (const k of ['push', 'again', 'fetch'] as const) expect(counts[1]![k] - counts[0]![k]).toBeLessThanOrEqual(3);
  });
});
