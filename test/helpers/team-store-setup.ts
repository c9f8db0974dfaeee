// Setup file of vitest's `team` project (vitest.config.ts): one PostgreSQL and one s3rver for each
// test file, started before its tests and stopped after them. Every tusk the file spawns talks to
// the bucket with s3rver's credentials, which runTusk passes on from this process's environment.
import { afterAll, beforeAll } from 'vitest';
import { startS3 } from '../remote/s3-server.js';
import { startPostgres } from './postgres.js';
import { setTeamServers, TEAM_BUCKET } from './store-kind.js';

let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const [pg, s3] = await Promise.all([startPostgres(), startS3([TEAM_BUCKET])]);
  stop = async () => {
    await Promise.all([pg.stop(), s3.close()]);
  };
  for (const [k, v] of Object.entries(s3.env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  setTeamServers({ pg, s3 });
}, 120_000);

afterAll(async () => {
  setTeamServers(undefined);
  await stop?.();
});
