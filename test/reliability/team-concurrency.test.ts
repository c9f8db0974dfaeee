// Concurrency on a team store (metadata in PostgreSQL, packs in s3rver): the properties of
// concurrency.test.ts, with every process opening the store as the CLI does (TUSK_STORE naming its
// database). 8 writer processes × 50 commits to one branch, while reader processes and the CLI
// check every commit they see; 8 writers to different repos, and to different branches of one
// repo; concurrent `tusk put file` processes; gc looping while writers put, drop and re-put shared
// data. Afterwards every acknowledged commit is in its branch's one history, each adding one file,
// the heads hold every file with its bytes, fsck --verify-data is clean, and no conflict reached a
// writer (the units that collide are retried by the database layer, never lost). gc waits for a
// live writer and then refuses with E_LOCKED; and the two races with gc that only a deterministic
// interleaving shows: a reader whose pack object gc rewrites and deletes under it, and a writer
// whose new pack object appears while gc lists the bucket.
// concurrency.test.ts's third race, a writer appending to a pack gc is rewriting, cannot happen
// here: a pack in a bucket is uploaded whole and sealed, and nothing is ever appended to it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTeam } from '../../src/app/team-store.js';
import { gc } from '../../src/store/maintenance.js';
import { PackWriter } from '../../src/store/pack-writer.js';
import { hashBytes, type ChunkId } from '../../src/store/hash.js';
import type { Packs } from '../../src/store/packs.js';
import type { StoreCore } from '../../src/store/store-core.js';
import { expectOk, runTusk } from '../cli/cli-helpers.js';
import { allBytes, readBack, seededBytes, tempDir } from '../helpers.js';
import { useTeamServers } from '../helpers/team-servers.js';
import { contentFor, pathFor, poolContent } from './fixtures/content.mjs';
import { recordFigures, scaled } from './rel-helpers.js';
import { chain, expectChain, expectClean, expectFsckAndBytes, node, ready, type OpenStore, type Proc } from './writer-checks.js';

const WRITERS = 8;
/** one branch: the requirement's 8 writers × 50 commits, in `npm test` too */
const COMMITS = 50;
/** different repos, different branches, gc during writes: as many as concurrency.test.ts runs */
const SPREAD_COMMITS = scaled(8, 50);
const CLI_WRITERS = scaled(3, 8);
const CLI_COMMITS = scaled(2, 12);

const teams = useTeamServers();
let work: string;
let stores = 0;
const figures: Record<string, unknown> = {};

