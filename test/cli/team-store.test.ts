// A team store through the built CLI: metadata in a throwaway PostgreSQL, packs in s3rver. Made
// with `tusk init --metadata` and through TUSK_STORE=postgres://…; the data commands give what
// they give on a local store; a second client directory (another machine, an empty cache) reads
// the same bytes; bad input is a clear error that changes nothing and never shows a password.
import * as fs from 'node:fs';
import * as path from 'node:path';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { clientDirFor } from '../../src/store/team-dir.js';
import { closedPort, seededBytes, tempDirs } from '../helpers.js';
import { usePostgres } from '../helpers/postgres.js';
import { useTeamServers } from '../helpers/team-servers.js';
import { TestProject } from '../project/project-helpers.js';
import { startWorker, waitUntil } from '../pipeline/worker-helpers.js';
import { pipelineOnBucketStore } from './bucket-pipeline.js';
import { expectCliError, expectJsonError, expectOk, runTusk, treeDifferences, writeTree, type RunOptions } from './cli-helpers.js';

const servers = useTeamServers();
const { server, skip } = servers;

const mk = tempDirs('tusk-team-');

/** What a command prints, with what differs between any two stores (ids, times) replaced. */
function normal(v: unknown): unknown {
  if (typeof v === 'string')
    return v
      .replace(/\b[0-9a-f]{32,64}\b/g, '<id>')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
      .replace(/\/tmp\/tusk-team-[^/\s"]+/g, '<dir>');
  if (Array.isArray(v)) return v.map(normal);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, /^(created|started|finished|time|ms|durationMs|storeBytes(Before|After)|bytesReclaimed|path)$/.test(k) ? '<varies>' : normal(x)]),
    );
  return v;
}

/** The data commands, in order, on the store `opts` reaches: each one's --json output, normalised. */
async function dataCommands(opts: RunOptions, src: string, out: string): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  const run = async (name: string, args: string[]) => {
    seen[name] = normal(expectOk(await runTusk([...args, '--json'], opts)).json());
  };
  await run('create repo', ['create', 'repo', 'data']);
  await run('create repo 2', ['create', 'repo', 'scratch']);
  await run('put small', ['put', 'file', 'data@master:/a.txt', '-f', path.join(src, 'a.txt')]);
  await run('put -r', ['put', 'file', '-r', 'data@master:/tree', '-f', path.join(src, 'tree')]);
  await run('put big', ['put', 'file', 'data@master:/big.bin', '-f', path.join(src, 'big.bin')]);
  await run('list repo', ['list', 'repo']);
  await run('list file', ['list', 'file', 'data@master:/']);
  await run('list file tree', ['list', 'file', 'data@master:/tree']);
  await run('glob file', ['glob', 'file', 'data@master:/**/*.bin']);
  await run('diff file', ['diff', 'file', 'data@master']);
  await run('inspect commit', ['inspect', 'commit', 'data@master']);
  await run('list commit', ['list', 'commit', 'data']);
  await run('create branch', ['create', 'branch', 'data@dev', '--head', 'master']);
  await run('start commit', ['start', 'commit', 'data@dev']);
  await run('put in open commit', ['put', 'file', 'data@dev:/b.txt', '-f', path.join(src, 'a.txt')]);
  await run('finish commit', ['finish', 'commit', 'data@dev']);
  await run('list branch', ['list', 'branch', 'data']);
  await run('diff dev', ['diff', 'file', 'data@dev', 'data@master']);
  await run('delete repo', ['delete', 'repo', 'scratch']);
  await run('list repo after delete', ['list', 'repo']);
  await run('get -r', ['get', 'file', '-r', 'data@master:/', '-o', out]);
  expect(treeDifferences(path.join(out, 'tree'), path.join(src, 'tree'))).toEqual([]);
  expect(fs.readFileSync(path.join(out, 'big.bin')).equals(fs.readFileSync(path.join(src, 'big.bin')))).toBe(true);
  await run('fsck', ['fsck', '--verify-data']);
  await run('gc', ['gc']);
  // gc removed nothing a commit needs
  await run('fsck after gc', ['fsck', '--verify-data']);
  return seen;
}

