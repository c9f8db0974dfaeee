// The metadata contracts (CommitGraph, ChunkIndex, JobRecords) in their async form: the same
// assertions against SQLite and PostgreSQL (backends.ts).
import { describe, expect, it } from 'vitest';
import type { ChunkId, ContentId, NodeId } from '../../../src/store/hash.js';
import type { DatumFile, NewDatum } from '../../../src/store/job-records.js';
import { collect, commit, contractBackends, id32 } from './backends.js';

const BACKENDS = contractBackends();

const inputsOf = (i: number): DatumFile[] => [
  { name: 'images', repo: 'images', branch: 'master', commit: `c${i}`, path: `/f${i}`, type: 'file', hash: `ab${i}`, size: i * 10, joinKey: i % 2 === 0 ? 'even' : undefined },
];
// a pending datum of the plan, with every field a value of its own
const newDatum = (pipeline: string, job: string, i: number): NewDatum => ({ pipeline, job, id: `d${i}`, seq: i, hash: `h${i}`, state: 'pending', inputs: inputsOf(i), output: null, started: null, finished: null });

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`metadata contract on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ''}`, () => {
    it('repos and branches: insert, read, list, move by compare-and-set, delete with everything of the repo', async () => {
      const m = await backend.open();
      await m.unitOfWork(async ({ graph }) => {
        await graph.insertRepo({ name: 'images', type: 'user', description: '', created: 1 });
        await graph.insertRepo({ name: 'edges', type: 'user', description: '', created: 2 });
        await graph.setRepoDescription('images', 'cats');
        await graph.setRepoType('edges', 'spec');
        await graph.insertCommit(commit('images', 'c1', 1, null));
        await graph.insertCommit(commit('images', 'c2', 2, 'c1'));
        await graph.setBranch('images', 'master', 'c1', 10);
        await graph.setBranch('images', 'dev', 'c1', 11);
      });
      expect(await m.graph.getRepo('images')).toEqual({ name: 'images', type: 'user', description: 'cats', created: 1 });
      expect((await m.graph.listRepos()).map((r) => [r.name, r.type])).toEqual([['edges', 'spec'], ['images', 'user']]);
      expect(await m.graph.getRepo('nope')).toBeUndefined();
      expect((await m.graph.listBranches('images')).map((b) => b.name)).toEqual(['dev', 'master']);
      expect((await m.graph.branchesAt('images', 'c1')).map((b) => b.name).sort()).toEqual(['dev', 'master']);

      // compare-and-set: only from the head it still has
      expect(await m.unitOfWork(async ({ graph }) => await graph.moveBranch('images', 'master', 'c2', 'c1'))).toBe(false);
      expect(await m.unitOfWork(async ({ graph }) => await graph.moveBranch('images', 'master', 'c1', 'c2'))).toBe(true);
      expect(await m.unitOfWork(async ({ graph }) => await graph.moveBranch('images', 'master', 'c1', 'c2'))).toBe(false);
      expect(await m.unitOfWork(async ({ graph }) => await graph.moveBranch('images', 'nobranch', null, 'c2'))).toBe(false);
      expect((await m.graph.getBranch('images', 'master'))?.head).toBe('c2');
      // setBranch on an existing branch moves it and keeps its creation time
      await m.unitOfWork(async ({ graph }) => await graph.setBranch('images', 'dev', 'c2', 99));
      expect(await m.graph.getBranch('images', 'dev')).toEqual({ repo: 'images', name: 'dev', head: 'c2', created: 11 });

      await m.unitOfWork(async ({ graph }) => {
        await graph.setBranchProvenance('edges', 'master', [{ repo: 'images', branch: 'master' }]);
        await graph.addCommitProvenance('edges', 'e1', [{ fromRepo: 'images', fromCommit: 'c2', fromBranch: 'master' }]);
        await graph.deleteBranch('images', 'dev');
      });
      expect(await m.graph.getBranch('images', 'dev')).toBeUndefined();
      await m.unitOfWork(async ({ graph }) => await graph.deleteRepo('images'));
      expect(await m.graph.getRepo('images')).toBeUndefined();
      expect(await m.graph.listBranches('images')).toEqual([]);
      expect(await m.graph.getCommit('images', 'c1')).toBeUndefined();
      expect(await m.graph.branchProvenance('edges', 'master')).toEqual([]);
      expect(await m.graph.commitProvenance('edges', 'e1')).toEqual([]);
    });

    it('commits: round-trip every field, seq, children, finish, error, parent, iteration newest first, commit sets, roots', async () => {
      const m = await backend.open();
      const root = id32() as NodeId;
      await m.unitOfWork(async ({ graph }) => {
        await graph.insertRepo({ name: 'r', type: 'user', description: '', created: 1 });
        await graph.insertRepo({ name: 'o', type: 'user', description: '', created: 1 });
        expect(await graph.nextSeq('r')).toBe(1);
        await graph.insertCommit(commit('r', 'a', 1, null));
        await graph.insertCommit(commit('r', 'b', 2, 'a', { origin: 'AUTO', description: 'two' }));
        await graph.insertCommit(commit('r', 'c', 3, 'a'));
        await graph.insertCommit(commit('o', 'c', 1, null));
        await graph.setCommitRoot('r', 'b', root, 12_345_678_901, 3);
        await graph.finishCommit('r', 'b', 5000, 'done');
        await graph.setCommitError('r', 'c', 'boom');
      });
      expect(await m.graph.nextSeq('r')).toBe(4);
      expect(await m.graph.getCommit('r', 'b')).toEqual({
        repo: 'r',
        id: 'b',
        seq: 2,
        branch: 'master',
        parent: 'a',
        origin: 'AUTO',
        description: 'done',
        started: 1002,
        finishing: 5000,
        finished: 5000,
        root,
        size: 12_345_678_901,
        files: 3,
        error: null,
      });
      expect(await m.graph.children('r', 'a')).toEqual(['b', 'c']);
      // many commits' links in one call, each in the order the single calls give
      const links = await m.graph.commitLinks('r', ['a', 'b', 'nope']);
      expect([...links.keys()]).toEqual(['a', 'b', 'nope']);
      expect(links.get('a')).toEqual({ children: ['b', 'c'], provenance: [] });
      expect(links.get('nope')).toEqual({ children: [], provenance: [] });
      expect((await m.graph.commitsById('c')).map((c) => c.repo)).toEqual(['o', 'r']);
      expect((await collect(m.graph.iterateRepoCommits('r'))).map((c) => c.id)).toEqual(['c', 'b', 'a']);
      expect((await collect(m.graph.iterateAllCommits())).length).toBe(4);
      expect((await m.graph.allRoots()).map((b) => b.toString('hex'))).toEqual([root.toString('hex')]);
      const sets = await m.graph.commitSets(10);
      expect(sets.find((s) => s.id === 'c')).toEqual({ id: 'c', commits: 2, finished: 0, failed: 1, created: 1001, modified: 1003 });
      expect(sets.find((s) => s.id === 'b')).toEqual({ id: 'b', commits: 1, finished: 1, failed: 0, created: 1002, modified: 5000 });
      // newest first; without a limit, every set (`tusk list commit` with no -n)
      expect((await m.graph.commitSets()).map((s) => s.id)).toEqual(sets.map((s) => s.id));
      expect((await m.graph.commitSets(1)).map((s) => s.id)).toEqual([sets[0]!.id]);
      await m.unitOfWork(async ({ graph }) => {
        await graph.setParent('r', 'c', 'b');
        await graph.deleteCommit('r', 'a');
      });
      expect(await m.graph.children('r', 'b')).toEqual(['c']);
      expect(await m.graph.getCommit('r', 'a')).toBeUndefined();
    });

    it('batch reads: many commits by key, a parent chain in pages, all branch provenance, dangling references, all branches in order', async () => {
      const m = await backend.open();
      await m.unitOfWork(async ({ graph }) => {
        await graph.insertRepo({ name: 'r', type: 'user', description: '', created: 1 });
        await graph.insertRepo({ name: 'o', type: 'user', description: '', created: 1 });
        await graph.insertCommit(commit('r', 'a', 1, null));
        await graph.insertCommit(commit('r', 'b', 2, 'a'));
        await graph.insertCommit(commit('r', 'c', 3, 'b'));
        await graph.insertCommit(commit('r', 'side', 4, 'a'));
        // a parent the store lacks, and provenance naming a commit it lacks
        await graph.insertCommit(commit('o', 'x', 1, 'gone'));
        await graph.addCommitProvenance('o', 'x', [
          { fromRepo: 'r', fromCommit: 'c', fromBranch: 'master' },
          { fromRepo: 'r', fromCommit: 'lost', fromBranch: 'master' },
        ]);
        // provenance of a commit the store lacks is no commit's problem
        await graph.addCommitProvenance('o', 'nocommit', [{ fromRepo: 'r', fromCommit: 'lost2', fromBranch: null }]);
        await graph.setBranch('r', 'master', 'c', 10);
        await graph.setBranch('r', 'dev', 'side', 20);
        await graph.setBranch('o', 'master', 'x', 5);
        await graph.setBranch('o', 'old', 'vanished', 6);
        await graph.setBranchProvenance('o', 'master', [{ repo: 'r', branch: 'master' }]);
        await graph.setBranchProvenance('o', 'old', [
          { repo: 'r', branch: 'master' },
          { repo: 'r', branch: 'dev' },
        ]);
      });
      // in the order asked, undefined where missing, repeats answered each time
      const got = await m.graph.getCommits([
        { repo: 'r', id: 'c' },
        { repo: 'o', id: 'a' },
        { repo: 'r', id: 'a' },
        { repo: 'r', id: 'c' },
      ]);
      expect(got.map((c) => c?.id)).toEqual(['c', undefined, 'a', 'c']);
      expect(got[0]).toEqual(await m.graph.getCommit('r', 'c'));
      expect(await m.graph.getCommits([])).toEqual([]);
      // the chain newest first, in pages: the next page starts from the last one's parent
      expect((await m.graph.commitChain('r', 'c', 10)).map((c) => c.id)).toEqual(['c', 'b', 'a']);
      expect((await m.graph.commitChain('r', 'c', 2)).map((c) => c.id)).toEqual(['c', 'b']);
      expect((await m.graph.commitChain('r', 'a', 2)).map((c) => c.id)).toEqual(['a']);
      expect((await m.graph.commitChain('r', 'side', 5))[0]).toEqual(await m.graph.getCommit('r', 'side'));
      expect((await m.graph.commitChain('o', 'x', 5)).map((c) => c.id)).toEqual(['x']);
      expect(await m.graph.commitChain('r', 'nope', 5)).toEqual([]);
      expect(await m.graph.allBranchProvenance()).toEqual([
        { repo: 'o', branch: 'master', fromRepo: 'r', fromBranch: 'master' },
        { repo: 'o', branch: 'old', fromRepo: 'r', fromBranch: 'dev' },
        { repo: 'o', branch: 'old', fromRepo: 'r', fromBranch: 'master' },
      ]);
      expect(await m.graph.danglingRefs()).toEqual([
        { kind: 'head', repo: 'o', name: 'old', targetRepo: 'o', target: 'vanished' },
        { kind: 'parent', repo: 'o', name: 'x', targetRepo: 'o', target: 'gone' },
        { kind: 'provenance', repo: 'o', name: 'x', targetRepo: 'r', target: 'lost' },
      ]);
      // by repo, and in a repo newest first, as listBranches
      expect((await m.graph.allBranches()).map((b) => `${b.repo}@${b.name}`)).toEqual(['o@old', 'o@master', 'r@dev', 'r@master']);
      expect((await m.graph.listBranches('r')).map((b) => b.name)).toEqual(['dev', 'master']);
    });

    it('paged iterations: thousands of commits come back whole and in order across pages, ties in seq included', async () => {
      const m = await backend.open();
      const n = 2345;
      await m.unitOfWork(async ({ graph }) => {
        await graph.insertRepo({ name: 'r', type: 'user', description: '', created: 1 });
        await graph.insertRepo({ name: 's', type: 'user', description: '', created: 1 });
        // two commits per seq: the id breaks the tie
        for (let i = 0; i < n; i++) await graph.insertCommit(commit('r', `c${String(i).padStart(5, '0')}`, Math.floor(i / 2), null));
        await graph.insertCommit(commit('s', 'only', 1, null));
      });
      const ids = (await collect(m.graph.iterateRepoCommits('r'))).map((c) => c.id);
      expect(ids).toHaveLength(n);
      expect(ids).toEqual(Array.from({ length: n }, (_, i) => `c${String(n - 1 - i).padStart(5, '0')}`));
      const all = await collect(m.graph.iterateAllCommits());
      expect(all.map((c) => `${c.repo}@${c.id}`)).toEqual([...Array.from({ length: n }, (_, i) => `r@c${String(i).padStart(5, '0')}`), 's@only']);
    });

    it('provenance: branch provenance is replaced, subvenance found both ways, commit provenance kept per commit', async () => {
      const m = await backend.open();
      await m.unitOfWork(async ({ graph }) => {
        await graph.setBranchProvenance('out', 'master', [
          { repo: 'a', branch: 'master' },
          { repo: 'b', branch: 'dev' },
        ]);
        await graph.setBranchProvenance('out', 'master', [
          { repo: 'b', branch: 'dev' },
          { repo: 'c', branch: 'master' },
        ]);
        await graph.setBranchProvenance('b', 'x', [{ repo: 'b', branch: 'dev' }]);
        await graph.addCommitProvenance('out', 'o1', [{ fromRepo: 'b', fromCommit: 'b1', fromBranch: 'dev' }]);
        await graph.addCommitProvenance('out', 'o1', [{ fromRepo: 'b', fromCommit: 'b1', fromBranch: 'dev' }]);
        await graph.addCommitProvenance('out', 'o1', [{ fromRepo: 'c', fromCommit: 'c1', fromBranch: null }]);
      });
      expect(await m.graph.branchProvenance('out', 'master')).toEqual([
        { repo: 'b', branch: 'dev' },
        { repo: 'c', branch: 'master' },
      ]);
      expect(await m.graph.directSubvenance('b', 'dev')).toEqual([
        { repo: 'b', branch: 'x' },
        { repo: 'out', branch: 'master' },
      ]);
      expect(await m.graph.repoSubvenance('b')).toEqual([{ repo: 'out', branch: 'master' }]);
      expect(await m.graph.commitProvenance('out', 'o1')).toEqual([
        { fromRepo: 'b', fromCommit: 'b1', fromBranch: 'dev' },
        { fromRepo: 'c', fromCommit: 'c1', fromBranch: null },
      ]);
      expect(await m.graph.commitSubvenance('c', 'c1')).toEqual([{ repo: 'out', id: 'o1' }]);
      expect((await m.graph.commitLinks('out', ['o1'])).get('o1')!.provenance).toEqual(await m.graph.commitProvenance('out', 'o1'));
      await m.unitOfWork(async ({ graph }) => await graph.setBranchProvenance('out', 'master', []));
      expect(await m.graph.branchProvenance('out', 'master')).toEqual([]);
    });

    it('pipelines, jobs and datums: insert, order, claim in batches, finish, restart, release, counts, cron ticks, delete', async () => {
      const m = await backend.open();
      const out = id32() as NodeId;
      const spec = { transform: { cmd: ['sh'] }, input: { pfs: { repo: 'images', glob: '/*' } } };
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.insertPipeline({ name: 'p', version: 1, spec, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 5, updated: 5 });
        await jobs.insertJob('p', 'j1', 1, 's');
        await jobs.insertJob('p', 'j2', 1, 's');
        await jobs.startJob('p', 'j1', 3, 'runner-a', 10);
        await jobs.setJobState('p', 'j1', 'JOB_SUCCESS', null, 20);
        await jobs.startJob('p', 'j2', 3, 'runner-a', 10);
        await jobs.insertDatums([0, 1, 2].map((i) => newDatum('p', 'j2', i)));
      });
      expect(await m.jobs.getPipeline('p')).toEqual({ name: 'p', version: 1, spec, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 5, updated: 5 });
      expect((await m.jobs.pipelineOwning('p', 'master'))?.name).toBe('p');
      expect(await m.jobs.pipelineOwning('p', 'dev')).toBeUndefined();
      await m.unitOfWork(({ jobs }) => jobs.updatePipeline({ name: 'p', version: 2, spec: { a: 1 }, raw: '{}', salt: 't', outputBranch: 'master', updated: 6 }));
      await m.unitOfWork(({ jobs }) => jobs.setStopped('p', true));
      expect(await m.jobs.getPipeline('p')).toMatchObject({ version: 2, spec: { a: 1 }, salt: 't', stopped: true, created: 5 });
      expect((await m.jobs.listPipelines()).map((p) => p.name)).toEqual(['p']);
      expect((await m.jobs.openJobs()).map((j) => j.id)).toEqual(['j2']);
      expect((await m.jobs.getJob('p', 'j1'))?.state).toBe('JOB_SUCCESS');
      expect((await m.jobs.lastSuccessfulJob('p', 'j2'))?.id).toBe('j1');
      expect(await m.jobs.lastSuccessfulJob('p', 'j1')).toBeUndefined();
      expect(await m.jobs.previousJob('p', 'j2')).toBe('j1');
      const live = await m.jobs.liveJobs(15);
      expect(live.map((j) => j.id).sort()).toEqual(['j1', 'j2']);
      expect(Object.keys(live[0]!).sort()).toEqual(['created', 'finished', 'id', 'pipeline', 'started', 'state']);
      // every planned field round-trips, the input files as records
      expect(await m.jobs.getDatum('p', 'j2', 'd1')).toEqual({
        ...newDatum('p', 'j2', 1),
        attempts: 0,
        error: null,
        claimedBy: null,
        leaseUntil: null,
        downloadBytes: 0,
        uploadBytes: 0,
      });

      const first = await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j2', 'runner-a', 60_000, 2));
      expect(first.map((d) => [d.id, d.state, d.claimedBy, d.attempts])).toEqual([
        ['d0', 'running', 'runner-a', 1],
        ['d1', 'running', 'runner-a', 1],
      ]);
      const second = await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j2', 'runner-b', 60_000, 5));
      expect(second.map((d) => d.id)).toEqual(['d2']);
      // renewing answers with what the runner still holds, and moves only its leases
      const held = await m.jobs.renewDatumLeases('p', 'j2', 'runner-a', 123_456_789_012);
      expect([...held].sort()).toEqual(['d0', 'd1']);
      expect((await m.jobs.getDatum('p', 'j2', 'd0'))?.leaseUntil).toBe(123_456_789_012);
      expect((await m.jobs.getDatum('p', 'j2', 'd2'))?.leaseUntil).not.toBe(123_456_789_012);
      expect([...(await m.jobs.renewDatumLeases('p', 'j2', 'nobody', 1))]).toEqual([]);
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.finishDatums([
          { pipeline: 'p', job: 'j2', id: 'd0', seq: 0, runner: 'runner-a', state: 'success', output: out, finished: 30, error: null, downloadBytes: 7, uploadBytes: 9 },
          { pipeline: 'p', job: 'j2', id: 'd2', seq: 2, runner: 'runner-b', state: 'failed', output: null, finished: 31, error: 'exit 1', downloadBytes: 1, uploadBytes: 0 },
        ]);
        await jobs.addAttempt('p', 'j2', 'd2', 'runner-a');
      });
      // a finished datum is no longer held
      expect([...(await m.jobs.renewDatumLeases('p', 'j2', 'runner-a', 40))]).toEqual(['d1']);
      expect(await m.jobs.getDatum('p', 'j2', 'd0')).toMatchObject({ state: 'success', finished: 30, claimedBy: null, leaseUntil: null, downloadBytes: 7, uploadBytes: 9 });
      expect(await m.unitOfWork(({ jobs }) => jobs.restartDatums('p', 'j2', ['d0', 'd1']))).toEqual(['d1']);
      // only a running datum takes a result: d1 went back to the queue, d0 already has its own
      await m.unitOfWork(({ jobs }) =>
        jobs.finishDatums([
          { pipeline: 'p', job: 'j2', id: 'd1', seq: 1, runner: 'runner-a', state: 'success', output: out, finished: 32, error: null, downloadBytes: 100, uploadBytes: 100 },
          { pipeline: 'p', job: 'j2', id: 'd0', seq: 0, runner: 'runner-a', state: 'failed', output: null, finished: 33, error: 'late', downloadBytes: 100, uploadBytes: 100 },
        ]),
      );
      expect(await m.jobs.getDatum('p', 'j2', 'd1')).toMatchObject({ state: 'pending', output: null, finished: null, claimedBy: null });
      expect(await m.jobs.getDatum('p', 'j2', 'd0')).toMatchObject({ state: 'success', error: null, downloadBytes: 7 });
      expect(await m.jobs.datumStates('p', 'j2')).toEqual({ pending: 1, running: 0, success: 1, skipped: 0, failed: 1, recovered: 0 });
      await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j2', 'runner-c', 60_000, 5));
      expect(await m.unitOfWork(({ jobs }) => jobs.releaseClaims('p', 'j2', 'runner-c'))).toBe(1);
      expect(await m.jobs.datumBytes('p', 'j2')).toEqual({ downloadBytes: 8, uploadBytes: 9 });
      expect(await m.jobs.firstFailedDatum('p', 'j2')).toBe('d2');
      expect(await m.jobs.hasDatums('p')).toBe(true);
      expect(await m.jobs.hasDatums('other')).toBe(false);
      expect((await m.jobs.getDatum('p', 'j2', 'd2'))).toMatchObject({ state: 'failed', attempts: 2, error: 'exit 1' });
      expect((await m.jobs.datumsOf('p', 'j2')).map((d) => d.id)).toEqual(['d0', 'd1', 'd2']);
      expect(
        (await m.jobs.datumOutcomes('p', 'j2')).sort((a, b) => a.id.localeCompare(b.id)).map((d) => [d.id, d.hash, d.state, d.output?.toString('hex') ?? null]),
      ).toEqual([
        ['d0', 'h0', 'success', out.toString('hex')],
        ['d1', 'h1', 'pending', null],
        ['d2', 'h2', 'failed', null],
      ]);
      expect((await collect(m.jobs.iterateDatumInputs('p', 'j2'))).map((d) => d.inputs)).toEqual([0, 1, 2].map(inputsOf));
      expect((await m.jobs.allDatumOutputs()).map((b) => b.toString('hex'))).toEqual([out.toString('hex')]);
      await m.unitOfWork(({ jobs }) => jobs.setCounts({ pipeline: 'p', id: 'j2', processed: 1, skipped: 0, failed: 1, recovered: 0, downloadBytes: 8, uploadBytes: 9 }));
      expect(await m.jobs.getJob('p', 'j2')).toMatchObject({ processed: 1, failed: 1, total: 3, runner: 'runner-a', leaseUntil: 10, downloadBytes: 8, uploadBytes: 9 });

      await m.unitOfWork(async ({ jobs }) => {
        await jobs.setLastCronTick('p', 'tick', 100);
        await jobs.setLastCronTick('p', 'tick', 200);
        await jobs.setLastCronTick('p', 'old', 50);
        await jobs.keepCronTicks('p', ['tick']);
      });
      expect(await m.jobs.lastCronTick('p', 'tick')).toBe(200);
      expect(await m.jobs.lastCronTick('p', 'old')).toBeUndefined();

      expect(await m.jobs.claimRunner('r1', () => true)).toBe(true);
      expect(await m.jobs.claimRunner('r2', () => true)).toBe(false);
      expect(await m.jobs.claimRunner('r2', () => false)).toBe(true);
      expect((await m.jobs.runnerOwner())?.id).toBe('r2');
      await m.jobs.releaseRunner('r1');
      expect((await m.jobs.runnerOwner())?.id).toBe('r2');
      await m.jobs.releaseRunner('r2');
      expect(await m.jobs.runnerOwner()).toBeUndefined();

      await m.unitOfWork(({ jobs }) => jobs.deletePipeline('p'));
      expect(await m.jobs.getPipeline('p')).toBeUndefined();
      expect(await m.jobs.allJobs()).toEqual([]);
      expect(await m.jobs.hasDatums('p')).toBe(false);
    });

    it('datum attempts: a claim opens the row, its end fills it, a retaken datum keeps the lost row, a release ends it returned, delete removes them', async () => {
      const m = await backend.open();
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.insertPipeline({ name: 'p', version: 1, spec: {}, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 5, updated: 5 });
        await jobs.insertJob('p', 'j', 1, 's');
        await jobs.startJob('p', 'j', 3, 'w1', 10);
        await jobs.insertDatums([0, 1, 2].map((i) => newDatum('p', 'j', i)));
      });
      // w1 claims d0 and d1 under a lease already run out (it went away)
      await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j', 'w1', -1, 2));
      const opened = await m.jobs.attemptsOf('p', 'j');
      expect(opened.map((a) => [a.datum, a.attempt, a.worker, a.finished, a.outcome, a.error])).toEqual([
        ['d0', 1, 'w1', null, null, null],
        ['d1', 1, 'w1', null, null, null],
      ]);
      // w2 retakes both (expired), and then d2; w1's rows stay open: its attempts were lost
      const retaken = await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j', 'w2', 60_000, 3));
      expect(retaken.map((d) => [d.id, d.attempts])).toEqual([
        ['d0', 2],
        ['d1', 2],
        ['d2', 1],
      ]);
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.finishDatums([{ pipeline: 'p', job: 'j', id: 'd0', seq: 0, runner: 'w2', state: 'success', output: null, finished: 50, error: null, downloadBytes: 0, uploadBytes: 0 }]);
        await jobs.finishAttempts([{ pipeline: 'p', job: 'j', datum: 'd0', attempt: 2, worker: 'w2', started: 40, finished: 50, outcome: 'success', error: null }]);
        await jobs.finishAttempts([{ pipeline: 'p', job: 'j', datum: 'd2', attempt: 1, worker: 'w2', started: 41, finished: 45, outcome: 'failed', error: 'exit 1' }]);
      });
      // w2 stops: d1 and d2 (still running under it) go back, their open rows end `returned`
      expect(await m.unitOfWork(({ jobs }) => jobs.releaseClaims('p', 'j', 'w2'))).toBe(2);
      // `restart datum` of a claimed datum ends its open row `returned` too
      await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j', 'w3', 60_000, 1));
      expect(await m.unitOfWork(({ jobs }) => jobs.restartDatums('p', 'j', ['d1']))).toEqual(['d1']);
      const rows = await m.jobs.attemptsOf('p', 'j');
      expect(rows.map((a) => [a.datum, a.attempt, a.worker, a.outcome, a.error])).toEqual([
        ['d0', 1, 'w1', null, null],
        ['d0', 2, 'w2', 'success', null],
        ['d1', 1, 'w1', null, null],
        ['d1', 2, 'w2', 'returned', null],
        ['d1', 3, 'w3', 'returned', null],
        ['d2', 1, 'w2', 'failed', 'exit 1'],
      ]);
      expect(rows.find((a) => a.datum === 'd0' && a.attempt === 2)).toEqual({ pipeline: 'p', job: 'j', datum: 'd0', attempt: 2, worker: 'w2', started: 40, finished: 50, outcome: 'success', error: null });
      expect(rows.find((a) => a.datum === 'd1' && a.attempt === 2)!.finished).toBeGreaterThan(0);
      expect((await m.jobs.attemptsOf('p', 'j', 'd1')).map((a) => a.worker)).toEqual(['w1', 'w2', 'w3']);
      await m.unitOfWork(({ jobs }) => jobs.deleteJob('p', 'j'));
      expect(await m.jobs.attemptsOf('p', 'j')).toEqual([]);
    });

    it('datum attempts: a retry within a claim opens its own row, and a row ended `returned` keeps its end when a late finish comes', async () => {
      const m = await backend.open();
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.insertPipeline({ name: 'p', version: 1, spec: {}, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 5, updated: 5 });
        await jobs.insertJob('p', 'j', 1, 's');
        await jobs.startJob('p', 'j', 1, 'w1', 10);
        await jobs.insertDatums([newDatum('p', 'j', 0)]);
      });
      await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j', 'w1', 60_000, 1));
      // the first try failed; the second is under way, and its row is open while it runs
      await m.unitOfWork(({ jobs }) => jobs.addAttempt('p', 'j', 'd0', 'w1'));
      expect((await m.jobs.attemptsOf('p', 'j', 'd0')).map((a) => [a.attempt, a.worker, a.finished, a.outcome])).toEqual([
        [1, 'w1', null, null],
        [2, 'w1', null, null],
      ]);
      // `restart datum` ends the running attempt; the runner, not yet aware, finishes it as a success
      expect(await m.unitOfWork(({ jobs }) => jobs.restartDatums('p', 'j', ['d0']))).toEqual(['d0']);
      await m.unitOfWork(({ jobs }) =>
        jobs.finishAttempts([
          { pipeline: 'p', job: 'j', datum: 'd0', attempt: 1, worker: 'w1', started: 20, finished: 21, outcome: 'failed', error: 'exit 1' },
          { pipeline: 'p', job: 'j', datum: 'd0', attempt: 2, worker: 'w1', started: 22, finished: 30, outcome: 'success', error: null },
        ]),
      );
      expect((await m.jobs.attemptsOf('p', 'j', 'd0')).map((a) => [a.attempt, a.outcome, a.error])).toEqual([
        [1, 'failed', 'exit 1'],
        [2, 'returned', null],
      ]);
    });

    it('datum attempts: one attempt listed twice in a batch (ended, then given back) keeps its first end, as one by one', async () => {
      const m = await backend.open();
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.insertPipeline({ name: 'p', version: 1, spec: {}, raw: '{}', salt: 's', outputBranch: 'master', stopped: false, created: 5, updated: 5 });
        await jobs.insertJob('p', 'j', 1, 's');
        await jobs.insertDatums([newDatum('p', 'j', 0), newDatum('p', 'j', 1)]);
      });
      await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j', 'w1', 60_000, 2));
      await m.unitOfWork(({ jobs }) =>
        jobs.finishAttempts([
          { pipeline: 'p', job: 'j', datum: 'd0', attempt: 1, worker: 'w1', started: 20, finished: 30, outcome: 'success', error: null },
          { pipeline: 'p', job: 'j', datum: 'd1', attempt: 1, worker: 'w1', started: 21, finished: 31, outcome: 'failed', error: 'exit 1' },
          { pipeline: 'p', job: 'j', datum: 'd0', attempt: 1, worker: 'w1', started: 20, finished: 32, outcome: 'returned', error: null },
        ]),
      );
      expect((await m.jobs.attemptsOf('p', 'j')).map((a) => [a.datum, a.attempt, a.finished, a.outcome, a.error])).toEqual([
        ['d0', 1, 30, 'success', null],
        ['d1', 1, 31, 'failed', 'exit 1'],
      ]);
    });

    it('prior results: the newest successful result per datum identity, for many datums in one call', async () => {
      const m = await backend.open();
      const older = id32() as NodeId;
      const newer = id32() as NodeId;
      await m.unitOfWork(async ({ jobs }) => {
        for (const j of ['j1', 'j2', 'j3']) await jobs.insertJob('p', j, 1, 's');
        await jobs.insertDatums([newDatum('p', 'j1', 0), newDatum('p', 'j1', 1), newDatum('p', 'j1', 2)]);
        // a skipped row carries the output of the successful row it was skipped for
        await jobs.insertDatums([newDatum('p', 'j2', 0), { ...newDatum('p', 'j2', 1), state: 'skipped', output: older, finished: 50 }]);
        // a skipped row whose successful row is not there (no command removes one job's rows)
        await jobs.insertDatums([{ ...newDatum('p', 'j3', 3), state: 'skipped', output: newer, finished: 60 }]);
        await jobs.insertDatums([]);
      });
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.claimDatums('p', 'j1', 'r', 60_000, 10);
        await jobs.claimDatums('p', 'j2', 'r', 60_000, 10);
        await jobs.finishDatums([
          { pipeline: 'p', job: 'j1', id: 'd0', seq: 0, runner: 'r', state: 'success', output: older, finished: 10, error: null, downloadBytes: 0, uploadBytes: 0 },
          { pipeline: 'p', job: 'j1', id: 'd1', seq: 1, runner: 'r', state: 'success', output: older, finished: 10, error: null, downloadBytes: 0, uploadBytes: 0 },
          { pipeline: 'p', job: 'j1', id: 'd2', seq: 2, runner: 'r', state: 'failed', output: null, finished: 10, error: 'exit 2', downloadBytes: 0, uploadBytes: 0 },
          { pipeline: 'p', job: 'j2', id: 'd0', seq: 0, runner: 'r', state: 'success', output: newer, finished: 40, error: null, downloadBytes: 0, uploadBytes: 0 },
        ]);
        await jobs.finishDatums([]);
      });
      const prior = await m.jobs.priorResults('p', [
        { id: 'd0', hash: 'h0' }, // success in j1 and j2: the newer one
        { id: 'd1', hash: 'h1' }, // success in j1, skipped (carried) in j2: the run in j1
        { id: 'd2', hash: 'h2' }, // only failed: a miss
        { id: 'd3', hash: 'other' }, // known under another hash: a miss
        { id: 'd9', hash: 'h9' }, // never seen
      ]);
      expect([...prior.keys()].sort()).toEqual(['d0', 'd1']);
      expect(prior.get('d0')).toMatchObject({ job: 'j2', state: 'success', finished: 40, inputs: inputsOf(0) });
      expect(prior.get('d0')?.output?.equals(newer)).toBe(true);
      expect(prior.get('d1')).toMatchObject({ job: 'j1', state: 'success', finished: 10 });
      expect(prior.get('d1')?.output?.equals(older)).toBe(true);
      // only rows that ran are looked up (skipped rows stay out of the identity index)
      expect((await m.jobs.priorResults('p', [{ id: 'd3', hash: 'h3' }])).size).toBe(0);
      expect((await m.jobs.priorResults('other', [{ id: 'd0', hash: 'h0' }])).size).toBe(0);
      expect((await m.jobs.priorResults('p', [])).size).toBe(0);
    });

    it('a job of thousands of datums: planned in one call, claimed and finished in batches, its inputs streamed in plan order', async () => {
      const m = await backend.open();
      const n = 2500;
      await m.unitOfWork(async ({ jobs }) => {
        await jobs.insertJob('p', 'j', 1, 's');
        // planned out of order: plan order is seq, not insertion order
        await jobs.insertDatums(Array.from({ length: n }, (_, i) => newDatum('p', 'j', n - 1 - i)));
      });
      const inputs = await collect(m.jobs.iterateDatumInputs('p', 'j'));
      expect(inputs.map((d) => d.id)).toEqual(Array.from({ length: n }, (_, i) => `d${i}`));
      expect(inputs[1234]!.inputs).toEqual(inputsOf(1234));
      const claimed = await m.unitOfWork(({ jobs }) => jobs.claimDatums('p', 'j', 'r', 60_000, n));
      expect(claimed.map((d) => d.seq)).toEqual(Array.from({ length: n }, (_, i) => i));
      await m.unitOfWork(({ jobs }) =>
        jobs.finishDatums(claimed.map((d) => ({ pipeline: 'p', job: 'j', id: d.id, seq: d.seq, runner: 'r', state: 'success', output: null, finished: 1, error: null, downloadBytes: d.seq, uploadBytes: 1 }))),
      );
      expect(await m.jobs.datumStates('p', 'j')).toMatchObject({ running: 0, success: n });
      expect(await m.jobs.datumBytes('p', 'j')).toEqual({ downloadBytes: (n * (n - 1)) / 2, uploadBytes: n });
      expect((await m.jobs.priorResults('p', claimed.map((d) => ({ id: d.id, hash: d.hash })))).size).toBe(n);
    });

    it('chunk index: pack claims and leases, chunks and contents in batches, pages, moves, sweeps, writers', async () => {
      const m = await backend.open();
      const pack = await m.index.claimPack('w1', 1 << 20);
      expect(pack).toMatchObject({ size: 0, sealed: false });
      // a live lease keeps the pack from a second writer
      await m.index.addWriter('w1');
      const other = await m.index.claimPack('w2', 1 << 20);
      expect(other.id).not.toBe(pack.id);
      const ids = [id32(), id32(), id32()] as ChunkId[];
      const content = id32() as ContentId;
      await m.unitOfWork(async ({ index }) => {
        await index.putChunks(ids.map((id, i) => ({ id, pack: pack.id, offset: i * 100, storedLen: 90, rawLen: 200 + i, codec: 1 })));
        await index.putChunks([{ id: ids[0]!, pack: other.id, offset: 999, storedLen: 1, rawLen: 1, codec: 0 }]); // already there: ignored
        await index.putContents([
          { id: content, size: 603, chunks: ids, endState: Buffer.from('state') },
          { id: ids[2]! as unknown as ContentId, size: 202, chunks: [ids[2]!] }, // one-chunk content: no row
        ]);
        await index.commitPack(pack.id, 300, false);
        await index.putNode(content as unknown as NodeId, Buffer.from('page'));
      });
      expect([...(await m.index.existingChunks([ids[0]!, id32() as ChunkId, ids[2]!]))].sort()).toEqual([ids[0]!, ids[2]!].map((b) => b.toString('latin1')).sort());
      expect(await m.index.getChunk(ids[1]!)).toEqual({ pack: pack.id, packName: pack.name, offset: 100, storedLen: 90, rawLen: 201, codec: 1 });
      const locs = await m.index.getChunks([ids[0]!, ids[2]!]);
      expect(locs.get(ids[0]!.toString('latin1'))?.offset).toBe(0);
      expect(locs.size).toBe(2);
      expect(await m.index.hasChunk(ids[1]!)).toBe(true);
      expect(await m.index.getContent(content)).toEqual({ id: content, size: 603, chunks: ids });
      expect(await m.index.getContent(ids[2]! as unknown as ContentId)).toEqual({ id: ids[2], size: 202, chunks: [ids[2]] });
      expect(await m.index.hasContent(ids[2]! as unknown as ContentId)).toBe(true);
      // many contents in one call: listed and one-chunk ones; an unknown id is absent, a repeated one answered once
      const many = await m.index.getContents([content, ids[2]! as unknown as ContentId, id32() as ContentId, content]);
      expect(many.size).toBe(2);
      expect(many.get(content.toString('latin1'))).toEqual({ id: content, size: 603, chunks: ids });
      expect(many.get(ids[2]!.toString('latin1'))).toEqual({ id: ids[2], size: 202, chunks: [ids[2]] });
      expect(await m.index.getContents([])).toEqual(new Map());
      expect(await m.index.getSoleChunk(ids[2]! as unknown as ContentId)).toMatchObject({ offset: 200 });
      expect(await m.index.getSoleChunk(content)).toBeUndefined();
      expect((await m.index.getContentState(content))?.toString()).toBe('state');
      expect((await m.index.contentStates()).map((s) => s.size)).toEqual([603]);
      expect((await m.index.getNode(content as unknown as NodeId))?.toString()).toBe('page');
      expect(await m.index.packEnd(pack.id)).toBeGreaterThan(290);
      expect((await m.index.allChunkLists()).map((c) => c.chunks.length)).toEqual([3]);
      expect((await collect(m.index.iterateChunkPlaces())).length).toBe(3);
      expect((await m.index.listPacks()).find((p) => p.id === pack.id)).toEqual({ id: pack.id, name: pack.name, size: 300, sealed: false });
      const usage = (await m.index.packUsage()).find((p) => p.id === pack.id);
      expect(usage).toMatchObject({ owner: null, chunks: 3 });

      // committed and released: the next claim takes the same pack again
      expect((await m.index.claimPack('w3', 1 << 20)).id).toBe(pack.id);
      await m.unitOfWork(({ index }) => index.moveChunks(pack.id, other.id, [{ id: ids[0]!, offset: 7 }]));
      expect(await m.index.getChunk(ids[0]!)).toMatchObject({ pack: other.id, offset: 7 });
      expect((await m.index.chunksInPack(pack.id)).length).toBe(2);
      const keep = ids[1]!.toString('hex');
      expect(await m.unitOfWork(({ index }) => index.sweepChunks((id) => id.toString('hex') === keep))).toBe(2);
      expect((await m.index.allChunkIds()).map((b) => b.toString('hex'))).toEqual([keep]);
      await m.unitOfWork(async ({ index }) => {
        await index.sweepContents(() => false);
        await index.dropOrphanDeltasAndStates();
      });
      expect(await m.index.contentStates()).toEqual([]);
      await m.unitOfWork(({ index }) => index.sealPack(other.id));
      expect((await m.index.listPacks()).find((p) => p.id === other.id)?.sealed).toBe(true);

      expect(await m.index.isWriterAlive('w1')).toBe(true);
      expect(await m.index.liveWriters()).toEqual(['w1']);
      await m.index.removeWriter('w1');
      expect(await m.index.isWriterAlive('w1')).toBe(false);
    });

    it('a scan of the chunks may await reads and units of work between its rows', async () => {
      const m = await backend.open();
      const pack = await m.index.claimPack('w', 1 << 30);
      const ids = Array.from({ length: 2100 }, () => id32() as ChunkId);
      await m.unitOfWork(({ index }) => index.putChunks(ids.map((id, i) => ({ id, pack: pack.id, offset: i * 10, storedLen: 5, rawLen: 5, codec: i % 3 === 0 ? 2 : 0 }))));
      let seen = 0;
      for await (const place of m.index.iterateChunkPlaces()) {
        // no statement of the scan is open here: the connection answers other calls
        if (seen % 500 === 0) {
          expect((await m.index.existingChunks([place.id])).size).toBe(1);
          await m.unitOfWork(({ index }) => index.commitPack(pack.id, 100 + seen, false));
        }
        seen++;
      }
      expect(seen).toBe(2100);
      let deltas = 0;
      for await (const id of m.index.deltaChunkIds()) {
        if (deltas === 0) expect(await m.index.hasChunk(id)).toBe(true);
        deltas++;
      }
      expect(deltas).toBe(700);
    });

    it('batches of thousands of chunks: one call to write, one to look up, streamed back a page at a time', async () => {
      const m = await backend.open();
      const pack = await m.index.claimPack('w', 1 << 30);
      const ids = Array.from({ length: 2500 }, () => id32() as ChunkId);
      await m.unitOfWork(({ index }) => index.putChunks(ids.map((id, i) => ({ id, pack: pack.id, offset: i * 10, storedLen: 5, rawLen: 5, codec: 0 }))));
      expect((await m.index.existingChunks(ids)).size).toBe(2500);
      expect((await m.index.getChunks(ids.slice(0, 1200))).size).toBe(1200);
      const places = await collect(m.index.iterateChunkPlaces());
      expect(new Set(places.map((p) => p.id.toString('hex'))).size).toBe(2500);
      expect(places.reduce((sum, p) => sum + p.offset, 0)).toBe(ids.reduce((sum, _, i) => sum + i * 10, 0));
    });

  });
}
