// A pipeline on a store whose packs are in a bucket, through the built CLI: a /src/* job of a shell
// transform run by the background runner (`tusk run --daemon`, started by the writes), its output
// commit checked byte for byte (each output holds its input, so both the fetch of the inputs and
// the upload of the outputs are checked), then one input changed: the next job processes only
// that datum. Shared by the team store's tests and those of `init --packs`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { seededBytes } from '../helpers.js';
import { waitUntil } from '../pipeline/worker-helpers.js';
import { expectOk, runTusk, type RunOptions } from './cli-helpers.js';

type Job = { id: string; state: string; processed: number; skipped: number; total: number; reason: string | null };
type Datum = { id: string; state: string; worker?: string | null; files: { path: string }[] };

/** What the transform writes for one input: its name and size on a line, then its bytes. */
function expectedOutput(name: string, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${name} ${bytes.length}\n`), bytes]);
}

const SCRIPT = 'for f in /pfs/src/*; do n=$(basename "$f"); { echo "$n $(wc -c < "$f" | tr -d " ")"; cat "$f"; } > "/pfs/out/$n.out"; done';

/**
 * Run the scenario on the store `opts` reaches (its env names the bucket's credentials, and the
 * store where it is not the working directory's). `scratch` is a directory for the input files.
 */
export async function pipelineOnBucketStore(opts: RunOptions, scratch: string): Promise<void> {
  // the writes start the background runner; the reads only look
  const runner: RunOptions = { ...opts, env: { ...opts.env, TUSK_RUNNER: undefined, TUSK_RUNNER_IDLE_MS: '500' } };
  const look: RunOptions = { ...opts, env: { ...opts.env, TUSK_RUNNER: 'none' } };
  const json = async <T>(args: string[], o: RunOptions = look): Promise<T> => expectOk(await runTusk([...args, '--json'], o)).json() as T;
  const inputs: Record<string, Buffer> = {
    'a.txt': Buffer.from('alpha\n'),
    'b.txt': Buffer.from('bravo\n'),
    'c.csv': Buffer.from('x,y\n1,2\n'),
    // several chunks, more than one block of the pack cache
    'big.bin': seededBytes(3 << 20, 41),
  };
  const src = path.join(scratch, 'src');
  fs.mkdirSync(src, { recursive: true });
  for (const [n, b] of Object.entries(inputs)) fs.writeFileSync(path.join(src, n), b);
  await json(['create', 'repo', 'src'], look);
  await json(['put', 'file', '-r', 'src@master:/', '-f', src], look);
  const spec = path.join(scratch, 'spec.json');
  fs.writeFileSync(spec, JSON.stringify({ pipeline: { name: 'up' }, input: { pfs: { repo: 'src', glob: '/*' } }, transform: { cmd: ['sh', '-c', SCRIPT] } }));
  await json(['create', 'pipeline', '-f', spec], runner);

  const jobs = () => json<Job[]>(['list', 'job', '-p', 'up']);
  const ended = (j: Job | undefined) => j !== undefined && j.state !== 'JOB_CREATED' && j.state !== 'JOB_RUNNING' && j.state !== 'JOB_STARTING';
  const first = (await waitUntil('the first job ending', jobs, (js) => ended(js[0]), 90_000))[0]!;
  expect(first, first.reason ?? '').toMatchObject({ state: 'JOB_SUCCESS', processed: 4, skipped: 0, total: 4 });
  // run by the background runner, not by a command
  const ran = await json<Datum[]>(['list', 'datum', `up@${first.id}`]);
  expect(ran.map((d) => d.state)).toEqual(['success', 'success', 'success', 'success']);
  for (const d of ran) expect(d.worker).toMatch(/^daemon-/);
  await expectOutputs(look, inputs);

  // one input changed: only its datum runs again
  inputs['b.txt'] = Buffer.from('bravo, changed\n');
  fs.writeFileSync(path.join(src, 'b.txt'), inputs['b.txt']);
  await json(['put', 'file', 'src@master:/b.txt', '-f', path.join(src, 'b.txt')], runner);
  const second = (await waitUntil('the second job ending', jobs, (js) => js.length === 2 && ended(js[0]), 90_000))[0]!;
  expect(second.id).not.toBe(first.id);
  expect(second, second.reason ?? '').toMatchObject({ state: 'JOB_SUCCESS', processed: 1, skipped: 3, total: 4 });
  const rerun = (await json<Datum[]>(['list', 'datum', `up@${second.id}`])).filter((d) => d.state === 'success');
  expect(rerun.map((d) => d.files.map((f) => f.path))).toEqual([['/b.txt']]);
  await expectOutputs(look, inputs);
  const fsck = await json<{ ok: boolean }>(['fsck', '--verify-data']);
  expect(fsck.ok).toBe(true);
}

/** The output commit up@master holds exactly one output per input, each with its bytes. */
async function expectOutputs(look: RunOptions, inputs: Record<string, Buffer>): Promise<void> {
  const files = expectOk(await runTusk(['list', 'file', 'up@master:/', '--json'], look)).json() as { path: string }[];
  expect(files.map((f) => f.path).sort()).toEqual(Object.keys(inputs).map((n) => `/${n}.out`).sort());
  for (const [n, b] of Object.entries(inputs)) {
    const got = expectOk(await runTusk(['get', 'file', `up@master:/${n}.out`], look)).stdoutBytes;
    expect(got.equals(expectedOutput(n, b)), `up@master:/${n}.out`).toBe(true);
  }
}
