// Concurrent read-modify-write on one branch. Reproduction:
//   echo base | tusk put file ap@master:/log.txt
//   for i in 1..8: echo line$i | tusk put file -a ap@master:/log.txt &
// All exited 0 and made 9 commits, but the file held only some of the lines: the append read the
// old content before its commit's transaction, and the transaction wrote over a newer head.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import { openStore, type Store } from '../../src/store/store.js';
import { runTusk as runAs, unprivilegedRunner, type RunOptions } from '../cli/cli-helpers.js';
import { spawnSync } from 'node:child_process';
import { readBack, seededBytes, streamOf, tempStore } from '../helpers.js';

let env: ReturnType<typeof tempStore> | undefined;
const extra: Store[] = [];
afterEach(() => {
  for (const s of extra.splice(0)) s.close();
  env?.cleanup();
  env = undefined;
});

/** A stream that yields `head`, then waits for `release()` before yielding `tail`. */
function gatedStream(head: Buffer, tail: Buffer): { stream: NodeJS.ReadableStream; reached: Promise<void>; release: () => void } {
  let release!: () => void;
  let reachedResolve!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const reached = new Promise<void>((r) => (reachedResolve = r));
  async function* gen() {
    yield head;
    reachedResolve();
    await gate;
    yield tail;
  }
  return { stream: Readable.from(gen()), reached, release };
}

const runTusk = runAs;

const file = async (store: Store, ref: string) => (await readBack(store, parseFileRef(ref))).toString('latin1');

