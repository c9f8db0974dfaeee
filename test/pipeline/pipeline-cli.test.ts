// Pipelines end to end through the built binary: create/update/stop/start/delete, jobs and their
// counters, datums of every input combinator, failures and retries, provenance down a chain,
// how user code sees /pfs, concurrent runners and the background runner.
//
// Jobs run in the foreground (TUSK_RUNNER=foreground, --wait, `tusk run`) so nothing outlives a
// test; the one group that starts the background runner waits for it to exit. Each
// `describe.concurrent` group owns one store and runs its steps in order.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { tempDir } from '../helpers.js';
import {
  expectCliError,
  expectJsonError,
  expectOk,
  readTree,
  runTusk,
  type RunOptions,
  type StoreDir,
  tuskJson,
  withStoreDir,
  writeTree,
} from '../cli/cli-helpers.js';

// generous: the steps spawn the CLI many times, and CI machines are often busy
const step = (name: string, fn: () => Promise<void>) => it.sequential(name, fn, 120_000);
const FG = { TUSK_RUNNER: 'foreground' };
const DATUM_ID = /^[0-9a-f]{64}$/;

type Job = { pipeline: string; id: string; state: string; reason: string | null; processed: number; skipped: number; failed: number; recovered: number; total: number; inputs: { repo: string; commit: string }[] };
type Datum = { id: string; state: string; attempts: number; files: { name: string; repo: string; path: string; commit: string }[]; error: string | null };
type Pipeline = { name: string; version: number; state: string; lastJobState: string | null; salt: string; input: string; raw: Record<string, unknown> };
type Commit = { repo: string; id: string; finished: string | null; error: string | null; provenance: { repo: string; branch: string | null; commit: string }[] };
type FileInfo = { path: string };

/** A store for one group, with every command run in the foreground unless told otherwise. */
function useStore(): () => StoreDir {
  let s: StoreDir | undefined;
  beforeAll(async () => {
    const raw = await withStoreDir();
    const withFg = (opts: RunOptions = {}): RunOptions => ({ ...opts, env: { ...FG, ...opts.env } });
    s = { ...raw, tusk: (args, opts) => raw.tusk(args, withFg(opts)), json: (args, opts) => raw.json(args, withFg(opts)) };
  });
  afterAll(() => s?.cleanup());
  return () => s!;
}

/** Write a spec (an object or a list of them → JSON; a string as is) into the store's directory. */
function spec(s: StoreDir, name: string, content: unknown): string {
  writeTree(s.dir, { [name]: typeof content === 'string' ? content : JSON.stringify(content, null, 2) });
  return name;
}

/** `sh` with these lines on stdin: the usual Pachyderm transform. */
function sh(...lines: string[]) {
  return { cmd: ['sh'], stdin: lines };
}

const copyAll = (input: string) => sh(`cp -r /pfs/${input}/. /pfs/out/`);

/** Write `files` under `dir/local` and put them at the root of `repo@master` in one commit. */
async function putFiles(s: StoreDir, repo: string, local: string, files: Record<string, string>, opts: RunOptions = {}) {
  writeTree(path.join(s.dir, local), files);
  expectOk(await s.tusk(['put', 'file', `${repo}@master`, ...Object.keys(files).flatMap((f) => ['-f', `${local}/${f}`])], opts));
}
const paths = (files: FileInfo[]) => files.map((f) => f.path);
const newest = async (s: StoreDir, pipeline: string) => (await s.json<Job[]>(['list', 'job', '-p', pipeline, '-n', '1']))[0]!;

/** Whether unprivileged user + mount namespaces work (else tusk falls back to rewriting /pfs). */
function namespacesWork(): boolean {
  if (process.platform !== 'linux') return false;
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', '--fork', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt'], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}

