// What a team-store test file runs against: a throwaway PostgreSQL (a fresh database per test, from
// `server`) and s3rver with the bucket `tusk`, started before the file's tests when PostgreSQL is
// installed (`skip` says when it is not, `server.missing` why) and stopped after them.
import { afterAll, beforeAll } from 'vitest';
import { startS3, type S3Server } from '../remote/s3-server.js';
import { usePostgres, type PostgresForTests } from './postgres.js';

export interface TeamServers {
  readonly server: PostgresForTests;
  readonly skip: boolean;
  /** the bucket's server; only inside a test or hook (it starts in beforeAll) */
  readonly s3: S3Server;
}

export function useTeamServers(): TeamServers {
  const server = usePostgres();
  const skip = server.missing !== undefined;
  let s3: S3Server | undefined;
  beforeAll(async () => {
    if (!skip) s3 = await startS3(['tusk']);
  });
  afterAll(async () => {
    await s3?.close();
  });
  return {
    server,
    skip,
    get s3() {
      if (!s3) throw new Error('s3rver is not running: it starts in beforeAll, for files where PostgreSQL is installed');
      return s3;
    },
  };
}
