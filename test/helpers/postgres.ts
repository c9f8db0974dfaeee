// A throwaway PostgreSQL 15 for a test file: initdb into a temp dir, started on a free port with
// its socket in that dir, one server per file (stopped in afterAll), a fresh database per test.
// Run as root (as CI is), the server runs as an unprivileged user: PostgreSQL refuses root.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PG_BIN, postgresMissing, unprivileged } from './postgres-install.js';

export { PG_BIN, postgresMissing };

const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface PgServer {
  readonly port: number;
  readonly dir: string;
  /** A URL for one database on this server, as user tusk (with its password, when it has one). */
  url(database: string): string;
  stop(): Promise<void>;
}

export interface PgServerOptions {
  /** logins need this password (scram-sha-256) instead of being trusted */
  password?: string;
}

/** initdb and start a server; its data, socket and log live in one temp dir removed by stop(). */
export async function startPostgres(opts: PgServerOptions = {}): Promise<PgServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-pg-'));
  const as = process.getuid?.() === 0 ? unprivileged()! : undefined;
  if (as) fs.chownSync(dir, as.uid, as.gid);
  const exec = (cmd: string, args: string[]) => (as ? run(as.prefix[0]!, [...as.prefix.slice(1), cmd, ...args]) : run(cmd, args));
  const data = path.join(dir, 'data');
  try {
    const auth = ['-A', 'trust'];
    if (opts.password !== undefined) {
      const pwfile = path.join(dir, 'pwfile');
      fs.writeFileSync(pwfile, `${opts.password}\n`, { mode: 0o644 });
      auth.splice(0, 2, '-A', 'scram-sha-256', `--pwfile=${pwfile}`);
    }
    await exec(path.join(PG_BIN, 'initdb'), ['-D', data, ...auth, '-U', 'tusk', '-N', '-E', 'UTF8', '--locale=C']);
    // a port picked free may be taken before the server binds it: try another
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const settings = `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60`;
      try {
        await exec(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', '-o', settings, 'start']);
      } catch (err) {
        if (attempt < 3) continue;
        const log = fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8') : '';
        throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`);
      }
      // a test process that exits without running afterAll (process.exit, an uncaught error) leaves no server behind
      const stopAtExit = (): void => {
        try {
          const args = ['-D', data, '-m', 'immediate', 'stop'];
          if (as) execFileSync(as.prefix[0]!, [...as.prefix.slice(1), path.join(PG_BIN, 'pg_ctl'), ...args], { stdio: 'ignore' });
          else execFileSync(path.join(PG_BIN, 'pg_ctl'), args, { stdio: 'ignore' });
        } catch {
          // already stopped
        }
        fs.rmSync(dir, { recursive: true, force: true });
      };
      process.once('exit', stopAtExit);
      return {
        port,
        dir,
        url: (database) => `postgres://tusk${opts.password === undefined ? '' : `:${encodeURIComponent(opts.password)}`}@127.0.0.1:${port}/${database}`,
        stop: async () => {
          process.off('exit', stopAtExit);
          await exec(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export interface PostgresForTests {
  /** set when the suite must skip: the reason, with how to install PostgreSQL */
  readonly missing: string | undefined;
  readonly server: () => PgServer;
  /**
   * A new database on the file's server, for one test: its URL. Empty, or a copy of `template`
   * (a database made once with freshDatabase and left without connections).
   */
  freshDatabase(template?: string): Promise<string>;
}

/** For a test file: one server started before its tests and stopped after them. */
export function usePostgres(opts: PgServerOptions = {}): PostgresForTests {
  const missing = postgresMissing();
  let server: PgServer | undefined;
  beforeAll(async () => {
    if (!missing) server = await startPostgres(opts);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  return {
    missing,
    server: () => server!,
    freshDatabase: (template?: string) => freshDatabase(server!, template),
  };
}

let databases = 0;

/** A new database on `server`: its URL. Empty, or a copy of `template` (a database left without connections). */
export async function freshDatabase(server: PgServer, template?: string): Promise<string> {
  const name = `t${++databases}_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.url('postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${pg.escapeIdentifier(new URL(template).pathname.slice(1))}` : ''}`);
  } finally {
    await admin.end();
  }
  return server.url(name);
}
