// Crash safety: `tusk put file` (one large file, many small files, append, into an open commit),
// `tusk finish commit` and `tusk gc` run as child processes and are killed with SIGKILL, at random
// delays after spawn and at the write path's named points (TUSK_CRASH_AT, src/store/crash-points.ts).
// After every kill, on a fresh copy of a template store:
//   - fsck is clean and every branch points at an existing, complete commit;
//   - the store holds exactly the history before the command, or exactly the history after it
//     (the interrupted command is all or nothing), compared with reference stores that ran the
//     command without a crash;
//   - every content of every commit reads back (through `get file`) byte-identical to the source;
//   - the same command run again succeeds (finish commit: succeeds, or says it already finished);
//   - gc brings the store's size to within 1% of the reference store that never saw the crash.
// `npm test` runs a sample; TUSK_STRESS=1 runs ≥ 200 kill points.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTusk, type TuskResult } from '../cli/cli-helpers.js';
import { initStore } from '../../src/store/store.js';
import { seededBytes, tempDir } from '../helpers.js';
import {
  addSource,
  cloneDir,
  logicalState,
  open,
  recordFigures,
  scaled,
  STRESS,
  storeBytes,
  textBytes,
  verifyContents,
  withStore,
  withStoreAsync,
} from './rel-helpers.js';

const MiB = 1 << 20;
/** random-delay kills per scenario */
const RANDOM_KILLS = scaled(1, 50);
const GC_RANDOM_KILLS = STRESS ? 12 : 0;

interface Scenario {
  name: string;
  /** CLI arguments of the command that is killed (run in the store's directory) */
  args: (work: string) => string[];
  /** TUSK_CRASH_AT values that must kill it (all under TUSK_STRESS) */
  points: string[];
  /** the ones `npm test` runs */
  sample: string[];
  /** finish commit: a second run after a successful one is a conflict, not a new commit */
  idempotentConflict?: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'large file',
    args: (w) => ['put', 'file', 'r@master:/big/large.bin', '-f', path.join(w, 'large.bin')],
    points: ['mid-pack-write:1', 'mid-pack-write:4', 'after-pack-sync', 'before-commit-txn', 'in-commit-txn', 'after-commit-txn'],
    sample: ['mid-pack-write:1', 'in-commit-txn'],
  },
  {
    name: 'many small files',
    args: (w) => ['put', 'file', '-r', 'r@master:/many', '-f', path.join(w, 'small')],
    points: ['mid-pack-write:1', 'after-pack-sync', 'before-commit-txn', 'in-commit-txn', 'after-commit-txn'],
    sample: ['after-pack-sync'],
  },
  {
    name: 'append',
    args: (w) => ['put', 'file', '-a', 'r@master:/log.bin', '-f', path.join(w, 'append.bin')],
    points: ['mid-pack-write:1', 'mid-pack-write:3', 'after-pack-sync', 'in-commit-txn', 'after-commit-txn'],
    sample: ['in-commit-txn'],
  },
  {
    name: 'put into an open commit',
    args: (w) => ['put', 'file', 'o@master:/open/y.bin', '-f', path.join(w, 'y.bin')],
    points: ['mid-pack-write:2', 'after-pack-sync', 'in-commit-txn', 'after-commit-txn'],
    sample: ['after-commit-txn'],
  },
  {
    name: 'finish commit',
    args: () => ['finish', 'commit', 'o@master'],
    points: ['in-finish-txn', 'after-finish-txn'],
    sample: ['in-finish-txn'],
    idempotentConflict: true,
  },
];

let work: string;
let template: string;
const sources = new Map<string, string>();

