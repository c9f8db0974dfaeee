// The pachctl data commands end to end, through the built binary with --json: exact exit codes,
// results read back through other commands, and repeated commands for idempotency.
//
// Each `describe.concurrent` group owns one store and runs its steps in order; the groups run in
// parallel with each other (spawning node is the cost, and much of it is waiting).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { seededBytes, tempDir } from '../helpers.js';
import { STORE_KIND } from '../helpers/store-kind.js';
import { expectCliError, expectJsonError, expectOk, runTusk, treeDifferences, type StoreDir, withStoreDir, writeTree } from './cli-helpers.js';

const step = it.sequential;
// each step runs a dozen CLI commands: the limit guards against a hang, not a timing
vi.setConfig({ testTimeout: 180_000 });
const COMMIT_ID = /^[0-9a-f]{12}4[0-9a-f]{19}$/;

type Commit = { id: string; repo: string; branch: string | null; parent: string | null; children: string[]; finished: string | null; description: string; origin: string; sizeBytes: number; files: number };
type FileInfo = { path: string; type: 'file' | 'dir'; sizeBytes: number; files: number; hash: string; commit: string };
type Branch = { repo: string; name: string; head: string; provenance: string[]; subvenance: string[] };
type Repo = { name: string; type: string; description: string; sizeBytes: number; branches: string[] };
type PutResult = { repo: string; branch: string | null; commit: string; finished: boolean; files: number; bytes: number };

/** A store for one group: made before its first step, removed after its last. */
function useStore(): () => StoreDir {
  let s: StoreDir | undefined;
  beforeAll(async () => {
    s = await withStoreDir();
  });
  afterAll(() => s?.cleanup());
  return () => s!;
}

/** Paths of a `list file`/`glob file` result. */
const paths = (files: FileInfo[]) => files.map((f) => f.path);