beforeAll(() => {
  work = tempDir('tusk-team-conc-');
  if (teams.skip) return;
  // s3rver's credentials, for the checks this process makes through its own client directory
  for (const [k, v] of Object.entries(teams.s3.env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});
afterAll(() => {
  if (Object.keys(figures).length) recordFigures('team-concurrency', figures);
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

interface TeamStore {
  url: string;
  /** the environment every process of the test gets: TUSK_STORE, the bucket's credentials, a cache dir */
  env: Record<string, string | undefined>;
  /** the store opened in this process, through a client directory of its own */
  open: OpenStore;
}

/** A team store in a fresh database and under a bucket prefix of its own, made with `tusk init`. */
async function newStore(repos: string[]): Promise<TeamStore> {
  const n = ++stores;
  const url = await teams.server.freshDatabase();
  // TUSK_RUNNER=none: no pipeline, no background runner to start
  const env = { ...teams.s3.env, TUSK_STORE: url, XDG_CACHE_HOME: path.join(work, `cache-${n}`), TUSK_RUNNER: 'none' };
  expectOk(await runTusk(['init', '--packs', `s3://tusk/conc-${n}`, '--endpoint', teams.s3.endpoint, '--path-style', '--json'], { cwd: work, env }));
  for (const r of repos) expectOk(await runTusk(['create', 'repo', r, '--json'], { cwd: work, env }));
  const client = path.join(work, `client-${n}`);
  const open: OpenStore = async (fn) => {
    const { store } = await openTeam({ dir: client, url });
    try {
      return await fn(store);
    } finally {
      store.close();
      await store.core.whenClosed();
    }
  };
  return { url, env, open };
}

/** Start the writers, all at once. */
function writers(t: TeamStore, commits: number, cfg: (w: number) => { repo: string; branch: string; mode?: string; pauseMs?: number }, n = WRITERS): Promise<Proc>[] {
  return Array.from({ length: n }, (_, w) => node('writer.mjs', [t.url, JSON.stringify({ mode: 'put', ...cfg(w), writer: w, commits })], t.env));
}

const skipped = teams.skip ? ` (skipped: ${teams.server.missing})` : '';

describe.skipIf(teams.skip).sequential(`a team store under ${WRITERS} writer processes${skipped}`, () => {
  it(`× ${COMMITS} commits to one branch, with readers (processes and the CLI) checking every commit they see: every acknowledged commit in its history, with its bytes; fsck clean`, async () => {
    const t = await newStore(['same']);
    const stop = path.join(work, 'stop-same');
    const readers = [node('reader.mjs', [t.url, 'same', 'master', stop], t.env), node('reader.mjs', [t.url, 'same', 'master', stop], t.env)];
    await ready(stop, 2);
    const started = Date.now();
    let done = false;
    const all = Promise.all(writers(t, COMMITS, () => ({ repo: 'same', branch: 'master' }))).finally(() => (done = true));
    // the CLI while the writers run: list commit, then get a file of the commit listed
    const cli = { lists: 0, gets: 0 };
    const cliReader = (async () => {
      while (!done) {
        const r = await runTusk(['list', 'commit', 'same@master', '--json'], { cwd: work, env: t.env, timeoutMs: 60_000 });
        if (r.code === 4) continue; // no commit yet
        expect(r.code, r.describe()).toBe(0);
        const list = r.json<{ id: string; finished: string | null; files: number }[]>();
        cli.lists++;
        for (const [i, c] of list.entries()) {
          expect(c.finished, `listed commit ${c.id} is finished`).not.toBeNull();
          expect(c.files, `listed commit ${c.id} holds one file per commit of its history`).toBe(list.length - i);
        }
        if (list.length === 0) continue;
        const files = await runTusk(['list', 'file', `same@${list[0]!.id}:/w*/*`, '--json'], { cwd: work, env: t.env });
        expect(files.code, files.describe()).toBe(0);
        const one = files.json<{ path: string }[]>()[0]!;
        const m = /^\/w(\d+)\/c(\d+)\.bin$/.exec(one.path)!;
        const get = await runTusk(['get', 'file', `same@${list[0]!.id}:${one.path}`], { cwd: work, env: t.env });
        expect(get.code, get.describe()).toBe(0);
        expect(get.stdoutBytes.equals(contentFor(Number(m[1]), Number(m[2])))).toBe(true);
        cli.gets++;
      }
    })();
    const ps = await all;
    const ms = Date.now() - started;
    fs.writeFileSync(stop, '');
    await cliReader;
    const rs = await Promise.all(readers);
    expectClean(ps);
    for (const p of ps) expect(p.lines.length).toBe(COMMITS);
    for (const r of rs) expect(r.lines[0].problems).toEqual([]);
    await expectChain(t.open, 'same', 'master', ps, [...Array(WRITERS).keys()], COMMITS);
    await expectFsckAndBytes(t.open, [{ repo: 'same', branch: 'master', who: [...Array(WRITERS).keys()], commits: COMMITS }]);
    // and as a user sees it: the whole head through `get file -r`, fsck through the CLI
    const out = path.join(work, 'out-same');
    expectOk(await runTusk(['get', 'file', '-r', 'same@master:/', '-o', out, '--json'], { cwd: work, env: t.env, timeoutMs: 60_000 }));
    for (let w = 0; w < WRITERS; w++)
      for (let k = 0; k < COMMITS; k++) expect(fs.readFileSync(path.join(out, pathFor(w, k))).equals(contentFor(w, k)), pathFor(w, k)).toBe(true);
    expect(expectOk(await runTusk(['fsck', '--json'], { cwd: work, env: t.env, timeoutMs: 60_000 })).json().problems).toEqual([]);
    figures.sameBranch = {
      commits: WRITERS * COMMITS,
      ms,
      readerRounds: rs.reduce((n, r) => n + r.lines[0].commitsChecked, 0),
      readerFilesRead: rs.reduce((n, r) => n + r.lines[0].filesRead, 0),
      cliListCommits: cli.lists,
      cliGets: cli.gets,
    };
  }, 600_000);

  it(`× ${SPREAD_COMMITS} commits to different repos: every commit present, no conflict reaches a writer, fsck clean`, async () => {
    const t = await newStore(Array.from({ length: WRITERS }, (_, w) => `r${w}`));
    const started = Date.now();
    const ps = await Promise.all(writers(t, SPREAD_COMMITS, (w) => ({ repo: `r${w}`, branch: 'master' })));
    expectClean(ps);
    for (let w = 0; w < WRITERS; w++) await expectChain(t.open, `r${w}`, 'master', [ps[w]!], [w], SPREAD_COMMITS);
    await expectFsckAndBytes(t.open, Array.from({ length: WRITERS }, (_, w) => ({ repo: `r${w}`, branch: 'master', who: [w], commits: SPREAD_COMMITS })));
    figures.differentRepos = { commits: WRITERS * SPREAD_COMMITS, ms: Date.now() - started };
  }, 300_000);

  it(`× ${SPREAD_COMMITS} commits to different branches of one repo (branches created by their first put)`, async () => {
    const t = await newStore(['shared']);
    const started = Date.now();
    const ps = await Promise.all(writers(t, SPREAD_COMMITS, (w) => ({ repo: 'shared', branch: `b${w}` })));
    expectClean(ps);
    for (let w = 0; w < WRITERS; w++) await expectChain(t.open, 'shared', `b${w}`, [ps[w]!], [w], SPREAD_COMMITS);
    await expectFsckAndBytes(t.open, Array.from({ length: WRITERS }, (_, w) => ({ repo: 'shared', branch: `b${w}`, who: [w], commits: SPREAD_COMMITS })));
    figures.differentBranches = { commits: WRITERS * SPREAD_COMMITS, ms: Date.now() - started };
  }, 300_000);

  it(`the CLI: ${CLI_WRITERS} \`tusk put file\` processes × ${CLI_COMMITS} to one branch`, async () => {
    const t = await newStore(['c']);
    const src = path.join(work, 'cli-src');
    fs.mkdirSync(src);
    const acked: { commit: string }[] = [];
    const one = async (w: number) => {
      for (let k = 0; k < CLI_COMMITS; k++) {
        const f = path.join(src, `w${w}-c${k}.bin`);
        fs.writeFileSync(f, contentFor(w, k));
        const r = await runTusk(['put', 'file', `c@master:${pathFor(w, k)}`, '-f', f, '--json'], { cwd: work, env: t.env, timeoutMs: 60_000 });
        expect(r.code, r.describe()).toBe(0);
        acked.push({ commit: r.json<{ commit: string }>().commit });
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: CLI_WRITERS }, (_, w) => one(w)));
    await expectChain(t.open, 'c', 'master', [{ code: 0, stderr: '', ms: 0, lines: acked }], [...Array(CLI_WRITERS).keys()], CLI_COMMITS);
    await t.open(async (s) => expect((await s.fsck()).problems).toEqual([]));
    figures.cliSameBranch = { commits: CLI_WRITERS * CLI_COMMITS, ms: Date.now() - started };
  }, 300_000);

  it('gc looping while writers put, drop and re-put shared data: nothing a commit refers to is ever deleted', async () => {
    const t = await newStore(Array.from({ length: WRITERS / 2 }, (_, w) => `g${w}`));
    const stop = path.join(work, 'stop-gc');
    // writers pause a little between commits, so gc finds moments without a write session and
    // sweeps between them, while dropped pool data (garbage) is about to be put again
    const gcLoop = node('gc-loop.mjs', [t.url, stop, '2000'], t.env);
    await ready(stop, 1);
    const started = Date.now();
    const ps = await Promise.all(writers(t, SPREAD_COMMITS, (w) => ({ repo: `g${w}`, branch: 'master', mode: 'churn', pauseMs: 30 }), WRITERS / 2));
    fs.writeFileSync(stop, '');
    const g = (await gcLoop).lines[0];
    expectClean(ps);
    expect(g.errors).toEqual([]);
    expect(g.swept, 'gc swept at least once while the writers ran').toBeGreaterThan(0);
    await t.open(async (s) => {
      expect((await s.fsck({ verifyData: true })).problems).toEqual([]);
      for (let w = 0; w < WRITERS / 2; w++) {
        for (let k = 0; k < SPREAD_COMMITS; k++) expect((await readBack(s, { repo: `g${w}`, branch: 'master', path: pathFor(w, k) })).equals(contentFor(w, k))).toBe(true);
        // the kept pool commits (even k) still read, at their own commits
        for (const l of ps[w]!.lines.filter((x) => x.pool)) expect((await readBack(s, { repo: `g${w}`, commit: l.pool, path: '/pool.bin' })).equals(poolContent(l.k))).toBe(true);
      }
      // a final gc with no writers reclaims everything the dropped commits left
      const final = await s.gc({ waitMs: 0 });
      expect((await s.fsck({ verifyData: true })).problems).toEqual([]);
      figures.gcDuringWrites = { writers: WRITERS / 2, keptCommits: ps.reduce((n, p) => n + p.lines.length, 0), ms: Date.now() - started, gcRuns: g.runs, gcSwept: g.swept, gcRefused: g.refused, gcChunksRemoved: g.chunksRemoved, finalChunksRemoved: final.chunksRemoved };
    });
  }, 300_000);

  it('gc refuses (E_LOCKED) while a live write session is registered, after waiting; the CLI runs once it ends', async () => {
    const t = await newStore(['r']);
    await t.open(async (s) => {
      await s.core.index.addWriter('held-by-test'); // this process is alive: the session is live
      let err: (Error & { code?: string }) | undefined;
      try {
        await s.gc({ waitMs: 300 });
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.code).toBe('E_LOCKED');
      expect(err?.message).toContain('1 write is in progress');
      // the CLI waits (GC_WAIT_MS) too; a session that ends meanwhile lets it run
      const cli = runTusk(['gc', '--json'], { cwd: work, env: t.env });
      await new Promise((r) => setTimeout(r, 700));
      await s.core.index.removeWriter('held-by-test');
      expectOk(await cli);
    });
  }, 120_000);
});

/**
 * A store core whose pack contract runs `hook` once, the first time `when` matches a call, and
 * makes the call once the hook's promise settles. Asynchronously: s3rver answers in this process.
 */
function hooked(core: StoreCore, when: (op: keyof Packs, args: unknown[]) => boolean, hook: () => Promise<void>): StoreCore {
  let fired = false;
  const packs = new Proxy(core.packs, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const call = () => (v as (...a: unknown[]) => unknown).apply(target, args);
        if (fired || !when(prop as keyof Packs, args)) return call();
        fired = true;
        // a listing is an async iterable: it starts once the hook is done
        if (prop === 'list') return (async function* () { await hook(); yield* call() as AsyncIterable<string>; })();
        return hook().then(call);
      };
    },
  });
  return { ...core, packs } as StoreCore;
}

