import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFileRef, parseCommitRef } from '../../src/store/address.js';
import type { Store } from '../../src/store/store.js';
import { readBack, seededBytes, streamOf, tempStore } from '../helpers.js';

let env: ReturnType<typeof tempStore>;
afterEach(() => env?.cleanup());

const put = (store: Store, target: string, data: Buffer | string, opts: { append?: boolean } = {}) => {
  const ref = parseFileRef(target);
  return store.putFiles({ repo: ref.repo, branch: ref.branch, commit: ref.commit }, [{ kind: 'stream', stream: streamOf(data), repoPath: ref.path! }], opts);
};

describe('store: repos, commits, files', () => {
  it('puts and gets a file back byte for byte, one commit per put', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('images');
    const data = seededBytes(3 * 1024 * 1024, 7);
    const r1 = await put(store, 'images@master:/a.bin', data);
    expect(r1.finished).toBe(true);
    expect(r1.newChunks).toBeGreaterThan(3);
    expect((await readBack(store, parseFileRef('images@master:/a.bin'))).equals(data)).toBe(true);
    const r2 = await put(store, 'images@master:/b.txt', 'hello\n');
    const commits = await store.listCommits({ repo: 'images', branch: 'master' });
    expect(commits.map((c) => c.id)).toEqual([r2.commit, r1.commit]);
    expect(commits[0]!.parent).toBe(r1.commit);
    expect(commits[0]!.sizeBytes).toBe(data.length + 6);
    expect((await store.listFiles(parseFileRef('images@master:/'))).map((f) => f.path)).toEqual(['/a.bin', '/b.txt']);
    // ancestry: master^ has only a.bin
    expect((await store.listFiles(parseFileRef('images@master^:/'))).map((f) => f.path)).toEqual(['/a.bin']);
    expect((await store.inspectCommit(parseCommitRef('images@master.1'))).id).toBe(r1.commit);
  });

  it('stores identical content once across paths, branches and repos', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('a');
    await store.createRepo('b');
    const data = seededBytes(2 * 1024 * 1024, 1);
    const first = await put(store, 'a@master:/x', data);
    const again = await put(store, 'a@dev:/y', data);
    const other = await put(store, 'b@master:/z', data);
    expect(first.storedBytes).toBeGreaterThan(data.length);
    expect(again.newChunks).toBe(0);
    expect(other.newChunks).toBe(0);
  });

  it('an edit in the middle of a large file stores only the chunks around it', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    const data = seededBytes(16 * 1024 * 1024, 3);
    await put(store, 'r@master:/big', data);
    const v2 = Buffer.concat([data.subarray(0, 8 * 1024 * 1024), Buffer.from('inserted bytes'), data.subarray(8 * 1024 * 1024)]);
    const r = await put(store, 'r@master:/big', v2);
    expect(r.storedBytes).toBeLessThan(1.5 * 1024 * 1024);
    expect((await readBack(store, parseFileRef('r@master:/big'))).equals(v2)).toBe(true);
  });

  it('compresses compressible chunks and stores random ones raw', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    const text = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(50_000));
    const r = await put(store, 'r@master:/t.txt', text);
    expect(r.storedBytes).toBeLessThan(text.length / 10);
    const rnd = seededBytes(1024 * 1024, 9);
    const r2 = await put(store, 'r@master:/r.bin', rnd);
    expect(r2.storedBytes).toBeGreaterThanOrEqual(rnd.length);
    expect((await readBack(store, parseFileRef('r@master:/t.txt'))).equals(text)).toBe(true);
  });

  it('open commits collect several puts; finishing makes them immutable', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    const c = await store.startCommit('r', 'master', { description: 'batch' });
    await put(store, 'r@master:/a', 'A');
    await put(store, `r@${c.id}:/b`, 'B');
    await put(store, 'r@master:/a', 'more', { append: true });
    expect((await store.inspectCommit(parseCommitRef('r@master'))).finished).toBeNull();
    await store.finishCommit(parseCommitRef('r@master'));
    expect((await readBack(store, parseFileRef('r@master:/a'))).toString()).toBe('Amore');
    await expect(store.finishCommit(parseCommitRef(`r@${c.id}`))).rejects.toThrow(/has already finished/);
    await expect(put(store, `r@${c.id}:/c`, 'C')).rejects.toThrow(/has already finished/);
    expect(await store.listCommits({ repo: 'r' })).toHaveLength(1);
  });

  it('nested directories: list, glob, diff, copy, delete', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    const c = await store.startCommit('r', 'master');
    for (const p of ['/d1/a.txt', '/d1/b.csv', '/d2/sub/c.txt', '/top.txt']) await put(store, `r@master:${p}`, p);
    await store.finishCommit(parseCommitRef(`r@${c.id}`));
    expect((await store.listFiles(parseFileRef('r@master:/d1'))).map((f) => [f.path, f.type])).toEqual([
      ['/d1/a.txt', 'file'],
      ['/d1/b.csv', 'file'],
    ]);
    expect((await store.globFiles(parseFileRef('r@master:/*/*.txt'))).map((f) => f.path)).toEqual(['/d1/a.txt']);
    expect((await store.globFiles(parseFileRef('r@master:/**.txt'))).map((f) => f.path)).toEqual(['/d1/a.txt', '/d2/sub/c.txt', '/top.txt']);
    const root = await store.inspectFile(parseFileRef('r@master:/'));
    expect(root.type).toBe('dir');
    expect((await store.inspectFile(parseFileRef('r@master:/d2'))).sizeBytes).toBe('/d2/sub/c.txt'.length);

    await store.copyFile(parseFileRef('r@master:/d1'), parseFileRef('r@master:/d3'));
    await put(store, 'r@master:/d1/a.txt', 'changed');
    await store.deleteFiles(parseFileRef('r@master:/d2'), { recursive: true });
    await expect(store.deleteFiles(parseFileRef('r@master:/d1'))).rejects.toThrow(/is a directory/);
    const diff = await store.diffFiles(parseFileRef('r@master'), parseFileRef('r@master^^^'));
    expect(diff.map((d) => `${d.op}${d.path}`)).toEqual(['-/d1/a.txt', '+/d1/a.txt', '-/d2/sub/c.txt', '+/d3/a.txt', '+/d3/b.csv']);
    expect((await store.diffFiles(parseFileRef('r@master'))).map((d) => `${d.op}${d.path}`)).toEqual(['-/d2/sub/c.txt']);
  });

  it('rejects a file where a directory is, leaving the branch as it was', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    await put(store, 'r@master:/d/x', 'x');
    const head = (await store.inspectCommit(parseCommitRef('r@master'))).id;
    await expect(put(store, 'r@master:/d', 'file')).rejects.toThrow(/path collision/);
    await expect(put(store, 'r@master:/d/x/y', 'deeper')).rejects.toThrow(/path collision/);
    expect((await store.inspectCommit(parseCommitRef('r@master'))).id).toBe(head);
    expect((await store.fsck()).ok).toBe(true);
  });

  it('branches: head, provenance propagation, cycles, deletion rules', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('in');
    await store.createRepo('out');
    const r = await put(store, 'in@master:/f', 'v1');
    await store.createBranch('out', 'master', { provenance: [{ repo: 'in', branch: 'master' }] });
    await expect(store.createBranch('in', 'master', { provenance: [{ repo: 'out', branch: 'master' }] })).rejects.toThrow(/provenance loop/);
    await expect(put(store, 'out@master:/x', 'no')).rejects.toThrow(/output branch/);
    const r2 = await put(store, 'in@master:/f', 'v2');
    const out = await store.inspectCommit(parseCommitRef(`out@${r2.commit}`));
    expect(out.origin).toBe('AUTO');
    expect(out.provenance).toEqual([{ repo: 'in', branch: 'master', commit: r2.commit }]);
    expect((await store.listCommits({ commitSet: r2.commit })).map((c) => c.repo).sort()).toEqual(['in', 'out']);
    await expect(store.deleteBranch('in', 'master')).rejects.toThrow(/subvenance/);
    await expect(store.deleteRepo('in')).rejects.toThrow(/provenance/);
    await store.createBranch('in', 'old', { head: parseCommitRef(`in@${r.commit}`) });
    expect((await store.inspectBranch('in', 'old')).head).toBe(r.commit);
  });

  it('squash keeps data in children; delete drops the newest commit', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    const a = await put(store, 'r@master:/a', 'a');
    const b = await put(store, 'r@master:/b', 'b');
    const c = await put(store, 'r@master:/c', 'c');
    await expect(store.deleteCommit(parseCommitRef(`r@${b.commit}`))).rejects.toThrow(/has children/);
    await store.squashCommit(parseCommitRef(`r@${b.commit}`));
    expect((await store.listCommits({ repo: 'r', branch: 'master' })).map((x) => x.id)).toEqual([c.commit, a.commit]);
    expect((await store.listFiles(parseFileRef('r@master:/'))).map((f) => f.path)).toEqual(['/a', '/b', '/c']);
    await store.deleteCommit(parseCommitRef(`r@${c.commit}`));
    expect((await store.inspectBranch('r', 'master')).head).toBe(a.commit);
    await expect(store.squashCommit(parseCommitRef(`r@${a.commit}`))).rejects.toThrow(/no children/);
  });

  it('a flipped pack byte is an error naming repo, commit and path; fsck lists it; gc reclaims deleted data', async () => {
    env = tempStore();
    const { store, dir } = env;
    await store.createRepo('r');
    const keep = seededBytes(300 * 1024, 11);
    const doomed = seededBytes(600 * 1024, 12);
    await put(store, 'r@master:/keep', keep);
    const w = await put(store, 'r@master:/doomed', doomed);
    expect((await store.fsck({ verifyData: true })).ok).toBe(true);
    // corrupt a byte in the middle of the pack: inside doomed's data (written last)
    const packsDir = path.join(dir, '.tusk', 'packs');
    const sub = fs.readdirSync(packsDir)[0]!;
    const pack = path.join(packsDir, sub, fs.readdirSync(path.join(packsDir, sub))[0]!);
    const fd = fs.openSync(pack, 'r+');
    const size = fs.fstatSync(fd).size;
    const at = size - 1000;
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0x40;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    store.close();
    const reopened = (await import('../../src/store/store.js')).openStore({ path: path.join(dir, '.tusk') });
    env.store = reopened;
    await expect(readBack(reopened, parseFileRef('r@master:/doomed'))).rejects.toThrow(new RegExp(`/doomed in r@master=${w.commit}`));
    expect((await readBack(reopened, parseFileRef('r@master:/keep'))).equals(keep)).toBe(true);
    const report = await reopened.fsck({ verifyData: true });
    expect(report.ok).toBe(false);
    expect(report.problems.some((p) => p.subject === `r@${w.commit}:/doomed`)).toBe(true);
    expect(report.problems.some((p) => p.subject.endsWith(':/keep'))).toBe(false);
  });

  it('gc reclaims the bytes of dropped commits and keeps everything referenced', async () => {
    env = tempStore();
    const { store } = env;
    await store.createRepo('r');
    const keep = seededBytes(1024 * 1024, 21);
    await put(store, 'r@master:/keep', keep);
    const big = await put(store, 'r@master:/big', seededBytes(4 * 1024 * 1024, 22));
    await store.deleteCommit(parseCommitRef(`r@${big.commit}`));
    // a dry run says what would go, and changes nothing: no row, no pack file
    const packsDir = path.join(store.path, 'packs');
    const files = () => fs.readdirSync(packsDir, { recursive: true }).map(String).sort();
    const before = files();
    const dry = await store.gc({ dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, packsRewritten: 1 });
    expect(dry.chunksRemoved).toBeGreaterThan(0);
    // what rewriting the pack would give back: its 4 MiB that no chunk needs
    expect(dry.bytesReclaimed).toBeGreaterThan(3.5 * 1024 * 1024);
    expect(files()).toEqual(before);
    expect(await store.gc({ dryRun: true })).toEqual(dry);
    const g = await store.gc();
    expect(g.chunksRemoved).toBe(dry.chunksRemoved);
    expect(g.packsRewritten).toBe(1);
    expect(g.bytesReclaimed).toBeGreaterThan(3.5 * 1024 * 1024);
    expect((await store.fsck({ verifyData: true })).ok).toBe(true);
    expect((await readBack(store, parseFileRef('r@master:/keep'))).equals(keep)).toBe(true);
  });

  it('a glob whose name starts with a literal seeks into a large directory and still finds every match', async () => {
    env = tempStore();
    const { store, dir } = env;
    await store.createRepo('r');
    const src = path.join(dir, 'wide');
    fs.mkdirSync(src);
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(src, `e${String(i).padStart(5, '0')}`), `${i}`);
    fs.mkdirSync(path.join(src, 'e01234x'));
    fs.writeFileSync(path.join(src, 'e01234x', 'inner'), 'x');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'local', localPath: src, repoPath: '/wide', recursive: true }]);
    const names = async (p: string) => (await store.globFiles(parseFileRef(`r@master:${p}`))).map((f) => f.path);
    expect(await names('/wide/e0123?')).toEqual(Array.from({ length: 10 }, (_, i) => `/wide/e0123${i}`));
    expect(await names('/wide/e01234*')).toEqual(['/wide/e01234', '/wide/e01234x']);
    expect(await names('/wide/e01234*/*')).toEqual(['/wide/e01234x/inner']);
    expect(await names('/wide/e02999')).toEqual(['/wide/e02999']);
    expect(await names('/wide/zz*')).toEqual([]);
  });
});