function sources(): string {
  const src = mk();
  writeTree(src, {
    'a.txt': 'alpha\n',
    'big.bin': seededBytes(5 << 20, 11),
    'tree/x.txt': 'x\n',
    'tree/sub/y.bin': seededBytes(300_000, 12),
    'tree/sub/deep/z.csv': 'a,b\n1,2\n',
    'tree/empty': '',
  });
  return src;
}


async function tableCounts(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: Record<string, number> = {};
    for (const t of ['repos', 'branches', 'commits', 'chunks', 'packs', 'team_store', 'remote_chunks']) {
      const exists = (await c.query('SELECT to_regclass($1) AS t', [t])).rows[0].t;
      out[t] = exists === null ? -1 : Number((await c.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
    }
    return out;
  } finally {
    await c.end();
  }
}

describe.skipIf(skip)(`a team store through the CLI${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  const packsArgs = (prefix: string) => ['--packs', `s3://tusk/${prefix}`, '--endpoint', servers.s3.endpoint, '--path-style'];

  it('init --metadata, then the data commands answer as on a local store; another machine reads the same bytes', async () => {
    const url = await server.freshDatabase();
    const src = sources();
    const env = { ...servers.s3.env, XDG_CACHE_HOME: mk(), TUSK_RUNNER: 'none' };

    // the local store the team store must match, its packs in the same kind of bucket
    const local = mk();
    expectOk(await runTusk(['init', ...packsArgs('local'), '--json'], { cwd: local, env }));
    const team = mk();
    const init = expectOk(await runTusk(['init', '--metadata', url, ...packsArgs('team'), '--json'], { cwd: team, env })).json();
    // side by side: the two stores share nothing but the bucket's server
    const [expected, got] = await Promise.all([dataCommands({ cwd: local, env }, src, path.join(mk(), 'out')), dataCommands({ cwd: team, env }, src, path.join(mk(), 'out'))]);
    expect(got).toEqual(expected);
    const client = path.join(fs.realpathSync(team), '.tusk');
    expect(init).toEqual({ path: client, created: true, packs: 's3://tusk/team', metadata: url });
    expect(JSON.parse(fs.readFileSync(path.join(client, 'metadata.json'), 'utf8'))).toEqual({ url });
    expect(JSON.parse(fs.readFileSync(path.join(client, 'packs.json'), 'utf8'))).toEqual({ url: 's3://tusk/team', endpoint: servers.s3.endpoint, pathStyle: true });
    expect(fs.existsSync(path.join(client, 'cache.db'))).toBe(true);
    expect(fs.existsSync(path.join(client, 'meta.db'))).toBe(false);
    // the metadata is in the database, the packs in the bucket: nothing of the store's own beside them
    expect((await tableCounts(url)).commits).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(client, 'packs'))).toBe(false);

    // another machine: its own client directory, an empty cache, found through the database alone
    const other = mk();
    const joined = expectOk(await runTusk(['init', '--metadata', url, '--json'], { cwd: other, env })).json();
    expect(joined).toMatchObject({ created: true, packs: 's3://tusk/team', metadata: url });
    const out = path.join(mk(), 'out');
    expectOk(await runTusk(['get', 'file', '-r', 'data@master:/', '-o', out, '--json'], { cwd: other, env }));
    expect(treeDifferences(path.join(out, 'tree'), path.join(src, 'tree'))).toEqual([]);
    expect(fs.readFileSync(path.join(out, 'big.bin')).equals(fs.readFileSync(path.join(src, 'big.bin')))).toBe(true);
    // what one machine writes the other sees at once
    expectOk(await runTusk(['put', 'file', 'data@master:/from-other.txt', '-f', path.join(src, 'a.txt'), '--json'], { cwd: other, env }));
    expect(expectOk(await runTusk(['get', 'file', 'data@master:/from-other.txt'], { cwd: team, env })).stdout).toBe('alpha\n');

    // init again changes nothing; another place for the packs is refused, naming both
    expect(expectOk(await runTusk(['init', '--metadata', url, '--json'], { cwd: team, env })).json()).toEqual({ ...init, created: false });
    const before = await tableCounts(url);
    await expectJsonError(['init', '--metadata', url, ...packsArgs('elsewhere')], { exit: 2, code: 'E_INVALID', mentions: ['s3://tusk/team', 's3://tusk/elsewhere'] }, { cwd: mk(), env });
    expect(await tableCounts(url)).toEqual(before);
  }, 240_000);

  it('TUSK_STORE=postgres://… makes and opens the store with a client directory under XDG_CACHE_HOME', async () => {
    const url = await server.freshDatabase();
    const cache = mk();
    const env = { ...servers.s3.env, XDG_CACHE_HOME: cache, TUSK_STORE: url, TUSK_RUNNER: 'none' };
    const cwd = mk();
    const init = expectOk(await runTusk(['init', ...packsArgs('env'), '--json'], { cwd, env })).json();
    const client = clientDirFor(url, { XDG_CACHE_HOME: cache });
    expect(init).toEqual({ path: client, created: true, packs: 's3://tusk/env', metadata: url });
    expect(path.dirname(client)).toBe(path.join(cache, 'tusk'));
    // nothing made where the command ran
    expect(fs.readdirSync(cwd)).toEqual([]);
    expectOk(await runTusk(['create', 'repo', 'r', '--json'], { cwd, env }));
    expectOk(await runTusk(['put', 'file', 'r@master:/f.txt', '--json'], { cwd, env, input: 'from stdin\n' }));
    expect(expectOk(await runTusk(['get', 'file', 'r@master:/f.txt'], { cwd, env })).stdout).toBe('from stdin\n');
    // a machine that has never seen the store: its client directory is made on first use
    const fresh = { ...env, XDG_CACHE_HOME: mk() };
    expect(expectOk(await runTusk(['list', 'repo', '--json'], { cwd, env: fresh })).json().map((r: { name: string }) => r.name)).toEqual(['r']);
    expect(expectOk(await runTusk(['get', 'file', 'r@master:/f.txt'], { cwd, env: fresh })).stdout).toBe('from stdin\n');
    const info = expectOk(await runTusk(['cache', 'info', '--json'], { cwd, env })).json();
    expect(info.packs.at).toBe('s3://tusk/env');
    expect(info.metadata).toBe(url);
    expect(info.packs.dir.startsWith(client)).toBe(true);
    expect(expectOk(await runTusk(['cache', 'info'], { cwd, env })).stdout).toContain(`metadata in ${url}\npacks in s3://tusk/env\n`);
  }, 120_000);

  it('a project whose tusk.yaml names the team store (store: postgres://…) locks into it', async () => {
    const url = await server.freshDatabase();
    const env = { ...servers.s3.env, XDG_CACHE_HOME: mk(), TUSK_RUNNER: 'none', TUSK_STORE: undefined };
    expectOk(await runTusk(['init', '--metadata', url, ...packsArgs('project'), '--json'], { cwd: mk(), env }));
    const p = new TestProject({ config: `store: ${url}\ntrack:\n  - path: data/words\n    repo: words\n`, init: false });
    onTestFinished(() => fs.rmSync(p.dir, { recursive: true, force: true }));
    expectOk(await p.tusk(['lock', '--json'], { env }));
    // no store was made in the project: its data went to the team store
    expect(fs.existsSync(p.path('.tusk'))).toBe(false);
    const files = expectOk(await runTusk(['list', 'file', 'words@master:/', '--json'], { cwd: mk(), env: { ...env, TUSK_STORE: url } })).json() as { path: string }[];
    expect(files.map((f) => f.path).sort()).toEqual(['/a.txt', '/b.txt']);
  }, 120_000);

  it('a lazy pull into a team store leaves the bytes on the remote until a read fetches them into the bucket', async () => {
    const url = await server.freshDatabase();
    const env = { ...servers.s3.env, XDG_CACHE_HOME: mk(), TUSK_RUNNER: 'none', TUSK_STORE: undefined };
    const remote = `file://${mk()}`;
    // a local store pushes a repo to a remote
    const local = mk();
    expectOk(await runTusk(['init', '--json'], { cwd: local, env }));
    expectOk(await runTusk(['create', 'repo', 'data', '--json'], { cwd: local, env }));
    const big = seededBytes(3 << 20, 77);
    const bigFile = path.join(mk(), 'big.bin');
    fs.writeFileSync(bigFile, big);
    expectOk(await runTusk(['put', 'file', 'data@master:/big.bin', '-f', bigFile, '--json'], { cwd: local, env }));
    expectOk(await runTusk(['put', 'file', 'data@master:/small.txt', '--json'], { cwd: local, env, input: 'small\n' }));
    expectOk(await runTusk(['remote', 'add', 'origin', remote, '--json'], { cwd: local, env }));
    expectOk(await runTusk(['push', 'origin', '--json'], { cwd: local, env }));
    // the team store pulls it lazily: commits and metadata, no chunk bytes
    const team = mk();
    expectOk(await runTusk(['init', '--metadata', url, ...packsArgs('lazy'), '--json'], { cwd: team, env }));
    expectOk(await runTusk(['remote', 'add', 'origin', remote, '--json'], { cwd: team, env }));
    const pulled = expectOk(await runTusk(['pull', 'origin', '--lazy', '--json'], { cwd: team, env })).json() as { remoteBacked: number };
    expect(pulled.remoteBacked).toBeGreaterThan(0);
    expect((await tableCounts(url)).remote_chunks).toBeGreaterThan(0);
    // a read fetches what it needs, checked, into packs of the bucket
    const out = path.join(mk(), 'big.bin');
    expectOk(await runTusk(['get', 'file', 'data@master:/big.bin', '-o', out, '--json'], { cwd: team, env }));
    expect(fs.readFileSync(out).equals(big)).toBe(true);
    type Fsck = { ok: boolean; remote?: { remote: string; absent: number; cached: number }[] };
    const lazyFsck = expectOk(await runTusk(['fsck', '--json'], { cwd: team, env })).json() as Fsck;
    expect(lazyFsck.ok).toBe(true);
    expect(lazyFsck.remote).toEqual([{ remote: 'origin', absent: 1, cached: expect.any(Number) }]);
    // a full pull fetches what is still on the remote (small.txt's one chunk), after which the
    // remote is not needed: every byte reads from the bucket
    expectOk(await runTusk(['pull', 'origin', '--json'], { cwd: team, env }));
    fs.rmSync(remote.slice('file://'.length), { recursive: true, force: true });
    expect(expectOk(await runTusk(['get', 'file', 'data@master:/small.txt'], { cwd: team, env })).stdout).toBe('small\n');
    const again = path.join(mk(), 'big.bin');
    expectOk(await runTusk(['get', 'file', 'data@master:/big.bin', '-o', again, '--json'], { cwd: team, env }));
    expect(fs.readFileSync(again).equals(big)).toBe(true);
    const fsck = expectOk(await runTusk(['fsck', '--json'], { cwd: team, env })).json() as Fsck;
    expect(fsck.ok).toBe(true);
    expect((fsck.remote ?? []).every((r) => r.absent === 0)).toBe(true);
  }, 180_000);

  it('a pipeline on a team store: a /src/* job run by the background runner, its output commit right; a changed input reruns only its datum', async () => {
    const url = await server.freshDatabase();
    const env = { ...servers.s3.env, XDG_CACHE_HOME: mk(), TUSK_STORE: url };
    const cwd = mk();
    expectOk(await runTusk(['init', ...packsArgs('pipeline'), '--json'], { cwd, env: { ...env, TUSK_RUNNER: 'none' } }));
    await pipelineOnBucketStore({ cwd, env }, mk());
  }, 180_000);

  it('tusk worker against TUSK_STORE=postgres://…: two workers, each its own client directory, share a 50-datum job; every output once, list datum names who ran each', async () => {
    const url = await server.freshDatabase();
    const N = 50;
    const base = { ...servers.s3.env, TUSK_STORE: url, TUSK_RUNNER: 'none' };
    const look = { cwd: mk(), env: { ...base, XDG_CACHE_HOME: mk() } };
    expectOk(await runTusk(['init', ...packsArgs('workers'), '--json'], look));
    const src = mk();
    const name = (i: number) => `f${String(i).padStart(5, '0')}`;
    for (let i = 0; i < N; i++) fs.writeFileSync(path.join(src, name(i)), `${i}\n`);
    expectOk(await runTusk(['create', 'repo', 'in', '--json'], look));
    expectOk(await runTusk(['put', 'file', '-r', 'in@master:/', '-f', src, '--json'], look));
    // two machines: nothing shared but the database and the bucket
    const caches = [mk(), mk()];
    const workers = caches.map((c) => startWorker(mk(), ['--concurrency', '1'], { ...servers.s3.env, TUSK_STORE: url, XDG_CACHE_HOME: c }, 150_000));
    const ids = await Promise.all(workers.map((w) => waitUntil('the worker started', async () => /^worker (\S+) started$/m.exec(w.stderr())?.[1], (id) => id !== undefined, 60_000)));
    // made once both wait for work, so that each claims a share of the job
    const spec = path.join(mk(), 'spec.json');
    fs.writeFileSync(spec, JSON.stringify({ pipeline: { name: 'up' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'f=$(ls /pfs/in); sleep 0.2; echo "out $(cat /pfs/in/$f)" > /pfs/out/$f'] } }));
    expectOk(await runTusk(['create', 'pipeline', '-f', spec, '--json'], look));
    type Job = { id: string; state: string; processed: number; total: number; reason: string | null };
    const jobs = () => runTusk(['list', 'job', '-p', 'up', '--json'], look).then((r) => expectOk(r).json() as Job[]);
    const [job] = await waitUntil('the job ending', jobs, (js) => js[0] !== undefined && ['JOB_SUCCESS', 'JOB_FAILURE', 'JOB_KILLED'].includes(js[0].state), 120_000);
    for (const w of workers) w.kill('SIGTERM');
    const ended = await Promise.all(workers.map((w) => w.done));
    for (const r of ended) expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(job, job?.reason ?? '').toMatchObject({ state: 'JOB_SUCCESS', processed: N, total: N });

    // every output exactly once, with its own bytes
    const files = expectOk(await runTusk(['list', 'file', 'up@master:/', '--json'], look)).json() as { path: string }[];
    expect(files.map((f) => f.path)).toEqual(Array.from({ length: N }, (_, i) => `/${name(i)}`));
    const out = path.join(mk(), 'out');
    expectOk(await runTusk(['get', 'file', '-r', 'up@master:/', '-o', out, '--json'], look));
    for (let i = 0; i < N; i++) expect(fs.readFileSync(path.join(out, name(i)), 'utf8')).toBe(`out ${i}\n`);

    // list datum names the worker of each, and that worker's log has the datum's success
    const datums = expectOk(await runTusk(['list', 'datum', `up@${job!.id}`, '--json'], look)).json() as { id: string; state: string; attempts: number; worker: string }[];
    expect(datums.length).toBe(N);
    expect(datums.every((d) => d.state === 'success')).toBe(true);
    // a datum runs again only where a worker gave it back (a unit that kept meeting the other's
    // writes is a busy store: docs/team.md); whatever it took, one attempt succeeded
    const again = datums.filter((d) => d.attempts !== 1);
    const events = ended.map((r) => r.stderr.split('\n').filter((l) => !/ success \d+ms$/.test(l)));
    for (const d of again) {
      const log = expectOk(await runTusk(['inspect', 'datum', `up@${job!.id}`, d.id, '--json'], look)).json().attemptLog as { outcome: string | null; worker: string }[];
      expect(log.filter((a) => a.outcome === 'success'), JSON.stringify({ log, events })).toEqual([expect.objectContaining({ worker: d.worker })]);
    }
    ended.forEach((r, k) => {
      const logged = r.stderr.split('\n').filter((l) => l.includes(` ${ids[k]} up@${job!.id} `) && / success \d+ms$/.test(l)).map((l) => l.split(' ')[3]!);
      const named = datums.filter((d) => d.worker === ids[k]).map((d) => d.id.slice(0, 12));
      expect(named.filter((d) => !logged.includes(d))).toEqual([]);
      expect(named.length, `worker ${ids[k]} ran none of the datums`).toBeGreaterThan(0);
    });
    expect(datums.every((d) => ids.includes(d.worker))).toBe(true);
    // each machine fetched inputs into its own input cache
    for (const c of caches) expect(fs.readdirSync(path.join(clientDirFor(url, { XDG_CACHE_HOME: c }), 'cache')).length).toBeGreaterThan(0);
  }, 240_000);

  it('tusk worker on a team store, one SIGKILLed mid-job: its datums are taken over once their lease runs out, every output exactly once', async () => {
    const url = await server.freshDatabase();
    const N = 24;
    const base = { ...servers.s3.env, TUSK_STORE: url, TUSK_RUNNER: 'none' };
    const look = { cwd: mk(), env: { ...base, XDG_CACHE_HOME: mk() } };
    expectOk(await runTusk(['init', ...packsArgs('faults'), '--json'], look));
    const src = mk();
    const name = (i: number) => `f${String(i).padStart(5, '0')}`;
    for (let i = 0; i < N; i++) fs.writeFileSync(path.join(src, name(i)), `${i}\n`);
    expectOk(await runTusk(['create', 'repo', 'in', '--json'], look));
    expectOk(await runTusk(['put', 'file', '-r', 'in@master:/', '-f', src, '--json'], look));
    const spec = path.join(mk(), 'spec.json');
    fs.writeFileSync(spec, JSON.stringify({ pipeline: { name: 'up' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'f=$(ls /pfs/in); sleep 0.2; echo "out $(cat /pfs/in/$f)" > /pfs/out/$f'] } }));
    expectOk(await runTusk(['create', 'pipeline', '-f', spec, '--json'], look));
    const env = (c: string) => ({ ...servers.s3.env, TUSK_STORE: url, XDG_CACHE_HOME: c, TUSK_DATUM_LEASE_MS: '2000' });
    const victim = startWorker(mk(), ['--concurrency', '1'], env(mk()), 150_000);
    const successes = (log: string) => log.split('\n').filter((l) => / success \d+ms$/.test(l)).map((l) => l.split(' ')[3]!);
    // killed once it has finished some datums and holds the rest of its claimed batch
    await waitUntil('the victim running datums', async () => successes(victim.stderr()).length, (n) => n >= 2, 90_000);
    victim.kill('SIGKILL');
    const killed = await victim.done;
    expect(killed.code).toBe(137);
    const dead = /^worker (\S+) started$/m.exec(killed.stderr)![1]!;
    const survivor = await startWorker(mk(), ['--concurrency', '1', '--exit-when-idle', '1'], env(mk()), 150_000).done;
    expect(survivor.code, survivor.stderr.slice(-2000)).toBe(0);
    const alive = /^worker (\S+) started$/m.exec(survivor.stderr)![1]!;

    type Job = { id: string; state: string; processed: number; total: number; reason: string | null };
    const [job] = expectOk(await runTusk(['list', 'job', '-p', 'up', '--json'], look)).json() as Job[];
    expect(job, job?.reason ?? '').toMatchObject({ state: 'JOB_SUCCESS', total: N });
    const out = path.join(mk(), 'out');
    expectOk(await runTusk(['get', 'file', '-r', 'up@master:/', '-o', out, '--json'], look));
    expect(fs.readdirSync(out).sort()).toEqual(Array.from({ length: N }, (_, i) => name(i)));
    for (let i = 0; i < N; i++) expect(fs.readFileSync(path.join(out, name(i)), 'utf8')).toBe(`out ${i}\n`);
    const datums = expectOk(await runTusk(['list', 'datum', `up@${job!.id}`, '--json'], look)).json() as { id: string; state: string; attempts: number; worker: string }[];
    expect(datums.every((d) => d.state === 'success')).toBe(true);
    // those the victim held when it died ran again on the survivor; nothing ran to success twice
    const retaken = datums.filter((d) => d.attempts === 2);
    expect(retaken.length).toBeGreaterThan(0);
    expect(retaken.every((d) => d.worker === alive)).toBe(true);
    const all = [...successes(killed.stderr), ...successes(survivor.stderr)];
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeLessThanOrEqual(N);
    for (const p of successes(survivor.stderr)) expect(datums.find((d) => d.id.startsWith(p))!.worker).toBe(alive);
    expect(datums.every((d) => d.worker === alive || (d.worker === dead && d.attempts === 1))).toBe(true);
  }, 240_000);

  it('bad input is a clear error, exits non-zero and changes nothing', async () => {
    const url = await server.freshDatabase();
    const env = { ...servers.s3.env, XDG_CACHE_HOME: mk(), TUSK_RUNNER: 'none' };
    const team = mk();
    expectOk(await runTusk(['init', '--metadata', url, ...packsArgs('bad'), '--json'], { cwd: team, env }));
    expectOk(await runTusk(['create', 'repo', 'r', '--json'], { cwd: team, env }));
    expectOk(await runTusk(['put', 'file', 'r@master:/there.txt', '--json'], { cwd: team, env, input: 'here\n' }));
    const before = await tableCounts(url);
    const opts = { cwd: team, env };
    await expectCliError(['put', 'file', 'nope@master:/a', '-f', path.join(team, '.tusk', 'metadata.json')], { exit: 4, code: 'E_NOT_FOUND', mentions: ['nope'] }, opts);
    await expectCliError(['get', 'file', 'r@master:/missing.txt', '-o', path.join(team, 'out.txt')], { exit: 4, code: 'E_NOT_FOUND', mentions: ['missing.txt'] }, opts);
    await expectCliError(['put', 'file', 'r@master:/../up.txt', '-f', path.join(team, '.tusk', 'metadata.json')], { exit: 2, code: 'E_INVALID', mentions: ['..'] }, opts);
    expect(await tableCounts(url)).toEqual(before);

    // a database that holds no store: nothing is written to it
    const empty = await server.freshDatabase();
    await expectCliError(['list', 'repo'], { exit: 4, code: 'E_NOT_FOUND', mentions: [empty] }, { cwd: mk(), env: { ...env, TUSK_STORE: empty } });
    expect((await tableCounts(empty)).repos).toBe(-1);
    // init --metadata without --packs on such a database: told to name them, nothing made
    const where = mk();
    await expectCliError(['init', '--metadata', empty], { exit: 2, code: 'E_INVALID', mentions: ['--packs'] }, { cwd: where, env });
    expect(fs.readdirSync(where)).toEqual([]);
    expect((await tableCounts(empty)).repos).toBe(-1);
    // a bucket that cannot be reached: the database is left as it was
    await expectJsonError(['init', '--metadata', empty, '--packs', 's3://missing-bucket/x', '--endpoint', servers.s3.endpoint, '--path-style'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['missing-bucket'] }, { cwd: where, env });
    expect((await tableCounts(empty)).repos).toBe(-1);
    expect(fs.readdirSync(where)).toEqual([]);

    // an unreachable database: E_IO naming host and port, the password masked
    const port = await closedPort();
    const down = `postgres://tusk:hunter2@127.0.0.1:${port}/meta`;
    const e1 = await expectCliError(['list', 'repo'], { exit: 1, code: 'E_IO', mentions: [`127.0.0.1:${port}`, 'tusk:***@'] }, { cwd: mk(), env: { ...env, TUSK_STORE: down } });
    expect(JSON.stringify(e1)).not.toContain('hunter2');
    const e2 = await expectCliError(['init', '--metadata', down, ...packsArgs('down')], { exit: 1, code: 'E_IO', mentions: [`127.0.0.1:${port}`] }, { cwd: where, env });
    expect(JSON.stringify(e2)).not.toContain('hunter2');
    expect(fs.readdirSync(where)).toEqual([]);
    // not a PostgreSQL URL
    await expectCliError(['init', '--metadata', 'mysql://root:hunter2@h/d', ...packsArgs('x')], { exit: 2, code: 'E_INVALID', mentions: ['mysql://root:***@h/d'] }, { cwd: where, env });
    // a local store's directory is not a client directory
    const localDir = mk();
    expectOk(await runTusk(['init', '--json'], { cwd: localDir, env }));
    await expectCliError(['init', '--metadata', url], { exit: 2, code: 'E_INVALID', mentions: ['meta.db'] }, { cwd: localDir, env });
    expect(fs.existsSync(path.join(localDir, '.tusk', 'metadata.json'))).toBe(false);
  }, 120_000);
});