describe.skipIf(teams.skip)(`gc races on a team store, made deterministic${skipped}`, () => {
  /** A store with one pack object that is mostly garbage (gc rewrites it) holding a live file. */
  async function sparseStore(): Promise<{ t: TeamStore; live: Buffer; pack: string }> {
    const t = await newStore(['r']);
    const live = seededBytes(300 * 1024, 5);
    const pack = await t.open(async (s) => {
      const put = (branch: string, files: [string, Buffer][]) =>
        s.putFiles({ repo: 'r', branch }, files.map(([repoPath, data]) => ({ kind: 'stream' as const, repoPath, stream: (async function* () { yield data; })() as unknown as NodeJS.ReadableStream })));
      // one put is one pack object: the live file goes in with the dropped one
      const both = await put('tmp', [['/live.bin', live], ['/dropped.bin', seededBytes(2 * 1024 * 1024, 6)]]);
      await put('master', [['/live.bin', live]]);
      await s.deleteCommit({ repo: 'r', commit: both.commit });
      const packs = await s.core.index.listPacks();
      expect(packs.length, 'the master put found its chunks in the first put\'s pack object').toBe(1);
      return packs[0]!.name;
    });
    return { t, live, pack };
  }

  it('a reader whose chunk gc moves to a rewritten pack object (deleting the old one) between lookup and read still gets the bytes', async () => {
    const { t, live, pack } = await sparseStore();
    await t.open(async (reader) => {
      let report: { packsRewritten: number } | undefined;
      // the reader has looked the chunk up (in `pack`) and is about to read it: gc runs right then,
      // to its end, in another process
      const core = hooked(reader.core, (op, args) => (op === 'getRange' || op === 'get') && args[0] === pack, async () => {
        report = expectOk(await runTusk(['gc', '--json'], { cwd: work, env: t.env })).json<{ packsRewritten: number }>();
      });
      const { readContent } = await import('../../src/store/content-io.js');
      const bytes = await allBytes(readContent(core.index, core.packs, hashBytes(live) as never, { describe: () => 'r:/live.bin' }));
      expect(report?.packsRewritten).toBe(1);
      expect(bytes.equals(live)).toBe(true);
    });
  });

  it("gc's sweep of unknown pack objects never deletes a pack a writer created a moment before", async () => {
    const t = await newStore(['r']);
    await t.open(async (g) =>
      t.open(async (w) => {
        const data = seededBytes(100 * 1024, 9);
        const id = hashBytes(data) as ChunkId;
        const writer = new PackWriter(w.core.index, w.core.packs, 'race-writer');
        // gc lists the bucket to find the objects no row knows: right before, a writer starts,
        // claims a new pack and uploads it, and is still running when gc reads the pack rows
        const core = hooked(g.core, (op) => op === 'list', async () => {
          await w.core.index.addWriter('race-writer');
          writer.add(id, data);
          await writer.publish();
        });
        const report = await gc(core, { waitMs: 0 });
        expect(report.removedPacks).toEqual([]);
        await writer.sync();
        await w.core.unitOfWork(async () => {
          await writer.record();
          await w.core.index.removeWriter('race-writer');
        });
        await writer.close(false);
        const { readChunk } = await import('../../src/store/content-io.js');
        expect((await readChunk(w.core.index, w.core.packs, id, { describe: () => 'the new chunk' })).equals(data)).toBe(true);
      }),
    );
  });
});
