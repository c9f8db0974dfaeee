// Where the PostgreSQL metadata lives and how to reach it: a pool from a postgres:// URL, or from
// libpq's PG* environment variables and ~/.pgpass (the pg driver reads both). Credentials never
// reach an error message or output: everything shown goes through redact().
import pg from 'pg';
import { InvalidArgumentError, IoError, LockedError, StoreBusyError, TuskError } from '../../errors.js';

/** Hide the password (and a URL's user info) in text that may quote a connection string. */
export function redact(text: string): string {
  return (
    text
      // postgres://user:secret@host → postgres://user:***@host (any scheme: a mistyped one too)
      .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/?#\s]*@/gi, '$1:***@')
      // key=value connection strings and URL query parameters: password=secret
      .replace(/(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)/gi, '$1***')
  );
}

/** int8 and numeric as JavaScript numbers: the metadata's integers (ms, byte counts) stay below 2^53. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

export interface PgTarget {
  /** a postgres:// URL; absent: the PG* environment variables (and ~/.pgpass) name the database */
  url?: string;
  /** connections in the pool */
  max?: number;
}

/** The connection settings of a target, checked: a malformed URL is refused here, redacted. */
export function clientConfig(target: PgTarget): pg.ClientConfig {
  const { url } = target;
  const hint = 'write it as postgres://USER@HOST:PORT/DATABASE (the password may come from ~/.pgpass or PGPASSWORD)';
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//i.test(url)) throw new InvalidArgumentError(`not a PostgreSQL URL: ${redact(url)}`, hint);
    try {
      new URL(url);
    } catch {
      throw new InvalidArgumentError(`not a valid PostgreSQL URL: ${redact(url)}`, hint);
    }
  }
  return { connectionString: url, types: TYPES, application_name: 'tusk' };
}

/** Where a connection goes, for messages: never the password. */
export function describeTarget(target: PgTarget): string {
  if (target.url) return redact(target.url);
  const env = process.env;
  return `postgres://${env.PGUSER ?? '(PGUSER)'}@${env.PGHOST ?? 'localhost'}:${env.PGPORT ?? '5432'}/${env.PGDATABASE ?? env.PGUSER ?? '(PGDATABASE)'}`;
}

/** A pool of connections to the target. Connections open on first use. */
export function openPool(target: PgTarget): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(target), max: target.max ?? 8 });
  // an idle connection the server dropped: the next query gets a new one; without a listener the error would end the process
  pool.on('error', () => {});
  return pool;
}

/**
 * A failure to reach or use the database as the TuskError a user can act on, redacted; null
 * for anything else (a bug, a constraint violation), which the caller rethrows as it is.
 */
export function pgFailure(err: unknown, target: PgTarget): TuskError | null {
  if (err instanceof TuskError) return err;
  const e = err as { code?: string; message?: string };
  const where = describeTarget(target);
  const detail = redact(e?.message ?? String(err));
  const opts = { cause: err };
  switch (e?.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new IoError(`cannot reach the metadata database ${where}: ${detail}`, 'check that PostgreSQL is running and the host and port are right', opts);
    case '28P01':
    case '28000':
      return new LockedError(`the metadata database ${where} refused the login: ${detail}`, 'check the user, and the password in ~/.pgpass or PGPASSWORD', opts);
    case '3D000':
      return new InvalidArgumentError(`the metadata database ${where} does not exist`, 'create it (createdb NAME) or name an existing one', opts);
    // the server ended the session (shut down, restarted, or an administrator terminated it)
    case '57P01':
    case '57P02':
    case '08000':
    case '08003':
    case '08006':
      return new IoError(`lost the connection to the metadata database ${where}: ${detail}`, 'check that PostgreSQL is running, then run the command again', opts);
    case '53100':
      return new IoError(`the metadata database ${where} is out of disk space: ${detail}`, 'free space on the database server, then retry; nothing was committed', opts);
    case '53300':
    case '57P03':
      return new StoreBusyError(`the metadata database ${where} takes no more connections now: ${detail}`, 'retry later, or raise max_connections on the server', opts);
    case '25006':
      return new LockedError(`the metadata database ${where} is read-only: ${detail}`, 'use a writable server (not a standby)', opts);
    default:
      // the driver's words for a connection that closed under a query, which carry no code
      if (/^Connection terminated/i.test(detail))
        return new IoError(`lost the connection to the metadata database ${where}: ${detail}`, 'check that PostgreSQL is running, then run the command again', opts);
      // the driver's own words when the server asks for a password and none was found
      if (/client password must be a string/.test(detail))
        return new LockedError(`the metadata database ${where} wants a password, and none was given`, 'give it in the URL, in PGPASSWORD or in ~/.pgpass', opts);
      return null;
  }
}
