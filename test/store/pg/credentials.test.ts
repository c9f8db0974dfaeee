// Logging in with a password: from the URL, from PG* variables, from a pgpass file; a refused
// login is E_LOCKED; no message ever shows a password.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, LockedError } from '../../../src/errors.js';
import { PgMetadata } from '../../../src/store/pg/metadata.js';
import { tempDir } from '../../helpers.js';
import { usePostgres } from '../../helpers/postgres.js';

const PASSWORD = 'correct horse:battery@staple';
const server = usePostgres({ password: PASSWORD });

const PG_VARS = ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD', 'PGPASSFILE'];
let saved: Record<string, string | undefined> = {};
const dirs: string[] = [];
beforeEach(() => {
  saved = Object.fromEntries(PG_VARS.map((k) => [k, process.env[k]]));
  for (const k of PG_VARS) delete process.env[k];
});
afterEach(() => {
  for (const k of PG_VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Everything a user could see of an error. */
const shown = (err: unknown): string => JSON.stringify({ m: (err as Error).message, h: (err as { hint?: string }).hint, s: (err as Error).stack });

async function opens(target: { url?: string }): Promise<void> {
  const m = await PgMetadata.open(target);
  try {
    await m.unitOfWork(({ graph }) => graph.insertRepo({ name: 'r', type: 'user', description: '', created: 1 }));
    expect((await m.graph.listRepos()).map((r) => r.name)).toEqual(['r']);
  } finally {
    await m.close();
  }
}

describe.skipIf(server.missing !== undefined)(`PostgreSQL logins${server.missing ? ` (skipped: ${server.missing})` : ''}`, () => {
  it('logs in with the password in the URL', async () => {
    await opens({ url: await server.freshDatabase() });
  });

  it('logs in from PG* variables and a pgpass file, with no URL', async () => {
    const url = new URL(await server.freshDatabase());
    const dir = tempDir();
    dirs.push(dir);
    const pgpass = path.join(dir, 'pgpass');
    // pgpass escapes ':' and '\' in its fields
    fs.writeFileSync(pgpass, `127.0.0.1:${url.port}:*:tusk:${PASSWORD.replace(/([:\\])/g, '\\$1')}\n`, { mode: 0o600 });
    Object.assign(process.env, { PGHOST: '127.0.0.1', PGPORT: url.port, PGUSER: 'tusk', PGDATABASE: url.pathname.slice(1), PGPASSFILE: pgpass });
    await opens({});
  });

  it('a wrong password is E_LOCKED, and neither password shows', async () => {
    const url = new URL(await server.freshDatabase());
    url.password = 'wrong-secret';
    const err = await PgMetadata.open({ url: url.toString() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as LockedError).message).toContain(`127.0.0.1:${url.port}`);
    expect(shown(err)).not.toContain('wrong-secret');
    expect(shown(err)).not.toContain('battery');
  });

  it('a missing database named in a URL with a password: E_INVALID, the password hidden', async () => {
    const url = server.server().url('absent');
    const err = await PgMetadata.open({ url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(shown(err)).toContain('absent');
    expect(shown(err)).not.toContain(encodeURIComponent(PASSWORD));
    expect(shown(err)).not.toContain('battery');
  });
});
