// A team store as a remote of a local store (`tusk remote add team postgres://…`): push moves a
// local history into it, clone and pull bring it back, with the same commit ids, files and
// provenance; a push that is no fast-forward is refused and changes nothing; a URL carrying a
// password is refused before anything is written. Real PostgreSQL, real s3rver, the built CLI.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { seededBytes, tempDirs } from '../helpers.js';
import { useTeamServers } from '../helpers/team-servers.js';
import { tableVersions } from '../store/table-versions.js';
import { expectJsonError, expectOk, runTusk, treeDifferences, writeTree, type RunOptions } from './cli-helpers.js';

const servers = useTeamServers();
const { server, skip } = servers;

const mk = tempDirs('tusk-team-remote-');

type Commit = { id: string; parent: string | null };
const json = async (args: string[], opts: RunOptions) => expectOk(await runTusk([...args, '--json'], opts)).json();
/** A repo's commits (each branch's in order, from its head back), with their parents. */
const history = async (repo: string, opts: RunOptions) => {
  const out: string[] = [];
  for (const b of (await json(['list', 'branch', repo], opts)) as { name: string }[])
    out.push(`${b.name}: ${((await json(['list', 'commit', `${repo}@${b.name}`], opts)) as Commit[]).map((c) => `${c.id}<${c.parent}`).join(' ')}`);
  return out.sort();
};
const files = async (ref: string, opts: RunOptions) => ((await json(['glob', 'file', `${ref}:/**`], opts)) as { path: string; hash: string; type: string }[]).filter((f) => f.type === 'file').map((f) => `${f.path} ${f.hash}`);