/** The template every kill point starts from: history, shared chunks, provenance, an open commit. */
async function makeTemplate(): Promise<void> {
  const large = Buffer.concat([seededBytes(scaled(4, 32) * MiB, 11), textBytes(scaled(2, 16) * MiB, 12)]);
  fs.writeFileSync(path.join(work, 'large.bin'), large);
  addSource(sources, large);
  // shares its first 4 MiB with large.bin: the put dedups against existing chunks
  const old = Buffer.concat([large.subarray(0, 2 * MiB), seededBytes(1 * MiB, 13)]);
  const small = path.join(work, 'small');
  for (let i = 0; i < scaled(200, 600); i++) {
    const b = i % 10 === 9 ? seededBytes(100 + (i % 50), 1000 + i - 9) : i % 3 === 0 ? textBytes(50 + ((i * 977) % 6000), 2000 + i) : seededBytes(10 + ((i * 7919) % 6000), 1000 + i);
    const p = path.join(small, `d${i % 7}`, `e${i % 3}`, `f${i}.dat`);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, b);
    addSource(sources, b);
  }
  const log = textBytes(scaled(1, 3) * MiB, 14);
  const append = Buffer.concat([seededBytes(scaled(2, 12) * MiB, 15), textBytes(scaled(1, 8) * MiB, 16)]);
  fs.writeFileSync(path.join(work, 'append.bin'), append);
  for (const b of [log, Buffer.concat([log, append]), Buffer.concat([log, append, append])]) addSource(sources, b);
  const x = seededBytes(1 * MiB, 17);
  const y = Buffer.concat([seededBytes(2 * MiB, 18), textBytes(scaled(1, 2) * MiB, 19)]);
  fs.writeFileSync(path.join(work, 'y.bin'), y);
  for (const b of [old, x, y, Buffer.from('a\n')]) addSource(sources, b);

  template = path.join(work, 'template');
  fs.mkdirSync(template);
  initStore(template);
  await withStoreAsync(template, async (s) => {
    const put = (repo: string, repoPath: string, data: Buffer) =>
      s.putFiles({ repo, branch: 'master' }, [{ kind: 'stream', repoPath, stream: (async function* () { yield data; })() as unknown as NodeJS.ReadableStream }]);
    await s.createRepo('r');
    await put('r', '/a.txt', Buffer.from('a\n'));
    // downstream of r@master: every commit there also makes an AUTO commit here, in the same transaction
    await s.createRepo('down');
    await s.createBranch('down', 'master', { provenance: [{ repo: 'r', branch: 'master' }] });
    await put('r', '/big/old.bin', old);
    await put('r', '/log.bin', log);
    await s.createRepo('o');
    await put('o', '/a.txt', Buffer.from('a\n'));
    await s.startCommit('o', 'master', { description: 'open' });
    await put('o', '/open/x.bin', x);
  });
}

/** References: the template with the command run to completion 0, 1, 2 times; state and gc'd size. */
const refs = new Map<string, { state: unknown; bytes: number; ms: number }[]>();

