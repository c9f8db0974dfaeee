// Which store the CLI suites make: `local` (a `.tusk/` of SQLite and packs) or `team` (metadata in
// PostgreSQL, packs in an S3-compatible bucket). vitest.config.ts runs the files listed in
// TEAM_VARIANT_FILES a second time, as the `team` project, with TUSK_TEST_STORE=team; there
// withStoreDir (test/cli/cli-helpers.ts) makes each store with `tusk init --metadata … --packs …`
// against the PostgreSQL and s3rver that test/helpers/team-store-setup.ts starts for the file.
import { freshDatabase, type PgServer } from './postgres.js';
import type { S3Server } from '../remote/s3-server.js';

export type StoreKind = 'local' | 'team';

/** The kind of store this run of a test file makes. */
export const STORE_KIND: StoreKind = process.env.TUSK_TEST_STORE === 'team' ? 'team' : 'local';

/** The bucket every team store of a file keeps its packs in, each under a prefix of its own. */
export const TEAM_BUCKET = 'tusk';

interface TeamServers {
  pg: PgServer;
  s3: S3Server;
}

let servers: TeamServers | undefined;
let stores = 0;

/** Called by the setup file once the file's servers are up (undefined once they are stopped). */
export function setTeamServers(s: TeamServers | undefined): void {
  servers = s;
}

/**
 * The arguments of `tusk init` for a new team store: a fresh database (so the file's tests stay
 * independent) and a bucket prefix no other store of the file uses.
 */
export async function teamInitArgs(): Promise<string[]> {
  if (!servers) throw new Error('no team-store servers: the team variant runs through vitest.config.ts\'s `team` project, whose setup file starts them');
  const url = await freshDatabase(servers.pg);
  return ['--metadata', url, '--packs', `s3://${TEAM_BUCKET}/store-${++stores}`, '--endpoint', servers.s3.endpoint, '--path-style'];
}
