// Job logs on a team store through the built CLI: a worker with a client directory of its own runs
// a job whose user code writes to stdout and stderr; `tusk logs` from another client directory
// (another machine, as far as tusk can tell) shows every line, with the same filters and output
// as a local store; `logs -f` follows the running job and ends with it; `delete pipeline` removes
// the job's lines from the database (and, on a local store, its log files).
import * as fs from 'node:fs';
import * as path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers.js';
import { useTeamServers } from '../helpers/team-servers.js';
import { startWorker } from '../pipeline/worker-helpers.js';
import { expectOk, runTusk, startTusk, type RunOptions } from './cli-helpers.js';
import { pipelineWithJob, untilListening } from './team-watch-helpers.js';

const servers = useTeamServers();
const { server, skip } = servers;

const mk = tempDirs('tusk-team-logs-');

/** Each datum (one input file) writes these, a moment apart, on stdout and stderr. */
const SCRIPT = 'f=$(ls /pfs/src); echo "out $f"; echo "err $f" >&2; sleep 0.3; echo "done $f"; cp /pfs/src/* /pfs/out/';
const LINES = ['a.txt', 'b.txt'].flatMap((f) => [`out ${f}`, `err ${f}`, `done ${f}`]);
const linesOf = (f: string) => LINES.filter((l) => l.endsWith(` ${f}`));

async function countLogRows(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query('SELECT count(*) AS n FROM job_logs')).rows[0].n);
  } finally {
    await c.end();
  }
}

/** `--raw --system` lines with what differs between two runs (ids, times, durations) replaced, sorted. */
function normalRaw(stdout: string): string[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) =>
      l
        .replace(/\b[0-9a-f]{32,64}\b/g, '<id>')
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
        .replace(/after [\d.]+s/g, 'after <s>'),
    )
    .sort();
}

describe.skipIf(skip)(`job logs on a team store${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  it('a worker on another client directory runs the job: logs shows every line here, with its filters; logs -f follows the job and ends with it; delete pipeline removes the lines', async () => {
    const url = await server.freshDatabase();
    const base = { ...servers.s3.env, TUSK_STORE: url, TUSK_RUNNER: 'none' };
    // this machine: where the pipeline is made and the logs are read
    const here: RunOptions = { cwd: mk(), env: { ...base, XDG_CACHE_HOME: mk() }, timeoutMs: 60_000 };
    expectOk(await runTusk(['init', '--packs', 's3://tusk/logs', '--endpoint', servers.s3.endpoint, '--path-style', '--json'], here));
    const job = await pipelineWithJob(here, SCRIPT, mk);

    // following before the job runs: it shows the lines as the worker writes them, and ends with the job
    const follow = startTusk(['logs', '-f', '-j', `up@${job}`], { ...here, timeoutMs: 120_000 });
    await untilListening(url, follow);
    // another machine: nothing shared with this one but the database and the bucket
    const worker = startWorker(mk(), ['--concurrency', '1'], { ...servers.s3.env, TUSK_STORE: url, XDG_CACHE_HOME: mk() }, 120_000);
    const followed = await follow.done;
    expect(followed.code, followed.describe()).toBe(0);
    expect(followed.stdout.trim().split('\n').sort()).toEqual([...LINES].sort());
    const [ended] = expectOk(await runTusk(['list', 'job', '-p', 'up', '--json'], here)).json<{ state: string }[]>();
    expect(ended!.state).toBe('JOB_SUCCESS');
    worker.kill('SIGTERM');
    const w = await worker.done;
    expect(w.code, w.stderr.slice(-2000)).toBe(0);

    // read here, after the fact: every line, each datum's in the order it wrote them
    const all = expectOk(await runTusk(['logs', '-p', 'up'], here)).stdout.trim().split('\n');
    expect([...all].sort()).toEqual([...LINES].sort());
    for (const f of ['a.txt', 'b.txt']) expect(all.filter((l) => l.endsWith(` ${f}`))).toEqual(linesOf(f));
    expect(expectOk(await runTusk(['logs', '-j', `up@${job}`], here)).stdout).toBe(followed.stdout);
    type Line = { datum: string; stream: string; message: string; pipeline: string; job: string };
    const json = expectOk(await runTusk(['logs', '-p', 'up', '--json'], here)).json<Line[]>();
    expect(json.map((l) => l.message)).toEqual(all);
    expect(json.find((l) => l.message === 'err a.txt')).toMatchObject({ stream: 'stderr', pipeline: 'up', job });
    expect(json.find((l) => l.message === 'out a.txt')).toMatchObject({ stream: 'stdout' });
    const datumA = json.find((l) => l.message === 'out a.txt')!.datum;
    expect(expectOk(await runTusk(['logs', '-p', 'up', '--datum', datumA.slice(0, 8)], here)).stdout.trim().split('\n')).toEqual(linesOf('a.txt'));
    expect(expectOk(await runTusk(['logs', '-p', 'up', '--inputs', '/b.txt'], here)).stdout.trim().split('\n')).toEqual(linesOf('b.txt'));
    const system = expectOk(await runTusk(['logs', '-j', `up@${job}`, '--system'], here)).stdout;
    expect(system).toContain('beginning to run user code');
    expect(system.split('\n').filter((l) => l.startsWith('finished running user code after'))).toHaveLength(2);
    const raw = normalRaw(expectOk(await runTusk(['logs', '-p', 'up', '--system', '--raw'], here)).stdout);

    // the same pipeline on a local store prints the same
    const local: RunOptions = { cwd: mk(), env: { TUSK_RUNNER: 'none', TUSK_STORE: undefined }, timeoutMs: 60_000 };
    expectOk(await runTusk(['init', '--json'], local));
    await pipelineWithJob(local, SCRIPT, mk);
    expectOk(await runTusk(['run', '--json'], local));
    expect(normalRaw(expectOk(await runTusk(['logs', '-p', 'up', '--system', '--raw'], local)).stdout)).toEqual(raw);
    // where the local store keeps them, and that they go with the pipeline there too
    const files = path.join(local.cwd!, '.tusk', 'logs', 'up');
    expect(fs.readdirSync(files)).toHaveLength(1);
    expectOk(await runTusk(['delete', 'pipeline', 'up', '--json'], local));
    expect(fs.existsSync(files)).toBe(false);

    // the lines go with the pipeline
    expect(await countLogRows(url)).toBeGreaterThanOrEqual(LINES.length);
    expectOk(await runTusk(['delete', 'pipeline', 'up', '--json'], here));
    expect(await countLogRows(url)).toBe(0);
    const gone = await runTusk(['logs', '-p', 'up', '--json'], here);
    expect(gone.code, gone.describe()).toBe(4);
  }, 240_000);
});
