// Crash safety on a team store (metadata in PostgreSQL, packs in s3rver): the properties of
// crash.test.ts, through the built CLI. `tusk put file` (one large file, many small files, append,
// into an open commit), `tusk delete file`, `tusk finish commit` and `tusk gc` are killed with
// SIGKILL at the write path's named points (TUSK_CRASH_AT, src/store/crash-points.ts) that a team
// store passes through, and at random delays. Each kill starts from a fresh database and bucket
// prefix holding the same template (a database cannot be copied as a store directory is). After
// every kill:
//   - every commit acknowledged before the command is still there, finished as it was;
//   - fsck (with --verify-data) is clean, and every branch points at an existing, complete commit;
//   - the store holds exactly the history before the command, or exactly the history after it
//     (nothing half-visible), compared with reference stores that ran it without a crash;
//   - every content of every commit reads back byte-identical to the source;
//   - the same command run again succeeds (finish commit, delete file: succeeds, or says the commit
//     already finished, the file is not there),
//     and gc afterwards keeps every commit and leaves fsck --verify-data clean;
//   - gc brings the pack objects under the store's prefix to within 1% of the bytes of the
//     reference store that never saw the crash: the killed command's objects (complete, or a pack
//     without its sums) and its pack rows are reclaimed.
// What crash.test.ts checks and has no meaning here: pack tails cut by gc and writer rows left
// behind are a local pack file's and meta.db's (a staged pack is a file of the client directory,
// uploaded whole, never appended to once in the bucket; a killed writer's row is found dead by
// its pid and lease, which `gc` shows by running at all); the metadata's size on disk is the server's.
// `npm test` runs a sample of points; TUSK_STRESS=1 runs them all, and more random kills.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTeam, openTeam } from '../../src/app/team-store.js';
import type { Store } from '../../src/store/store.js';
import { runTusk, type TuskResult } from '../cli/cli-helpers.js';
import { seededBytes, tempDir } from '../helpers.js';
import { useTeamServers } from '../helpers/team-servers.js';
import { addSource, logicalState, recordFigures, STRESS, textBytes, verifyContents } from './rel-helpers.js';

const MiB = 1 << 20;
const teams = useTeamServers();

interface Scenario {
  name: string;
  args: (work: string) => string[];
  /** TUSK_CRASH_AT values that must kill it (all under TUSK_STRESS) */
  points: string[];
  /** the ones `npm test` runs */
  sample: string[];
  /** kills at random delays in `npm test` (ten under TUSK_STRESS) */
  randomSample: number;
  /** the exit status of a second run after one that took effect, where that is an error and changes nothing (finish commit: a conflict; delete file: not found) */
  doneAgain?: number;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'large file',
    args: (w) => ['put', 'file', 'r@master:/big/large.bin', '-f', path.join(w, 'large.bin')],
    points: ['mid-pack-write:1', 'mid-pack-write:3', 'mid-pack-upload', 'after-pack-sync', 'before-commit-txn', 'in-commit-txn', 'after-commit-txn'],
    sample: ['mid-pack-write:1', 'mid-pack-upload', 'in-commit-txn'],
    randomSample: 1,
  },
  {
    name: 'many small files',
    args: (w) => ['put', 'file', '-r', 'r@master:/many', '-f', path.join(w, 'small')],
    points: ['mid-pack-write:1', 'mid-pack-upload', 'after-pack-sync', 'before-commit-txn', 'in-commit-txn', 'after-commit-txn'],
    sample: ['after-pack-sync'],
    randomSample: 0,
  },
  {
    name: 'append',
    args: (w) => ['put', 'file', '-a', 'r@master:/log.bin', '-f', path.join(w, 'append.bin')],
    points: ['mid-pack-write:1', 'mid-pack-upload', 'after-pack-sync', 'in-commit-txn', 'after-commit-txn'],
    sample: ['after-commit-txn'],
    randomSample: 0,
  },
  {
    name: 'put into an open commit',
    args: (w) => ['put', 'file', 'o@master:/open/y.bin', '-f', path.join(w, 'y.bin')],
    points: ['mid-pack-write:1', 'mid-pack-upload', 'after-pack-sync', 'in-commit-txn', 'after-commit-txn'],
    sample: ['in-commit-txn'],
    randomSample: 0,
  },
  {
    // a commit that only removes a path: no pack is written, the unit moves the branch
    name: 'delete file',
    args: () => ['delete', 'file', 'r@master:/big/old.bin'],
    points: ['before-commit-txn', 'in-commit-txn', 'after-commit-txn'],
    sample: ['in-commit-txn'],
    randomSample: 0,
    doneAgain: 4,
  },
  {
    name: 'finish commit',
    args: () => ['finish', 'commit', 'o@master'],
    points: ['in-finish-txn', 'after-finish-txn'],
    sample: ['in-finish-txn'],
    randomSample: 0,
    doneAgain: 3,
  },
];

