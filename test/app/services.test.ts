// The services openTusk() builds keep the pipeline rules: a write that feeds a pipeline starts its
// jobs inside the service (here TUSK_RUNNER=foreground, so they run before the call returns), a
// batch holds them until its end, and a failed job of a waited write is the write's failure.
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initStore, openTusk, type Tusk } from '../../src/app/tusk.js';
import { parseFileRef } from '../../src/app/api.js';
import { streamOf, tempDir } from '../helpers.js';

const UPPER = { pipeline: { name: 'up' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh'], stdin: ['for f in /pfs/in/*; do tr a-z A-Z < $f > /pfs/out/$(basename $f); done'] } };
const put = (tusk: Tusk, name: string, text: string) => tusk.data.putFiles({ repo: 'in', branch: 'master' }, [{ kind: 'stream', stream: streamOf(text), repoPath: `/${name}` }]);

let tusk: Tusk;
let dir: string;
const runner = process.env.TUSK_RUNNER;
beforeEach(async () => {
  process.env.TUSK_RUNNER = 'foreground';
  dir = tempDir();
  initStore(dir);
  tusk = await openTusk({ path: path.join(dir, '.tusk') });
  await tusk.data.createRepo('in');
  await tusk.pipelines.create(JSON.stringify(UPPER), { baseDir: dir });
});
afterEach(async () => {
  await tusk.close();
  if (runner === undefined) delete process.env.TUSK_RUNNER;
  else process.env.TUSK_RUNNER = runner;
});

describe('the services start the jobs their writes feed', () => {
  it('a put runs the pipeline reading its branch before it returns', async () => {
    const before = (await tusk.pipelines.listJobs({ pipeline: 'up' })).length;
    const r = await put(tusk, 'a.txt', 'alpha\n');
    const jobs = await tusk.pipelines.listJobs({ pipeline: 'up' });
    expect(jobs.length).toBe(before + 1);
    expect(jobs[0]).toMatchObject({ id: r.commit, state: 'JOB_SUCCESS', processed: 1 });
    expect((await tusk.data.listFiles(parseFileRef('up@master:/'))).map((f) => f.path)).toEqual(['/a.txt']);
  });

  it('a batch holds the jobs of its writes until it ends, then runs them until `until` holds', async () => {
    const open = async () => (await tusk.pipelines.listJobs({ pipeline: 'up' })).filter((j) => j.state !== 'JOB_SUCCESS');
    let seenInside = -1;
    await tusk.forProject().batch(
      async () => {
        await put(tusk, 'a.txt', 'alpha\n');
        await put(tusk, 'b.txt', 'beta\n');
        seenInside = (await open()).length;
      },
      { until: async () => (await open()).length === 0 },
    );
    expect(seenInside).toBe(2);
    expect(await open()).toEqual([]);
    expect((await tusk.data.listFiles(parseFileRef('up@master:/'))).map((f) => f.path)).toEqual(['/a.txt', '/b.txt']);
  });

  it('a waited write whose job fails throws E_JOB_FAILED; the write itself stays', async () => {
    await tusk.pipelines.update(JSON.stringify({ ...UPPER, transform: { cmd: ['sh', '-c', 'exit 3'] } }), { baseDir: dir });
    await expect(tusk.data.putFiles({ repo: 'in', branch: 'master' }, [{ kind: 'stream', stream: streamOf('x\n'), repoPath: '/x.txt' }], { wait: true })).rejects.toMatchObject({ code: 'E_JOB_FAILED' });
    expect((await tusk.data.listFiles(parseFileRef('in@master:/'))).map((f) => f.path)).toEqual(['/x.txt']);
  });
});
