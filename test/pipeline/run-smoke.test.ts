import { afterEach, describe, expect, it } from 'vitest';
import { createPipelines } from '../../src/pipeline/pipeline-service.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { parseFileRef } from '../../src/store/address.js';
import { readBack, streamOf, tempStore } from '../helpers.js';

let env: ReturnType<typeof tempStore>;
afterEach(() => env?.cleanup());

describe('smoke', () => {
  it('runs a copy pipeline and skips unchanged datums', async () => {
    env = tempStore();
    const { store, dir } = env;
    await store.createRepo('in');
    for (const n of ['a', 'b', 'c']) await store.putFiles({ repo: 'in', branch: 'master' }, [{ kind: 'stream', stream: streamOf(`content ${n}\n`), repoPath: `/${n}.txt` }]);
    const spec = { pipeline: { name: 'up' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh'], stdin: ['for f in /pfs/in/*; do tr a-z A-Z < $f > /pfs/out/$(basename $f); done'] } };
    await createPipelines(store.handle, JSON.stringify(spec), { baseDir: dir });
    await runForeground(store.handle);
    const jobs = await store.handle.jobs.jobsOf('up');
    expect(jobs[0]!.state).toBe('JOB_SUCCESS');
    expect((await readBack(store, parseFileRef('up@master:/b.txt'))).toString()).toBe('CONTENT B\n');
    await store.putFiles({ repo: 'in', branch: 'master' }, [{ kind: 'stream', stream: streamOf('new d\n'), repoPath: '/d.txt' }]);
    await runForeground(store.handle);
    const j2 = (await store.handle.jobs.jobsOf('up'))[0]!;
    expect(j2.state).toBe('JOB_SUCCESS');
    expect([j2.processed, j2.skipped]).toEqual([1, 3]);
    expect((await store.listFiles(parseFileRef('up@master:/'))).map((f) => f.path)).toEqual(['/a.txt', '/b.txt', '/c.txt', '/d.txt']);
    await store.deleteFiles(parseFileRef('in@master:/a.txt'));
    await runForeground(store.handle);
    expect((await store.listFiles(parseFileRef('up@master:/'))).map((f) => f.path)).toEqual(['/b.txt', '/c.txt', '/d.txt']);
    const out = await store.inspectCommit(parseFileRef('up@master'));
    expect(out.provenance.map((p) => p.repo)).toEqual(['in']);
    expect((await store.fsck()).ok).toBe(true);
  });
});

describe('egress', () => {
  it('copies a successful output commit to a local directory', async () => {
    env = tempStore();
    const { store, dir } = env;
    await store.createRepo('in');
    await store.putFiles({ repo: 'in', branch: 'master' }, [{ kind: 'stream', stream: streamOf('abc\n'), repoPath: '/x/a.txt' }]);
    const out = `${dir}/egress-out`;
    const spec = { pipeline: { name: 'eg' }, input: { pfs: { repo: 'in', glob: '/' } }, transform: { cmd: ['sh', '-c', 'cp -r /pfs/in/x /pfs/out/'] }, egress: { URL: `file://${out}` } };
    await createPipelines(store.handle, JSON.stringify(spec), { baseDir: dir });
    await runForeground(store.handle);
    expect((await store.handle.jobs.jobsOf('eg'))[0]!.state).toBe('JOB_SUCCESS');
    expect((await import('node:fs')).readFileSync(`${out}/x/a.txt`, 'utf8')).toBe('abc\n');
  });
});
