// A throwaway PostgreSQL 15 for the team store's benchmarks: initdb in a temp dir of its own,
// trust auth for the user `tusk`, loopback only, fsync off (the questions are about tusk's
// round trips and contention, not the server's disk), stopped and deleted afterwards.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { withoutCaBundle } from './s3-proxy.js';

const run = promisify(execFile);
export const PG_BIN = process.env.TUSK_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Whether the server's programs are installed (scenarios skip, saying so, when not). */
export function havePostgres() {
  return fs.existsSync(path.join(PG_BIN, 'initdb'));
}

/**
 * A scenario that needs PostgreSQL (and talks to s3rver on loopback): `fn` with AWS_CA_BUNDLE
 * unset, or, where PostgreSQL is not installed, a note and an unmeasured check named `what`.
 */
export function withTeamServers(rep, what, fn) {
  if (!havePostgres()) {
    rep.note(`PostgreSQL 15 is not installed (no ${PG_BIN}/initdb): scenario skipped`);
    rep.check(what, { actual: 'PostgreSQL not installed', target: 'PostgreSQL 15', pass: null });
    return undefined;
  }
  return withoutCaBundle(fn);
}

/** How to run the server's programs: as the postgres user when we are root (PostgreSQL refuses root). */
function asServerUser() {
  if (process.getuid?.() !== 0) return { prefix: [], chown: () => {} };
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  const uid = id('-u');
  const gid = id('-g');
  return { prefix: ['runuser', '-u', 'postgres', '--'], chown: (dir) => fs.chownSync(dir, uid, gid) };
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * initdb and start a server in a temp dir of its own (the bench's dir is not open to the server's
 * user). Returns { url (the `postgres` database), urlFor(db), createDatabase(name), cpuMs(), stop() }.
 * `statements: true` loads pg_stat_statements, for statements(db, { reset }): what a step sent.
 */
export async function startPostgres({ statements = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-bench-pg-'));
  const as = asServerUser();
  as.chown(dir);
  const exec = (cmd, args) => (as.prefix.length ? run(as.prefix[0], [...as.prefix.slice(1), cmd, ...args]) : run(cmd, args));
  const data = path.join(dir, 'data');
  await exec(path.join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'tusk', '-N', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const settings = `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200${statements ? ' -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all' : ''}`;
  await exec(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', settings, 'start']);
  const urlFor = (db) => `postgres://tusk@127.0.0.1:${port}/${db}`;
  return {
    url: urlFor('postgres'),
    urlFor,
    /** a fresh, empty database; returns its URL */
    async createDatabase(name) {
      await exec(path.join(PG_BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'tusk', name]);
      return urlFor(name);
    },
    /**
     * The statements the server ran in database `db` since the last reset (pg_stat_statements,
     * BEGIN and COMMIT included: each is a round trip): [{ query, calls, rows, ms }], most calls
     * first, this query's own left out. `reset` empties the counts after reading them.
     */
    async statements(db, { reset = false } = {}) {
      if (!statements) throw new Error('startPostgres({ statements: true }) loads pg_stat_statements');
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: urlFor(db) });
      await c.connect();
      try {
        await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
        const r = await c.query(
          `SELECT query, calls::int, rows::bigint, total_exec_time AS ms FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'
            ORDER BY calls DESC`,
        );
        if (reset) await c.query('SELECT pg_stat_statements_reset()');
        return r.rows.map((x) => ({ query: x.query, calls: x.calls, rows: Number(x.rows), ms: x.ms }));
      } finally {
        await c.end();
      }
    },
    /** the server's CPU time so far (ms, user + system of its processes), from /proc; null if unreadable */
    cpuMs() {
      return serverCpuMs(data);
    },
    stop: async () => {
      await exec(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CPU of the postmaster and its children (backends that have exited are counted in cutime/cstime). */
function serverCpuMs(data) {
  try {
    const pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const tick = 100; // USER_HZ on Linux
    let total = 0;
    const stat = (p) => {
      const text = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      return text.slice(text.lastIndexOf(')') + 2).split(' ');
    };
    const own = stat(pid);
    // fields after the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    total += Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const f = stat(e);
        if (Number(f[1]) === pid) total += Number(f[11]) + Number(f[12]);
      } catch {
        // gone
      }
    }
    return (total * 1000) / tick;
  } catch {
    return null;
  }
}
