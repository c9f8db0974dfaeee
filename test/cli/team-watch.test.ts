// Waiting on a team store through the built CLI: `wait commit`, `wait job` and `logs -f` sleep on PostgreSQL
// notifications, not on a poll. A wait started before another process finishes the commit
// returns after it, printing what a local store prints; a follower shows the lines of a job run by
// another process and ends with it, and so does the console's live view; a quiet wait sends no
// statements to the database, counted from the server's statement log, and a lost connection
// ends it with E_IO. An idle `tusk worker` sleeps the same way, and still runs the next job.
import * as fs from 'node:fs';
import * as path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers.js';
import { useTeamServers } from '../helpers/team-servers.js';
import { startWorker, waitUntil } from '../pipeline/worker-helpers.js';
import { readEvents } from '../helpers/sse.js';
import { expectOk, runTusk, startTusk, type RunOptions } from './cli-helpers.js';
import { pipelineWithJob, untilListening, withAdmin } from './team-watch-helpers.js';

const servers = useTeamServers();
const { server, skip } = servers;

const mk = tempDirs('tusk-watch-');

/** A statement the server logs under log_statement = all: one per query (simple or extended protocol). */
const STATEMENT_LINE = /LOG:\s+(statement|execute [^:]*):/g;

/** A new team store in a fresh database, and the options that reach it. */
async function teamStore(prefix: string): Promise<{ url: string; opts: RunOptions }> {
  const url = await server.freshDatabase();
  const opts: RunOptions = { cwd: mk(), env: { ...servers.s3.env, XDG_CACHE_HOME: mk(), TUSK_RUNNER: 'none', TUSK_STORE: undefined } };
  expectOk(await runTusk(['init', '--metadata', url, '--packs', `s3://tusk/${prefix}`, '--endpoint', servers.s3.endpoint, '--path-style', '--json'], opts));
  return { url, opts };
}

