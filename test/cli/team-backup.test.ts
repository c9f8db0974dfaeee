// Backing up and restoring a team store as docs/team.md says: `pg_dump` of its database, then a
// copy of its bucket prefix; restored into a new database, a new machine's client directory reads
// every byte and `fsck --verify-data` is clean; packs written after the dump are extra objects the
// restored store does not name.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededBytes, tempDirs } from '../helpers.js';
import { PG_BIN, usePostgres } from '../helpers/postgres.js';
import { startS3, type S3Server } from '../remote/s3-server.js';
import { expectOk, runTusk } from './cli-helpers.js';

const server = usePostgres();
const skip = server.missing ?? (fs.existsSync(path.join(PG_BIN, 'pg_dump')) ? undefined : `no pg_dump in ${PG_BIN}`);

let s3: S3Server;
beforeAll(async () => {
  if (!skip) s3 = await startS3(['tusk']);
});
afterAll(async () => {
  await s3?.close();
});
const mk = tempDirs('tusk-team-backup-');

describe.skipIf(skip !== undefined)(`a team store backed up with pg_dump and restored${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('a restored database over the same bucket reads every byte on a new machine, fsck --verify-data clean', async () => {
    const url = await server.freshDatabase();
    const env = { ...s3.env, XDG_CACHE_HOME: mk(), TUSK_RUNNER: 'none', TUSK_STORE: undefined };
    const team = mk();
    expectOk(await runTusk(['init', '--metadata', url, '--packs', 's3://tusk/backup', '--endpoint', s3.endpoint, '--path-style', '--json'], { cwd: team, env }));
    expectOk(await runTusk(['create', 'repo', 'data', '--json'], { cwd: team, env }));
    const src = mk();
    const big = seededBytes(2 << 20, 5);
    fs.writeFileSync(path.join(src, 'big.bin'), big);
    expectOk(await runTusk(['put', 'file', 'data@master:/big.bin', '-f', path.join(src, 'big.bin'), '--json'], { cwd: team, env }));
    expectOk(await runTusk(['put', 'file', 'data@master:/a.txt', '--json'], { cwd: team, env, input: 'before the dump\n' }));

    // the backup: the database first, then the bucket (here: left in place, as a bucket with versioning would be)
    const dump = path.join(mk(), 'tusk.dump');
    execFileSync(path.join(PG_BIN, 'pg_dump'), ['--format=custom', `--file=${dump}`, url]);
    // written after the dump: not in the restored store
    expectOk(await runTusk(['put', 'file', 'data@master:/after.txt', '--json'], { cwd: team, env, input: 'after the dump\n' }));

    const restored = await server.freshDatabase();
    execFileSync(path.join(PG_BIN, 'pg_restore'), ['--no-owner', `--dbname=${restored}`, dump]);
    // a new machine: its own client directory, an empty cache, joining the restored database
    const machine = mk();
    const menv = { ...env, XDG_CACHE_HOME: mk() };
    const joined = expectOk(await runTusk(['init', '--metadata', restored, '--json'], { cwd: machine, env: menv })).json();
    expect(joined).toMatchObject({ created: true, packs: 's3://tusk/backup', metadata: restored });
    const files = expectOk(await runTusk(['list', 'file', 'data@master:/', '--json'], { cwd: machine, env: menv })).json() as { path: string }[];
    expect(files.map((f) => f.path).sort()).toEqual(['/a.txt', '/big.bin']);
    const out = path.join(mk(), 'big.bin');
    expectOk(await runTusk(['get', 'file', 'data@master:/big.bin', '-o', out, '--json'], { cwd: machine, env: menv }));
    expect(fs.readFileSync(out).equals(big)).toBe(true);
    expect(expectOk(await runTusk(['get', 'file', 'data@master:/a.txt'], { cwd: machine, env: menv })).stdout).toBe('before the dump\n');
    const fsck = expectOk(await runTusk(['fsck', '--verify-data', '--json'], { cwd: machine, env: menv })).json() as { ok: boolean };
    expect(fsck.ok).toBe(true);
    // the original store goes on with what it wrote after the dump
    expect(expectOk(await runTusk(['get', 'file', 'data@master:/after.txt'], { cwd: team, env })).stdout).toBe('after the dump\n');
  }, 180_000);
});
