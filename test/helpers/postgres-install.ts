// Whether this machine can start a throwaway PostgreSQL for the tests, and as whom. Free of
// vitest's runtime so that vitest.config.ts can ask it too (to leave out the team-store project).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where Debian's postgresql-15 puts its programs; TUSK_PG_BIN names another install. */
export const PG_BIN = process.env.TUSK_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Why the PostgreSQL suites cannot run here (they skip with this), or undefined when they can. */
export function postgresMissing(): string | undefined {
  if (!fs.existsSync(path.join(PG_BIN, 'initdb')) || !fs.existsSync(path.join(PG_BIN, 'pg_ctl')))
    return `PostgreSQL 15 is not installed (no ${PG_BIN}/initdb): install it with \`apt-get install postgresql\` (or set TUSK_PG_BIN to its bin directory)`;
  if (process.getuid?.() === 0 && unprivileged() === undefined)
    return 'running as root, and neither the postgres user nor `setpriv` is available to run the server unprivileged';
  return undefined;
}

/** How to run a command as an unprivileged user when we are root: the postgres user, else nobody. */
export function unprivileged(): { prefix: string[]; uid: number; gid: number } | undefined {
  for (const user of ['postgres', 'nobody']) {
    let ids: string[];
    try {
      ids = execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim().split(/\s+/).concat(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    } catch {
      continue;
    }
    const [uid, gid] = ids.map(Number) as [number, number];
    if (fs.existsSync('/usr/sbin/runuser') || fs.existsSync('/sbin/runuser')) return { prefix: ['runuser', '-u', user, '--'], uid, gid };
    return { prefix: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'], uid, gid };
  }
  return undefined;
}