describe.skipIf(skip)(`a team store as a remote${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  it('push from a local store, clone and pull back: same commits, same bytes; a stale push is refused and changes nothing', async () => {
    const url = await server.freshDatabase();
    const env = { ...servers.s3.env, XDG_CACHE_HOME: mk(), TUSK_RUNNER: 'none', TUSK_STORE: undefined };
    const team = { cwd: mk(), env };
    expectOk(await runTusk(['init', '--metadata', url, '--packs', 's3://tusk/remote-team', '--endpoint', servers.s3.endpoint, '--path-style', '--json'], team));

    // a laptop's history: two repos, a branch, a big file that is stored in many chunks
    const laptop = { cwd: mk(), env };
    expectOk(await runTusk(['init', '--json'], laptop));
    const src = mk();
    writeTree(src, { 'a.txt': 'alpha\n', 'big.bin': seededBytes(4 << 20, 5), 'tree/x.csv': 'a,b\n1,2\n' });
    await json(['create', 'repo', 'data'], laptop);
    await json(['put', 'file', '-r', 'data@master:/', '-f', src], laptop);
    await json(['put', 'file', 'data@master:/b.txt'], { ...laptop, input: 'beta\n' });
    await json(['create', 'branch', 'data@dev', '--head', 'master'], laptop);
    await json(['put', 'file', 'data@dev:/dev.txt'], { ...laptop, input: 'dev\n' });
    // three versions of a table: the laptop stores the later two as deltas, which a store whose
    // packs are in a bucket cannot hold, so they must arrive whole
    const versions = tableVersions(1 << 20, 3);
    const tableCommits: string[] = [];
    for (const [i, v] of versions.entries()) {
      const f = path.join(mk(), `v${i}.csv`);
      fs.writeFileSync(f, v);
      tableCommits.push((await json(['put', 'file', 'data@master:/t.csv', '-f', f], laptop)).commit);
    }
    const db = new Database(path.join(fs.realpathSync(laptop.cwd), '.tusk', 'meta.db'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM chunks WHERE codec = 2').pluck().get()).toBeGreaterThan(0);
    db.close();
    await json(['create', 'repo', 'other'], laptop);
    await json(['put', 'file', 'other@master:/o.txt'], { ...laptop, input: 'o\n' });

    await json(['remote', 'add', 'team', url], laptop);
    const dry = await json(['push', 'team', '--dry-run'], laptop);
    expect(dry.branches.every((b: { status: string }) => b.status === 'would push')).toBe(true);
    expect(await json(['list', 'repo'], team)).toEqual([]);
    const pushed = await json(['push', 'team'], laptop);
    // each branch counts the commits its own history brought (shared ones on both)
    expect(pushed.branches.map((b: { repo: string; branch: string; status: string; commits: number }) => `${b.repo}@${b.branch} ${b.status} ${b.commits}`).sort()).toEqual([
      'data@dev pushed 3',
      'data@master pushed 5',
      'other@master pushed 1',
    ]);
    expect(pushed.chunks).toBeGreaterThan(10);
    expect(pushed.requests).toBeUndefined();
    // the team store has the same history, ids and all, and every byte
    for (const repo of ['data', 'other']) expect(await history(repo, team)).toEqual(await history(repo, laptop));
    for (const ref of ['data@master', 'data@dev', 'other@master']) expect(await files(ref, team)).toEqual(await files(ref, laptop));
    expect((await json(['fsck', '--verify-data'], team)).ok).toBe(true);
    for (const [i, c] of tableCommits.entries()) {
      const out = path.join(mk(), 't.csv');
      await json(['get', 'file', `data@${c}:/t.csv`, '-o', out], team);
      expect(fs.readFileSync(out).equals(versions[i]!), `version ${i + 1}`).toBe(true);
    }
    // pushing again sends nothing
    const again = await json(['push', 'team'], laptop);
    expect(again.branches.every((b: { status: string }) => b.status === 'up-to-date')).toBe(true);
    expect(again.chunks).toBe(0);

    // another machine clones the team store into a local one
    const cloned = mk();
    const clone = await json(['clone', url, cloned], { cwd: mk(), env });
    expect(clone.branches.map((b: { status: string }) => b.status)).toEqual(['created', 'created', 'created']);
    const there = { cwd: cloned, env };
    for (const repo of ['data', 'other']) expect(await history(repo, there)).toEqual(await history(repo, laptop));
    const out = path.join(mk(), 'out');
    await json(['get', 'file', '-r', 'data@master:/', '-o', out], there);
    expect(treeDifferences(path.join(out, 'tree'), path.join(src, 'tree'))).toEqual([]);
    expect(fs.readFileSync(path.join(out, 'big.bin')).equals(fs.readFileSync(path.join(src, 'big.bin')))).toBe(true);
    expect((await json(['remote', 'list'], there)).map((r: { name: string; url: string }) => `${r.name} ${r.url}`)).toEqual([`origin ${url}`]);

    // the team store moves on; the clone pulls the new commit, the laptop's push is now stale
    await json(['put', 'file', 'data@master:/c.txt'], { ...team, input: 'gamma\n' });
    const pulled = await json(['pull', 'origin', 'data@master'], there);
    expect(pulled.branches).toEqual([expect.objectContaining({ repo: 'data', branch: 'master', status: 'fast-forwarded', commits: 1 })]);
    expect(expectOk(await runTusk(['get', 'file', 'data@master:/c.txt'], there)).stdout).toBe('gamma\n');

    await json(['put', 'file', 'data@master:/d.txt'], { ...laptop, input: 'delta\n' });
    const before = await history('data', team);
    const stale = await expectJsonError(['push', 'team', 'data@master'], { exit: 3, code: 'E_NON_FAST_FORWARD', mentions: ['team', 'data@master'] }, laptop);
    expect(stale.hint).toMatch(/pull/);
    expect(await history('data', team)).toEqual(before);
    // --force replaces it, as git's does
    const forced = await json(['push', 'team', 'data@master', '--force'], laptop);
    expect(forced.branches).toEqual([expect.objectContaining({ status: 'pushed', forced: true })]);
    expect(await files('data@master', team)).toEqual(await files('data@master', laptop));

    // the team store pushes to an object store remote as any store does: its chunks are read from
    // the bucket's packs, and a clone of that remote has the same files
    const backup = `file://${mk()}`;
    await json(['remote', 'add', 'backup', backup], team);
    await json(['push', 'backup'], team);
    const restored = mk();
    await json(['clone', backup, restored], { cwd: mk(), env });
    for (const ref of ['data@master', 'data@dev', 'other@master']) expect(await files(ref, { cwd: restored, env })).toEqual(await files(ref, team));
    expect((await json(['fsck', '--verify-data'], { cwd: restored, env })).ok).toBe(true);
  }, 240_000);

  it('refuses a URL with a password, s3 options on a database URL, --lazy, and a team store as its own remote', async () => {
    const url = await server.freshDatabase();
    const env = { ...servers.s3.env, XDG_CACHE_HOME: mk(), TUSK_RUNNER: 'none', TUSK_STORE: undefined };
    const laptop = { cwd: mk(), env };
    expectOk(await runTusk(['init', '--json'], laptop));
    const secret = url.replace('postgres://tusk@', 'postgres://tusk:hunter2@');
    expect(secret).not.toBe(url);
    const refused = await expectJsonError(['remote', 'add', 'team', secret], { exit: 2, code: 'E_INVALID', mentions: ['password'] }, laptop);
    expect(refused.hint).toMatch(/PGPASSWORD/);
    expect(JSON.stringify(refused)).not.toContain('hunter2');
    await expectJsonError(['remote', 'add', 'team', url, '--endpoint', servers.s3.endpoint], { exit: 2, code: 'E_INVALID', mentions: ['s3://'] }, laptop);
    expect(await json(['remote', 'list'], laptop)).toEqual([]);
    const target = path.join(mk(), 'clone');
    await expectJsonError(['clone', url, target, '--lazy'], { exit: 2, code: 'E_INVALID', mentions: ['--lazy'] }, { cwd: mk(), env });
    expect(fs.existsSync(target)).toBe(false);

    const team = { cwd: mk(), env };
    expectOk(await runTusk(['init', '--metadata', url, '--packs', 's3://tusk/self', '--endpoint', servers.s3.endpoint, '--path-style', '--json'], team));
    await json(['create', 'repo', 'r'], team);
    await json(['put', 'file', 'r@master:/f'], { ...team, input: 'f\n' });
    await json(['remote', 'add', 'me', url], team);
    await expectJsonError(['push', 'me'], { exit: 2, code: 'E_INVALID', mentions: ['this store'] }, team);
  }, 120_000);
});