let work: string;
const sources = new Map<string, string>();
let cases = 0;

/** A team store of its own: a fresh database, a bucket prefix no other store uses, a client directory. */
interface TeamCase {
  dir: string;
  url: string;
  prefix: string;
  /** commits made before the command, each acknowledged: they must all survive it */
  acked: { repo: string; id: string; finished: boolean }[];
}

async function freshCase(name: string): Promise<TeamCase> {
  const n = ++cases;
  const dir = path.join(work, `${name}-${n}`);
  fs.mkdirSync(dir);
  const url = await teams.server.freshDatabase();
  const prefix = `crash-${n}`;
  await initTeam(path.join(dir, '.tusk'), url, { url: `s3://tusk/${prefix}`, endpoint: teams.s3.endpoint, pathStyle: true });
  return { dir, url, prefix, acked: [] };
}

async function withTeam<T>(c: TeamCase, fn: (s: Store) => Promise<T>): Promise<T> {
  const { store } = await openTeam({ dir: path.join(c.dir, '.tusk'), url: c.url });
  try {
    return await fn(store);
  } finally {
    store.close();
    await store.core.whenClosed();
  }
}

/** Bytes of the pack objects (and their sums) under a store's prefix, as s3rver keeps them on disk. */
function bucketBytes(prefix: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('._S3rver_object')) n += fs.statSync(p).size;
    }
  };
  const root = path.join(teams.s3.dir, 'tusk', prefix);
  if (fs.existsSync(root)) walk(root);
  return n;
}

const stream = (data: Buffer) => (async function* () { yield data; })() as unknown as NodeJS.ReadableStream;
let templateData: { old: Buffer; log: Buffer; x: Buffer } | undefined;

/** The source files the commands put, and the template's own data. */
function makeSources(): void {
  const large = Buffer.concat([seededBytes(3 * MiB, 11), textBytes(1 * MiB, 12)]);
  fs.writeFileSync(path.join(work, 'large.bin'), large);
  addSource(sources, large);
  // shares its first 2 MiB with large.bin: the put dedups against existing chunks
  const old = Buffer.concat([large.subarray(0, 2 * MiB), seededBytes(1 * MiB, 13)]);
  const small = path.join(work, 'small');
  for (let i = 0; i < 60; i++) {
    const b = i % 3 === 0 ? textBytes(50 + ((i * 977) % 6000), 2000 + i) : seededBytes(10 + ((i * 7919) % 6000), 1000 + i);
    const p = path.join(small, `d${i % 7}`, `e${i % 3}`, `f${i}.dat`);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, b);
    addSource(sources, b);
  }
  const log = textBytes(512 << 10, 14);
  const append = Buffer.concat([seededBytes(2 * MiB, 15), textBytes(1 * MiB, 16)]);
  fs.writeFileSync(path.join(work, 'append.bin'), append);
  for (const b of [log, Buffer.concat([log, append]), Buffer.concat([log, append, append])]) addSource(sources, b);
  const x = seededBytes(1 * MiB, 17);
  const y = Buffer.concat([seededBytes(2 * MiB, 18), textBytes(1 * MiB, 19)]);
  fs.writeFileSync(path.join(work, 'y.bin'), y);
  for (const b of [old, x, y, Buffer.from('a\n')]) addSource(sources, b);
  templateData = { old, log, x };
}

/** The history every kill starts from: shared chunks, provenance, an open commit. */
async function template(name: string): Promise<TeamCase> {
  const c = await freshCase(name);
  const { old, log, x } = templateData!;
  await withTeam(c, async (s) => {
    const put = async (repo: string, repoPath: string, data: Buffer) => {
      const r = await s.putFiles({ repo, branch: 'master' }, [{ kind: 'stream', repoPath, stream: stream(data) }]);
      c.acked.push({ repo, id: r.commit, finished: repo !== 'o' || repoPath !== '/open/x.bin' });
    };
    await s.createRepo('r');
    await put('r', '/a.txt', Buffer.from('a\n'));
    // downstream of r@master: every commit there also makes an AUTO commit here, in the same unit
    await s.createRepo('down');
    await s.createBranch('down', 'master', { provenance: [{ repo: 'r', branch: 'master' }] });
    await put('r', '/big/old.bin', old);
    await put('r', '/log.bin', log);
    await s.createRepo('o');
    await put('o', '/a.txt', Buffer.from('a\n'));
    await s.startCommit('o', 'master', { description: 'open' });
    await put('o', '/open/x.bin', x);
  });
  return c;
}

