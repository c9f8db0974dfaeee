// Waiting on a job that fails is a failed command: `put file --wait`, `create pipeline --wait`,
// `wait job` and `wait commit` exit 7 (E_JOB_FAILED) naming the job and its failed datum, and the
// --json error carries the same in `details`. What was written before the job ran stays written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, runTusk, type StoreDir, withStoreDir, writeTree } from '../cli/cli-helpers.js';

const step = (name: string, fn: () => Promise<void>) => it.sequential(name, fn, 60_000);
const FG = { env: { TUSK_RUNNER: 'foreground' } };

type FailedJob = { pipeline: string; job: string; state: string; reason: string | null; datum: string | null; datumFiles: string[]; datumError: string | null };
type JobError = { code: string; message: string; hint: string | null; details: { jobs: FailedJob[] } };

/** Run with --json; require exit 7, nothing on stderr, and return the error document. */
async function jobFailed(s: StoreDir, args: string[]): Promise<JobError> {
  const r = await s.tusk([...args, '--json'], FG);
  expect(r.code, r.describe()).toBe(7);
  expect(r.stderr, r.describe()).toBe('');
  return r.json<{ error: JobError }>().error;
}

describe('waiting on a failed job', () => {
  let s: StoreDir;
  beforeAll(async () => {
    s = await withStoreDir();
    writeTree(s.dir, {
      'check.json': JSON.stringify({
        pipeline: { name: 'check' },
        input: { pfs: { repo: 'nums', glob: '/*' } },
        datum_tries: 1,
        // fails on any file named bad*: the datum that fails is known
        transform: { cmd: ['sh', '-c', 'for f in /pfs/nums/*; do case "$f" in */bad*) echo "no $f" >&2; exit 3;; esac; cp "$f" /pfs/out/; done'] },
      }),
      'after.json': JSON.stringify({ pipeline: { name: 'after' }, input: { pfs: { repo: 'check', glob: '/' } }, transform: { cmd: ['sh', '-c', 'cp -r /pfs/check/. /pfs/out/'] } }),
    });
    expectOk(await s.tusk(['create', 'repo', 'nums']));
    expectOk(await s.tusk(['put', 'file', 'nums@master:/good'], { input: 'ok\n' }));
  });
  afterAll(() => s?.cleanup());

  step('create pipeline --wait on a passing job exits 0', async () => {
    expectOk(await s.tusk(['create', 'pipeline', '-f', 'check.json', '--wait'], FG));
    expectOk(await s.tusk(['create', 'pipeline', '-f', 'after.json', '--wait'], FG));
    expectOk(await s.tusk(['wait', 'commit', 'check@master'], FG));
  });

  let jobId = '';
  step('put file --wait exits 7 naming the failed job and datum; the put itself is kept', async () => {
    const plain = await s.tusk(['put', 'file', 'nums@master:/bad1', '--wait'], { ...FG, input: 'x\n' });
    expect(plain.code, plain.describe()).toBe(7);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(/^Error: wrote nums@master=[0-9a-f]{32}, but job check@[0-9a-f]{32} failed: datum [0-9a-f]{64} \(nums:\/bad1\) failed: exit status 3 \(and 1 more job did not succeed\)\nHint: run `tusk logs -j check@[0-9a-f]{32} --datum [0-9a-f]{64}` to see its output/);
    const files = await s.json<{ path: string }[]>(['list', 'file', 'nums@master']);
    expect(files.map((f) => f.path)).toEqual(['/bad1', '/good']);

    // /bad1 fails again in this job: the first failed datum, in plan order, is named
    const err = await jobFailed(s, ['put', 'file', 'nums@master:/bad2', '--wait']);
    expect(err.code).toBe('E_JOB_FAILED');
    const [check, after] = err.details.jobs;
    expect(check).toMatchObject({ pipeline: 'check', state: 'JOB_FAILURE', datumFiles: ['nums:/bad1'], datumError: 'exit status 3' });
    expect(after).toMatchObject({ pipeline: 'after', state: 'JOB_UNRUNNABLE', datum: null });
    expect(err.message).toContain(`job check@${check!.job} failed: datum ${check!.datum} (nums:/bad1)`);
    jobId = check!.job;
  });

  step('wait job and wait commit on the failed job exit 7 with the same details', async () => {
    const one = await jobFailed(s, ['wait', 'job', `check@${jobId}`]);
    expect(one.details.jobs.map((j) => [j.pipeline, j.job, j.datumFiles])).toEqual([['check', jobId, ['nums:/bad1']]]);
    const set = await jobFailed(s, ['wait', 'job', jobId]);
    expect(set.details.jobs.map((j) => j.pipeline)).toEqual(['check', 'after']);
    const commit = await jobFailed(s, ['wait', 'commit', 'check@master']);
    expect(commit.message).toMatch(new RegExp(`^job check@${jobId} failed: datum [0-9a-f]{64} \\(nums:/bad1\\) failed: exit status 3$`));
    const downstream = await jobFailed(s, ['wait', 'commit', 'after@master']);
    expect(downstream.details.jobs[0]).toMatchObject({ pipeline: 'after', state: 'JOB_UNRUNNABLE' });
  });

  step('an input commit and a waited job that succeeded still exit 0', async () => {
    expectOk(await s.tusk(['wait', 'commit', 'nums@master'], FG));
    const first = (await s.json<{ id: string }[]>(['list', 'job', '-p', 'check'])).at(-1)!;
    expectOk(await s.tusk(['wait', 'job', `check@${first.id}`], FG));
  });

  step('create pipeline --wait over failing input exits 7 after the pipeline was created', async () => {
    writeTree(s.dir, { 'again.json': JSON.stringify({ pipeline: { name: 'again' }, input: { pfs: { repo: 'nums', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'exit 1'] } }) });
    const err = await jobFailed(s, ['create', 'pipeline', '-f', 'again.json', '--wait']);
    expect(err.message).toMatch(/^created pipeline again, but job again@[0-9a-f]{32} failed: datum [0-9a-f]{64} \(nums:\/bad1\) failed: exit status 1/);
    const r = await runTusk(['inspect', 'pipeline', 'again', '--json'], { cwd: s.dir });
    expect(r.code, r.describe()).toBe(0);
  });
});
