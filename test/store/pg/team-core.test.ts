// The store core of a team store (src/store/team-core.ts), in process: the core's own contracts
// follow the calling unit of work (what a unit writes through them is its own until it commits,
// and gone if it rolls back), and a database that goes away mid-command is E_IO, not a driver error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IoError } from '../../../src/errors.js';
import { initTeam, openTeam } from '../../../src/app/team-store.js';
import { tempDir } from '../../helpers.js';
import { usePostgres } from '../../helpers/postgres.js';

const server = usePostgres();
const skip = server.missing !== undefined;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function team(): Promise<Awaited<ReturnType<typeof openTeam>>['store']> {
  const work = tempDir('tusk-team-core-');
  dirs.push(work);
  const url = await server.freshDatabase();
  const dir = path.join(work, '.tusk');
  await initTeam(dir, url, { url: `file://${path.join(work, 'objects')}` });
  return (await openTeam({ dir, url })).store;
}

const repo = (name: string) => ({ name, type: 'user', description: '', created: 1 });

describe.skipIf(skip).sequential(`the team store core${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  it("inside a unit, the core's contracts are the unit's: its writes are seen there, and gone when it rolls back", async () => {
    const store = await team();
    const { core } = store;
    try {
      const seen = await core
        .unitOfWork(async () => {
          await core.graph.insertRepo(repo('inside'));
          // a unit within the unit joins it
          await core.unitOfWork((tx) => tx.graph.insertRepo(repo('nested')));
          const names = (await core.graph.listRepos()).map((r) => r.name);
          throw Object.assign(new Error('roll back'), { names });
        })
        .catch((e: { names: string[] }) => e.names);
      expect(seen).toEqual(['inside', 'nested']);
      expect(await core.graph.listRepos()).toEqual([]);
      await core.unitOfWork(async () => core.graph.insertRepo(repo('kept')));
      expect((await core.graph.listRepos()).map((r) => r.name)).toEqual(['kept']);
    } finally {
      store.close();
      await core.whenClosed();
    }
  });

  it("a walk asks for a directory's leaves many to a statement (each is a round trip to the server)", async () => {
    const store = await team();
    const { core } = store;
    try {
      // what readAhead does over PostgreSQL is shown in pages.test.ts; here, that the team core's reader uses it
      expect(core.reader.readAhead).toBeGreaterThanOrEqual(16);
    } finally {
      store.close();
      await core.whenClosed();
    }
  });

  // last: it stops the file's server
  it('a database that goes away mid-command is E_IO naming it', async () => {
    const store = await team();
    try {
      await store.createRepo('r');
      await server.server().stop();
      const err = await store.listRepos().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IoError);
      expect((err as IoError).message).toContain(`127.0.0.1:${server.server().port}`);
    } finally {
      store.close();
      await store.core.whenClosed();
    }
  });
});