describe.concurrent('create, incremental jobs, update and reprocess', () => {
  const s = useStore();

  step('create pipeline (two YAML documents) runs a first job over existing data, and the one downstream', async () => {
    expectOk(await s().tusk(['create', 'repo', 'in']));
    await putFiles(s(), 'in', 'data', { 'a.txt': 'alpha\n', 'b.txt': 'bravo\n', 'c.txt': 'charlie\n' });
    const up = {
      pipeline: { name: 'up' },
      description: 'upper-case every file',
      input: { pfs: { repo: 'in', glob: '/*' } },
      transform: sh('for f in /pfs/in/*; do echo "upper $(basename $f)"; tr a-z A-Z < "$f" > "/pfs/out/$(basename $f)"; done'),
      resource_requests: { cpu: 1 },
    };
    const total = { pipeline: { name: 'total' }, input: { pfs: { repo: 'up', glob: '/' } }, transform: sh('cat /pfs/up/* | wc -l | tr -d " " > /pfs/out/lines') };
    spec(s(), 'up.yaml', toYaml(up) + '---\n' + toYaml(total));
    const created = await s().tusk(['create', 'pipeline', '-f', 'up.yaml']);
    expectOk(created);
    expect(created.stderr).toContain('resource_requests');

    const job = await newest(s(), 'up');
    expect([job.state, job.processed, job.skipped, job.total]).toEqual(['JOB_SUCCESS', 3, 0, 3]);
    expect(job.inputs.map((i) => i.repo)).toEqual(['in']);
    expect(paths(await s().json(['list', 'file', 'up@master']))).toEqual(['/a.txt', '/b.txt', '/c.txt']);
    expect(expectOk(await s().tusk(['get', 'file', 'up@master:/b.txt'])).stdout).toBe('BRAVO\n');
    expect(expectOk(await s().tusk(['get', 'file', 'total@master:/lines'])).stdout).toBe('3\n');

    const table = expectOk(await s().tusk(['list', 'pipeline'])).stdout.split('\n');
    expect(table[0]).toMatch(/^NAME +VERSION +INPUT +CREATED +STATE \/ LAST JOB +DESCRIPTION$/);
    expect(table.find((l) => l.startsWith('up '))).toMatch(/^up +1 +in:\/\* +.+ago +running \/ success +upper-case every file$/);
    const logs = expectOk(await s().tusk(['logs', '-p', 'up'])).stdout;
    expect(logs.split('\n').filter((l) => l.startsWith('upper')).sort()).toEqual(['upper a.txt', 'upper b.txt', 'upper c.txt']);
    const raw = expectOk(await s().tusk(['logs', '-p', 'up', '--raw'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(raw.every((l) => l.pipeline_name === 'up' && DATUM_ID.test(l.datum_id) && l.user === true)).toBe(true);
  });

  step('a new input file: the next job processes 1 and skips the rest', async () => {
    const put = await s().json<{ commit: string }>(['put', 'file', 'in@master:/d.txt'], { input: 'delta\n' });
    const job = await newest(s(), 'up');
    expect(job.id).toBe(put.commit);
    expect([job.state, job.processed, job.skipped, job.total]).toEqual(['JOB_SUCCESS', 1, 3, 4]);
    const table = expectOk(await s().tusk(['list', 'job', '-p', 'up'])).stdout.split('\n');
    expect(table[0]).toMatch(/^PIPELINE +ID +STARTED +DURATION +RESTART +PROGRESS +DL +UL +STATE$/);
    expect(table[1]).toMatch(new RegExp(`^up +${put.commit} +.+ago +\\S.* +0 +1 \\+ 3 / 4 +6B +6B +success$`));
    expect(expectOk(await s().tusk(['get', 'file', 'total@master:/lines'])).stdout).toBe('4\n');
  });

  step('deleting an input file drops exactly the outputs of its datum', async () => {
    expectOk(await s().tusk(['delete', 'file', 'in@master:/a.txt']));
    expect(paths(await s().json(['list', 'file', 'up@master']))).toEqual(['/b.txt', '/c.txt', '/d.txt']);
    expect(expectOk(await s().tusk(['get', 'file', 'up@master:/d.txt'])).stdout).toBe('DELTA\n');
    const job = await newest(s(), 'up');
    expect([job.processed, job.skipped, job.total]).toEqual([0, 3, 3]);
  });

  step('update pipeline keeps the salt: everything is skipped', async () => {
    const before = await s().json<Pipeline>(['inspect', 'pipeline', 'up']);
    const up = JSON.parse(JSON.stringify((await s().json<Record<string, unknown>[]>(['list', 'pipeline', 'up', '--spec']))[0]));
    expect(up.pipeline).toEqual({ name: 'up' });
    up.description = 'upper-case, v2';
    spec(s(), 'up2.json', up);
    const updated = await s().json<{ pipelines: Pipeline[] }>(['update', 'pipeline', '-f', 'up2.json']);
    expect(updated.pipelines.map((p) => [p.name, p.version])).toEqual([['up', 2]]);
    const job = await newest(s(), 'up');
    expect([job.state, job.processed, job.skipped, job.total]).toEqual(['JOB_SUCCESS', 0, 3, 3]);
    expect(expectOk(await s().tusk(['list', 'job', '-p', 'up', '-n', '1'])).stdout).toContain('success: there were no datums to process');
    expect((await s().json<Pipeline>(['inspect', 'pipeline', 'up'])).salt).toBe(before.salt);
  });

  step('update pipeline --reprocess draws a new salt: everything is processed', async () => {
    const before = await s().json<Pipeline>(['inspect', 'pipeline', 'up']);
    expectOk(await s().tusk(['update', 'pipeline', '-f', 'up2.json', '--reprocess']));
    const job = await newest(s(), 'up');
    expect([job.state, job.processed, job.skipped, job.total]).toEqual(['JOB_SUCCESS', 3, 0, 3]);
    const after = await s().json<Pipeline>(['inspect', 'pipeline', 'up']);
    expect(after.version).toBe(3);
    expect(after.salt).not.toBe(before.salt);
    const text = expectOk(await s().tusk(['inspect', 'pipeline', 'up'])).stdout;
    for (const field of ['Name: up', 'Description: upper-case, v2', 'State: running', 'Stopped: false', 'Input:', '"glob": "/*"', 'Output Branch: master', 'Transform:'])
      expect(text).toContain(field);
  });

  step('reprocess_spec every_job never skips', async () => {
    const up = JSON.parse(fs.readFileSync(path.join(s().dir, 'up2.json'), 'utf8'));
    spec(s(), 'up3.json', { ...up, reprocess_spec: 'every_job' });
    expectOk(await s().tusk(['update', 'pipeline', '-f', 'up3.json']));
    expectOk(await s().tusk(['put', 'file', 'in@master:/e.txt'], { input: 'echo\n' }));
    const job = await newest(s(), 'up');
    expect([job.state, job.processed, job.skipped, job.total]).toEqual(['JOB_SUCCESS', 4, 0, 4]);
    expect(paths(await s().json(['list', 'file', 'up@master']))).toEqual(['/b.txt', '/c.txt', '/d.txt', '/e.txt']);
  });

  step('list job: job sets by default; -p/-x rows filtered by --state, -i and --history', async () => {
    const put = await s().json<{ commit: string }>(['put', 'file', 'in@master:/f.txt'], { input: 'foxtrot\n' });
    type JobSet = { id: string; subjobs: number; succeeded: number; running: number; failed: number; jobs: Job[] };
    const sets = await s().json<JobSet[]>(['list', 'job']);
    expect(sets[0]).toMatchObject({ id: put.commit, subjobs: 2, succeeded: 2, running: 0, failed: 0 });
    expect(sets[0]!.jobs.map((j) => j.pipeline).sort()).toEqual(['total', 'up']);
    expect(new Set(sets.map((x) => x.id)).size).toBe(sets.length);
    const table = expectOk(await s().tusk(['list', 'job', '-n', '1'])).stdout.split('\n');
    expect(table[0]).toMatch(/^ID +SUBJOBS +PROGRESS +CREATED +MODIFIED$/);
    expect(table[1]).toMatch(new RegExp(`^${put.commit} +2 +▇{8} +.+ago +.+ago$`));
    expect(table[2]).toBe('');

    // -p shows the current version (4: its update's job, e.txt's and f.txt's) unless --history says otherwise
    type Versioned = Job & { version: number };
    const current = await s().json<Versioned[]>(['list', 'job', '-p', 'up']);
    expect(current.map((j) => j.version)).toEqual([4, 4, 4]);
    const all = await s().json<Versioned[]>(['list', 'job', '-p', 'up', '--history', 'all']);
    expect(new Set(all.map((j) => j.version))).toEqual(new Set([1, 2, 3, 4]));
    expect((await s().json<Versioned[]>(['list', 'job', '-p', 'up', '--history', '1'])).every((j) => j.version >= 3)).toBe(true);
    expect((await s().json<Versioned[]>(['list', 'job', '-p', 'up', '--history', '1'])).length).toBeLessThan(all.length);

    const expanded = await s().json<Job[]>(['list', 'job', '-x']);
    expect(expanded.filter((j) => j.id === put.commit).map((j) => j.pipeline).sort()).toEqual(['total', 'up']);
    expect((await s().json<Job[]>(['list', 'job', '-x', '--state', 'success', '--history', 'all'])).length).toBe(
      (await s().json<Job[]>(['list', 'job', '-x', '--history', 'all'])).length,
    );
    expect(await s().json(['list', 'job', '-x', '--state', 'failure', '--state', 'JOB_KILLED'])).toEqual([]);
    // -i: the jobs that read in's head commit (up; total read up's output)
    const readers = await s().json<Job[]>(['list', 'job', '-x', '-i', 'in@master']);
    expect(readers.map((j) => [j.pipeline, j.id])).toEqual([['up', put.commit]]);
    expect(await s().json(['list', 'job', '-p', 'total', '-i', `in@${put.commit}`])).toEqual([]);

    const o = { cwd: s().dir };
    await Promise.all([
      expectJsonError(['list', 'job', '--state', 'success'], { exit: 2, code: 'E_INVALID', mentions: ["cannot specify '--state' when listing all jobs"] }, o),
      expectJsonError(['list', 'job', '--history', 'all'], { exit: 2, code: 'E_INVALID', mentions: ["cannot specify '--history' when listing all jobs"] }, o),
      expectJsonError(['list', 'job', put.commit, '-p', 'up'], { exit: 2, code: 'E_INVALID', mentions: ["cannot specify '--pipeline' when listing sub-jobs"] }, o),
      expectJsonError(['list', 'job', '-x', '--state', 'bogus'], { exit: 2, code: 'E_INVALID', mentions: ['invalid job state "bogus"'] }, o),
      expectJsonError(['list', 'job', '-x', '--history', 'some'], { exit: 2, code: 'E_INVALID', mentions: ['invalid history value "some"'] }, o),
      expectJsonError(['list', 'job', '-x', '-i', 'nosuch@master'], { exit: 4, code: 'E_NOT_FOUND' }, o),
    ]);
  });
});

describe.concurrent('an earlier result found past the previous job', () => {
  const s = useStore();

  step('a file put back as it was is skipped with the output of the job that ran it, two jobs before', async () => {
    expectOk(await s().tusk(['create', 'repo', 'in']));
    await putFiles(s(), 'in', 'data', { 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    // the command's output names its run: a datum run again would write another line
    spec(s(), 'up.json', { pipeline: { name: 'up' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: sh('for f in /pfs/in/*; do tr a-z A-Z < "$f" > "/pfs/out/$(basename $f)"; date +%s%N >> "/pfs/out/$(basename $f)"; done') });
    expectOk(await s().tusk(['create', 'pipeline', '-f', 'up.json']));
    const first = expectOk(await s().tusk(['get', 'file', 'up@master:/a.txt'])).stdout;
    expect(first).toMatch(/^ALPHA\n\d+\n$/);
    expectOk(await s().tusk(['delete', 'file', 'in@master:/a.txt']));
    expect([(await newest(s(), 'up')).processed, (await newest(s(), 'up')).skipped]).toEqual([0, 1]);
    // the previous job has no row for a.txt: its result is the first job's, looked up by identity
    expectOk(await s().tusk(['put', 'file', 'in@master:/a.txt'], { input: 'alpha\n' }));
    const job = await newest(s(), 'up');
    expect([job.state, job.processed, job.skipped, job.total]).toEqual(['JOB_SUCCESS', 0, 2, 2]);
    expect(expectOk(await s().tusk(['get', 'file', 'up@master:/a.txt'])).stdout).toBe(first);
    const datums = await s().json<{ state: string }[]>(['list', 'datum', `up@${job.id}`]);
    expect(datums.map((d) => d.state)).toEqual(['skipped', 'skipped']);
  });
});

describe.concurrent('datums of cross, union, join and group', () => {
  const s = useStore();
  // Each datum writes one file named after the basenames it sees, holding the files and the
  // input env vars (paths shown from /pfs on, whichever way /pfs is provided).
  const show = sh(
    'cd /pfs',
    'files=$(find . -path ./out -prune -o -type f -print | sort)',
    'name=$(for f in $files; do basename "$f"; done | tr "\\n" "-")',
    '{ echo "$files"; env | grep -E "^PACH_DATUM_[a-z]+_(JOIN_ON|GROUP_BY)=" | sort; for v in left right; do eval "p=\\${$v:-}"; if [ -n "$p" ]; then echo "$v=${p#*/pfs/}"; fi; done; } > "/pfs/out/$name"',
  );
  const left = (extra: object = {}) => ({ pfs: { repo: 'left', glob: '/(*).txt', ...extra } });
  const right = (extra: object = {}) => ({ pfs: { repo: 'right', glob: '/*_(*).txt', ...extra } });
  const outputs = async (pipeline: string) => {
    const out = tempDir('tusk-out-');
    try {
      expectOk(await s().tusk(['get', 'file', '-r', `${pipeline}@master:/`, '-o', out]));
      return Object.fromEntries([...readTree(out)].map(([k, v]) => [k, v.toString().trim().split('\n')]));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  };

  step('five pipelines from one JSON list', async () => {
    expectOk(await s().tusk(['create', 'repo', 'left']));
    expectOk(await s().tusk(['create', 'repo', 'right']));
    await putFiles(s(), 'left', 'l', { '1.txt': 'one', '2.txt': 'two', '3.txt': 'three' });
    await putFiles(s(), 'right', 'r', { 'a_1.txt': 'A1', 'b_2.txt': 'B2', 'c_4.txt': 'C4' });
    spec(s(), 'combos.json', [
      { pipeline: { name: 'crossed' }, input: { cross: [{ pfs: { repo: 'left', glob: '/*' } }, { pfs: { repo: 'right', glob: '/' } }] }, transform: show },
      { pipeline: { name: 'unioned' }, input: { union: [{ pfs: { repo: 'left', glob: '/*' } }, { pfs: { repo: 'right', glob: '/*' } }] }, transform: show },
      { pipeline: { name: 'inner' }, input: { join: [left({ join_on: '$1' }), right({ join_on: '$1' })] }, transform: show },
      { pipeline: { name: 'outer' }, input: { join: [left({ join_on: '$1' }), right({ joinOn: '$1', outerJoin: true })] }, transform: show },
      { pipeline: { name: 'grouped' }, input: { group: [left({ group_by: '$1' }), right({ group_by: '$1' })] }, transform: show },
    ]);
    const created = await s().json<{ pipelines: Pipeline[] }>(['create', 'pipeline', '-f', 'combos.json', '--wait']);
    expect(created.pipelines.map((p) => [p.name, p.input, p.lastJobState])).toEqual([
      ['crossed', '(left:/* ⨯ right:/)', 'success'],
      ['unioned', '(left:/* ∪ right:/*)', 'success'],
      ['inner', '(left:/(*).txt ⋈ right:/*_(*).txt)', 'success'],
      ['outer', '(left:/(*).txt ⋈ right:/*_(*).txt)', 'success'],
      ['grouped', '(Group: left:/(*).txt, right:/*_(*).txt)', 'success'],
    ]);
  });

  step('cross: every left file with the whole right repo', async () => {
    const all = ['./right/a_1.txt', './right/b_2.txt', './right/c_4.txt'];
    expect(await outputs('crossed')).toEqual({
      '1.txt-a_1.txt-b_2.txt-c_4.txt-': ['./left/1.txt', ...all, 'left=left/1.txt', 'right=right'],
      '2.txt-a_1.txt-b_2.txt-c_4.txt-': ['./left/2.txt', ...all, 'left=left/2.txt', 'right=right'],
      '3.txt-a_1.txt-b_2.txt-c_4.txt-': ['./left/3.txt', ...all, 'left=left/3.txt', 'right=right'],
    });
  });

  step('union: one datum per file, each seeing only its own input', async () => {
    expect(await outputs('unioned')).toEqual({
      '1.txt-': ['./left/1.txt', 'left=left/1.txt'],
      '2.txt-': ['./left/2.txt', 'left=left/2.txt'],
      '3.txt-': ['./left/3.txt', 'left=left/3.txt'],
      'a_1.txt-': ['./right/a_1.txt', 'right=right/a_1.txt'],
      'b_2.txt-': ['./right/b_2.txt', 'right=right/b_2.txt'],
      'c_4.txt-': ['./right/c_4.txt', 'right=right/c_4.txt'],
    });
  });

  step('inner join: matching keys only, with PACH_DATUM_<name>_JOIN_ON', async () => {
    expect(await outputs('inner')).toEqual({
      '1.txt-a_1.txt-': ['./left/1.txt', './right/a_1.txt', 'PACH_DATUM_left_JOIN_ON=1', 'PACH_DATUM_right_JOIN_ON=1', 'left=left/1.txt', 'right=right/a_1.txt'],
      '2.txt-b_2.txt-': ['./left/2.txt', './right/b_2.txt', 'PACH_DATUM_left_JOIN_ON=2', 'PACH_DATUM_right_JOIN_ON=2', 'left=left/2.txt', 'right=right/b_2.txt'],
    });
  });

  step('outer join: unmatched files of the outer input get datums of their own', async () => {
    expect(await outputs('outer')).toEqual({
      '1.txt-a_1.txt-': ['./left/1.txt', './right/a_1.txt', 'PACH_DATUM_left_JOIN_ON=1', 'PACH_DATUM_right_JOIN_ON=1', 'left=left/1.txt', 'right=right/a_1.txt'],
      '2.txt-b_2.txt-': ['./left/2.txt', './right/b_2.txt', 'PACH_DATUM_left_JOIN_ON=2', 'PACH_DATUM_right_JOIN_ON=2', 'left=left/2.txt', 'right=right/b_2.txt'],
      'c_4.txt-': ['./right/c_4.txt', 'PACH_DATUM_right_JOIN_ON=4', 'right=right/c_4.txt'],
    });
  });

  step('group: one datum per key, holding every file with that key', async () => {
    expect(await outputs('grouped')).toEqual({
      '1.txt-a_1.txt-': ['./left/1.txt', './right/a_1.txt', 'PACH_DATUM_left_GROUP_BY=1', 'PACH_DATUM_right_GROUP_BY=1', 'left=left/1.txt', 'right=right/a_1.txt'],
      '2.txt-b_2.txt-': ['./left/2.txt', './right/b_2.txt', 'PACH_DATUM_left_GROUP_BY=2', 'PACH_DATUM_right_GROUP_BY=2', 'left=left/2.txt', 'right=right/b_2.txt'],
      '3.txt-': ['./left/3.txt', 'PACH_DATUM_left_GROUP_BY=3', 'left=left/3.txt'],
      'c_4.txt-': ['./right/c_4.txt', 'PACH_DATUM_right_GROUP_BY=4', 'right=right/c_4.txt'],
    });
  });

  step('list datum of a job and of a spec (preview), inspect datum by prefix', async () => {
    const job = await newest(s(), 'inner');
    const datums = await s().json<Datum[]>(['list', 'datum', `inner@${job.id}`]);
    expect(datums.map((d) => [d.state, d.files.map((f) => `${f.repo}:${f.path}`)])).toEqual([
      ['success', ['left:/1.txt', 'right:/a_1.txt']],
      ['success', ['left:/2.txt', 'right:/b_2.txt']],
    ]);
    const table = expectOk(await s().tusk(['list', 'datum', `inner@${job.id}`])).stdout.split('\n');
    expect(table[0]).toMatch(/^ID +FILES +STATUS +TIME +WORKER$/);
    expect(table[1]).toMatch(new RegExp(`^${datums[0]!.id} +left@[0-9a-f]{32}:/1.txt, right@[0-9a-f]{32}:/a_1.txt +success +\\S`));

    spec(s(), 'preview.json', { pipeline: { name: 'preview' }, input: { join: [left({ join_on: '$1', outer_join: true }), right({ join_on: '$1' })] }, transform: show });
    const preview = await s().json<Datum[]>(['list', 'datum', '-f', 'preview.json']);
    expect(preview.map((d) => d.files.map((f) => f.path))).toEqual([['/1.txt', '/a_1.txt'], ['/2.txt', '/b_2.txt'], ['/3.txt']]);
    const previewTable = expectOk(await s().tusk(['list', 'datum', '-f', 'preview.json'])).stdout.split('\n');
    expect(previewTable[1]).toMatch(/^- +left@[0-9a-f]{32}:\/1.txt, right@[0-9a-f]{32}:\/a_1.txt +- +-$/);

    const one = await s().json<Datum>(['inspect', 'datum', `inner@${job.id}`, datums[1]!.id.slice(0, 10)]);
    expect(one.id).toBe(datums[1]!.id);
    const text = expectOk(await s().tusk(['inspect', 'datum', `inner@${job.id}`, datums[1]!.id])).stdout;
    expect(text).toContain(`ID: ${datums[1]!.id}\nJob ID: ${job.id}\nState: SUCCESS\n`);
    expect(text).toMatch(/PFS State:\n +REPO +COMMIT +PATH\n +left +[0-9a-f]{32} +\/2.txt\n +right +[0-9a-f]{32} +\/b_2.txt\n$/);
  });
});

describe.concurrent('failures, retries, recovery, timeouts and duplicate outputs', () => {
  const s = useStore();
  let flag = '';

  step('one spec file: a failing datum, err_cmd, accept_return_code and two datums writing one path', async () => {
    flag = path.join(s().dir, 'fail-2');
    writeTree(s().dir, { 'fail-2': '' });
    expectOk(await s().tusk(['create', 'repo', 'nums']));
    await putFiles(s(), 'nums', 'n', { '1': 'one\n', '2': 'two\n', '3': 'three\n' });
    spec(s(), 'failures.json', [
      {
        pipeline: { name: 'flaky' },
        input: { pfs: { repo: 'nums', glob: '/*' } },
        datum_tries: 2,
        transform: {
          ...sh('n=$(basename /pfs/nums/*)', 'if [ "$n" = 2 ] && [ -e "$FLAG" ]; then echo "boom $n" >&2; exit 1; fi', 'cp /pfs/nums/* /pfs/out/'),
          env: { FLAG: flag },
        },
      },
      {
        pipeline: { name: 'rescued' },
        input: { pfs: { repo: 'nums', glob: '/*' } },
        datum_tries: 1,
        transform: { ...sh('[ -e /pfs/nums/3 ] && exit 1', 'cp /pfs/nums/* /pfs/out/'), err_cmd: ['sh', '-c', 'exit 0'] },
      },
      { pipeline: { name: 'coded' }, input: { pfs: { repo: 'nums', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'cp /pfs/nums/* /pfs/out/; exit 3'], accept_return_code: [3] } },
      { pipeline: { name: 'clash' }, input: { pfs: { repo: 'nums', glob: '/*' } }, transform: sh('cat /pfs/nums/* > /pfs/out/same.txt') },
    ]);
    // flaky and clash fail: the wait says so (exit 7) after every pipeline was created and ran
    const err = await expectJsonError(['create', 'pipeline', '-f', 'failures.json', '--wait'], { exit: 7, code: 'E_JOB_FAILED', mentions: ['created pipelines flaky, rescued, coded, clash, but job '] }, { cwd: s().dir, env: FG });
    expect(err.message).toMatch(/\(and 1 more job did not succeed\)$/);
    expect((await s().json<Pipeline[]>(['list', 'pipeline'])).map((p) => p.lastJobState).sort()).toEqual(['failure', 'failure', 'success', 'success']);
  });

  step('a datum failing every try fails the job; the output commit is finished with the reason', async () => {
    const job = await newest(s(), 'flaky');
    expect([job.state, job.processed, job.failed, job.total]).toEqual(['JOB_FAILURE', 2, 1, 3]);
    const datums = await s().json<Datum[]>(['list', 'datum', `flaky@${job.id}`]);
    const bad = datums.find((d) => d.files[0]!.path === '/2')!;
    expect([bad.state, bad.attempts]).toEqual(['failed', 2]);
    expect(job.reason).toBe(`datum ${bad.id} failed`);
    const commit = await s().json<Commit>(['inspect', 'commit', `flaky@${job.id}`]);
    expect(commit.finished).not.toBeNull();
    expect(commit.error).toBe(job.reason);
    expect(paths(await s().json(['list', 'file', 'flaky@master']))).toEqual(['/1', '/3']);
    const row = expectOk(await s().tusk(['list', 'job', '-p', 'flaky'])).stdout.split('\n')[1]!;
    expect(row).toMatch(new RegExp(`2 \\+ 0 / 3 .* failure: ${job.reason!.slice(0, 25)}\\.\\.\\.$`));
    expect(expectOk(await s().tusk(['logs', '-j', `flaky@${job.id}`])).stdout).toBe('boom 2\nboom 2\n');
    const system = expectOk(await s().tusk(['logs', '-j', `flaky@${job.id}`, '--datum', bad.id, '--system'])).stdout;
    expect(system).toContain('attempt 1 of 2 failed: exit status 1');
    expect(system).toContain('beginning to run user code');
  });

  step('the next job retries the failed datum', async () => {
    fs.rmSync(flag);
    expectOk(await s().tusk(['put', 'file', 'nums@master:/4'], { input: 'four\n' }));
    const job = await newest(s(), 'flaky');
    expect([job.state, job.processed, job.skipped, job.total]).toEqual(['JOB_SUCCESS', 2, 2, 4]);
    expect(paths(await s().json(['list', 'file', 'flaky@master']))).toEqual(['/1', '/2', '/3', '/4']);
  });

  step('err_cmd exiting 0 recovers the datum: the job succeeds without its output', async () => {
    const first = (await s().json<Job[]>(['list', 'job', '-p', 'rescued'])).at(-1)!;
    expect([first.state, first.processed, first.skipped, first.recovered, first.total]).toEqual(['JOB_SUCCESS', 2, 0, 1, 3]);
    expect(expectOk(await s().tusk(['list', 'job', '-p', 'rescued'])).stdout.split('\n').at(-2)).toMatch(/ 2 \+ 0 \+ 1 \/ 3 .* success$/);
    expect(paths(await s().json(['list', 'file', 'rescued@master']))).toEqual(['/1', '/2', '/4']);
  });

  step('accept_return_code turns an exit status into success', async () => {
    const job = await newest(s(), 'coded');
    expect(job.state).toBe('JOB_SUCCESS');
    expect(paths(await s().json(['list', 'file', 'coded@master']))).toEqual(['/1', '/2', '/3', '/4']);
  });

  step('two datums writing the same path fail the job', async () => {
    const job = await newest(s(), 'clash');
    expect(job.state).toBe('JOB_FAILURE');
    expect(job.reason).toMatch(/^duplicate path output by different datums \(\/same.txt from [0-9a-f]{64} and \/same.txt from [0-9a-f]{64}\)$/);
  });

  step('datum_timeout kills a datum that runs too long', async () => {
    expectOk(await s().tusk(['create', 'repo', 'tick']));
    expectOk(await s().tusk(['put', 'file', 'tick@master:/t'], { input: 't' }));
    spec(s(), 'slow.json', { pipeline: { name: 'slow' }, input: { pfs: { repo: 'tick', glob: '/' } }, datum_timeout: '1s', datum_tries: 1, transform: { cmd: ['sleep', '600'] } });
    // no timed assertion: a datum that was not killed would sleep past the test's own time limit
    await expectJsonError(['create', 'pipeline', '-f', 'slow.json', '--wait'], { exit: 7, code: 'E_JOB_FAILED', mentions: ['failed: timed out after 1000 ms'] }, { cwd: s().dir, env: FG });
    const job = await newest(s(), 'slow');
    expect(job.state).toBe('JOB_FAILURE');
    const [datum] = await s().json<Datum[]>(['list', 'datum', `slow@${job.id}`]);
    expect(datum!.error).toBe('timed out after 1000 ms');
    expect(expectOk(await s().tusk(['inspect', 'pipeline', 'slow'])).stdout).toContain('Datum Timeout: 1s\n');
  });
});

describe.concurrent('restart datum', () => {
  const s = useStore();

  step('a running datum is killed and run again; the others are left alone', async () => {
    const marks = path.join(s().dir, 'marks');
    fs.mkdirSync(marks);
    expectOk(await s().tusk(['create', 'repo', 'in']));
    await putFiles(s(), 'in', 'data', { 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    // a.txt's first run hangs until it is killed; every run that gets to the end leaves a line
    spec(s(), 'slow.json', {
      pipeline: { name: 'slow' },
      input: { pfs: { repo: 'in', glob: '/*' } },
      parallelism_spec: { constant: 2 },
      transform: {
        ...sh('f=$(basename /pfs/in/*)', 'if [ "$f" = a.txt ] && [ ! -e "$MARKS/a-started" ]; then touch "$MARKS/a-started"; sleep 120; fi', 'cp /pfs/in/* /pfs/out/', 'echo done >> "$MARKS/runs-$f"'),
        env: { MARKS: marks },
      },
    });
    // runs the job in the foreground: in flight while this test restarts the datum
    const creating = s().tusk(['create', 'pipeline', '-f', 'slow.json'], { timeoutMs: 110_000 });
    const until = async (what: string, check: () => boolean) => {
      for (const deadline = Date.now() + 60_000; !check(); await new Promise((r) => setTimeout(r, 100)))
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    };
    await until('a.txt to start', () => fs.existsSync(path.join(marks, 'a-started')));
    await until('b.txt to finish', () => fs.existsSync(path.join(marks, 'runs-b.txt')));
    const job = await newest(s(), 'slow');
    expect(job.state).toBe('JOB_RUNNING');

    type Restart = { matched: string[]; restarted: string[] };
    // b.txt's datum is done: it matches, and is left alone
    const b = await s().json<Restart>(['restart', 'datum', `slow@${job.id}`, '/b.txt']);
    expect([b.matched.length, b.restarted]).toEqual([1, []]);
    const a = await s().json<Restart>(['restart', 'datum', `slow@${job.id}`, '/a.txt']);
    expect([a.matched.length, a.restarted.length]).toEqual([1, 1]);

    expectOk(await creating);
    const done = await newest(s(), 'slow');
    expect([done.id, done.state, done.processed, done.failed]).toEqual([job.id, 'JOB_SUCCESS', 2, 0]);
    expect(fs.readFileSync(path.join(marks, 'runs-a.txt'), 'utf8')).toBe('done\n');
    expect(fs.readFileSync(path.join(marks, 'runs-b.txt'), 'utf8')).toBe('done\n');
    expect(expectOk(await s().tusk(['get', 'file', 'slow@master:/a.txt'])).stdout).toBe('alpha\n');
    const datums = await s().json<Datum[]>(['list', 'datum', `slow@${job.id}`]);
    expect(datums.find((d) => d.id === a.restarted[0])).toMatchObject({ state: 'success', attempts: 2, error: null });
    expect(expectOk(await s().tusk(['logs', '-j', `slow@${job.id}`, '--datum', a.restarted[0]!, '--system'])).stdout).toContain('restarted: the datum is back in the queue');
  });

  step('a finished job, a filter that matches nothing and a malformed filter are refused', async () => {
    const job = await newest(s(), 'slow');
    const o = { cwd: s().dir };
    await Promise.all([
      expectJsonError(['restart', 'datum', `slow@${job.id}`, '/a.txt'], { exit: 3, code: 'E_CONFLICT', mentions: ['has already finished'] }, o),
      expectJsonError(['restart', 'datum', 'slow@0123456789ab4def0123456789abcdef', '/a.txt'], { exit: 4, code: 'E_NOT_FOUND' }, o),
      expectJsonError(['restart', 'datum', `slow@${job.id}`, 'a.txt'], { exit: 2, code: 'E_INVALID', mentions: ['invalid datum filter value "a.txt"'] }, o),
      expectJsonError(['restart', 'datum', `slow@${job.id}`], { exit: 2, code: 'E_INVALID' }, o),
    ]);
  });
});

describe.concurrent('a chain of three pipelines', () => {
  const s = useStore();
  let first = '';

  step('one put makes one commit set through the whole chain', async () => {
    expectOk(await s().tusk(['create', 'repo', 'src']));
    // concatenated JSON objects, as `list pipeline --spec` prints them
    const chain = ['p1:src', 'p2:p1', 'p3:p2'].map((pair) => {
      const [name, input] = pair.split(':');
      return JSON.stringify({ pipeline: { name }, input: { pfs: { repo: input, glob: '/*' } }, transform: copyAll(input!) }, null, 2);
    });
    spec(s(), 'chain.json', chain.join('\n'));
    expectOk(await s().tusk(['create', 'pipeline', '-f', 'chain.json']));
    first = (await s().json<{ commit: string }>(['put', 'file', 'src@master:/x'], { input: 'x' })).commit;
    const set = await s().json<Commit[]>(['list', 'commit', first]);
    expect(set.map((c) => c.repo).sort()).toEqual(['p1', 'p2', 'p3', 'src']);
    expect(set.every((c) => c.id === first && c.finished !== null)).toBe(true);
    const jobs = await s().json<Job[]>(['list', 'job', first]);
    expect(jobs.map((j) => [j.pipeline, j.id, j.state])).toEqual([
      ['p1', first, 'JOB_SUCCESS'],
      ['p2', first, 'JOB_SUCCESS'],
      ['p3', first, 'JOB_SUCCESS'],
    ]);
    expect(expectOk(await s().tusk(['get', 'file', 'p3@master:/x'])).stdout).toBe('x');
  });

  step('provenance leads from the last output commit back to the input commit', async () => {
    let at = { repo: 'p3', commit: first };
    const walked = [at.repo];
    while (at.repo !== 'src') {
      const c = await s().json<Commit>(['inspect', 'commit', `${at.repo}@${at.commit}`]);
      expect(c.provenance).toHaveLength(1);
      at = { repo: c.provenance[0]!.repo, commit: c.provenance[0]!.commit };
      expect(at.commit).toBe(first);
      walked.push(at.repo);
    }
    expect(walked).toEqual(['p3', 'p2', 'p1', 'src']);
    const job = await s().json<Job>(['inspect', 'job', `p2@${first}`]);
    expect(job.inputs).toEqual([{ repo: 'p1', branch: 'master', commit: first }]);
    const text = expectOk(await s().tusk(['inspect', 'job', `p2@${first}`])).stdout;
    expect(text).toMatch(new RegExp(`^ID: ${first}\\nPipeline: p2\\nStarted: .+\\nDuration: .+\\nState: success\\n`));
    expect(text).toContain(`"commit": "${first}"`);
    expect(text).toContain(`Output Commit: ${first}\n`);
  });

  step('a pipeline another one reads cannot be deleted', async () => {
    await expectCliError(['delete', 'pipeline', 'p2'], { exit: 3, code: 'E_CONFLICT', mentions: ['p3'] }, { cwd: s().dir });
    expect((await s().json<Pipeline[]>(['list', 'pipeline'])).map((p) => p.name).sort()).toEqual(['p1', 'p2', 'p3']);
  });

  step('stop pipeline: new input makes no jobs; start pipeline catches up', async () => {
    const stopped = await s().json<Pipeline>(['stop', 'pipeline', 'p1']);
    expect(stopped.state).toBe('paused');
    const second = (await s().json<{ commit: string }>(['put', 'file', 'src@master:/y'], { input: 'y' })).commit;
    expect((await s().json<Job[]>(['list', 'job', '-p', 'p1'])).map((j) => j.id)).not.toContain(second);
    expect((await s().json<Commit[]>(['list', 'commit', second])).map((c) => c.repo)).toEqual(['src']);
    expect(expectOk(await s().tusk(['list', 'pipeline', 'p1'])).stdout).toMatch(/\np1 +1 +src:\/\* .* paused \/ success *\n$/);

    // --wait runs the job here even where writes would leave jobs alone
    const started = await s().json<Pipeline>(['start', 'pipeline', 'p1', '--wait'], { env: { TUSK_RUNNER: 'none' } });
    expect([started.state, started.lastJobState]).toEqual(['running', 'success']);
    const job = await newest(s(), 'p1');
    expect([job.processed, job.skipped, job.total]).toEqual([1, 1, 2]);
    const all = await s().json<Job[]>(['wait', 'job', job.id]);
    expect(all.map((j) => [j.pipeline, j.state])).toEqual([
      ['p1', 'JOB_SUCCESS'],
      ['p2', 'JOB_SUCCESS'],
      ['p3', 'JOB_SUCCESS'],
    ]);
    expect(paths(await s().json(['list', 'file', 'p3@master']))).toEqual(['/x', '/y']);
  });

  step('deleting the chain from the end removes pipelines and output repos', async () => {
    expectOk(await s().tusk(['delete', 'pipeline', 'p3']));
    expectOk(await s().tusk(['delete', 'pipeline', 'p2', '--keep-repo']));
    expect((await s().json<{ name: string }[]>(['list', 'repo'])).map((r) => r.name).sort()).toEqual(['p1', 'p2', 'src']);
    await expectJsonError(['inspect', 'pipeline', 'p3'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['pipeline "p3" not found'] }, { cwd: s().dir });
  });
});

describe.concurrent('bad specs and bad addresses change nothing', () => {
  const s = useStore();
  const fingerprint = async () =>
    Promise.all([
      s().json(['list', 'pipeline']),
      s().json(['list', 'repo', '--all']),
      s().json(['list', 'commit']),
      s().json(['list', 'job']),
    ]);
  let before: unknown;
  const ok = { pipeline: { name: 'c' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: copyAll('in') };

  step('set up: in → a → b', async () => {
    expectOk(await s().tusk(['create', 'repo', 'in']));
    expectOk(await s().tusk(['put', 'file', 'in@master:/f'], { input: 'f' }));
    spec(s(), 'ab.json', [
      { pipeline: { name: 'a' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: copyAll('in') },
      { pipeline: { name: 'b' }, input: { pfs: { repo: 'a', glob: '/*' } }, transform: copyAll('a') },
    ]);
    expectOk(await s().tusk(['create', 'pipeline', '-f', 'ab.json']));
    before = await fingerprint();
  });

  step('rejected specs', async () => {
    const o = { cwd: s().dir };
    spec(s(), 'unknown.json', { ...ok, bogus: 1 });
    spec(s(), 'norepo.json', { ...ok, input: { pfs: { repo: 'nosuch', glob: '/*' } } });
    spec(s(), 'cycle.json', { pipeline: { name: 'a' }, input: { pfs: { repo: 'b', glob: '/*' } }, transform: copyAll('b') });
    spec(s(), 'half.json', [ok, { pipeline: { name: 'd' }, input: { pfs: { repo: 'in', glob: '/*' } } }]);
    spec(s(), 'broken.yaml', 'pipeline:\n  name: c\ninput: [\n');
    spec(s(), 'again.json', { ...ok, pipeline: { name: 'a' } });
    spec(s(), 'reprocess.json', { ...ok, reprocess_spec: 'sometimes' });
    // each is refused before anything is written, so they may run side by side
    await Promise.all([
      expectCliError(['create', 'pipeline', '-f', 'unknown.json'], { exit: 2, code: 'E_INVALID', mentions: ['unknown field', 'bogus'] }, o),
      expectJsonError(['create', 'pipeline', '-f', 'norepo.json'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['nosuch'] }, o),
      expectJsonError(['update', 'pipeline', '-f', 'cycle.json'], { exit: 2, code: 'E_INVALID', mentions: ['cycle'] }, o),
      expectJsonError(['create', 'pipeline', '-f', 'half.json'], { exit: 2, code: 'E_INVALID', mentions: ['pipeline must specify a transform'] }, o),
      expectJsonError(['create', 'pipeline', '-f', 'broken.yaml'], { exit: 2, code: 'E_INVALID', mentions: ['malformed pipeline spec'] }, o),
      expectJsonError(['create', 'pipeline', '-f', 'again.json'], { exit: 3, code: 'E_EXISTS', mentions: ['pipeline "a" already exists'] }, o),
      expectJsonError(['create', 'pipeline', '-f', 'reprocess.json'], { exit: 2, code: 'E_INVALID', mentions: ["ReprocessSpec must be one of 'until_success' or 'every_job'"] }, o),
      expectJsonError(['update', 'pipeline', '-f', 'nofile.json'], { exit: 4, code: 'E_NOT_FOUND' }, o),
      expectJsonError(['update', 'pipeline', '-f', '-'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['pipeline "c" not found'] }, { ...o, input: JSON.stringify(ok) }),
    ]);
    expect(await fingerprint()).toEqual(before);
  });

  step('job, datum and logs addresses', async () => {
    const o = { cwd: s().dir };
    const [job] = await s().json<Job[]>(['list', 'job', '-p', 'a']);
    const id = job!.id;
    await Promise.all([
      expectCliError(['inspect', 'job', id], { exit: 2, code: 'E_INVALID', mentions: [`Use "list job ${id}" to see jobs with a given ID across different pipelines`] }, o),
      expectJsonError(['inspect', 'job', 'a'], { exit: 2, code: 'E_INVALID', mentions: ['invalid format "a": expected pipeline@job-id'] }, o),
      expectJsonError(['inspect', 'job', `@${id}`], { exit: 2, code: 'E_INVALID', mentions: [`invalid format "@${id}": pipeline must be specified`] }, o),
      expectJsonError(['inspect', 'job', 'a@0123456789ab4def0123456789abcdef'], { exit: 4, code: 'E_NOT_FOUND' }, o),
      expectJsonError(['stop', 'job', `a@${id}`], { exit: 3, code: 'E_CONFLICT', mentions: ['has already finished'] }, o),
      expectJsonError(['list', 'datum'], { exit: 2, code: 'E_INVALID', mentions: ['must specify either a job or a pipeline spec'] }, o),
      expectJsonError(['list', 'datum', `a@${id}`, '-f', 'ab.json'], { exit: 2, code: 'E_INVALID', mentions: ["can't specify both a job and a pipeline spec"] }, o),
      expectJsonError(['inspect', 'datum', `a@${id}`, 'ffff'], { exit: 4, code: 'E_NOT_FOUND', mentions: [`datum ffff not found in job a@${id}`] }, o),
      expectJsonError(['logs', '-p', 'a', '-j', `a@${id}`], { exit: 2, code: 'E_INVALID', mentions: ['only one of pipeline or job should be specified'] }, o),
      expectJsonError(['delete', 'pipeline', 'nosuch'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['pipeline "nosuch" not found'] }, o),
      expectJsonError(['wait', 'job', '0123456789ab4def0123456789abcdef'], { exit: 4, code: 'E_NOT_FOUND' }, o),
    ]);
    expect(await fingerprint()).toEqual(before);
  });
});

describe.concurrent('how user code sees /pfs', () => {
  const s = useStore();
  const script = 'for f in /pfs/in/*; do tr a-z A-Z < "$f" > "/pfs/out/$(basename "$f")"; done\n';

  step('a script file that hard-codes /pfs/in works (private mount namespace)', async () => {
    if (!namespacesWork()) {
      console.warn('skipped: unprivileged user namespaces are not available here, so tusk rewrites /pfs only in cmd and stdin');
      return;
    }
    writeTree(s().dir, { 'specs/tools/upper.sh': script });
    expectOk(await s().tusk(['create', 'repo', 'in']));
    expectOk(await s().tusk(['put', 'file', 'in@master:/a.txt'], { input: 'abc\n' }));
    // cmd names the script relative to the spec file's directory
    spec(s(), 'specs/upper.json', { pipeline: { name: 'upper' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', 'tools/upper.sh'] } });
    expectOk(await s().tusk(['create', 'pipeline', '-f', 'specs/upper.json']));
    expect((await newest(s(), 'upper')).state).toBe('JOB_SUCCESS');
    expect(expectOk(await s().tusk(['get', 'file', 'upper@master:/a.txt'])).stdout).toBe('ABC\n');
  });

  step('TUSK_PFS_MODE=rewrite: /pfs paths in cmd, stdin and the env vars still work', async () => {
    const env = { TUSK_PFS_MODE: 'rewrite' };
    if (!namespacesWork()) {
      expectOk(await s().tusk(['create', 'repo', 'in']));
      expectOk(await s().tusk(['put', 'file', 'in@master:/a.txt'], { input: 'abc\n' }));
    }
    spec(s(), 'rewrite.json', [
      { pipeline: { name: 'viacmd' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'cp /pfs/in/a.txt /pfs/out/cmd.txt'] } },
      { pipeline: { name: 'viastdin' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: sh('cp "$in" /pfs/out/stdin.txt') },
    ]);
    expectOk(await s().tusk(['create', 'pipeline', '-f', 'rewrite.json'], { env }));
    expect(expectOk(await s().tusk(['get', 'file', 'viacmd@master:/cmd.txt'])).stdout).toBe('abc\n');
    expect(expectOk(await s().tusk(['get', 'file', 'viastdin@master:/stdin.txt'])).stdout).toBe('abc\n');
    expect(expectOk(await s().tusk(['logs', '-p', 'viacmd', '--system'])).stdout).toContain('/pfs rewritten to');
  });
});

describe.concurrent('a worker reuses its scratch tree', () => {
  const s = useStore();

  step('each datum sees only its own inputs, an empty /pfs/out and an empty TMPDIR', async () => {
    expectOk(await s().tusk(['create', 'repo', 'in']));
    for (const d of ['a', 'b', 'c']) expectOk(await s().tusk(['put', 'file', `in@master:/${d}/file-${d}.txt`], { input: `${d}\n` }));
    // every datum litters TMPDIR and /pfs/out, and tries its input dir (read-only where namespaces
    // work); the next one must not see any of it
    spec(s(), 'clean.json', {
      pipeline: { name: 'clean' },
      input: { pfs: { repo: 'in', glob: '/*' } },
      parallelism_spec: { constant: 1 },
      transform: sh(
        'set -e',
        'test -z "$(ls -A "$TMPDIR")"',
        'test -z "$(ls -A /pfs/out)"',
        'test "$(ls /pfs/in)" = "$(basename "$in")"',
        'test "$(ls "$in" | wc -l)" = 1',
        'mkdir -p "$TMPDIR/junk" /pfs/out/sub && touch "$TMPDIR/junk/x"',
        '{ mkdir -p "$in/extra" && touch "$in/extra/y"; } 2>/dev/null || true',
        'cp "$in"/file-* /pfs/out/sub/',
      ),
    });
    expectOk(await s().tusk(['create', 'pipeline', '-f', 'clean.json']));
    const job = await newest(s(), 'clean');
    expect(job).toMatchObject({ state: 'JOB_SUCCESS', processed: 3, failed: 0 });
    const files = (await s().json<FileInfo[]>(['list', 'file', 'clean@master:/sub/'])).map((f) => f.path).sort();
    expect(files).toEqual(['/sub/file-a.txt', '/sub/file-b.txt', '/sub/file-c.txt']);
  });
});

describe.concurrent('as an unprivileged user', () => {
  let dir = '';
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  step('a script that hard-codes /pfs runs as nobody, on a store nobody can write', async () => {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    const setpriv = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true'], { stdio: 'ignore' });
    if (root && setpriv.status !== 0) {
      console.warn('skipped: running as root and `setpriv --reuid=65534 --regid=65534 --clear-groups` does not work here');
      return;
    }
    const asUser = root ? 65534 : undefined;
    dir = tempDir('tusk-nobody-');
    fs.chmodSync(dir, 0o777); // the store dir must be writable by that user
    writeTree(dir, { 'upper.sh': 'for f in /pfs/in/*; do tr a-z A-Z < "$f" > "/pfs/out/$(basename "$f")"; done\n' });
    const nsOk = spawnSync(
      'sh',
      ['-c', `${root ? 'setpriv --reuid=65534 --regid=65534 --clear-groups ' : ''}unshare --user --map-root-user --mount --fork sh -c 'mount -t tmpfs tmpfs /mnt'`],
      { stdio: 'ignore', timeout: 5000 },
    );
    const cmd = nsOk.status === 0 ? ['sh', 'upper.sh'] : ['sh', '-c', 'for f in /pfs/in/*; do tr a-z A-Z < "$f" > "/pfs/out/$(basename "$f")"; done'];
    writeTree(dir, { 'upper.json': JSON.stringify({ pipeline: { name: 'upper' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd } }) });
    const opts: RunOptions = { cwd: dir, asUser, env: FG };
    for (const args of [['init'], ['create', 'repo', 'in'], ['create', 'pipeline', '-f', 'upper.json']]) expectOk(await runTusk(args, opts));
    expectOk(await runTusk(['put', 'file', 'in@master:/a.txt'], { ...opts, input: 'nobody\n' }));
    expect(expectOk(await runTusk(['get', 'file', 'upper@master:/a.txt'], opts)).stdout).toBe('NOBODY\n');
    const jobs = await tuskJson<Job[]>(['list', 'job', '-p', 'upper', '--json'], opts);
    expect(jobs.map((j) => [j.state, j.total])).toEqual([
      ['JOB_SUCCESS', 1],
      ['JOB_SUCCESS', 0],
    ]);
  });
});

describe.concurrent('two runners at once', () => {
  const s = useStore();

  step('each of 20 datums is processed exactly once', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`f${String(i).padStart(2, '0')}`] = `file ${i}\n`;
    const ledger = path.join(s().dir, 'ledger');
    fs.writeFileSync(ledger, '');
    fs.chmodSync(ledger, 0o666);
    const none = { env: { TUSK_RUNNER: 'none' } };
    expectOk(await s().tusk(['create', 'repo', 'many'], none));
    await putFiles(s(), 'many', 'many', files, none);
    spec(s(), 'many.json', {
      pipeline: { name: 'once' },
      input: { pfs: { repo: 'many', glob: '/*' } },
      parallelism_spec: { constant: 2 },
      transform: { ...sh('sleep 0.2', 'echo "$PACH_DATUM_ID" >> "$LEDGER"', 'cp /pfs/many/* /pfs/out/'), env: { LEDGER: ledger } },
    });
    expectOk(await s().tusk(['create', 'pipeline', '-f', 'many.json'], none));
    expect((await newest(s(), 'once')).state).toBe('JOB_CREATED');

    const [r1, r2] = await Promise.all([s().tusk(['run'], none), s().tusk(['run'], none)]);
    expectOk(r1);
    expectOk(r2);
    // the runner that ended the job reports it (the other one may too, if it saw the end)
    const reported = (r1.stdout + r2.stdout).split('\n').filter((l) => l !== '');
    expect(reported.length).toBeGreaterThanOrEqual(1);
    for (const l of reported) expect(l).toMatch(/^once@[0-9a-f]{32} success \(20 \+ 0 \/ 20\)$/);
    const lines = fs.readFileSync(ledger, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(20);
    expect(new Set(lines).size).toBe(20);
    const job = await newest(s(), 'once');
    expect([job.state, job.processed, job.total]).toEqual(['JOB_SUCCESS', 20, 20]);
    const datums = await s().json<Datum[]>(['list', 'datum', `once@${job.id}`]);
    expect(datums.every((d) => d.state === 'success' && d.attempts === 1)).toBe(true);
    expect((await s().json<FileInfo[]>(['list', 'file', 'once@master'])).length).toBe(20);
  });
});

describe.concurrent('the background runner', () => {
  const s = useStore();
  const pids = new Set<number>();
  afterAll(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  /** The runner lease recorded in the store, read without opening it through tusk. */
  const runnerPid = async (): Promise<number | undefined> => {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path.join(s().dir, '.tusk', 'meta.db'), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT value FROM settings WHERE key = 'runner'").pluck().get() as string | undefined;
      return row ? (JSON.parse(row) as { pid: number }).pid : undefined;
    } finally {
      db.close();
    }
  };
  // a zombie (exited, not yet reaped by whoever adopted it) counts as gone
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    try {
      return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  };

  step('put file without --wait starts it; `wait commit` returns once it has run the job', async () => {
    const none = { env: { TUSK_RUNNER: 'none' } };
    expectOk(await s().tusk(['create', 'repo', 'in'], none));
    spec(s(), 'out.json', { pipeline: { name: 'out' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: copyAll('in') });
    expectOk(await s().tusk(['create', 'pipeline', '-f', 'out.json'], none));
    // no TUSK_RUNNER: the write spawns `tusk run --daemon`, which exits after 300 ms idle
    const bg = { env: { TUSK_RUNNER: undefined, TUSK_RUNNER_IDLE_MS: '300' } };
    const put = await s().json<{ commit: string }>(['put', 'file', 'in@master:/a'], { ...bg, input: 'a' });
    const pid = await runnerPid();
    if (pid !== undefined) pids.add(pid);
    // TUSK_RUNNER=none: this wait only polls, so the daemon must be the one that runs the job
    const waited = await s().json<Commit>(['wait', 'commit', 'out@master', '--timeout', '30'], none);
    expect([waited.repo, waited.id, waited.error]).toEqual(['out', put.commit, null]);
    expect(waited.finished).not.toBeNull();
    expect(expectOk(await s().tusk(['get', 'file', 'out@master:/a'])).stdout).toBe('a');
    // the daemon leaves on its own once idle
    const deadline = Date.now() + 10_000;
    for (let p = await runnerPid(); p !== undefined || (pid !== undefined && alive(pid)); p = await runnerPid()) {
      if (p !== undefined) pids.add(p);
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  step('with no runner alive, `wait commit` and `wait job` run the jobs themselves', async () => {
    const none = { env: { TUSK_RUNNER: 'none' } };
    const put = await s().json<{ commit: string }>(['put', 'file', 'in@master:/b'], { ...none, input: 'b' });
    expect((await newest(s(), 'out')).state).toBe('JOB_CREATED');
    const waited = await s().json<Commit>(['wait', 'commit', 'out@master', '--timeout', '30'], { env: { TUSK_RUNNER: undefined } });
    expect([waited.id, waited.finished !== null]).toEqual([put.commit, true]);
    expect(await runnerPid()).toBeUndefined();

    const put2 = await s().json<{ commit: string }>(['put', 'file', 'in@master:/c'], { ...none, input: 'c' });
    const job = await s().json<Job>(['wait', 'job', `out@${put2.commit}`], { env: { TUSK_RUNNER: undefined } });
    expect([job.state, job.processed, job.skipped]).toEqual(['JOB_SUCCESS', 1, 2]);
  });

  step('`tusk run` runs what is pending and prints one line per job', async () => {
    const none = { env: { TUSK_RUNNER: 'none' } };
    const put = await s().json<{ commit: string }>(['put', 'file', 'in@master:/d'], { ...none, input: 'd' });
    const out = expectOk(await s().tusk(['run'], none)).stdout;
    expect(out).toBe(`out@${put.commit} success (1 + 3 / 4)\n`);
    expect(expectOk(await s().tusk(['run'], none)).stdout).toBe('');
    expect(await runnerPid()).toBeUndefined();
  });
});