/** The nearest directory at or above `dir` holding a store, if any. */
function storeAbove(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, '.tusk', 'meta.db'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

// `tusk init` of a local store and how commands find it; the team store's init and TUSK_STORE=postgres://…
// are test/cli/team-store.test.ts's. These make their own stores, so the team variant would repeat them.
describe.skipIf(STORE_KIND === 'team').concurrent(`init and finding the store${STORE_KIND === 'team' ? ' (skipped: local stores only)' : ''}`, () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const mk = () => {
    const d = tempDir('tusk-cli-init-');
    dirs.push(d);
    return d;
  };

  step('init creates DIR/.tusk, and running it again changes nothing', async () => {
    const dir = mk();
    const first = expectOk(await runTusk(['init', '--json'], { cwd: dir })).json();
    expect(first).toEqual({ path: path.join(fs.realpathSync(dir), '.tusk'), created: true });
    expect(fs.existsSync(path.join(dir, '.tusk', 'meta.db'))).toBe(true);
    expect(expectOk(await runTusk(['init', '--json'], { cwd: dir })).json()).toEqual({ path: first.path, created: false });
    expect(expectOk(await runTusk(['init', 'nested/data', '--json'], { cwd: dir })).json()).toEqual({
      path: path.join(path.dirname(first.path), 'nested', 'data', '.tusk'),
      created: true,
    });
    expect(expectOk(await runTusk(['init'], { cwd: dir })).stdout).toBe(`tusk store already exists in ${first.path}\n`);
  });

  step('without a store (and TUSK_STORE unset) commands exit 4 and say to run `tusk init`', async (ctx) => {
    const dir = mk();
    const above = storeAbove(dir);
    if (above !== undefined) {
      ctx.skip(`a store exists above the temp dir, at ${above}: commands would find it`);
      return;
    }
    // expectCliError also checks the plain output: `Error: no tusk store found …` + the hint line
    const err = await expectCliError(['create', 'repo', 'images'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['no tusk store', dir] }, { cwd: dir });
    expect(err.hint).toContain('tusk init');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  step('TUSK_STORE names a store (its directory or the .tusk itself) from any working directory', async () => {
    const storeDir = mk();
    const elsewhere = mk();
    expectOk(await runTusk(['init'], { cwd: storeDir }));
    expectOk(await runTusk(['create', 'repo', 'images', '--json'], { cwd: elsewhere, env: { TUSK_STORE: storeDir } }));
    const viaDotTusk = expectOk(await runTusk(['list', 'repo', '--json'], { cwd: elsewhere, env: { TUSK_STORE: path.join(storeDir, '.tusk') } })).json<Repo[]>();
    expect(viaDotTusk.map((r) => r.name)).toEqual(['images']);
    // found by walking up from a subdirectory too
    fs.mkdirSync(path.join(storeDir, 'a', 'b'), { recursive: true });
    const fromSub = expectOk(await runTusk(['list', 'repo', '--json'], { cwd: path.join(storeDir, 'a', 'b') })).json<Repo[]>();
    expect(fromSub.map((r) => r.name)).toEqual(['images']);
    expect(fs.readdirSync(elsewhere)).toEqual([]); // nothing was created where the commands ran
    await expectJsonError(['list', 'repo'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['TUSK_STORE'] }, { cwd: elsewhere, env: { TUSK_STORE: path.join(elsewhere, 'missing') } });
  });
});

describe.concurrent('repos', () => {
  const s = useStore();

  step('create repo, list repo (newest first), inspect repo', async () => {
    const created = await s().json<Repo>(['create', 'repo', 'images', '-d', 'Raw photos']);
    expect(created).toMatchObject({ name: 'images', type: 'user', description: 'Raw photos', sizeBytes: 0, branches: [] });
    await s().json(['create', 'repo', 'edges']);
    expect((await s().json<Repo[]>(['list', 'repo'])).map((r) => r.name)).toEqual(['edges', 'images']);
    expect(await s().json<Repo>(['inspect', 'repo', 'images'])).toEqual(created);
    const table = expectOk(await s().tusk(['list', 'repo']));
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+CREATED\s+SIZE \(MASTER\)\s+DESCRIPTION$/);
  });

  step('create repo again: E_EXISTS (exit 3), and the repo is unchanged', async () => {
    const before = await s().json<Repo>(['inspect', 'repo', 'images']);
    await expectCliError(['create', 'repo', 'images', '-d', 'other'], { exit: 3, code: 'E_EXISTS', mentions: ['images'] }, { cwd: s().dir });
    expect(await s().json<Repo>(['inspect', 'repo', 'images'])).toEqual(before);
  });

  step('update repo sets the description, twice to the same result, and creates a missing repo', async () => {
    const once = await s().json<Repo>(['update', 'repo', 'images', '-d', 'Photos, deduplicated']);
    expect(once.description).toBe('Photos, deduplicated');
    expect(await s().json<Repo>(['update', 'repo', 'images', '-d', 'Photos, deduplicated'])).toEqual(once);
    expect(await s().json<Repo>(['update', 'repo', 'fresh', '-d', 'made by update'])).toMatchObject({ name: 'fresh', description: 'made by update' });
    await expectJsonError(['update', 'repo', 'images'], { exit: 2, code: 'E_INVALID', mentions: ['description'] }, { cwd: s().dir });
  });

  step('delete repo, twice (second: exit 4), and --all', async () => {
    expect(await s().json(['delete', 'repo', 'fresh'])).toEqual({ deleted: ['fresh'] });
    await expectJsonError(['delete', 'repo', 'fresh'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['fresh'] }, { cwd: s().dir });
    await expectJsonError(['delete', 'repo'], { exit: 2, code: 'E_INVALID', mentions: ['--all'] }, { cwd: s().dir });
    await expectJsonError(['delete', 'repo', 'images', '--all'], { exit: 2, code: 'E_INVALID', mentions: ['--all'] }, { cwd: s().dir });
    expect((await s().json<{ deleted: string[] }>(['delete', 'repo', '--all'])).deleted.sort()).toEqual(['edges', 'images']);
    expect(await s().json(['list', 'repo'])).toEqual([]);
    expect(await s().json(['delete', 'repo', '--all'])).toEqual({ deleted: [] });
  });

  // BUG (src/commands/delete/repo.ts): --all deletes repos one by one, newest first, each refusing
  // while another branch has provenance on it. Here `a` (older) depends on `b` (newer): `c` is
  // deleted, then `b` is refused (exit 3) and the store is left half-deleted. pachctl's --all
  // deletes them all; at the very least nothing should be deleted when it fails.
  step('delete repo --all deletes repos that other repos have provenance on', async () => {
    for (const r of ['a', 'b', 'c']) await s().json(['create', 'repo', r]);
    await s().json(['put', 'file', 'b@master:/x'], { input: 'x' });
    await s().json(['create', 'branch', 'a@master', '--provenance', 'b@master']);
    await expectJsonError(['delete', 'repo', 'b'], { exit: 3, code: 'E_CONFLICT', mentions: ['a@master'] }, { cwd: s().dir });
    const r = await s().tusk(['delete', 'repo', '--all', '--json']);
    const left = (await s().json<Repo[]>(['list', 'repo'])).map((x) => x.name);
    expect({ code: r.code, left }, r.describe()).toEqual({ code: 0, left: [] });
    expect(r.json()).toEqual({ deleted: ['c', 'b', 'a'] });
    expect((await s().json<{ ok: boolean }>(['fsck'])).ok).toBe(true);
  });
});

describe.concurrent('branches', () => {
  const s = useStore();
  let c1 = '';
  let c2 = '';

  step('create branch without --head: an empty, finished head commit', async () => {
    await s().json(['create', 'repo', 'images']);
    c1 = (await s().json<PutResult>(['put', 'file', 'images@master:/a.txt'], { input: 'one\n' })).commit;
    c2 = (await s().json<PutResult>(['put', 'file', 'images@master:/b.txt'], { input: 'two\n' })).commit;
    const dev = await s().json<Branch>(['create', 'branch', 'images@dev']);
    expect(dev).toMatchObject({ repo: 'images', name: 'dev', provenance: [], subvenance: [] });
    expect(dev.head).toMatch(COMMIT_ID);
    expect(dev.head).not.toBe(c2);
    expect((await s().json<Commit>(['inspect', 'commit', 'images@dev'])).finished).not.toBeNull();
    expect(await s().json(['list', 'file', 'images@dev'])).toEqual([]);
  });

  step('create branch --head (ancestry, branch, id); the same command twice gives the same branch', async () => {
    const staging = await s().json<Branch>(['create', 'branch', 'images@staging', '--head', 'master^']);
    expect(staging.head).toBe(c1);
    expect(await s().json<Branch>(['create', 'branch', 'images@staging', '--head', 'master^'])).toEqual(staging);
    expect((await s().json<Branch>(['create', 'branch', 'images@v2', '--head', 'master'])).head).toBe(c2);
    expect((await s().json<Branch>(['create', 'branch', 'images@v1', '--head', c1])).head).toBe(c1);
    expect((await s().json<Branch>(['create', 'branch', 'images@v1b', '--head', `images@master=${c1}`])).head).toBe(c1);
    // moving an existing branch
    expect((await s().json<Branch>(['create', 'branch', 'images@staging', '--head', 'master'])).head).toBe(c2);
    expect(paths(await s().json(['list', 'file', 'images@v1']))).toEqual(['/a.txt']);
    const names = (await s().json<Branch[]>(['list', 'branch', 'images'])).map((b) => b.name).sort();
    expect(names).toEqual(['dev', 'master', 'staging', 'v1', 'v1b', 'v2']);
  });

  step('--provenance links branches across repos (and subvenance shows on the input)', async () => {
    await s().json(['create', 'repo', 'edges']);
    const out = await s().json<Branch>(['create', 'branch', 'edges@master', '--provenance', 'images@master']);
    expect(out.provenance).toEqual(['images@master']);
    expect((await s().json<Branch>(['inspect', 'branch', 'images@master'])).subvenance).toEqual(['edges@master']);
    // an output branch is not written to directly
    await expectJsonError(['put', 'file', 'edges@master:/x'], { exit: 3, code: 'E_CONFLICT', mentions: ['edges@master'] }, { cwd: s().dir, input: 'x' });
  });

  step('delete branch, twice (exit 4); a branch others depend on needs its dependents gone', async () => {
    expect(await s().json(['delete', 'branch', 'images@dev'])).toEqual({ repo: 'images', branch: 'dev' });
    await expectJsonError(['delete', 'branch', 'images@dev'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['dev'] }, { cwd: s().dir });
    await expectJsonError(['delete', 'branch', 'images@master'], { exit: 3, code: 'E_CONFLICT', mentions: ['edges@master'] }, { cwd: s().dir });
    expect(await s().json(['delete', 'branch', 'edges@master'])).toEqual({ repo: 'edges', branch: 'master' });
    expect(await s().json(['delete', 'branch', 'images@master'])).toEqual({ repo: 'images', branch: 'master' });
    // the commits are kept
    expect((await s().json<Commit[]>(['list', 'commit', 'images'])).map((c) => c.id)).toEqual(expect.arrayContaining([c1, c2]));
  });
});

describe.concurrent('commits', () => {
  const s = useStore();
  let open = '';
  let c2 = '';
  let c3 = '';

  step('start commit prints an id; the commit is open until finish commit', async () => {
    await s().json(['create', 'repo', 'images']);
    open = expectOk(await s().tusk(['start', 'commit', 'images@master', '-m', 'first import'])).stdout.trim();
    expect(open).toMatch(COMMIT_ID);
    const info = await s().json<Commit>(['inspect', 'commit', 'images@master']);
    expect(info).toMatchObject({ id: open, repo: 'images', branch: 'master', finished: null, description: 'first import', origin: 'USER' });
    // waiting on an open commit times out
    await expectJsonError(['wait', 'commit', 'images@master', '--timeout', '1'], { exit: 3, code: 'E_CONFLICT', mentions: [open] }, { cwd: s().dir });
  });

  step('writes join the open commit; finish commit closes it, and a second finish is a conflict', async () => {
    expect(await s().json<PutResult>(['put', 'file', 'images@master:/a.txt'], { input: 'alpha\n' })).toMatchObject({ commit: open, finished: false, files: 1, bytes: 6 });
    expect(await s().json<PutResult>(['put', 'file', `images@${open}:/b.txt`], { input: 'beta\n' })).toMatchObject({ commit: open, finished: false });
    expect(await s().json<Commit[]>(['list', 'commit', 'images@master'])).toHaveLength(1);
    const finished = await s().json<Commit>(['finish', 'commit', 'images@master', '-m', 'first import, 2 files']);
    expect(finished).toMatchObject({ id: open, description: 'first import, 2 files', files: 2, sizeBytes: 11 });
    expect(finished.finished).not.toBeNull();
    await expectJsonError(['finish', 'commit', `images@${open}`], { exit: 3, code: 'E_CONFLICT', mentions: [open] }, { cwd: s().dir });
    expect(await s().json<Commit>(['wait', 'commit', `images@${open}`])).toEqual(finished);
  });

  step('list commit: newest first, -n, --origin, --all, commit sets, and ancestry addresses', async () => {
    c2 = (await s().json<PutResult>(['put', 'file', 'images@master:/c.txt'], { input: 'gamma\n' })).commit;
    c3 = (await s().json<PutResult>(['put', 'file', 'images@master:/d.txt'], { input: 'delta\n' })).commit;
    const all = await s().json<Commit[]>(['list', 'commit', 'images@master']);
    expect(all.map((c) => c.id)).toEqual([c3, c2, open]);
    expect(all.map((c) => c.parent)).toEqual([c2, open, null]);
    expect((await s().json<Commit[]>(['list', 'commit', 'images@master', '-n', '2'])).map((c) => c.id)).toEqual([c3, c2]);
    expect((await s().json<Commit[]>(['list', 'commit', 'images', '--origin', 'user'])).map((c) => c.id)).toEqual([c3, c2, open]);
    expect((await s().json<Commit[]>(['list', 'commit', 'images', '--all'])).map((c) => c.id)).toEqual([c3, c2, open]);
    await expectJsonError(['list', 'commit', 'images', '--all', '--origin', 'USER'], { exit: 2, code: 'E_INVALID', mentions: ['--all', '--origin'] }, { cwd: s().dir });
    await expectJsonError(['list', 'commit', 'images', '--origin', 'SOMETIMES'], { exit: 2, code: 'E_INVALID', mentions: ['SOMETIMES'] }, { cwd: s().dir });
    expect((await s().json<{ id: string }[]>(['list', 'commit'])).map((x) => x.id)).toEqual([c3, c2, open]);
    expect((await s().json<Commit[]>(['list', 'commit', c2])).map((c) => [c.repo, c.id])).toEqual([['images', c2]]);
    // ancestry: ^ and ~ count back from the head, .N counts from the start of the branch
    expect((await s().json<Commit>(['inspect', 'commit', 'images@master^'])).id).toBe(c2);
    expect((await s().json<Commit>(['inspect', 'commit', 'images@master~2'])).id).toBe(open);
    expect((await s().json<Commit>(['inspect', 'commit', 'images@master.1'])).id).toBe(open);
    expect((await s().json<Commit>(['inspect', 'commit', `images@${c3}^`])).id).toBe(c2);
    await expectJsonError(['inspect', 'commit', 'images@master^5'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['5'] }, { cwd: s().dir });
  });

  step('squash commit folds a commit into its child, keeping the data', async () => {
    expect((await s().json<{ squashed: Commit[] }>(['squash', 'commit', c2])).squashed.map((c) => c.id)).toEqual([c2]);
    const list = await s().json<Commit[]>(['list', 'commit', 'images@master']);
    expect(list.map((c) => [c.id, c.parent])).toEqual([
      [c3, open],
      [open, null],
    ]);
    expect(paths(await s().json(['list', 'file', 'images@master']))).toEqual(['/a.txt', '/b.txt', '/c.txt', '/d.txt']);
    await expectJsonError(['squash', 'commit', c2], { exit: 4, code: 'E_NOT_FOUND', mentions: [c2] }, { cwd: s().dir });
    // the newest commit has no children: squashing it would lose data
    await expectJsonError(['squash', 'commit', c3], { exit: 3, code: 'E_CONFLICT', mentions: [c3] }, { cwd: s().dir });
  });

  step('delete commit drops the newest commit and moves the branch back', async () => {
    await expectJsonError(['delete', 'commit', open], { exit: 3, code: 'E_CONFLICT', mentions: [open] }, { cwd: s().dir });
    expect((await s().json<{ deleted: Commit[] }>(['delete', 'commit', c3])).deleted.map((c) => c.id)).toEqual([c3]);
    expect((await s().json<Branch>(['inspect', 'branch', 'images@master'])).head).toBe(open);
    expect(paths(await s().json(['list', 'file', 'images@master']))).toEqual(['/a.txt', '/b.txt']);
    await expectJsonError(['delete', 'commit', c3], { exit: 4, code: 'E_NOT_FOUND', mentions: [c3] }, { cwd: s().dir });
    // by address; that was the branch's only commit, so the branch goes with it
    expect((await s().json<{ deleted: Commit[] }>(['delete', 'commit', 'images@master'])).deleted.map((c) => c.id)).toEqual([open]);
    expect(await s().json(['list', 'branch', 'images'])).toEqual([]);
  });
});

describe.concurrent('put file', () => {
  const s = useStore();
  let local = '';
  const big = seededBytes(3 * 1024 * 1024 + 17, 42);
  /** What `get file -r data@master` must give back at the end. */
  let expected = '';

  beforeAll(() => {
    local = tempDir('tusk-cli-src-');
    expected = tempDir('tusk-cli-expected-');
    writeTree(local, {
      'a.csv': 'id,name\n1,ada\n2,grace\n',
      'b.csv': 'id,score\n1,99\n',
      'big.bin': big,
      'dir/top.txt': 'top\n',
      'dir/sub/deep.txt': 'deep\n',
      'dir/sub/empty.txt': '',
      'tarsrc/t1.txt': 'tar one\n',
      'tarsrc/nested/t2.txt': 'tar two\n',
    });
    execFileSync('tar', ['-cf', path.join(local, 'batch.tar'), '-C', path.join(local, 'tarsrc'), '.']);
    execFileSync('tar', ['-czf', path.join(local, 'batch.tar.gz'), '-C', path.join(local, 'tarsrc'), 't1.txt']);
  });
  afterAll(() => [local, expected].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const expect_ = (files: Record<string, string | Buffer>) => writeTree(expected, files);
  const csvA = 'id,name\n1,ada\n2,grace\n';
  const csvB = 'id,score\n1,99\n';

  step('one local file lands at /<basename>, or at the path given', async () => {
    await s().json(['create', 'repo', 'data']);
    const r = await s().json<PutResult>(['put', 'file', 'data@master', '-f', path.join(local, 'a.csv')]);
    expect(r).toMatchObject({ repo: 'data', branch: 'master', finished: true, files: 1, bytes: csvA.length });
    expect(r.commit).toMatch(COMMIT_ID);
    await s().json(['put', 'file', 'data@master:/renamed/b2.csv', '-f', path.join(local, 'b.csv')]);
    // a relative -f is read from the working directory
    await s().json(['put', 'file', 'data@master', '-f', 'b.csv'], { cwd: local, env: { TUSK_STORE: s().dir } });
    expect_({ 'a.csv': csvA, 'renamed/b2.csv': csvB, 'b.csv': csvB });
  });

  step('a multi-MiB file', async () => {
    await s().json(['put', 'file', 'data@master', '-f', path.join(local, 'big.bin')]);
    expect(await s().json<FileInfo>(['inspect', 'file', 'data@master:/big.bin'])).toMatchObject({ path: '/big.bin', type: 'file', sizeBytes: big.length, files: 1 });
    expect_({ 'big.bin': big });
  });

  step('a file of 16 MiB or more is chunked and verified on the content worker thread', async () => {
    // TUSK_WORKER=1 turns "no worker, fall back to one thread" into an error, so this fails if
    // the built CLI cannot find or start its worker script
    const huge = seededBytes(17 * 1024 * 1024 + 5, 7);
    const dir = tempDir('tusk-cli-huge-');
    try {
      fs.writeFileSync(path.join(dir, 'huge.bin'), huge);
      const env = { TUSK_WORKER: '1' };
      await s().json(['put', 'file', 'data@master:/huge.bin', '-f', path.join(dir, 'huge.bin')], { env });
      const back = await s().tusk(['get', 'file', 'data@master:/huge.bin'], { env });
      expect(back.code, back.describe()).toBe(0);
      expect(back.stdoutBytes.equals(huge)).toBe(true);
      await s().json(['delete', 'file', 'data@master:/huge.bin']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  step('stdin goes to the path given (and needs one)', async () => {
    expect(await s().json<PutResult>(['put', 'file', 'data@master:/notes/hello.txt'], { input: 'hello\n' })).toMatchObject({ files: 1, bytes: 6 });
    await s().json(['put', 'file', 'data@master:/notes/dash.txt', '-f', '-'], { input: 'dash\n' });
    await expectJsonError(['put', 'file', 'data@master'], { exit: 2, code: 'E_INVALID', mentions: ['stdin'] }, { cwd: s().dir, input: 'x' });
    expect_({ 'notes/hello.txt': 'hello\n', 'notes/dash.txt': 'dash\n' });
  });

  step('several -f: the path is a directory for all of them (as for one -f and a trailing slash)', async () => {
    expect((await s().json<PutResult>(['put', 'file', 'data@master:/multi', '-f', path.join(local, 'a.csv'), '-f', path.join(local, 'b.csv')])).files).toBe(2);
    await s().json(['put', 'file', 'data@master:/into/', '-f', path.join(local, 'a.csv')]);
    expect_({ 'multi/a.csv': csvA, 'multi/b.csv': csvB, 'into/a.csv': csvA });
  });

  step('-r: a directory lands at /<basename>, or its contents go into the path given', async () => {
    expect((await s().json<PutResult>(['put', 'file', '-r', 'data@master', '-f', path.join(local, 'dir')])).files).toBe(3);
    await s().json(['put', 'file', '-r', 'data@master:/p', '-f', path.join(local, 'dir')]);
    const tree = { 'top.txt': 'top\n', 'sub/deep.txt': 'deep\n', 'sub/empty.txt': '' };
    expect_(Object.fromEntries(Object.entries(tree).flatMap(([k, v]) => [[`dir/${k}`, v], [`p/${k}`, v]])));
    // the same put again: a new commit, the same tree
    const before = await s().json<FileInfo>(['inspect', 'file', 'data@master:/p']);
    expect(before).toMatchObject({ type: 'dir', files: 3, sizeBytes: 9 });
    expect((await s().json<PutResult>(['put', 'file', '-r', 'data@master:/p', '-f', path.join(local, 'dir')])).commit).not.toBe(before.commit);
    expect((await s().json<FileInfo>(['inspect', 'file', 'data@master:/p'])).hash).toBe(before.hash);
  });

  step('existing files are overwritten; -a appends', async () => {
    await s().json(['put', 'file', 'data@master:/log.txt'], { input: 'hello ' });
    await s().json(['put', 'file', '-a', 'data@master:/log.txt'], { input: 'world\n' });
    await s().json(['put', 'file', '--append', 'data@master:/log.txt', '-f', path.join(local, 'b.csv')]);
    expect(expectOk(await s().tusk(['get', 'file', 'data@master:/log.txt'])).stdout).toBe(`hello world\n${csvB}`);
    await s().json(['put', 'file', 'data@master:/log.txt'], { input: 'replaced\n' });
    await s().json(['put', 'file', 'data@master:/b.csv', '-f', path.join(local, 'a.csv')]);
    expect_({ 'log.txt': 'replaced\n', 'b.csv': csvA });
  });

  step('--untar unpacks a tar (or tar.gz) made by tar -cf under the path, also from stdin', async () => {
    expect((await s().json<PutResult>(['put', 'file', '--untar', 'data@master:/untar', '-f', path.join(local, 'batch.tar')])).files).toBe(2);
    await s().json(['put', 'file', '--untar', 'data@master:/gz', '-f', path.join(local, 'batch.tar.gz')]);
    await s().json(['put', 'file', '--untar', 'data@master:/stdin'], { input: fs.readFileSync(path.join(local, 'batch.tar')) });
    expect_({ 'untar/t1.txt': 'tar one\n', 'untar/nested/t2.txt': 'tar two\n', 'gz/t1.txt': 'tar one\n', 'stdin/t1.txt': 'tar one\n', 'stdin/nested/t2.txt': 'tar two\n' });
  });

  step('everything put reads back byte for byte (get file -r)', async () => {
    const out = path.join(local, 'out');
    await s().json(['get', 'file', '-r', 'data@master', '-o', out]);
    expect(treeDifferences(out, expected)).toEqual([]);
    expect((await s().json<{ ok: boolean }>(['fsck'])).ok).toBe(true);
  });
});

describe.concurrent('get file', () => {
  const s = useStore();
  let out = '';
  let src = '';
  const bin = seededBytes(1024 * 1024 + 3, 9);

  beforeAll(() => {
    out = tempDir('tusk-cli-out-');
    src = tempDir('tusk-cli-src-');
    writeTree(src, { 'photos/cat.bin': bin, 'photos/readme.txt': 'two photos\n', 'photos/2024/dog.txt': 'woof\n', 'photos/2024/deeper/empty': '' });
  });
  afterAll(() => [out, src].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  step('to stdout, and to a file with -o (twice: overwritten)', async () => {
    await s().json(['create', 'repo', 'images']);
    await s().json(['put', 'file', '-r', 'images@master', '-f', path.join(src, 'photos')]);
    const r = expectOk(await s().tusk(['get', 'file', 'images@master:/photos/cat.bin']));
    expect(r.stdoutBytes.equals(bin)).toBe(true);
    expect(r.stderr).toBe('');
    const target = path.join(out, 'cat.bin');
    for (let i = 0; i < 2; i++) {
      expect(await s().json(['get', 'file', 'images@master:/photos/cat.bin', '-o', target])).toEqual({ files: 1, bytes: bin.length });
      expect(fs.readFileSync(target).equals(bin)).toBe(true);
    }
    expect(fs.readdirSync(out)).toEqual(['cat.bin']); // no temp files left behind
    // --json cannot also carry the contents
    await expectJsonError(['get', 'file', 'images@master:/photos/cat.bin'], { exit: 2, code: 'E_INVALID', mentions: ['stdout'] }, { cwd: s().dir });
  });

  step('--offset skips the first bytes', async () => {
    expect(expectOk(await s().tusk(['get', 'file', 'images@master:/photos/cat.bin', '--offset', '1000'])).stdoutBytes.equals(bin.subarray(1000))).toBe(true);
    expect(expectOk(await s().tusk(['get', 'file', 'images@master:/photos/readme.txt', '--offset', '4'])).stdout).toBe('photos\n');
  });

  step('-r -o DIR writes the tree byte for byte, twice', async () => {
    const dest = path.join(out, 'tree');
    for (let i = 0; i < 2; i++) {
      expect(await s().json(['get', 'file', '-r', 'images@master:/photos', '-o', dest])).toEqual({ files: 4, bytes: bin.length + 16 });
      expect(treeDifferences(dest, path.join(src, 'photos'))).toEqual([]);
    }
    const whole = path.join(out, 'whole');
    await s().json(['get', 'file', '-r', 'images@master', '-o', whole]);
    expect(treeDifferences(whole, src)).toEqual([]);
    await expectJsonError(['get', 'file', '-r', 'images@master:/photos'], { exit: 2, code: 'E_INVALID', mentions: ['output'] }, { cwd: s().dir });
  });

  step('an older version through an ancestry address', async () => {
    await s().json(['put', 'file', 'images@master:/photos/readme.txt'], { input: 'changed\n' });
    expect(expectOk(await s().tusk(['get', 'file', 'images@master:/photos/readme.txt'])).stdout).toBe('changed\n');
    expect(expectOk(await s().tusk(['get', 'file', 'images@master^:/photos/readme.txt'])).stdout).toBe('two photos\n');
  });
});

describe.concurrent('list, glob, inspect, diff, copy and delete file', () => {
  const s = useStore();
  let first = '';
  let second = '';

  step('list file: a directory, a file, a glob; glob file', async () => {
    await s().json(['create', 'repo', 'docs']);
    first = (await s().json<PutResult>(['put', 'file', 'docs@master:/a.txt'], { input: 'a' })).commit;
    await s().json(['put', 'file', 'docs@master:/d/b.csv'], { input: 'bb' });
    await s().json(['put', 'file', 'docs@master:/d/e/c.csv'], { input: 'ccc' });
    const root = await s().json<FileInfo[]>(['list', 'file', 'docs@master']);
    expect(root.map((f) => [f.path, f.type, f.sizeBytes, f.files])).toEqual([
      ['/a.txt', 'file', 1, 1],
      ['/d', 'dir', 5, 2],
    ]);
    expect(await s().json(['list', 'file', 'docs@master:/'])).toEqual(root);
    expect(paths(await s().json(['list', 'file', 'docs@master:/d']))).toEqual(['/d/b.csv', '/d/e']);
    expect(paths(await s().json(['list', 'file', 'docs@master:/a.txt']))).toEqual(['/a.txt']);
    expect(paths(await s().json(['list', 'file', 'docs@master:/d/*.csv']))).toEqual(['/d/b.csv']);
    expect(paths(await s().json(['glob', 'file', 'docs@master:/**.csv']))).toEqual(['/d/b.csv', '/d/e/c.csv']);
    expect(await s().json(['glob', 'file', 'docs@master:/nothing*'])).toEqual([]);
    await expectJsonError(['list', 'file', 'docs@master:/nope'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['/nope'] }, { cwd: s().dir });
  });

  step('inspect file: files and directories', async () => {
    const f = await s().json<FileInfo>(['inspect', 'file', 'docs@master:/d/e/c.csv']);
    expect(f).toMatchObject({ path: '/d/e/c.csv', type: 'file', sizeBytes: 3, files: 1 });
    expect(f.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await s().json<FileInfo>(['inspect', 'file', 'docs@master:/d'])).toMatchObject({ path: '/d', type: 'dir', sizeBytes: 5, files: 2 });
    expect(await s().json<FileInfo>(['inspect', 'file', 'docs@master:/'])).toMatchObject({ path: '/', type: 'dir', sizeBytes: 6, files: 3 });
  });

  step('diff file: against the parent, between two commits, and under a path', async () => {
    await s().json(['start', 'commit', 'docs@master']);
    await s().json(['put', 'file', 'docs@master:/a.txt'], { input: 'A!' }); // edit
    await s().json(['put', 'file', 'docs@master:/new.txt'], { input: 'new' }); // add
    await s().json(['delete', 'file', 'docs@master:/d/b.csv']); // delete
    second = (await s().json<Commit>(['finish', 'commit', 'docs@master'])).id;
    const diff = await s().json<(FileInfo & { op: string })[]>(['diff', 'file', 'docs@master']);
    expect(diff.map((d) => [d.op, d.path, d.sizeBytes])).toEqual([
      ['-', '/a.txt', 1],
      ['+', '/a.txt', 2],
      ['-', '/d/b.csv', 2],
      ['+', '/new.txt', 3],
    ]);
    expect(diff.find((d) => d.op === '+')!.commit).toBe(second);
    expect(await s().json(['diff', 'file', 'docs@master', 'docs@master^'])).toEqual(diff);
    // NEW and OLD the other way round: everything only in master is '-'
    const back = await s().json<{ op: string; path: string }[]>(['diff', 'file', `docs@${first}`, 'docs@master']);
    expect(back.map((d) => `${d.op}${d.path}`)).toEqual(['-/a.txt', '+/a.txt', '-/d/e/c.csv', '-/new.txt']);
    expect((await s().json<{ path: string }[]>(['diff', 'file', 'docs@master:/d'])).map((d) => d.path)).toEqual(['/d/b.csv']);
    expect(expectOk(await s().tusk(['diff', 'file', 'docs@master', '--name-only'])).stdout).toBe('- /a.txt\n+ /a.txt\n- /d/b.csv\n+ /new.txt\n');
    expect(await s().json(['diff', 'file', 'docs@master', 'docs@master'])).toEqual([]);
  });

  step('copy file: by reference (same hash), across repos, twice, and -a', async () => {
    const c = await s().json<Commit>(['copy', 'file', 'docs@master:/d', 'docs@master:/copy/d']);
    expect(c.finished).not.toBeNull();
    const [src, dst] = await Promise.all(['/d', '/copy/d'].map((p) => s().json<FileInfo>(['inspect', 'file', `docs@master:${p}`])));
    expect(dst.hash).toBe(src!.hash);
    await s().json(['create', 'repo', 'archive']);
    for (let i = 0; i < 2; i++) await s().json(['copy', 'file', 'docs@master:/a.txt', 'archive@master']);
    expect(paths(await s().json(['list', 'file', 'archive@master']))).toEqual(['/a.txt']);
    await s().json(['copy', 'file', '-a', 'docs@master:/a.txt', 'archive@master:/a.txt']);
    expect(expectOk(await s().tusk(['get', 'file', 'archive@master:/a.txt'])).stdout).toBe('A!A!');
    await expectJsonError(['copy', 'file', 'docs@master:/missing', 'archive@master'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['/missing'] }, { cwd: s().dir });
  });

  step('delete file: a file, a directory with -r, twice (second: exit 4)', async () => {
    await s().json(['delete', 'file', 'docs@master:/new.txt']);
    await expectJsonError(['delete', 'file', 'docs@master:/new.txt'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['/new.txt'] }, { cwd: s().dir });
    await expectJsonError(['delete', 'file', 'docs@master:/copy'], { exit: 2, code: 'E_INVALID', mentions: ['/copy'] }, { cwd: s().dir });
    await s().json(['delete', 'file', '-r', 'docs@master:/copy']);
    expect(paths(await s().json(['list', 'file', 'docs@master']))).toEqual(['/a.txt', '/d']);
    // older commits keep their files
    expect(paths(await s().json(['list', 'file', `docs@${second}`]))).toEqual(['/a.txt', '/d', '/new.txt']);
  });
});

describe.concurrent('fsck, gc and output flags', () => {
  const s = useStore();

  step('fsck passes on a fresh and a used store, every time', async () => {
    expect(await s().json<{ ok: boolean; problems: unknown[] }>(['fsck'])).toMatchObject({ ok: true, problems: [] });
    await s().json(['create', 'repo', 'r']);
    await s().json(['put', 'file', 'r@master:/x.bin'], { input: seededBytes(2_000, 1) });
    await s().json(['put', 'file', 'r@master:/y.bin'], { input: seededBytes(400_000, 2) });
    for (let i = 0; i < 2; i++) {
      const report = await s().json<{ ok: boolean; checked: { repos: number; commits: number; chunksVerified: number } }>(['fsck', '--verify-data']);
      expect(report.ok).toBe(true);
      expect(report.checked).toMatchObject({ repos: 1, commits: 2 });
      expect(report.checked.chunksVerified).toBeGreaterThan(0);
    }
    expect(expectOk(await s().tusk(['fsck'])).stdout).toMatch(/^No errors found: 1 repos, 2 commits/);
  });

  // The dropped commit holds most of the only pack, so gc rewrites it (a pack mostly in use is kept).
  step('gc reclaims the data of a dropped commit, and a second gc finds nothing', async () => {
    expect((await s().json<{ chunksRemoved: number }>(['gc'])).chunksRemoved).toBe(0);
    await s().json(['delete', 'commit', 'r@master']);
    const gc = await s().json<{ bytesReclaimed: number; chunksRemoved: number; storeBytesAfter: number; storeBytesBefore: number }>(['gc']);
    expect(gc.chunksRemoved).toBeGreaterThan(0);
    expect(gc.bytesReclaimed).toBeGreaterThan(300_000);
    // storeBytes counts this machine's files of the store (docs/team.md): a team store has none, its
    // metadata is the server's and its packs the bucket's
    if (STORE_KIND === 'local') expect(gc.storeBytesAfter).toBeLessThan(gc.storeBytesBefore);
    expect(await s().json(['gc'])).toMatchObject({ chunksRemoved: 0, packsRemoved: 0, packsRewritten: 0, bytesReclaimed: 0 });
    expect((await s().json<{ ok: boolean }>(['fsck', '--verify-data'])).ok).toBe(true);
    expect(expectOk(await s().tusk(['get', 'file', 'r@master:/x.bin'])).stdoutBytes.equals(seededBytes(2_000, 1))).toBe(true);
  });

  step('--raw prints the --json record; --raw -o yaml the same as YAML', async () => {
    for (const args of [['list', 'repo'], ['inspect', 'commit', 'r@master']]) {
      const json = expectOk(await s().tusk([...args, '--json'])).json();
      expect(expectOk(await s().tusk([...args, '--raw'])).json()).toEqual(json);
      const yaml = expectOk(await s().tusk([...args, '--raw', '-o', 'yaml']));
      expect(() => JSON.parse(yaml.stdout)).toThrow();
      expect(parseYaml(yaml.stdout)).toEqual(json);
    }
    const err = await s().tusk(['inspect', 'repo', 'nope', '--raw', '-o', 'yaml']);
    expect(err.code).toBe(4);
    expect(err.stderr).toBe('');
    expect(parseYaml(err.stdout)).toEqual({ error: { code: 'E_NOT_FOUND', message: 'repo nope not found', hint: expect.any(String) } });
  });

  step('-o without --raw is a usage error (with --json it picks the format)', async () => {
    for (const args of [['list', 'repo', '-o', 'json'], ['inspect', 'commit', 'r@master', '-o', 'yaml']]) {
      const r = await s().tusk(args);
      expect(r.code, r.describe()).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('Error: cannot set --output (-o) without --raw\nHint: add --raw to print the record, e.g. --raw -o yaml\n');
    }
    expect(parseYaml(expectOk(await s().tusk(['inspect', 'repo', 'r', '--json', '-o', 'yaml'])).stdout)).toMatchObject({ name: 'r' });
    await expectJsonError(['list', 'repo', '--raw', '-o', 'xml'], { exit: 2, code: 'E_INVALID', mentions: ['xml'] }, { cwd: s().dir });
  });

  step('unknown commands, flags and extra arguments exit 2', async () => {
    await expectJsonError(['list', 'repo', '--frobnicate'], { exit: 2, code: 'E_INVALID', mentions: ['--frobnicate'] }, { cwd: s().dir });
    await expectJsonError(['list', 'repo', 'extra'], { exit: 2, code: 'E_INVALID', mentions: ['extra'] }, { cwd: s().dir });
    await expectJsonError(['frobnicate', 'repo'], { exit: 2, code: 'E_INVALID', mentions: ['frobnicate'] }, { cwd: s().dir });
    await expectJsonError(['inspect', 'repo'], { exit: 2, code: 'E_INVALID', mentions: ['REPO'] }, { cwd: s().dir });
  });
});
