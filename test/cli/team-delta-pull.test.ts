// History whose later versions are stored as deltas, pulled from an object-store remote (`file://`
// and `s3://`) into a team store, whose packs are in a bucket and hold every chunk whole: the
// deltas are decoded on the way in (each checked against its chunk id), every version reads back
// byte for byte, and the store's metadata names no delta. Also a lazy pull, read lazily, then
// completed by a full pull. Real PostgreSQL, real s3rver, the built CLI.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers.js';
import { useTeamServers } from '../helpers/team-servers.js';
import { tableVersions } from '../store/table-versions.js';
import { expectOk, runTusk, type RunOptions } from './cli-helpers.js';

const servers = useTeamServers();
const { server, skip } = servers;

const mk = tempDirs('tusk-team-delta-');

const json = async (args: string[], opts: RunOptions) => expectOk(await runTusk([...args, '--json'], opts)).json();

/** How many chunk rows of the team store's database are stored as deltas (codec 2). */
async function deltaRows(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query('SELECT COUNT(*) AS n FROM chunks WHERE codec = 2')).rows[0].n);
  } finally {
    await c.end();
  }
}

describe.skipIf(skip)(`deltas pulled into a store whose packs are in a bucket${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  it('pull and fetch from file:// and s3:// remotes, and a lazy pull completed by a full one: every version whole, byte for byte, fsck clean', async () => {
    const env = { ...servers.s3.env, XDG_CACHE_HOME: mk(), TUSK_RUNNER: 'none', TUSK_STORE: undefined };
    const s3 = ['--endpoint', servers.s3.endpoint, '--path-style'];

    // a laptop's history: three versions of a 1 MiB table, the second and third stored as deltas
    const laptop = { cwd: mk(), env };
    expectOk(await runTusk(['init', '--json'], laptop));
    await json(['create', 'repo', 'data'], laptop);
    const versions = tableVersions(1 << 20, 3);
    const commits: string[] = [];
    for (const [i, v] of versions.entries()) {
      const f = path.join(mk(), `v${i}.csv`);
      fs.writeFileSync(f, v);
      commits.push((await json(['put', 'file', 'data@master:/t.csv', '-f', f], laptop)).commit);
    }
    const db = new Database(path.join(fs.realpathSync(laptop.cwd), '.tusk', 'meta.db'), { readonly: true });
    // depth 1: the second version against the first; depth 2: the third against the second
    expect(db.prepare('SELECT DISTINCT depth FROM chunk_deltas ORDER BY depth').pluck().all()).toEqual([1, 2]);
    db.close();
    const fileRemote = `file://${mk()}`;
    await json(['remote', 'add', 'files', fileRemote], laptop);
    await json(['remote', 'add', 'bucket', 's3://tusk/delta-remote', ...s3], laptop);
    await json(['push', 'files'], laptop);
    await json(['push', 'bucket'], laptop);

    const teamStore = async (name: string, remote: 'files' | 'bucket') => {
      const url = await server.freshDatabase();
      const team = { cwd: mk(), env };
      expectOk(await runTusk(['init', '--metadata', url, '--packs', `s3://tusk/${name}`, ...s3, '--json'], team));
      await json(remote === 'files' ? ['remote', 'add', 'files', fileRemote] : ['remote', 'add', 'bucket', 's3://tusk/delta-remote', ...s3], team);
      return { url, team };
    };
    const readsBack = async (team: RunOptions) => {
      for (const [i, c] of commits.entries()) {
        const out = path.join(mk(), 't.csv');
        await json(['get', 'file', `data@${c}:/t.csv`, '-o', out], team);
        expect(fs.readFileSync(out).equals(versions[i]!), `version ${i + 1}`).toBe(true);
      }
    };

    // a pull from the file:// remote, a fetch from the s3:// one
    const received = async (name: string, remote: 'files' | 'bucket', verb: 'pull' | 'fetch') => {
      const { url, team } = await teamStore(name, remote);
      const got = await json([verb, remote], team);
      expect(got.commits, `${verb} ${remote}`).toBe(3);
      await readsBack(team);
      expect((await json(['fsck', '--verify-data'], team)).ok, `${verb} ${remote}`).toBe(true);
      expect(await deltaRows(url), `${verb} ${remote}`).toBe(0);
    };
    // a lazy pull leaves the bytes on the remote; a read fetches and decodes what it needs; a full
    // pull then fetches the rest (delta records among them), decoded as a pull's are
    const lazy = async () => {
      const { url, team } = await teamStore('team-lazy', 'bucket');
      expect((await json(['pull', 'bucket', '--lazy'], team)).remoteBacked).toBeGreaterThan(0);
      const out = path.join(mk(), 't.csv');
      await json(['get', 'file', `data@${commits[2]}:/t.csv`, '-o', out], team);
      expect(fs.readFileSync(out).equals(versions[2]!)).toBe(true);
      const full = await json(['pull', 'bucket'], team);
      expect(full.chunks).toBeGreaterThan(0);
      await readsBack(team);
      expect((await json(['fsck', '--verify-data'], team)).ok).toBe(true);
      expect(await deltaRows(url)).toBe(0);
    };
    // three stores of their own (a database and a bucket prefix each): side by side
    await Promise.all([received('team-pull', 'files', 'pull'), received('team-fetch', 'bucket', 'fetch'), lazy()]);
  }, 180_000);
});
