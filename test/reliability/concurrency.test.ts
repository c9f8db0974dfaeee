// Concurrency: 8 writer processes at once (test/reliability/fixtures/writer.mjs: one process, one
// open store, puts in a loop; the CLI is also run concurrently), to different repos, to different
// branches of one repo and to one branch. Every commit must be there, no busy or lock error may
// reach a writer (SQLite waits, tusk waits), one branch's heads must form a single chain, fsck
// must be clean. Readers running during the writes never see a half-written commit. gc running
// during writes (which drop and re-put data, making garbage that writers want to reuse) never
// deletes anything a commit refers to. And two races with gc that only a deterministic
// interleaving shows: a reader whose pack gc rewrites under it, and a writer whose new pack gc
// lists.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gc } from '../../src/store/maintenance.js';
import { PackWriter } from '../../src/store/pack-writer.js';
import { hashBytes, type ChunkId } from '../../src/store/hash.js';
import type { LocalPackAccess } from '../../src/store/packs.js';
import type { StoreCore } from '../../src/store/store-core.js';
import { REPO_ROOT, runTusk } from '../cli/cli-helpers.js';
import { initStore } from '../../src/store/store.js';
import { allBytes, readBack, seededBytes, tempDir } from '../helpers.js';
import { contentFor, pathFor, poolContent } from './fixtures/content.mjs';
import { open, recordFigures, scaled, withStore, withStoreAsync } from './rel-helpers.js';
import { chain, expectChain, expectClean, expectFsckAndBytes, node, ready, type OpenStore, type Proc } from './writer-checks.js';

const WRITERS = 8;
const COMMITS = scaled(8, 50);
const CLI_WRITERS = scaled(3, 8);
const CLI_COMMITS = scaled(2, 12);

const content = contentFor;
const pathOf = pathFor;
const pool = poolContent;

let work: string;
const figures: Record<string, unknown> = {};

async function newStore(name: string): Promise<{ dir: string; tusk: string; open: OpenStore }> {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  initStore(dir);
  return { dir, tusk: path.join(dir, '.tusk'), open: (fn) => withStoreAsync(dir, fn) };
}

/** Start the writers, all at once. */
function writers(tusk: string, cfg: (w: number) => { repo: string; branch: string; mode?: string; pauseMs?: number }, n = WRITERS): Promise<Proc>[] {
  return Array.from({ length: n }, (_, w) => node('writer.mjs', [tusk, JSON.stringify({ mode: 'put', ...cfg(w), writer: w, commits: COMMITS })]));
}

beforeAll(() => {
  work = tempDir('tusk-conc-');
});