/** What differs between any two stores' output (ids, times, times as ages) replaced. */
function normal(text: string): string {
  return text
    .replace(/\b[0-9a-f]{32}\b/g, '<id>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/^(Started|Finished): .+$/gm, '$1: <age>');
}

/** Each datum prints three lines, a moment apart; LINES: all of them, sorted. */
const SCRIPT = 'for i in 1 2 3; do echo "line $i of $(ls /pfs/src)"; sleep 0.2; done; cp /pfs/src/* /pfs/out/';
const LINES = ['a.txt', 'b.txt'].flatMap((f) => [1, 2, 3].map((i) => `line ${i} of ${f}`)).sort();


describe.skipIf(skip)(`waiting on a team store${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  it('wait commit started before another process finishes the commit returns after it, printing what a local store prints', async () => {
    const local: RunOptions = { cwd: mk(), env: { TUSK_RUNNER: 'none', TUSK_STORE: undefined } };
    const [, { url, opts: team }] = await Promise.all([runTusk(['init', '--json'], local).then(expectOk), teamStore('wait')]);
    // side by side: the two stores share nothing
    const printed = await Promise.all(
      [local, team].map(async (opts) => {
        expectOk(await runTusk(['create', 'repo', 'data'], opts));
        expectOk(await runTusk(['start', 'commit', 'data@master'], opts));
        const waits = [startTusk(['wait', 'commit', 'data@master', '--json'], opts), startTusk(['wait', 'commit', 'data@master'], opts)];
        // on the team store: both wait on notifications before the commit is finished
        if (opts === team) await untilListening(url, waits[0]!, 2);
        expectOk(await runTusk(['put', 'file', 'data@master:/a.txt'], { ...opts, input: 'alpha\n' }));
        expectOk(await runTusk(['finish', 'commit', 'data@master'], opts));
        const out: string[] = [];
        for (const w of waits) {
          const r = await w.done;
          expect(r.code, r.describe()).toBe(0);
          out.push(normal(r.stdout));
        }
        expect(JSON.parse(out[0]!)).toMatchObject({ repo: 'data', branch: 'master', finished: '<time>', sizeBytes: 6 });
        return out;
      }),
    );
    const [fromLocal, fromTeam] = printed;
    expect(fromTeam).toEqual(fromLocal);
  }, 120_000);

  it('a quiet wait sends no statements while it waits (a poll sends several a second), and a lost connection ends it with E_IO naming the database', async () => {
    const { url, opts } = await teamStore('quiet');
    const db = new URL(url).pathname.slice(1);
    // every statement on this database, from now on, goes to the server's log
    await withAdmin(server.server().url('postgres'), (c) => c.query(`ALTER DATABASE ${pg.escapeIdentifier(db)} SET log_statement = 'all'`));
    const log = path.join(server.server().dir, 'log');
    expectOk(await runTusk(['create', 'repo', 'data'], opts));
    expectOk(await runTusk(['start', 'commit', 'data@master'], opts));
    // runs jobs here while no runner is alive: the default mode of a wait
    const wait = startTusk(['wait', 'commit', 'data@master', '--json'], { ...opts, env: { ...opts.env, TUSK_RUNNER: undefined } });
    await untilStatements(log, wait);
    // what the wait does as it starts (its first looks) is over within a second
    await new Promise((r) => setTimeout(r, 1000));
    const from = fs.statSync(log).size;
    await new Promise((r) => setTimeout(r, 3000));
    const during = statementsOf(fs.readFileSync(log).subarray(from).toString('utf8'));
    expect(await Promise.race([wait.done.then(() => 'ended'), Promise.resolve('waiting')])).toBe('waiting');
    expect(during, during.join('\n')).toEqual([]);
    // a wait that times out says so, as on a local store
    const timedOut = await runTusk(['wait', 'commit', 'data@master', '--timeout', '1', '--json'], opts);
    expect(timedOut.code, timedOut.describe()).toBe(3);
    expect(timedOut.json<{ error: { code: string } }>().error.code).toBe('E_CONFLICT');

    // the server drops every session of the database: the wait ends at once, with the error a user can act on
    await withAdmin(url, (c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()'));
    const r = await wait.done;
    expect(r.code, r.describe()).toBe(1);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(error.code, r.stdout).toBe('E_IO');
    expect(error.message).toContain(db);
    // the commit is still open: nothing was changed
    expect(expectOk(await runTusk(['inspect', 'commit', 'data@master', '--json'], opts)).json().finished).toBeNull();
  }, 120_000);

  it('an idle tusk worker sends no statements while it waits (it sleeps on notifications), picks up a new job and runs it, and exits E_STORE_LOST when its database goes', async () => {
    const { url, opts } = await teamStore('worker');
    const db = new URL(url).pathname.slice(1);
    expectOk(await runTusk(['create', 'repo', 'src'], opts));
    const spec = path.join(mk(), 'spec.json');
    fs.writeFileSync(spec, JSON.stringify({ pipeline: { name: 'up' }, input: { pfs: { repo: 'src', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'cp /pfs/src/* /pfs/out/'] } }));
    expectOk(await runTusk(['create', 'pipeline', '-f', spec], opts));
    await withAdmin(server.server().url('postgres'), (c) => c.query(`ALTER DATABASE ${pg.escapeIdentifier(db)} SET log_statement = 'all'`));
    const log = path.join(server.server().dir, 'log');
    // another machine's worker: a client directory of its own
    const worker = startWorker(mk(), ['--concurrency', '1', '--json'], { ...servers.s3.env, TUSK_STORE: url, XDG_CACHE_HOME: mk() }, 120_000);
    await untilListening(url, worker);
    // what the worker does as it starts (its first pass) is over within a second
    await new Promise((r) => setTimeout(r, 1000));
    const from = fs.statSync(log).size;
    await new Promise((r) => setTimeout(r, 3000));
    const during = statementsOf(fs.readFileSync(log).subarray(from).toString('utf8'));
    expect(during, during.join('\n')).toEqual([]);
    // a new input commit makes a job: the worker wakes, runs it and ends it
    expectOk(await runTusk(['put', 'file', 'src@master:/a.txt'], { ...opts, input: 'alpha\n' }));
    type Job = { state: string; processed: number };
    const [job] = await waitUntil('the job ending', async () => expectOk(await runTusk(['list', 'job', '-p', 'up', '--json'], opts)).json<Job[]>(), (js) => ['JOB_SUCCESS', 'JOB_FAILURE'].includes(js[0]?.state ?? ''), 60_000);
    expect(job).toMatchObject({ state: 'JOB_SUCCESS', processed: 1 });
    expect(expectOk(await runTusk(['get', 'file', 'up@master:/a.txt'], opts)).stdout).toBe('alpha\n');
    // the server drops every session of the database: the sleeping worker ends, exit 1, naming its store
    await withAdmin(url, (c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()'));
    const r = await worker.done;
    expect(r.code, r.stderr.slice(-2000)).toBe(1);
    // after the one-line datum events, the error document
    const doc = r.stdout.slice(r.stdout.indexOf('{\n  "error"'));
    const { error } = JSON.parse(doc.slice(0, doc.indexOf('\n}') + 2)) as { error: { code: string; message: string } };
    expect(error.code, r.stdout).toBe('E_STORE_LOST');
    expect(error.message).toContain(db);
  }, 120_000);

  it("logs -f and the console's live view show the lines of a job another process runs; logs -f and wait job end when the job does", async () => {
    const { url, opts } = await teamStore('logs');
    const job = await pipelineWithJob(opts, SCRIPT, mk);
    const follow = startTusk(['logs', '-f', '-j', `up@${job}`], opts);
    const waitJob = startTusk(['wait', 'job', `up@${job}`, '--json'], opts);
    const consoleRun = startTusk(['console', '--port', '0', '--json'], opts);
    const { url: site } = JSON.parse(await consoleRun.waitFor((t) => t.includes('\n'))) as { url: string };
    const ac = new AbortController();
    const res = await fetch(new URL(`/api/events?pipeline=up&job=${job}`, site), { signal: ac.signal });
    const states: string[] = [];
    const shown: string[] = [];
    const reading = readEvents(res, (event, data) => {
      if (event === 'jobs') states.push(...(data as { jobs: { state: string }[] }).jobs.map((j) => j.state));
      if (event === 'logs') shown.push(...(data as { lines: { stream: string; message: string }[] }).lines.filter((l) => l.stream !== 'system').map((l) => l.message));
    });
    // all three listen (the follower, the wait and the console's stream) before the job runs
    await untilListening(url, follow, 3);
    // another process runs the job (a runner beside them, sharing this client directory)
    expectOk(await runTusk(['run', '--json'], opts));
    const r = await follow.done;
    expect(r.code, r.describe()).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(LINES);
    // the same lines as reading the finished log
    expect(r.stdout).toBe(expectOk(await runTusk(['logs', '-j', `up@${job}`], opts)).stdout);
    const waited = await waitJob.done;
    expect(waited.code, waited.describe()).toBe(0);
    expect(JSON.parse(waited.stdout)).toMatchObject({ pipeline: 'up', id: job, state: 'JOB_SUCCESS', processed: 2 });
    for (let i = 0; i < 1200 && !(states.at(-1) === 'JOB_SUCCESS' && shown.length >= LINES.length); i++) await new Promise((r) => setTimeout(r, 25));
    ac.abort();
    await reading;
    expect(states[0]).toBe('JOB_CREATED');
    expect(states.at(-1)).toBe('JOB_SUCCESS');
    expect(shown.sort()).toEqual(LINES);
    consoleRun.kill('SIGINT');
    await consoleRun.done;
  }, 120_000);
});

/** The statements in a stretch of the server's log (only the database under test logs them). */
function statementsOf(text: string): string[] {
  return [...text.matchAll(STATEMENT_LINE)].map((m) => text.slice(m.index, text.indexOf('\n', m.index)));
}

/** Wait until the command has sent its first statement to the database. */
async function untilStatements(log: string, running: { done: Promise<unknown> }): Promise<void> {
  let exited = false;
  void running.done.then(() => (exited = true));
  const from = fs.statSync(log).size;
  for (let i = 0; i < 2400; i++) {
    if (statementsOf(fs.readFileSync(log).subarray(from).toString('utf8')).length > 0) return;
    if (exited) throw new Error('the command ended before it reached the database');
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the command sent no statement within 60 s');
}
