// `tusk checkout` and `tusk status`: a commit materialized into a directory reads back clean; edits,
// additions and deletions show up (same-size edits too); unchanged files are answered from the file
// cache without being read; checkout never drops content the store does not have, unless forced.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectReads } from '../../src/app/project-reads.js';
import { checkoutTargets, worktreeStatus } from '../../src/project/status.js';
import type { Store } from '../../src/store/store.js';
import { writeTree } from '../cli/cli-helpers.js';
import { tempDir, tempStore } from '../helpers.js';
import { TestProject } from './project-helpers.js';

const step = it.sequential;

describe('checkout and status against a store', () => {
  let env: ReturnType<typeof tempStore>;
  let store: Store;
  let out: string;
  let first: string;
  let second: string;
  const status = async (ref: string, dir: string) => (await worktreeStatus(projectReads(store.handle), undefined, { ref, dir, cwd: env.dir })).targets[0]!;
  const changes = async (ref: string, dir: string) => (await status(ref, dir)).changes.map((c) => `${c.change} ${c.path}`);

  beforeAll(async () => {
    env = tempStore();
    store = env.store;
    const src = tempDir('tusk-src-');
    writeTree(src, { 'a.txt': 'alpha\n', 'empty': '', 'sub/b.txt': 'bravo\n', 'sub/deep/c.bin': Buffer.alloc(100_000, 7) });
    await store.createRepo('images');
    first = (await store.putFiles({ repo: 'images', branch: 'master' }, [{ kind: 'local', localPath: src, repoPath: '/', recursive: true }])).commit;
    writeTree(src, { 'a.txt': 'ALPHA\n', 'sub/new.txt': 'new\n' });
    fs.rmSync(path.join(src, 'sub/b.txt'));
    second = (await store.putFiles({ repo: 'images', branch: 'master' }, [{ kind: 'local', localPath: src, repoPath: '/', recursive: true }])).commit;
    // put never deletes: remove b.txt from the second commit explicitly
    second = (await store.deleteFiles({ repo: 'images', branch: 'master', path: '/sub/b.txt' })).id;
    fs.rmSync(src, { recursive: true, force: true });
    out = path.join(env.dir, 'out');
  });
  afterAll(() => env.cleanup());

  step('checkout writes the commit; status then reads clean', async () => {
    const r = (await checkoutTargets(projectReads(store.handle), undefined, { ref: `images@${first}`, dir: out, cwd: env.dir })).checkouts[0]!;
    expect([r.written, r.removed, r.unchanged]).toEqual([4, 0, 0]);
    expect(fs.readFileSync(path.join(out, 'sub/deep/c.bin')).equals(Buffer.alloc(100_000, 7))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'empty'), 'utf8')).toBe('');
    const s = await status(`images@${first}`, out);
    expect([s.clean, s.scanned]).toEqual([true, 4]);
  });

  step('unchanged files are not read again once the cache has them', async () => {
    // the cache trusts a stat only 2 s after the file's last change (git's racy rule)
    await new Promise((r) => setTimeout(r, 2100));
    expect((await status(`images@${first}`, out)).hashed).toBe(4);
    expect((await status(`images@${first}`, out)).hashed).toBe(0);
  });

  step('edits (same size too), additions and deletions show up', async () => {
    fs.writeFileSync(path.join(out, 'a.txt'), 'alphA\n'); // same size
    fs.writeFileSync(path.join(out, 'sub/extra.txt'), 'x');
    fs.rmSync(path.join(out, 'empty'));
    expect(await changes(`images@${first}`, out)).toEqual(['modified a.txt', 'deleted empty', 'added sub/extra.txt']);
    expect((await status(`images@${first}`, out)).hashed).toBe(1);
  });

  step('checkout refuses to drop content the store does not have; --force restores', async () => {
    await expect(checkoutTargets(projectReads(store.handle), undefined, { ref: `images@${first}`, dir: out, cwd: env.dir })).rejects.toThrow(
      expect.objectContaining({ code: 'E_CONFLICT', message: expect.stringContaining('a.txt, sub/extra.txt') }),
    );
    expect(fs.readFileSync(path.join(out, 'a.txt'), 'utf8')).toBe('alphA\n');
    const r = (await checkoutTargets(projectReads(store.handle), undefined, { ref: `images@${first}`, dir: out, cwd: env.dir, force: true })).checkouts[0]!;
    expect([r.written, r.removed]).toEqual([2, 1]);
    expect((await status(`images@${first}`, out)).clean).toBe(true);
  });

  step('switching commits needs no --force when every local file is in the store', async () => {
    const r = (await checkoutTargets(projectReads(store.handle), undefined, { ref: `images@${second}`, dir: out, cwd: env.dir })).checkouts[0]!;
    expect([r.written, r.removed, r.unchanged]).toEqual([2, 1, 2]);
    expect(fs.existsSync(path.join(out, 'sub/b.txt'))).toBe(false);
    expect((await status('images@master', out)).clean).toBe(true);
    expect(await changes(`images@${first}`, out)).toEqual(['modified a.txt', 'deleted sub/b.txt', 'added sub/new.txt']);
    await checkoutTargets(projectReads(store.handle), undefined, { ref: `images@${first}`, dir: out, cwd: env.dir });
    expect((await status(`images@${first}`, out)).clean).toBe(true);
    expect(fs.existsSync(path.join(out, 'sub/new.txt'))).toBe(false);
  });

  step('a directory of a commit', async () => {
    const sub = path.join(env.dir, 'sub');
    const r = (await checkoutTargets(projectReads(store.handle), undefined, { ref: `images@${first}:/sub`, dir: sub, cwd: env.dir })).checkouts[0]!;
    expect(r.written).toBe(2);
    expect(fs.readdirSync(sub).sort()).toEqual(['b.txt', 'deep']);
    expect((await status(`images@${first}:/sub`, sub)).clean).toBe(true);
    await expect(status(`images@${first}:/a.txt`, sub)).rejects.toThrow(expect.objectContaining({ code: 'E_INVALID' }));
    await expect(status(`images@${first}:/nope`, sub)).rejects.toThrow(expect.objectContaining({ code: 'E_NOT_FOUND' }));
  });
});