async function reference(sc: Scenario, n: number): Promise<{ state: unknown; bytes: number; ms: number }> {
  let list = refs.get(sc.name);
  if (!list) refs.set(sc.name, (list = []));
  while (list.length <= n) {
    const k = list.length;
    const dir = path.join(work, `ref-${SCENARIOS.indexOf(sc)}-${k}`);
    cloneDir(template, dir);
    let ms = 0;
    for (let i = 0; i < k; i++) {
      const t = Date.now();
      const r = await runTusk(sc.args(work), { cwd: dir });
      ms = Date.now() - t;
      const ok = r.code === 0 || (sc.idempotentConflict && i > 0 && r.code === 3);
      expect(ok, r.describe()).toBe(true);
    }
    const state = await withStoreAsync(dir, async (s) => (await logicalState(s)).state);
    const bytes = await withStoreAsync(dir, async (s) => {
      await s.gc();
      return storeBytes(s.path).total;
    });
    list.push({ state, bytes, ms });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return list[n]!;
}

let startup: number | undefined;
/** How long a command that opens the store and does nothing much takes here, now. */
async function startupMs(): Promise<number> {
  if (startup === undefined) {
    const t = Date.now();
    await runTusk(['list', 'repo'], { cwd: template });
    startup = Date.now() - t;
  }
  return startup;
}

interface Tally {
  points: number;
  killed: number;
  byPhase: Record<string, number>;
  tailsLeft: number;
  /** bytes gc reclaimed when run right after a kill, before any retry */
  orphanBytes: number;
  gcBeforeRetry: number;
  maxGcDeviation: number;
}
const tallies = new Map<string, Tally>();

/** Bytes in packs beyond their committed sizes: what a killed writer left behind. */
function tailBytes(dir: string): number {
  return withStore(dir, (s) => {
    let n = 0;
    for (const p of s.core.db.prepare('SELECT name, size FROM packs').all() as { name: string; size: number }[]) n += Math.max(0, (s.core.packs.local!.sizeOf(p.name) ?? 0) - p.size);
    return n;
  });
}

/** Check a store after a kill, and return how many times the command had taken effect (0 or 1). */
async function checkAfterCrash(sc: Scenario, dir: string, label: string): Promise<number> {
  return await withStoreAsync(dir, async (s) => {
    const report = await s.fsck();
    expect(report.problems, `${label}: fsck after the kill`).toEqual([]);
    const { state, contents } = await logicalState(s);
    const before = await reference(sc, 0);
    const after = await reference(sc, 1);
    const n = JSON.stringify(state) === JSON.stringify(before.state) ? 0 : JSON.stringify(state) === JSON.stringify(after.state) ? 1 : -1;
    if (n < 0) expect(state, `${label}: the store must hold the history before or after the command`).toEqual(after.state);
    await verifyContents(s, contents, sources);
    return n;
  });
}

async function killPoint(sc: Scenario, i: number, opts: { crashAt?: string; delayMs?: number }): Promise<void> {
  const label = `${sc.name} #${i} ${opts.crashAt ?? `kill after ${opts.delayMs} ms`}`;
  const dir = path.join(work, `pt-${SCENARIOS.indexOf(sc)}-${i}`);
  cloneDir(template, dir);
  const r: TuskResult = await runTusk(sc.args(work), {
    cwd: dir,
    env: opts.crashAt ? { TUSK_CRASH_AT: opts.crashAt } : {},
    timeoutMs: opts.crashAt ? 60_000 : opts.delayMs,
  });
  const killed = r.code === 137;
  if (opts.crashAt) expect(killed, `${label}: the crash point must be reached: ${r.describe()}`).toBe(true);
  else expect(killed || r.code === 0, `${label}: ${r.describe()}`).toBe(true);
  const writersLeft = withStore(dir, (s) => s.core.db.prepare('SELECT COUNT(*) FROM writers').pluck().get() as number);
  const tails = tailBytes(dir);

  const n = await checkAfterCrash(sc, dir, label);
  const t = tallies.get(sc.name) ?? { points: 0, killed: 0, byPhase: {}, tailsLeft: 0, orphanBytes: 0, gcBeforeRetry: 0, maxGcDeviation: 0 };
  tallies.set(sc.name, t);
  t.points++;
  if (killed) t.killed++;
  const phase = !killed ? 'completed' : n === 1 ? 'after commit' : writersLeft > 0 || tails > 0 ? 'while writing' : 'before writing';
  t.byPhase[phase] = (t.byPhase[phase] ?? 0) + 1;
  if (tails > 0) t.tailsLeft++;

  // Half the points collect garbage first: gc alone must reclaim what the killed command left
  // (pack tails, rows of packs it created). The other half retry at once: the retry takes over the
  // dead writer's pack lease and cuts its tail itself.
  if (i % 2 === 1) {
    const ref = await reference(sc, n);
    const before = storeBytes(path.join(dir, '.tusk')).total;
    await withStoreAsync(dir, async (s) => {
      await s.gc();
      expect((await s.fsck()).problems, `${label}: fsck after gc`).toEqual([]);
      const size = storeBytes(s.path).total;
      const deviation = Math.abs(size - ref.bytes) / ref.bytes;
      t.maxGcDeviation = Math.max(t.maxGcDeviation, deviation);
      t.orphanBytes += Math.max(0, before - size);
      t.gcBeforeRetry++;
      expect(deviation, `${label}: store size after gc ${size} vs ${ref.bytes} for a store that never crashed`).toBeLessThan(0.01);
    });
  }

  // the same command again
  const retry = await runTusk(sc.args(work), { cwd: dir });
  if (sc.idempotentConflict && n === 1) expect(retry.code, `${label}: retry: ${retry.describe()}`).toBe(3);
  else expect(retry.code, `${label}: retry: ${retry.describe()}`).toBe(0);
  const expected = sc.idempotentConflict ? 1 : n + 1;
  const ref = await reference(sc, expected);
  await withStoreAsync(dir, async (s) => {
    const { state, contents } = await logicalState(s);
    expect(state, `${label}: after the retry`).toEqual(ref.state);
    await s.gc();
    expect((await s.fsck({ verifyData: STRESS })).problems, `${label}: fsck after gc`).toEqual([]);
    expect((await logicalState(s)).state, `${label}: gc keeps every commit`).toEqual(ref.state);
    await verifyContents(s, contents, sources);
    const size = storeBytes(s.path).total;
    const deviation = Math.abs(size - ref.bytes) / ref.bytes;
    t.maxGcDeviation = Math.max(t.maxGcDeviation, deviation);
    expect(deviation, `${label}: store size after gc ${size} vs ${ref.bytes} for a store that never crashed`).toBeLessThan(0.01);
  });
  fs.rmSync(dir, { recursive: true, force: true });
}

beforeAll(async () => {
  work = tempDir('tusk-crash-');
  await makeTemplate();
}, 120_000);

afterAll(() => {
  const total = { points: 0, killed: 0, byPhase: {} as Record<string, number>, tailsLeft: 0, orphanBytesReclaimed: 0, maxGcDeviationPct: 0 };
  for (const t of tallies.values()) {
    total.points += t.points;
    total.killed += t.killed;
    total.tailsLeft += t.tailsLeft;
    total.orphanBytesReclaimed += t.orphanBytes;
    total.maxGcDeviationPct = Math.max(total.maxGcDeviationPct, +(t.maxGcDeviation * 100).toFixed(4));
    for (const [k, v] of Object.entries(t.byPhase)) total.byPhase[k] = (total.byPhase[k] ?? 0) + v;
  }
  if (total.points > 0) recordFigures('crash', { total, scenarios: Object.fromEntries(tallies) });
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe.sequential('crash safety: SIGKILL at random and at named points', () => {
  for (const sc of SCENARIOS) {
    it(`${sc.name}: named crash points`, async () => {
      await reference(sc, 1);
      for (const [i, p] of (STRESS ? sc.points : sc.sample).entries()) await killPoint(sc, i, { crashAt: p });
    }, 300_000);

    it(`${sc.name}: ${RANDOM_KILLS} kills at random delays`, async () => {
      // Even kills: uniform in [0, T], T the uninterrupted command's duration (startup included).
      // Odd kills: uniform in [S, T], S a do-nothing command's duration (node and oclif starting,
      // the store opening), so that more of them land in the write path.
      const typical = Math.max(200, (await reference(sc, 1)).ms);
      const startup = await startupMs();
      for (let i = 0; i < RANDOM_KILLS; i++) {
        const from = i % 2 ? Math.min(startup, typical * 0.8) : 0;
        await killPoint(sc, 100 + i, { delayMs: Math.floor(from + Math.random() * (typical - from)) });
      }
    }, STRESS ? 1_200_000 : 300_000);
  }
});

describe.skipIf(!STRESS)('crash safety: the full run', () => {
  it('killed its commands at 200 points or more', () => {
    let killed = 0;
    for (const [name, t] of tallies) if (name !== 'gc') killed += t.killed;
    expect(killed).toBeGreaterThanOrEqual(200);
  });
});

describe.sequential('crash safety: gc killed while it rewrites packs', () => {
  let gcTemplate: string;
  let gcRef: { state: unknown; bytes: number };

  beforeAll(async () => {
    // a pack mostly garbage (a dropped 6 MiB commit) next to live data: gc rewrites it
    gcTemplate = path.join(work, 'gc-template');
    fs.mkdirSync(gcTemplate);
    initStore(gcTemplate);
    await withStoreAsync(gcTemplate, async (s) => {
      const put = (repoPath: string, data: Buffer) => {
        addSource(sources, data);
        return s.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', repoPath, stream: (async function* () { yield data; })() as unknown as NodeJS.ReadableStream }]);
      };
      await s.createRepo('r');
      await put('/live.bin', Buffer.concat([seededBytes(1 * MiB, 98), textBytes(1 * MiB, 97)]));
      await s.deleteCommit({ repo: 'r', commit: (await put('/dropped.bin', seededBytes(scaled(4, 12) * MiB, 99))).commit });
      await put('/later.bin', textBytes(256 << 10, 96));
    });
    const dir = path.join(work, 'gc-ref');
    cloneDir(gcTemplate, dir);
    gcRef = await withStoreAsync(dir, async (s) => {
      const g = await s.gc();
      expect(g.packsRewritten + g.packsRemoved).toBeGreaterThan(0);
      return { state: (await logicalState(s)).state, bytes: storeBytes(s.path).total };
    });
  }, 120_000);

  const gcPoint = async (label: string, opts: { crashAt?: string; delayMs?: number }) => {
    const dir = path.join(work, 'gc-pt');
    cloneDir(gcTemplate, dir);
    const r = await runTusk(['gc'], { cwd: dir, env: opts.crashAt ? { TUSK_CRASH_AT: opts.crashAt } : {}, timeoutMs: opts.crashAt ? 60_000 : opts.delayMs });
    if (opts.crashAt) expect(r.code, `${label}: ${r.describe()}`).toBe(137);
    else expect([0, 137], `${label}: ${r.describe()}`).toContain(r.code);
    await withStoreAsync(dir, async (s) => {
      expect((await s.fsck({ verifyData: true })).problems, `${label}: fsck after the kill`).toEqual([]);
      const { state, contents } = await logicalState(s);
      expect(state, label).toEqual(gcRef.state);
      await verifyContents(s, contents, sources);
      await s.gc();
      expect((await s.fsck()).problems).toEqual([]);
      const size = storeBytes(s.path).total;
      expect(Math.abs(size - gcRef.bytes) / gcRef.bytes, `${label}: size after a second gc`).toBeLessThan(0.01);
    });
    const t = tallies.get('gc') ?? { points: 0, killed: 0, byPhase: {}, tailsLeft: 0, orphanBytes: 0, gcBeforeRetry: 0, maxGcDeviation: 0 };
    tallies.set('gc', t);
    t.points++;
    if (r.code === 137) t.killed++;
    fs.rmSync(dir, { recursive: true, force: true });
  };

  it('killed after copying live chunks, before switching over (in-gc-repack)', async () => {
    await gcPoint('gc in-gc-repack', { crashAt: 'in-gc-repack' });
  });

  it.skipIf(GC_RANDOM_KILLS === 0)(`${GC_RANDOM_KILLS} kills of gc at random delays`, async () => {
    for (let i = 0; i < GC_RANDOM_KILLS; i++) await gcPoint(`gc random #${i}`, { delayMs: Math.floor(Math.random() * 700) });
  }, 300_000);
});