const secured = usePostgres({ password: 'pa55-Word' });
describe.skipIf(skip)(`a team store whose database wants a password${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  it('the password comes from the URL given or PGPASSWORD, is never written, and a wrong one is E_LOCKED, masked', async () => {
    const url = await secured.freshDatabase();
    const bare = url.replace(':pa55-Word@', '@');
    const env = { ...servers.s3.env, XDG_CACHE_HOME: mk(), TUSK_RUNNER: 'none', PGPASSWORD: undefined };
    const team = mk();
    const init = expectOk(await runTusk(['init', '--metadata', url, '--packs', 's3://tusk/secured', '--endpoint', servers.s3.endpoint, '--path-style', '--json'], { cwd: team, env }));
    expect(init.stdout).not.toContain('pa55-Word');
    expect(init.json().metadata).toBe(bare);
    for (const f of fs.readdirSync(path.join(team, '.tusk')).filter((f) => f.endsWith('.json'))) expect(fs.readFileSync(path.join(team, '.tusk', f), 'utf8')).not.toContain('pa55-Word');
    // the client directory names the database without the password: PGPASSWORD supplies it
    expectOk(await runTusk(['create', 'repo', 'r', '--json'], { cwd: team, env: { ...env, PGPASSWORD: 'pa55-Word' } }));
    // without it the login is refused
    await expectCliError(['list', 'repo'], { exit: 6, code: 'E_LOCKED', mentions: [bare] }, { cwd: team, env });
    // a wrong password in the URL: refused, and masked
    const wrong = url.replace(':pa55-Word@', ':WRONG-secret@');
    const e = await expectCliError(['list', 'repo'], { exit: 6, code: 'E_LOCKED', mentions: ['tusk:***@'] }, { cwd: mk(), env: { ...env, TUSK_STORE: wrong } });
    expect(JSON.stringify(e)).not.toContain('WRONG-secret');
    // the right one in TUSK_STORE
    expect(expectOk(await runTusk(['list', 'repo', '--json'], { cwd: mk(), env: { ...env, TUSK_STORE: url } })).json().map((r: { name: string }) => r.name)).toEqual(['r']);
  }, 120_000);
});