describe('checkout and status in a project (CLI)', () => {
  let p: TestProject;
  beforeAll(async () => {
    p = new TestProject();
    const r = await p.tusk(['lock', '--json']);
    if (r.code !== 0) throw new Error(r.describe());
  });
  afterAll(() => p.cleanup());

  step('status of the tracked directories against the lock; checkout restores them', async () => {
    const clean = await p.tuskJson(['status']);
    expect(clean.targets.map((t: any) => [t.tracked, t.clean, t.commit])).toEqual([['data/words', true, p.lock().inputs['words@master'].commit]]);

    fs.rmSync(p.path('data'), { recursive: true });
    const gone = await p.tuskJson(['status']);
    expect(gone.targets.map((t: any) => [t.exists, t.changes.length])).toEqual([[false, 2]]);
    const human = await p.tusk(['status']);
    expect(human.stdout).toContain('not checked out here');

    const co = await p.tuskJson(['checkout']);
    expect(co.checkouts.map((c: any) => [c.repo, c.written])).toEqual([['words', 2]]);
    expect(p.read('data/words/a.txt')).toBe('hello\n');
    expect((await p.tuskJson(['status'])).clean).toBe(true);
  });

  step('a lock with merge conflict markers is regenerated by tusk lock', async () => {
    const good = p.read('tusk.lock');
    p.write({ 'tusk.lock': `<<<<<<< HEAD\n${good}=======\n{}\n>>>>>>> other\n` });
    const r = await p.tusk(['lock', '--json']);
    expect(r.code, r.describe()).toBe(0);
    expect(p.read('tusk.lock')).toBe(good);
  });

  step('an explicit ref into a directory, and status listing a change', async () => {
    const out = p.path('upper-out');
    const co = await p.tuskJson(['checkout', 'upper@master', '-o', out]);
    expect(co.checkouts[0].written).toBe(2);
    expect(fs.readFileSync(path.join(out, 'b.txt'), 'utf8')).toBe('WORLD\n');
    fs.appendFileSync(path.join(out, 'b.txt'), '!');
    const st = await p.tuskJson(['status', 'upper@master', '-d', out]);
    expect(st.targets[0].changes).toEqual([{ path: 'b.txt', change: 'modified' }]);
    const refused = await p.tusk(['checkout', 'upper@master', '-o', out, '--json']);
    expect(refused.code, refused.describe()).toBe(3);
    expect(refused.json().error.code).toBe('E_CONFLICT');
  });
});
