// Pipeline specs and job records travel with the output commits they made: a store that pulls a
// pipeline's output learns the pipeline (stopped, until asked to run) and the jobs, and its
// output branch's inputs, so that starting it there runs it on new input.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tuskJson } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { localStore } from './remote-helpers.js';

const root = tempDir('tusk-remote-pipelines-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const FG = () => ({ TUSK_RUNNER: 'foreground' });

describe('a pushed pipeline output', () => {
  it('brings its pipeline spec and job records to the clone, and the pipeline runs there once started', async () => {
    const remote = `file://${path.join(root, 'remote')}`;
    const a = localStore(path.join(root, 'a'), FG);
    await a.put('in', 'master', { '/a.txt': 'alpha\n' });
    const spec = { pipeline: { name: 'up' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh'], stdin: ['for f in /pfs/in/*; do tr a-z A-Z < "$f" > "/pfs/out/$(basename $f)"; done'] } };
    fs.writeFileSync(path.join(a.dir, 'up.json'), JSON.stringify(spec));
    await a.json(['create', 'pipeline', '-f', 'up.json', '--wait']);
    const jobs = await a.json<{ id: string; state: string }[]>(['list', 'job', '-p', 'up']);
    expect(jobs.map((j) => j.state)).toEqual(['JOB_SUCCESS']);
    await a.json(['remote', 'add', 'origin', remote]);
    await a.json(['push']);

    await tuskJson(['clone', remote, path.join(root, 'b'), '--json']);
    const b = localStore(path.join(root, 'b'), FG);
    const [pipeline] = await b.json<{ name: string; version: number; state: string; salt: string }[]>(['list', 'pipeline']);
    const [mine] = await a.json<{ name: string; version: number; salt: string }[]>(['list', 'pipeline']);
    expect(pipeline).toMatchObject({ name: 'up', version: mine!.version, salt: mine!.salt, state: expect.stringMatching(/paused|stopped/i) });
    const theirs = await b.json<{ id: string; state: string; processed: number }[]>(['list', 'job', '-p', 'up']);
    expect(theirs.map((j) => [j.id, j.state, j.processed])).toEqual([[jobs[0]!.id, 'JOB_SUCCESS', 1]]);
    expect((await b.run(['get', 'file', 'up@master:/a.txt'])).stdout).toBe('ALPHA\n');

    // started on the clone, it runs on new input like the original
    expect((await b.run(['start', 'pipeline', 'up'])).code).toBe(0);
    await b.put('in', 'master', { '/b.txt': 'bravo\n' });
    await b.run(['wait', 'commit', 'up@master']);
    expect((await b.run(['get', 'file', 'up@master:/b.txt'])).stdout).toBe('BRAVO\n');
    expect((await b.run(['fsck'])).code).toBe(0);
  }, 60_000);
});

describe('a pull that moves a branch a local pipeline reads', () => {
  it('creates and runs that pipeline a job for the pulled head, as a local commit would', async () => {
    const remote = `file://${path.join(root, 'remote-trigger')}`;
    const a = localStore(path.join(root, 'trigger-a'), FG);
    await a.put('in', 'master', { '/a.txt': 'alpha\n' });
    await a.json(['remote', 'add', 'origin', remote]);
    await a.json(['push']);

    await tuskJson(['clone', remote, path.join(root, 'trigger-b'), '--json']);
    const b = localStore(path.join(root, 'trigger-b'), FG);
    const spec = { pipeline: { name: 'up' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh'], stdin: ['for f in /pfs/in/*; do tr a-z A-Z < "$f" > "/pfs/out/$(basename $f)"; done'] } };
    fs.writeFileSync(path.join(b.dir, 'up.json'), JSON.stringify(spec));
    await b.json(['create', 'pipeline', '-f', 'up.json', '--wait']);
    expect(await b.json<unknown[]>(['list', 'job', '-p', 'up'])).toHaveLength(1);

    const pushed = await a.put('in', 'master', { '/b.txt': 'bravo\n' });
    await a.json(['push']);
    const pulled = await b.json<{ branches: { status: string }[] }>(['pull']);
    expect(pulled.branches.map((x) => x.status)).toEqual(['fast-forwarded']);

    // the job's id is the pulled commit's: the commit set the move made
    const jobs = await b.json<{ id: string; state: string }[]>(['list', 'job', '-p', 'up']);
    expect(jobs).toHaveLength(2);
    expect(jobs.find((j) => j.id === pushed)).toMatchObject({ state: 'JOB_SUCCESS' });
    expect((await b.run(['get', 'file', 'up@master:/b.txt'])).stdout).toBe('BRAVO\n');
    // a pull with nothing new starts nothing
    await b.json(['pull']);
    expect(await b.json<unknown[]>(['list', 'job', '-p', 'up'])).toHaveLength(2);
    expect((await b.run(['fsck'])).code).toBe(0);
  }, 60_000);
});
