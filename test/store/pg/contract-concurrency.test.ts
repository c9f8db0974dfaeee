// The metadata contracts under concurrency, on SQLite and PostgreSQL alike: a unit that throws
// leaves nothing, concurrent claims never share a datum, concurrent commits on one branch all land.
import { describe, expect, it } from 'vitest';
import { collect, commit, contractBackends, hex, id32 } from './backends.js';
import type { NodeId } from '../../../src/store/hash.js';

const BACKENDS = contractBackends();

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`metadata contract under concurrency on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ''}`, () => {
    it('a unit of work that throws leaves nothing behind', async () => {
      const m = await backend.open();
      await expect(
        m.unitOfWork(async ({ graph, index }) => {
          await graph.insertRepo({ name: 'gone', type: 'user', description: '', created: 1 });
          await index.putNode(id32() as NodeId, Buffer.from('x'));
          throw new Error('stop here');
        }),
      ).rejects.toThrow('stop here');
      expect(await m.graph.listRepos()).toEqual([]);
      expect(await m.index.allChunkIds()).toEqual([]);
      // and the store takes the next unit as usual
      await m.unitOfWork(({ graph }) => graph.insertRepo({ name: 'kept', type: 'user', description: '', created: 1 }));
      expect((await m.graph.listRepos()).map((r) => r.name)).toEqual(['kept']);
    });

    it('6 runners claiming the datums of one job at once: each datum is claimed exactly once', async () => {
      const m = await backend.open();
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.insertJob('p', 'j', 1, 's');
        await jobs.insertDatums(Array.from({ length: 60 }, (_, i) => ({ pipeline: 'p', job: 'j', id: `d${i}`, seq: i, hash: 'h', state: 'pending', inputs: [], output: null, started: null, finished: null })));
      });
      const runner = async (name: string): Promise<string[]> => {
        const mine: string[] = [];
        for (;;) {
          const got = await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j', name, 60_000, 5));
          if (got.length === 0) return mine;
          mine.push(...got.map((d) => d.id));
        }
      };
      const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => runner(`r${i}`)));
      const all = claims.flat();
      expect(all.length).toBe(60);
      expect(new Set(all).size).toBe(60);
      expect(await m.jobs.datumStates('p', 'j')).toMatchObject({ pending: 0, running: 60 });
    });

    it('8 concurrent writers × 50 commits on one branch via compare-and-set: all 400 land in one chain', async () => {
      const m = await backend.open();
      await m.unitOfWork(async ({ graph }) => {
        await graph.insertRepo({ name: 'r', type: 'user', description: '', created: 1 });
        await graph.insertCommit(commit('r', 'root', 1, null));
        await graph.setBranch('r', 'master', 'root', 1);
      });
      const moved = new Error('the head moved');
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; i < 50; i++) {
          const id = `w${w}-${i}-${hex()}`;
          for (;;) {
            try {
              await m.unitOfWork(async ({ graph }) => {
                const head = (await graph.getBranch('r', 'master'))!.head;
                await graph.insertCommit(commit('r', id, await graph.nextSeq('r'), head));
                if (!(await graph.moveBranch('r', 'master', head, id))) throw moved;
              });
              break;
            } catch (err) {
              if (err !== moved) throw err;
            }
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
      const seen = new Set<string>();
      for (let at: string | null = (await m.graph.getBranch('r', 'master'))!.head; at !== 'root'; ) {
        expect(seen.has(at!)).toBe(false);
        seen.add(at!);
        at = (await m.graph.getCommit('r', at!))!.parent;
      }
      expect(seen.size).toBe(400);
      expect((await collect(m.graph.iterateRepoCommits('r'))).length).toBe(401);
    });
  });
}