/** References: the template with the command run to completion 0, 1, 2 times; state and gc'd bucket bytes. */
interface Reference {
  state: unknown;
  bytes: number;
  /** how long the command's last run took */
  ms: number;
}
const refs = new Map<string, Reference>();

async function reference(sc: Scenario, n: number): Promise<Reference> {
  // the template itself is every scenario's reference 0
  const key = n === 0 ? 'template' : `${sc.name} × ${n}`;
  const known = refs.get(key);
  if (known) return known;
  const c = await template(`ref-${SCENARIOS.indexOf(sc)}-${n}`);
  let ms = 0;
  for (let i = 0; i < n; i++) {
    const t = Date.now();
    const r = await runTusk(sc.args(work), { cwd: c.dir, timeoutMs: 60_000 });
    ms = Date.now() - t;
    const ok = r.code === 0 || (i > 0 && r.code === sc.doneAgain);
    expect(ok, r.describe()).toBe(true);
  }
  const state = await withTeam(c, async (s) => {
    const { state } = await logicalState(s);
    await s.gc({ waitMs: 0 });
    return state;
  });
  const ref = { state, bytes: bucketBytes(c.prefix), ms };
  refs.set(key, ref);
  fs.rmSync(c.dir, { recursive: true, force: true });
  return ref;
}

interface Tally {
  points: number;
  killed: number;
  byPhase: Record<string, number>;
  /** pack-object bytes gc reclaimed when run right after a kill, before any retry */
  orphanBytes: number;
  maxGcDeviation: number;
}
const tallies = new Map<string, Tally>();

/** Every commit acknowledged before the command is still there, finished as it was. */
async function expectAcked(s: Store, c: TeamCase, label: string): Promise<void> {
  for (const a of c.acked) {
    const row = await s.core.graph.getCommit(a.repo, a.id);
    expect(row, `${label}: acknowledged commit ${a.repo}@${a.id} is still there`).toBeDefined();
    // the open commit may be the one `finish commit` finished
    if (a.finished) expect(row!.finished, `${label}: ${a.repo}@${a.id} is finished`).not.toBeNull();
  }
}

function expectSize(t: Tally, c: TeamCase, want: number, label: string): void {
  const size = bucketBytes(c.prefix);
  const deviation = Math.abs(size - want) / want;
  t.maxGcDeviation = Math.max(t.maxGcDeviation, deviation);
  expect(deviation, `${label}: pack objects after gc ${size} bytes vs ${want} for a store that never crashed`).toBeLessThan(0.01);
}

