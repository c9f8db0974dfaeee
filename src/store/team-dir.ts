// A team store's client directory: what one machine keeps beside a store whose metadata is a
// PostgreSQL database. `metadata.json` names the database, never with its password (credentials
// come from the URL given per command, the PG* variables or ~/.pgpass); `packs.json` is this
// machine's note of where the database says the packs are; `cache.db` is this machine's own file
// cache (local-cache.ts); tmp/, the pack block cache and the pack staging area are as in any store.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CorruptError, InvalidArgumentError, IoError } from '../errors.js';
import { readPackLocation, samePackLocation, writePackLocation, type PackLocation } from './pack-location.js';

/** What makes a directory a team store's client directory (as meta.db makes a local store). */
export const TEAM_FILE = 'metadata.json';
/** This machine's own cache database in a client directory. */
export const CACHE_DB_FILE = 'cache.db';

/** Whether `s` names a PostgreSQL database (a team store) rather than a directory. */
export function isDatabaseUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/** The URL without its password (also one given as a `password=` parameter): what may be written down or shown. */
export function withoutPassword(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError('not a valid PostgreSQL URL', 'write it as postgres://USER@HOST:PORT/DATABASE (the password may come from ~/.pgpass or PGPASSWORD)');
  }
  u.password = '';
  u.searchParams.delete('password');
  return u.toString();
}

/**
 * The client directory this machine keeps for the team store at `url` when it is named by
 * TUSK_STORE (no DIR/.tusk of its own): under $XDG_CACHE_HOME/tusk (or ~/.cache/tusk), one per
 * database, keyed by the URL without its password.
 */
export function clientDirFor(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const bare = withoutPassword(url);
  const u = new URL(bare);
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  const name = `${u.hostname || 'local'}-${u.port || '5432'}-${decodeURIComponent(u.pathname.slice(1)) || 'db'}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const key = createHash('sha256').update(bare).digest('hex').slice(0, 12);
  return path.join(base, 'tusk', `${name}-${key}`);
}

/** The database a client directory names (without password), or undefined when `dir` is none. */
export function readTeamDir(dir: string): { url: string } | undefined {
  const file = path.join(dir, TEAM_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch {
    rec = undefined;
  }
  const url = (rec as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string' || !isDatabaseUrl(url))
    throw new CorruptError(`${file} does not name the store's metadata database`, 'restore it: it holds {"url": "postgres://USER@HOST:PORT/DATABASE"} as `tusk init --metadata` wrote it');
  return { url };
}

/** Whether two database URLs name the same database, passwords aside. */
export function sameDatabase(a: string, b: string): boolean {
  return withoutPassword(a) === withoutPassword(b);
}

/**
 * Make (or bring up to date) the client directory `dir` for the database at `url` whose packs are
 * at `packs`. `metadata.json` is written last: a directory without it is no store, and the next
 * init or open starts over. A directory naming another database is an error naming both.
 */
export function makeTeamDir(dir: string, url: string, packs: PackLocation, openCache: (file: string) => { close(): void }): { created: boolean } {
  const have = readTeamDir(dir);
  if (have && !sameDatabase(have.url, url))
    throw new InvalidArgumentError(
      `${dir} is the client directory of the team store at ${have.url}, not of ${withoutPassword(url)}`,
      'use another directory for this database, or name the one it has',
    );
  try {
    // every open of a team store passes here: a directory already in order is only looked at
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    // packs.json is only this machine's note of what the database records: a damaged one is rewritten
    let noted: PackLocation | undefined;
    try {
      noted = have ? readPackLocation(dir) : undefined;
    } catch {
      noted = undefined;
    }
    if (!noted || !samePackLocation(noted, packs)) writePackLocation(dir, packs);
    if (!fs.existsSync(path.join(dir, CACHE_DB_FILE))) openCache(path.join(dir, CACHE_DB_FILE)).close();
    if (!have) {
      const file = path.join(dir, TEAM_FILE);
      const tmp = `${file}.${randomBytes(6).toString('hex')}`;
      fs.writeFileSync(tmp, JSON.stringify({ url: withoutPassword(url) }, null, 2) + '\n');
      fs.renameSync(tmp, file);
    }
  } catch (err) {
    if (err instanceof InvalidArgumentError || err instanceof CorruptError) throw err;
    throw new IoError(`cannot make the team store's client directory ${dir}: ${(err as Error).message}`, 'choose a writable directory (or set XDG_CACHE_HOME)', { cause: err });
  }
  return { created: !have };
}
