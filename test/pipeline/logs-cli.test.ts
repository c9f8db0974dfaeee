// `tusk logs` through the built binary: following a running job until it ends, following a
// pipeline into its next job, selecting datums with --inputs, and the usage errors.
//
// Nothing here races a clock: each datum prints a line and then waits for a gate file the test
// creates, so "the follower printed a line while the job was still running" is a fact the test
// arranges, not a timing it hopes for. Every wait has a generous deadline.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectJsonError, expectOk, startTusk, type StoreDir, withStoreDir, writeTree } from '../cli/cli-helpers.js';

const step = (name: string, fn: () => Promise<void>) => it.sequential(name, fn, 120_000);
const NONE = { env: { TUSK_RUNNER: 'none' } };
const FG = { env: { TUSK_RUNNER: 'foreground' } };

type Job = { id: string; state: string };
type Datum = { id: string; files: { path: string; hash: string }[] };
type RawLine = { pipeline_name: string; job_id: string; datum_id: string; user: boolean; message: string };

const rawLines = (text: string): RawLine[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RawLine);

describe('tusk logs', () => {
  let s: StoreDir;
  let gate = '';
  let first = '';
  beforeAll(async () => {
    s = await withStoreDir();
    gate = path.join(s.dir, 'gate');
  });
  afterAll(() => s?.cleanup());

  /** The job of `pipeline` created by the last write (jobs are left for `tusk run`). */
  const newestJob = async (pipeline: string) => (await s.json<Job[]>(['list', 'job', '-p', pipeline, '-n', '1']))[0]!;

  step('setup: a pipeline whose datums print, wait for a gate file, print again', async () => {
    expectOk(await s.tusk(['create', 'repo', 'in']));
    writeTree(path.join(s.dir, 'data'), { 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' });
    expectOk(await s.tusk(['put', 'file', 'in@master', '-f', 'data/a.txt', '-f', 'data/b.txt'], NONE));
    // the loop gives up after 60 s, so a broken test cannot leave a datum waiting forever
    const script = [
      'f=$(ls /pfs/in)',
      'echo "start $f"',
      `i=0; while [ ! -e '${gate}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`,
      'echo "end $f"',
      'cp /pfs/in/$f /pfs/out/',
    ];
    const spec = { pipeline: { name: 'slow' }, input: { pfs: { repo: 'in', glob: '/*' } }, parallelism_spec: { constant: 1 }, transform: { cmd: ['sh'], stdin: script } };
    writeTree(s.dir, { 'slow.json': JSON.stringify(spec) });
    expectOk(await s.tusk(['create', 'pipeline', '-f', 'slow.json'], NONE));
    first = (await newestJob('slow')).id;
  });

  step('-f -j prints lines while the job runs, waits for a partly written line, exits 0 when the job ends', async () => {
    const follow = startTusk(['logs', '-j', `slow@${first}`, '-f'], { cwd: s.dir });
    const runner = s.tusk(['run'], { timeoutMs: 90_000 });
    try {
      await follow.waitFor((out) => out.includes('start a.txt\n'));
      // datum a is waiting for the gate, so the job cannot have ended
      expect((await s.json<Job>(['inspect', 'job', `slow@${first}`])).state).toBe('JOB_RUNNING');

      // a line whose newline is not written yet is not printed, not even in part
      const datumA = (await s.json<Datum[]>(['list', 'datum', `slow@${first}`])).find((d) => d.files[0]!.path === '/a.txt')!;
      const log = path.join(s.dir, '.tusk', 'logs', 'slow', `${first}.log`);
      const line = JSON.stringify({ ts: new Date().toISOString(), datum: datumA.id, stream: 'stdout', message: 'written by hand' }) + '\n';
      const cut = line.indexOf('by hand');
      fs.appendFileSync(log, line.slice(0, cut));
      await new Promise((r) => setTimeout(r, 800));
      expect(follow.stdout()).toBe('start a.txt\n');
      fs.appendFileSync(log, line.slice(cut));
      await follow.waitFor((out) => out.includes('written by hand\n'));

      fs.writeFileSync(gate, '');
      expectOk(await runner);
      const done = await follow.done;
      expect(done.code, done.describe()).toBe(0);
      expect(done.stdout).toBe('start a.txt\nwritten by hand\nend a.txt\nstart b.txt\nend b.txt\n');
      expect(done.stderr).toBe('');
    } finally {
      fs.writeFileSync(gate, '');
      follow.kill('SIGKILL');
      await runner;
    }
  });

  step('-f -j on an ended job prints its log and exits; --system and --raw work with -f', async () => {
    const r = expectOk(await s.tusk(['logs', '-j', `slow@${first}`, '-f', '--system', '--raw'], { timeoutMs: 20_000 }));
    const lines = rawLines(r.stdout);
    expect(lines.filter((l) => l.user).map((l) => l.message)).toEqual(['start a.txt', 'written by hand', 'end a.txt', 'start b.txt', 'end b.txt']);
    expect(lines.filter((l) => !l.user).map((l) => l.message)).toContain('beginning to run user code');
    expect(lines.every((l) => l.pipeline_name === 'slow' && l.job_id === first)).toBe(true);
  });

  step('-f -p picks up the log of a job that starts while following; SIGINT ends it with status 0', async () => {
    const follow = startTusk(['logs', '-p', 'slow', '-f', '--raw'], { cwd: s.dir });
    try {
      // what is stored comes first
      await follow.waitFor((out) => out.includes('"end b.txt"'));
      writeTree(path.join(s.dir, 'data'), { 'c.txt': 'charlie\n' });
      const put = await s.json<{ commit: string }>(['put', 'file', 'in@master:/c.txt', '-f', 'data/c.txt'], NONE);
      expectOk(await s.tusk(['run']));
      await follow.waitFor((out) => rawLines(out).some((l) => l.job_id === put.commit && l.message === 'end c.txt'));
      follow.kill('SIGINT');
      const done = await follow.done;
      expect(done.code, done.describe()).toBe(0);
      expect(done.stderr).toBe('');
      const lines = rawLines(done.stdout);
      // the first job's lines once, then the new job's (a and b were skipped there)
      expect(lines.map((l) => [l.job_id === first ? 'first' : l.job_id === put.commit ? 'second' : l.job_id, l.message])).toEqual([
        ['first', 'start a.txt'],
        ['first', 'written by hand'],
        ['first', 'end a.txt'],
        ['first', 'start b.txt'],
        ['first', 'end b.txt'],
        ['second', 'start c.txt'],
        ['second', 'end c.txt'],
      ]);
    } finally {
      follow.kill('SIGKILL');
    }
  });

  step('-f over every pipeline ends with status 0 on SIGTERM', async () => {
    const follow = startTusk(['logs', '-f'], { cwd: s.dir });
    try {
      await follow.waitFor((out) => out.includes('end c.txt\n'));
      follow.kill('SIGTERM');
      const done = await follow.done;
      expect(done.code, done.describe()).toBe(0);
      expect(done.stderr).toBe('');
    } finally {
      follow.kill('SIGKILL');
    }
  });

  step('--inputs selects datums by input path or content hash, in every job', async () => {
    expect(expectOk(await s.tusk(['logs', '-p', 'slow', '--inputs', '/b.txt'])).stdout).toBe('start b.txt\nend b.txt\n');
    // paths are cleaned as everywhere else
    expect(expectOk(await s.tusk(['logs', '-p', 'slow', '--inputs', '/./b.txt/'])).stdout).toBe('start b.txt\nend b.txt\n');
    const c = await s.json<{ hash: string }>(['inspect', 'file', 'in@master:/c.txt']);
    expect(c.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(expectOk(await s.tusk(['logs', '-p', 'slow', '--inputs', c.hash.toUpperCase()])).stdout).toBe('start c.txt\nend c.txt\n');
    // the same hash as the datum records it
    const second = await newestJob('slow');
    const datums = await s.json<Datum[]>(['list', 'datum', `slow@${second.id}`]);
    expect(datums.find((d) => d.files[0]!.path === '/c.txt')!.files[0]!.hash).toBe(c.hash);
    // works with -j, --datum and -f
    const datumA = (await s.json<Datum[]>(['list', 'datum', `slow@${first}`])).find((d) => d.files[0]!.path === '/a.txt')!;
    expect(expectOk(await s.tusk(['logs', '-j', `slow@${first}`, '-f', '--inputs', '/a.txt'], { timeoutMs: 20_000 })).stdout).toBe('start a.txt\nwritten by hand\nend a.txt\n');
    expect(expectOk(await s.tusk(['logs', '-p', 'slow', '--inputs', '/a.txt', '--datum', datumA.id.slice(0, 8)])).stdout).toBe('start a.txt\nwritten by hand\nend a.txt\n');
    expect(expectOk(await s.tusk(['logs', '-p', 'slow', '--inputs', '/b.txt', '--datum', datumA.id])).stdout).toBe('');
    // a path or hash no datum has: no lines, no error (as pachctl)
    expect(expectOk(await s.tusk(['logs', '-p', 'slow', '--inputs', '/nope.txt'])).stdout).toBe('');
    expect(expectOk(await s.tusk(['logs', '-p', 'slow', '--inputs', '0'.repeat(64)])).stdout).toBe('');
  });

  step('--inputs with several terms keeps datums that match all of them', async () => {
    expectOk(await s.tusk(['create', 'repo', 'side']));
    expectOk(await s.tusk(['put', 'file', 'side@master:/x.txt'], { input: 'x\n', ...NONE }));
    const spec = {
      pipeline: { name: 'pairs' },
      input: { cross: [{ pfs: { repo: 'in', glob: '/*' } }, { pfs: { repo: 'side', glob: '/*' } }] },
      transform: { cmd: ['sh'], stdin: ['echo "pair $(ls /pfs/in) $(ls /pfs/side)"'] },
    };
    writeTree(s.dir, { 'pairs.json': JSON.stringify(spec) });
    expectOk(await s.tusk(['create', 'pipeline', '-f', 'pairs.json', '--wait'], FG));
    const all = expectOk(await s.tusk(['logs', '-p', 'pairs'])).stdout;
    expect(all.split('\n').filter(Boolean).sort()).toEqual(['pair a.txt x.txt', 'pair b.txt x.txt', 'pair c.txt x.txt']);
    expect(expectOk(await s.tusk(['logs', '-p', 'pairs', '--inputs', '/b.txt,/x.txt'])).stdout).toBe('pair b.txt x.txt\n');
    expect(expectOk(await s.tusk(['logs', '-p', 'pairs', '--inputs', '/a.txt,/b.txt'])).stdout).toBe('');
  });

  step('a log of many lines: --json is one array printed as it is read, byte for byte what printing it whole gives; --raw and the plain output hold every line in order', async () => {
    const n = 1_300; // several of the reader's batches of lines
    const spec = { pipeline: { name: 'many' }, input: { pfs: { repo: 'side', glob: '/' } }, transform: { cmd: ['sh'], stdin: [`i=0; while [ $i -lt ${n} ]; do echo "line $i"; i=$((i+1)); done`] } };
    writeTree(s.dir, { 'many.json': JSON.stringify(spec) });
    expectOk(await s.tusk(['create', 'pipeline', '-f', 'many.json', '--wait'], FG));
    const want = Array.from({ length: n }, (_, i) => `line ${i}`);
    const json = expectOk(await s.tusk(['logs', '-p', 'many', '--json'])).stdout;
    const lines = JSON.parse(json) as { message: string; stream: string }[];
    expect(json).toBe(JSON.stringify(lines, null, 2) + '\n');
    expect(lines.map((l) => l.message)).toEqual(want);
    expect(rawLines(expectOk(await s.tusk(['logs', '-p', 'many', '--raw'])).stdout).map((l) => l.message)).toEqual(want);
    expect(expectOk(await s.tusk(['logs', '-p', 'many'])).stdout).toBe(want.map((l) => `${l}\n`).join(''));
    expect(expectOk(await s.tusk(['logs', '-p', 'pairs', '--inputs', '/a.txt,/b.txt', '--json'])).stdout).toBe('[]\n');
  });

  step('usage errors: -f with --json, malformed --inputs, unknown job', async () => {
    const followJson = await expectJsonError(['logs', '-p', 'slow', '-f'], { exit: 2, code: 'E_INVALID', mentions: ['--json'] }, { cwd: s.dir });
    expect(followJson.hint).toContain('--raw');
    for (const bad of ['b.txt', '/a.txt,', 'abc123', '']) {
      await expectJsonError(['logs', '-p', 'slow', '--inputs', bad], { exit: 2, code: 'E_INVALID', mentions: ['--inputs'] }, { cwd: s.dir });
    }
    // (--json would make -f a usage error first: check the plain output)
    for (const args of [['-j', `slow@${'f'.repeat(32)}`], ['-p', 'nope']]) {
      const r = await s.tusk(['logs', ...args, '-f'], { timeoutMs: 20_000 });
      expect(r.code, r.describe()).toBe(4);
      expect(r.stderr).toMatch(/^Error: (job|pipeline) .+ not found\n/);
    }
  });
});