async function killPoint(sc: Scenario, i: number, opts: { crashAt?: string; delayMs?: number }): Promise<void> {
  const label = `${sc.name} #${i} ${opts.crashAt ?? `kill after ${opts.delayMs} ms`}`;
  const c = await template(`pt-${SCENARIOS.indexOf(sc)}-${i}`);
  const r: TuskResult = await runTusk(sc.args(work), {
    cwd: c.dir,
    env: opts.crashAt ? { TUSK_CRASH_AT: opts.crashAt } : {},
    timeoutMs: opts.crashAt ? 60_000 : opts.delayMs,
  });
  const killed = r.code === 137;
  if (opts.crashAt) expect(killed, `${label}: the crash point must be reached: ${r.describe()}`).toBe(true);
  else expect(killed || r.code === 0, `${label}: ${r.describe()}`).toBe(true);

  const before = await reference(sc, 0);
  const after = await reference(sc, 1);
  // fsck as a user runs it, every byte read from the bucket and checked
  const fsck = await runTusk(['fsck', '--verify-data', '--json'], { cwd: c.dir, timeoutMs: 60_000 });
  expect(fsck.code, `${label}: fsck --verify-data after the kill: ${fsck.describe()}`).toBe(0);
  expect(fsck.json().problems, `${label}: fsck --verify-data after the kill`).toEqual([]);
  const n = await withTeam(c, async (s) => {
    await expectAcked(s, c, label);
    const { state, contents } = await logicalState(s);
    const n = JSON.stringify(state) === JSON.stringify(before.state) ? 0 : JSON.stringify(state) === JSON.stringify(after.state) ? 1 : -1;
    if (n < 0) expect(state, `${label}: the store must hold the history before or after the command`).toEqual(after.state);
    await verifyContents(s, contents, sources);
    return n;
  });
  // a command that said yes took effect
  if (!killed) expect(n, `${label}: acknowledged, so its commit is there`).toBe(1);
  const t = tallies.get(sc.name) ?? { points: 0, killed: 0, byPhase: {}, orphanBytes: 0, maxGcDeviation: 0 };
  tallies.set(sc.name, t);
  t.points++;
  if (killed) t.killed++;
  const phase = !killed ? 'completed' : n === 1 ? 'after commit' : 'before commit';
  t.byPhase[phase] = (t.byPhase[phase] ?? 0) + 1;

  // Half the points collect garbage first: gc alone must reclaim what the killed command left
  // (uploaded pack objects, a pack without its sums, the rows of packs it claimed). The other half
  // retry at once.
  if (i % 2 === 1) {
    const ref = await reference(sc, n);
    const bytes = bucketBytes(c.prefix);
    await withTeam(c, async (s) => {
      await s.gc({ waitMs: 0 });
      expect((await s.fsck()).problems, `${label}: fsck after gc`).toEqual([]);
    });
    t.orphanBytes += Math.max(0, bytes - bucketBytes(c.prefix));
    expectSize(t, c, ref.bytes, label);
  }

  // the same command again, through the CLI
  const retry = await runTusk(sc.args(work), { cwd: c.dir, timeoutMs: 60_000 });
  if (sc.doneAgain !== undefined && n === 1) expect(retry.code, `${label}: retry: ${retry.describe()}`).toBe(sc.doneAgain);
  else expect(retry.code, `${label}: retry: ${retry.describe()}`).toBe(0);
  const ref = await reference(sc, sc.doneAgain !== undefined ? 1 : n + 1);
  await withTeam(c, async (s) => {
    const { state, contents } = await logicalState(s);
    expect(state, `${label}: after the retry`).toEqual(ref.state);
    await s.gc({ waitMs: 0 });
    expect((await s.fsck({ verifyData: true })).problems, `${label}: fsck --verify-data after gc`).toEqual([]);
    expect((await logicalState(s)).state, `${label}: gc keeps every commit`).toEqual(ref.state);
    await expectAcked(s, c, label);
    await verifyContents(s, contents, sources);
  });
  expectSize(t, c, ref.bytes, label);
  fs.rmSync(c.dir, { recursive: true, force: true });
}

beforeAll(async () => {
  work = tempDir('tusk-team-crash-');
  if (teams.skip) return;
  // the credentials of s3rver, for this process (the template) and every tusk it spawns;
  // TUSK_RUNNER=none: no pipeline here, no background runner to start
  for (const [k, v] of Object.entries({ ...teams.s3.env, TUSK_RUNNER: 'none' })) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  makeSources();
}, 120_000);