afterAll(() => {
  if (Object.keys(figures).length) recordFigures('concurrency', figures);
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe.sequential(`concurrency: ${WRITERS} writer processes × ${COMMITS} commits`, () => {
  it('to different repos: every commit present, no lock error reaches a writer, fsck clean', async () => {
    const { dir, tusk, open } = await newStore('repos');
    await withStoreAsync(dir, async (s) => {
      for (let w = 0; w < WRITERS; w++) await s.createRepo(`r${w}`);
    });
    const t = Date.now();
    const ps = await Promise.all(writers(tusk, (w) => ({ repo: `r${w}`, branch: 'master' })));
    expectClean(ps);
    for (let w = 0; w < WRITERS; w++) await expectChain(open, `r${w}`, 'master', [ps[w]!], [w], COMMITS);
    await expectFsckAndBytes(open, Array.from({ length: WRITERS }, (_, w) => ({ repo: `r${w}`, branch: 'master', who: [w], commits: COMMITS })));
    figures.differentRepos = { commits: WRITERS * COMMITS, ms: Date.now() - t };
  }, 300_000);

  it('to different branches of one repo (branches created by their first put)', async () => {
    const { dir, tusk, open } = await newStore('branches');
    await withStoreAsync(dir, (s) => s.createRepo('shared'));
    const t = Date.now();
    const ps = await Promise.all(writers(tusk, (w) => ({ repo: 'shared', branch: `b${w}` })));
    expectClean(ps);
    for (let w = 0; w < WRITERS; w++) await expectChain(open, 'shared', `b${w}`, [ps[w]!], [w], COMMITS);
    await expectFsckAndBytes(open, Array.from({ length: WRITERS }, (_, w) => ({ repo: 'shared', branch: `b${w}`, who: [w], commits: COMMITS })));
    figures.differentBranches = { commits: WRITERS * COMMITS, ms: Date.now() - t };
  }, 300_000);

  it('to one branch, with readers (in-process loops and the CLI) checking every commit they see', async () => {
    const { dir, tusk, open } = await newStore('same');
    await withStoreAsync(dir, (s) => s.createRepo('same'));
    const stop = path.join(work, 'stop-same');
    const readers = [node('reader.mjs', [tusk, 'same', 'master', stop]), node('reader.mjs', [tusk, 'same', 'master', stop])];
    await ready(stop, 2);
    const t = Date.now();
    const running = writers(tusk, () => ({ repo: 'same', branch: 'master' }));
    let done = false;
    const all = Promise.all(running).finally(() => (done = true));
    // CLI readers while the writers run: list commit, then get a file of the commit listed
    const cli = { lists: 0, gets: 0 };
    const cliReader = (async () => {
      while (!done) {
        const r = await runTusk(['list', 'commit', 'same@master', '--json'], { cwd: dir });
        if (r.code === 4) continue; // no commit yet
        expect(r.code, r.describe()).toBe(0);
        const list = r.json<{ id: string; finished: string | null; files: number }[]>();
        cli.lists++;
        for (const [i, c] of list.entries()) {
          expect(c.finished, `listed commit ${c.id} is finished`).not.toBeNull();
          expect(c.files, `listed commit ${c.id} holds one file per commit of its history`).toBe(list.length - i);
        }
        if (list.length === 0) continue;
        const files = await runTusk(['list', 'file', `same@${list[0]!.id}:/w*/*`, '--json'], { cwd: dir });
        expect(files.code, files.describe()).toBe(0);
        const one = files.json<{ path: string }[]>()[0]!;
        const m = /^\/w(\d+)\/c(\d+)\.bin$/.exec(one.path)!;
        const get = await runTusk(['get', 'file', `same@${list[0]!.id}:${one.path}`], { cwd: dir });
        expect(get.code, get.describe()).toBe(0);
        expect(get.stdoutBytes.equals(content(Number(m[1]), Number(m[2])))).toBe(true);
        cli.gets++;
      }
    })();
    const ps = await all;
    fs.writeFileSync(stop, '');
    await cliReader;
    const rs = await Promise.all(readers);
    const ms = Date.now() - t;
    expectClean(ps);
    for (const r of rs) expect(r.lines[0].problems).toEqual([]);
    await expectChain(open, 'same', 'master', ps, [...Array(WRITERS).keys()], COMMITS);
    await expectFsckAndBytes(open, [{ repo: 'same', branch: 'master', who: [...Array(WRITERS).keys()], commits: COMMITS }]);
    figures.sameBranch = {
      commits: WRITERS * COMMITS,
      ms,
      readerRounds: rs.reduce((n, r) => n + r.lines[0].commitsChecked, 0),
      readerFilesRead: rs.reduce((n, r) => n + r.lines[0].filesRead, 0),
      cliListCommits: cli.lists,
      cliGets: cli.gets,
    };
  }, 300_000);

  it(`the CLI: ${CLI_WRITERS} \`tusk put file\` processes × ${CLI_COMMITS} to one branch`, async () => {
    const { dir, open } = await newStore('cli');
    await withStoreAsync(dir, (s) => s.createRepo('c'));
    const src = path.join(work, 'cli-src');
    fs.mkdirSync(src);
    const one = async (w: number) => {
      for (let k = 0; k < CLI_COMMITS; k++) {
        const f = path.join(src, `w${w}-c${k}.bin`);
        fs.writeFileSync(f, content(w, k));
        const r = await runTusk(['put', 'file', `c@master:${pathOf(w, k)}`, '-f', f, '--json'], { cwd: dir });
        expect(r.code, r.describe()).toBe(0);
      }
    };
    const t = Date.now();
    await Promise.all(Array.from({ length: CLI_WRITERS }, (_, w) => one(w)));
    await expectChain(open, 'c', 'master', [{ code: 0, stderr: '', ms: 0, lines: (await chain(open, 'c', 'master')).map((x) => ({ commit: x.id })) }], [...Array(CLI_WRITERS).keys()], CLI_COMMITS);
    await withStoreAsync(dir, async (s) => expect((await s.fsck()).problems).toEqual([]));
    figures.cliSameBranch = { commits: CLI_WRITERS * CLI_COMMITS, ms: Date.now() - t };
  }, 300_000);

  it('gc looping while writers put, drop and re-put shared data: nothing a commit refers to is ever deleted', async () => {
    const { dir, tusk } = await newStore('gc');
    await withStoreAsync(dir, async (s) => {
      for (let w = 0; w < WRITERS / 2; w++) await s.createRepo(`g${w}`);
    });
    const stop = path.join(work, 'stop-gc');
    // writers pause a little between commits, so gc finds moments without a write session and
    // sweeps between them, while dropped pool data (garbage) is about to be put again
    const gcLoop = node('gc-loop.mjs', [tusk, stop, '2000']);
    await ready(stop, 1);
    const t = Date.now();
    const ps = await Promise.all(writers(tusk, (w) => ({ repo: `g${w}`, branch: 'master', mode: 'churn', pauseMs: 30 }), WRITERS / 2));
    fs.writeFileSync(stop, '');
    const g = (await gcLoop).lines[0];
    expectClean(ps);
    expect(g.errors).toEqual([]);
    expect(g.swept, 'gc swept at least once while the writers ran').toBeGreaterThan(0);
    await withStoreAsync(dir, async (s) => {
      expect((await s.fsck({ verifyData: true })).problems).toEqual([]);
      for (let w = 0; w < WRITERS / 2; w++) {
        for (let k = 0; k < COMMITS; k++) expect((await readBack(s, { repo: `g${w}`, branch: 'master', path: pathOf(w, k) })).equals(content(w, k))).toBe(true);
        // the kept pool commits (even k) still read, at their own commits
        for (const l of ps[w]!.lines.filter((x) => x.pool)) expect((await readBack(s, { repo: `g${w}`, commit: l.pool, path: '/pool.bin' })).equals(pool(l.k))).toBe(true);
      }
      // a final gc with no writers reclaims everything the dropped commits left
      const final = await s.gc({ waitMs: 0 });
      expect((await s.fsck({ verifyData: true })).problems).toEqual([]);
      figures.gcDuringWrites = { writers: WRITERS / 2, keptCommits: ps.reduce((n, p) => n + p.lines.length, 0), ms: Date.now() - t, gcRuns: g.runs, gcSwept: g.swept, gcRefused: g.refused, gcChunksRemoved: g.chunksRemoved, finalChunksRemoved: final.chunksRemoved };
    });
  }, 300_000);
});

describe('gc: waits for writers, then gives up with E_LOCKED', () => {
  it('refuses (E_LOCKED, exit 6) while a write session is registered, after waiting; runs once it ends', async () => {
    const { dir } = await newStore('gc-wait');
    await withStoreAsync(dir, async (s) => {
      await s.createRepo('r');
      await s.core.index.addWriter('held-by-test'); // this process is alive: the session is live
      const t = Date.now();
      let err: (Error & { code?: string }) | undefined;
      try {
        await s.gc({ waitMs: 300 });
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.code).toBe('E_LOCKED');
      expect(err?.message).toContain('1 write is in progress');
      expect(Date.now() - t).toBeGreaterThanOrEqual(290);
      // the CLI waits (GC_WAIT_MS) too; a session that ends meanwhile lets it run
      const cli = runTusk(['gc', '--json'], { cwd: dir });
      await new Promise((r) => setTimeout(r, 700));
      await s.core.index.removeWriter('held-by-test');
      const r = await cli;
      expect(r.code, r.describe()).toBe(0);
    });
  });
});

/** A StoreCore whose local pack access runs `hook` once, the first time `when` matches a call. */
function hooked(core: StoreCore, when: (op: keyof LocalPackAccess, args: unknown[]) => boolean, hook: () => void): StoreCore {
  let fired = false;
  const local = new Proxy(core.packs.local!, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (!fired && when(prop as keyof LocalPackAccess, args)) {
          fired = true;
          hook();
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const packs = new Proxy(core.packs, { get: (target, prop, recv) => (prop === 'local' ? local : Reflect.get(target, prop, recv)) });
  return { ...core, packs };
}

describe('gc races, made deterministic', () => {
  /** A store with one pack that is mostly garbage (gc rewrites it) holding a live file. */
  async function sparseStore(name: string): Promise<{ dir: string; live: Buffer; pack: string }> {
    const { dir } = await newStore(name);
    const live = seededBytes(300 * 1024, 5);
    await withStoreAsync(dir, async (s) => {
      await s.createRepo('r');
      const put = (p: string, d: Buffer) => s.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', repoPath: p, stream: (async function* () { yield d; })() as unknown as NodeJS.ReadableStream }]);
      await put('/live.bin', live);
      const dropped = await put('/dropped.bin', seededBytes(2 * 1024 * 1024, 6));
      await s.deleteCommit({ repo: 'r', commit: dropped.commit });
    });
    const pack = withStore(dir, (s) => s.core.db.prepare('SELECT name FROM packs').pluck().get() as string);
    return { dir, live, pack };
  }

  it('a reader whose chunk gc moves to a rewritten pack (deleting the old one) between lookup and read still gets the bytes', async () => {
    const { dir, live, pack } = await sparseStore('race-reader');
    const reader = open(dir);
    try {
      let report: { packsRewritten: number } | undefined;
      // the reader has looked the chunk up (in `pack`) and is about to read it: gc runs right then,
      // to its end, in another process (the read waits for it, as a read in this process would
      // not wait for an asynchronous gc)
      const core = hooked(reader.core, (op, args) => (op === 'read' || op === 'readInto') && args[0] === pack, () => {
        const out = execFileSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'run.js'), 'gc', '--json'], { env: { ...process.env, TUSK_STORE: dir }, encoding: 'utf8' });
        report = JSON.parse(out) as { packsRewritten: number };
      });
      const { readContent } = await import('../../src/store/content-io.js');
      const id = hashBytes(live);
      const bytes = await allBytes(readContent(core.index, core.packs, id as never, { describe: () => 'r:/live.bin' }));
      expect(report?.packsRewritten).toBe(1);
      expect(bytes.equals(live)).toBe(true);
    } finally {
      reader.close();
    }
  });

  it("gc's sweep of unknown pack files never deletes a pack a writer created a moment before", async () => {
    const { dir } = await newStore('race-newpack');
    await withStoreAsync(dir, (s) => s.createRepo('r'));
    const g = open(dir);
    const w = open(dir);
    try {
      const data = seededBytes(100 * 1024, 9);
      const id = hashBytes(data) as ChunkId;
      const writer = new PackWriter(w.core.index, w.core.packs, 'race-writer');
      // gc lists the pack files to find those no row knows (its second listing: the first one
      // measures the store): right then a writer starts, claims a new pack and writes to it
      let lists = 0;
      let started: Promise<void> | undefined;
      const core = hooked(g.core, (op) => op === 'names' && ++lists === 2, () => {
        started = (async () => {
          await w.core.index.addWriter('race-writer');
          writer.add(id, data);
          await writer.drain();
        })();
      });
      await gc(core, { waitMs: 0 });
      await started;
      await writer.sync();
      await w.core.unitOfWork(async () => {
        await writer.record();
        await w.core.index.removeWriter('race-writer');
      });
      await writer.close(false);
      const { readChunk } = await import('../../src/store/content-io.js');
      expect((await readChunk(w.core.index, w.core.packs, id, { describe: () => 'the new chunk' })).equals(data)).toBe(true);
    } finally {
      g.close();
      w.close();
    }
  });

  it('a writer starting while gc rewrites a pack does not append to that pack', async () => {
    const { dir, live, pack } = await sparseStore('race-repack');
    const g = open(dir);
    const w = open(dir);
    try {
      const data = seededBytes(50 * 1024, 10);
      let committed: string | undefined;
      // gc copies the live chunks out of `pack`: meanwhile a put runs start to finish
      let started: Promise<void> | undefined;
      const core = hooked(g.core, (op, args) => op === 'read' && args[0] === pack, () => {
        started = put();
      });
      const put = async () => {
        const writer = new PackWriter(w.core.index, w.core.packs, 'repack-writer');
        await w.core.index.addWriter('repack-writer');
        writer.add(hashBytes(data) as ChunkId, data);
        await writer.sync();
        await w.core.unitOfWork(async () => {
          await writer.record();
          await w.core.index.removeWriter('repack-writer');
        });
        await writer.close(false);
        committed = w.core.db.prepare('SELECT p.name FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.id = ?').pluck().get(hashBytes(data)) as string;
      };
      const report = await gc(core, { waitMs: 0 });
      await started;
      expect(report.packsRewritten).toBe(1);
      expect(committed).toBeDefined();
      expect(committed).not.toBe(pack);
      const { readChunk } = await import('../../src/store/content-io.js');
      expect((await readChunk(w.core.index, w.core.packs, hashBytes(data) as ChunkId, { describe: () => 'the new chunk' })).equals(data)).toBe(true);
      expect((await readBack(w, { repo: 'r', branch: 'master', path: '/live.bin' })).equals(live)).toBe(true);
    } finally {
      g.close();
      w.close();
    }
  });
});
