// `tusk gc --remote`: two runs reclaim the packs no branch needs, and a push between them that
// needs a listed pack's chunks sends them again, so the second run deletes nothing anyone needs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tuskJson } from '../cli/cli-helpers.js';
import { seededBytes, tempDir } from '../helpers.js';
import { localStore } from './remote-helpers.js';

const root = tempDir('tusk-remote-gc-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const packsOn = (remote: string) => fs.readdirSync(path.join(remote, 'packs')).map((f) => f.slice(0, -'.pack'.length)).sort();

describe('gc --remote', () => {
  it('lists the unneeded packs, then deletes those still unneeded after the grace period, never one a push needs', async () => {
    const remote = path.join(root, 'remote');
    const url = `file://${remote}`;
    const old = seededBytes(1 << 20, 21);
    const a = localStore(path.join(root, 'a'));
    await a.put('data', 'master', { '/old.bin': old });
    await a.json(['remote', 'add', 'origin', url]);
    await a.json(['push']);
    const oldPacks = packsOn(remote);

    // another store replaces the branch: the first push's pack is needed by no branch now
    const c = localStore(path.join(root, 'c'));
    await c.put('data', 'master', { '/new.bin': seededBytes(1 << 20, 22) });
    await c.json(['remote', 'add', 'origin', url]);
    await c.json(['push', '--force']);
    const first = await c.json(['gc', '--remote', 'origin']);
    expect(first).toMatchObject({ listed: oldPacks, deleted: [], waiting: 0 });
    // within the grace period a second run deletes nothing, and lists nothing again
    expect(await c.json(['gc', '--remote', 'origin'])).toMatchObject({ listed: [], deleted: [], waiting: 1 });

    // meanwhile a pushes a new branch whose file is in the listed pack: its chunks go up again
    await a.with((s) => s.createBranch('data', 'keep', { head: { repo: 'data', branch: 'master' } }));
    const kept = await a.json(['push', 'origin', 'data@keep']);
    expect(kept.branches[0]).toMatchObject({ status: 'pushed' });
    expect(kept.bytes).toBeGreaterThan(1 << 20);

    // after the grace period: the listed pack goes, nothing a branch needs does
    const second = await c.json(['gc', '--remote', 'origin', '--grace', '0']);
    expect(second.deleted).toEqual(oldPacks);
    expect(packsOn(remote).some((p) => oldPacks.includes(p))).toBe(false);
    expect(fs.readdirSync(path.join(remote, 'gc'))).toEqual([]);
    expect((await a.json(['fsck', '--remote', 'origin', '--verify-data'])).ok).toBe(true);
    await tuskJson(['clone', url, path.join(root, 'b'), '--json']);
    const b = localStore(path.join(root, 'b'));
    expect((await b.run(['get', 'file', 'data@keep:/old.bin'])).stdoutBytes.equals(old)).toBe(true);
    expect((await b.run(['fsck', '--verify-data'])).code).toBe(0);
  }, 60_000);

  it('keeps the pack of a base that a live delta needs, though no live commit reaches the base', async () => {
    const remote = path.join(root, 'remote-delta');
    const url = `file://${remote}`;
    const v1 = seededBytes(3 << 19, 31);
    // an edit in every chunk: v2 shares no chunk with v1, each of its chunks is a delta
    const v2 = Buffer.from(v1);
    for (let at = 1000; at < v2.length; at += 32 << 10) v2.fill(0x5a, at, at + 8);
    const a = localStore(path.join(root, 'da'));
    await a.put('t', 'master', { '/t.bin': v1 });
    await a.json(['remote', 'add', 'origin', url]);
    await a.json(['push']);
    const basePacks = packsOn(remote);
    // v2 goes up as deltas against v1's chunks
    await a.put('t', 'master', { '/t.bin': v2 });
    expect((await a.json(['push'])).bytes).toBeLessThan(64 << 10);

    // another store puts v2 on its own and replaces the branch: no live commit reaches v1, but
    // the remote holds v2's edited chunk only as a delta against v1's
    const c = localStore(path.join(root, 'dc'));
    await c.put('t', 'master', { '/t.bin': v2 });
    await c.json(['remote', 'add', 'origin', url]);
    await c.json(['push', '--force']);
    expect((await c.json(['gc', '--remote', 'origin'])).listed).not.toEqual(expect.arrayContaining(basePacks));
    await c.json(['gc', '--remote', 'origin', '--grace', '0']);
    expect(packsOn(remote)).toEqual(expect.arrayContaining(basePacks));
    await tuskJson(['clone', url, path.join(root, 'db'), '--json']);
    const b = localStore(path.join(root, 'db'));
    expect((await b.run(['get', 'file', 't@master:/t.bin'])).stdoutBytes.equals(v2)).toBe(true);
  }, 60_000);
});