afterAll(() => {
  const total = { points: 0, killed: 0, byPhase: {} as Record<string, number>, orphanBytesReclaimed: 0, maxGcDeviationPct: 0 };
  for (const t of tallies.values()) {
    total.points += t.points;
    total.killed += t.killed;
    total.orphanBytesReclaimed += t.orphanBytes;
    total.maxGcDeviationPct = Math.max(total.maxGcDeviationPct, +(t.maxGcDeviation * 100).toFixed(4));
    for (const [k, v] of Object.entries(t.byPhase)) total.byPhase[k] = (total.byPhase[k] ?? 0) + v;
  }
  if (total.points > 0) recordFigures('team-crash', { total, scenarios: Object.fromEntries(tallies) });
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const skipped = teams.skip ? ` (skipped: ${teams.server.missing})` : '';

describe.skipIf(teams.skip).sequential(`crash safety on a team store: SIGKILL at random and at named points${skipped}`, () => {
  for (const sc of SCENARIOS) {
    it(`${sc.name}: named crash points`, async () => {
      for (const [i, p] of (STRESS ? sc.points : sc.sample).entries()) await killPoint(sc, i, { crashAt: p });
    }, 300_000);

    const random = STRESS ? 10 : sc.randomSample;
    if (random > 0)
      it(`${sc.name}: ${random} kill${random === 1 ? '' : 's'} at random delays`, async () => {
        // uniform in [S, T]: S a do-nothing command's duration (node starting, the database and the
        // bucket reached), T the uninterrupted command's, so that the kills land in the write path
        const typical = Math.max(300, (await reference(sc, 1)).ms);
        const c = await template('startup');
        const t = Date.now();
        await runTusk(['list', 'repo'], { cwd: c.dir });
        const startup = Math.min(Date.now() - t, typical * 0.8);
        fs.rmSync(c.dir, { recursive: true, force: true });
        for (let i = 0; i < random; i++) await killPoint(sc, 100 + i, { delayMs: Math.floor(startup + Math.random() * (typical - startup)) });
      }, STRESS ? 1_200_000 : 300_000);
  }
});

describe.skipIf(teams.skip).sequential(`crash safety on a team store: gc killed while it rewrites a pack object${skipped}`, () => {
  // a pack object mostly garbage beside live data, which gc rewrites: one put writes one object,
  // so the live and the dropped file go in together (on another branch), the live one is put on
  // master (its chunks found in that object), and the first commit is dropped
  const live = Buffer.concat([seededBytes(1 * MiB, 98), textBytes(1 * MiB, 97)]);
  const dropped = seededBytes(4 * MiB, 99);
  const later = textBytes(256 << 10, 96);
  const build = async (name: string): Promise<TeamCase> => {
    const c = await freshCase(name);
    await withTeam(c, async (s) => {
      const put = (branch: string, files: [string, Buffer][]) =>
        s.putFiles({ repo: 'r', branch }, files.map(([repoPath, data]) => ({ kind: 'stream' as const, repoPath, stream: stream(data) })));
      await s.createRepo('r');
      const both = await put('tmp', [['/live.bin', live], ['/dropped.bin', dropped]]);
      c.acked.push({ repo: 'r', id: (await put('master', [['/live.bin', live]])).commit, finished: true });
      await s.deleteCommit({ repo: 'r', commit: both.commit });
      c.acked.push({ repo: 'r', id: (await put('master', [['/later.bin', later]])).commit, finished: true });
    });
    return c;
  };
  let want: unknown;
  let wantBytes = 0;

  beforeAll(async () => {
    for (const b of [live, later]) addSource(sources, b);
    const ref = await build('gc-ref');
    want = await withTeam(ref, async (s) => {
      const g = await s.gc({ waitMs: 0 });
      expect(g.packsRewritten, 'the template has a sparse pack object for gc to rewrite').toBeGreaterThan(0);
      return (await logicalState(s)).state;
    });
    wantBytes = bucketBytes(ref.prefix);
  }, 120_000);

  // in-gc-repack: the copy uploaded, before the switch-over; mid-pack-upload: the copy's object
  // uploaded, its sums not
  for (const point of STRESS ? ['in-gc-repack', 'mid-pack-upload'] : ['in-gc-repack']) {
    it(`killed at ${point}: nothing lost, the next gc reclaims`, async () => {
      const c = await build('gc-pt');
      const r = await runTusk(['gc'], { cwd: c.dir, env: { TUSK_CRASH_AT: point }, timeoutMs: 60_000 });
      expect(r.code, `the crash point must be reached: ${r.describe()}`).toBe(137);
      await withTeam(c, async (s) => {
        await expectAcked(s, c, `gc ${point}`);
        expect((await s.fsck({ verifyData: true })).problems, 'fsck --verify-data after the kill').toEqual([]);
        const { state, contents } = await logicalState(s);
        expect(state).toEqual(want);
        await verifyContents(s, contents, sources);
      });
      const again = await runTusk(['gc', '--json'], { cwd: c.dir, timeoutMs: 60_000 });
      expect(again.code, again.describe()).toBe(0);
      await withTeam(c, async (s) => {
        expect((await s.fsck({ verifyData: true })).problems).toEqual([]);
        expect((await logicalState(s)).state).toEqual(want);
      });
      const size = bucketBytes(c.prefix);
      expect(Math.abs(size - wantBytes) / wantBytes, `pack objects after a second gc: ${size} bytes vs ${wantBytes}`).toBeLessThan(0.01);
      const t = tallies.get('gc') ?? { points: 0, killed: 0, byPhase: {}, orphanBytes: 0, maxGcDeviation: 0 };
      tallies.set('gc', t);
      t.points++;
      t.killed++;
      fs.rmSync(c.dir, { recursive: true, force: true });
    }, 300_000);
  }
});