describe('concurrent writers to one branch', () => {
  it('an append that read the file before another append committed still keeps both', async () => {
    env = tempStore();
    const a = env.store;
    const b = openStore({ path: path.join(env.dir, '.tusk') });
    extra.push(b);
    await a.createRepo('ap');
    // a multi-chunk base, so the append continues a chunk list
    const base = seededBytes(3 << 20, 11);
    await a.putFiles({ repo: 'ap', branch: 'master' }, [{ kind: 'stream', repoPath: '/log.txt', stream: streamOf(base) }]);
    const g = gatedStream(Buffer.from('A1 '), Buffer.from('A2\n'));
    const slow = a.putFiles({ repo: 'ap', branch: 'master' }, [{ kind: 'stream', repoPath: '/log.txt', stream: g.stream }], { append: true });
    await g.reached;
    // another writer appends and commits while the first is still reading its input
    await b.putFiles({ repo: 'ap', branch: 'master' }, [{ kind: 'stream', repoPath: '/log.txt', stream: streamOf('B\n') }], { append: true });
    g.release();
    await slow;
    const got = await file(a, 'ap@master:/log.txt');
    expect(got.length).toBe(base.length + 'B\nA1 A2\n'.length);
    expect(got.slice(0, base.length) === base.toString('latin1')).toBe(true);
    expect(got.slice(base.length)).toBe('B\nA1 A2\n');
    expect(await a.listCommits({ repo: 'ap', branch: 'master' })).toHaveLength(3);
    expect((await a.fsck()).ok).toBe(true);
  });

  it('appends to a small (one-chunk) file and to a missing file race the same way', async () => {
    env = tempStore();
    const a = env.store;
    const b = openStore({ path: path.join(env.dir, '.tusk') });
    extra.push(b);
    await a.createRepo('ap');
    await a.putFiles({ repo: 'ap', branch: 'master' }, [{ kind: 'stream', repoPath: '/log.txt', stream: streamOf('base\n') }]);
    const g = gatedStream(Buffer.from('one '), Buffer.from('two\n'));
    const slow = a.putFiles({ repo: 'ap', branch: 'master' }, [
      { kind: 'stream', repoPath: '/log.txt', stream: g.stream },
      { kind: 'stream', repoPath: '/new.txt', stream: streamOf('mine\n') },
    ], { append: true });
    await g.reached;
    await b.putFiles({ repo: 'ap', branch: 'master' }, [
      { kind: 'stream', repoPath: '/log.txt', stream: streamOf('other\n') },
      { kind: 'stream', repoPath: '/new.txt', stream: streamOf('theirs\n') },
    ], { append: true });
    g.release();
    await slow;
    expect(await file(a, 'ap@master:/log.txt')).toBe('base\nother\none two\n');
    expect(await file(a, 'ap@master:/new.txt')).toBe('theirs\nmine\n');
  });

  it('a put whose file was unchanged when it looked still wins over a write that committed meanwhile', async () => {
    env = tempStore();
    const a = env.store;
    const b = openStore({ path: path.join(env.dir, '.tusk') });
    extra.push(b);
    await a.createRepo('ap');
    const local = path.join(env.dir, 'x.txt');
    fs.writeFileSync(local, 'mine\n');
    // the file cache trusts only files last changed 2 s before they were read
    const changed = Math.max(fs.statSync(local).ctimeMs, fs.statSync(local).mtimeMs);
    await new Promise((r) => setTimeout(r, Math.max(0, changed + 2100 - Date.now())));
    await a.putFiles({ repo: 'ap', branch: 'master' }, [{ kind: 'local', localPath: local, repoPath: '/x.txt', recursive: false }]);
    // the second put of x.txt finds it unchanged (file cache, same id in the base): no edit needed
    const g = gatedStream(Buffer.from('y'), Buffer.from('\n'));
    const slow = a.putFiles({ repo: 'ap', branch: 'master' }, [
      { kind: 'local', localPath: local, repoPath: '/x.txt', recursive: false },
      { kind: 'stream', repoPath: '/y.txt', stream: g.stream },
    ]);
    await g.reached;
    await b.putFiles({ repo: 'ap', branch: 'master' }, [{ kind: 'stream', repoPath: '/x.txt', stream: streamOf('theirs\n') }]);
    g.release();
    expect((await slow).cachedFiles).toBe(1);
    // the later commit put x.txt: its content is the local file's
    expect(await file(a, 'ap@master:/x.txt')).toBe('mine\n');
    expect(await file(a, 'ap@master:/y.txt')).toBe('y\n');
  });

  const nobody = unprivilegedRunner();
  it.each([
    ['as this user', 8, { ok: true as const, asUser: undefined }],
    [`as an unprivileged user (${nobody.why})`, 4, nobody],
  ])('the CLI: parallel `put file -a` keep every line, %s', async (_name, writers, who) => {
    if (!who.ok) return; // reported in the test's name: root without setpriv cannot drop privileges
    env = tempStore();
    const cwd = env.dir;
    if (who.asUser !== undefined) {
      // a store this user owns, in a directory it may enter
      fs.chmodSync(cwd, 0o755);
      spawnSync('chown', ['-R', String(who.asUser), cwd]);
    }
    const runTusk = (args: string[], opts: RunOptions = {}) => runAs(args, { ...opts, asUser: who.asUser });
    expect((await runTusk(['create', 'repo', 'ap'], { cwd })).code).toBe(0);
    const first = await runTusk(['put', 'file', 'ap@master:/log.txt'], { cwd, input: 'base\n' });
    expect(first.code, first.describe()).toBe(0);
    const runs = await Promise.all(
      Array.from({ length: writers }, (_, i) => runTusk(['put', 'file', '-a', 'ap@master:/log.txt'], { cwd, input: `line${i + 1}\n` })),
    );
    for (const r of runs) expect(r.code, r.describe()).toBe(0);
    const got = await runTusk(['get', 'file', 'ap@master:/log.txt'], { cwd });
    const lines = got.stdout.split('\n').filter(Boolean);
    expect(lines[0]).toBe('base');
    expect([...lines].sort()).toEqual(['base', ...Array.from({ length: writers }, (_, i) => `line${i + 1}`)].sort());
    const commits = await runTusk(['list', 'commit', 'ap@master', '--json'], { cwd });
    expect(commits.json<unknown[]>()).toHaveLength(writers + 1);
  });

  it('the CLI: parallel `copy file -a` and `delete file` to one branch each land on the newest head', async () => {
    env = tempStore();
    const cwd = env.dir;
    expect((await runTusk(['create', 'repo', 'ap'], { cwd })).code).toBe(0);
    const files = ['log.txt', ...Array.from({ length: 3 }, (_, i) => `src${i}.txt`), ...Array.from({ length: 3 }, (_, i) => `gone${i}.txt`)];
    const src = path.join(cwd, 'src');
    fs.mkdirSync(src);
    for (const f of files) fs.writeFileSync(path.join(src, f), f === 'log.txt' ? 'base\n' : `${f}\n`);
    // one source and a path: the directory's files go under that path (pachctl's rule)
    const first = await runTusk(['put', 'file', '-r', '-f', src, 'ap@master:/src'], { cwd });
    expect(first.code, first.describe()).toBe(0);
    const runs = await Promise.all([
      ...Array.from({ length: 3 }, (_, i) => runTusk(['copy', 'file', '-a', `ap@master:/src/src${i}.txt`, 'ap@master:/src/log.txt'], { cwd })),
      ...Array.from({ length: 3 }, (_, i) => runTusk(['delete', 'file', `ap@master:/src/gone${i}.txt`], { cwd })),
    ]);
    for (const r of runs) expect(r.code, r.describe()).toBe(0);
    const log = (await runTusk(['get', 'file', 'ap@master:/src/log.txt'], { cwd })).stdout.split('\n').filter(Boolean);
    expect(log[0]).toBe('base');
    expect(log.slice(1).sort()).toEqual(['src0.txt', 'src1.txt', 'src2.txt']);
    const left = (await runTusk(['list', 'file', 'ap@master:/src/', '--json'], { cwd })).json<{ path: string }[]>().map((f) => f.path);
    expect(left.sort()).toEqual(['/src/log.txt', '/src/src0.txt', '/src/src1.txt', '/src/src2.txt']);
    expect((await runTusk(['list', 'commit', 'ap@master', '--json'], { cwd })).json<unknown[]>()).toHaveLength(1 + 6);
  });
});
