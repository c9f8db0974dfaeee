// What a pre-commit hook costs when nothing tracked changed: the installed hook script run as git
// runs it (sh, node's startup, one stat per tracked file), against a bare readdir + stat of the same
// tree measured in the same run. TUSK_HOOK_NOOP_FILES=100000 measures a
// 100k-file tree (default 1,000 to keep the suite fast); the numbers go to
// test-artifacts/hook-noop.json and stdout.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { digestPath } from '../../src/project/local-scan.js';
import { REPO_ROOT } from '../cli/cli-helpers.js';
import { gitEnv, TestProject } from './project-helpers.js';

const FILES = Number(process.env.TUSK_HOOK_NOOP_FILES ?? 1000);
const RUNS = 3;

function bareStatWalk(dir: string): number {
  let n = 0;
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) n += bareStatWalk(p);
    else n += fs.statSync(p).size;
  }
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('hook no-op cost', () => {
  const p = new TestProject({ config: 'store: .tusk\ntrack:\n  - path: data/big\n    repo: big\n', files: {} });
  afterAll(() => p.cleanup());

  it(`pre-commit on an unchanged ${FILES}-file tree does nothing, fast`, { timeout: 900_000 }, async () => {
    fs.rmSync(p.path('data/words'), { recursive: true, force: true });
    const big = p.path('data/big');
    for (let i = 0; i < FILES; i++) {
      const d = path.join(big, `d${Math.floor(i / 100) % 1000}`, `e${Math.floor(i / 100_000)}`);
      if (i % 100 === 0) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, `f${i}.txt`), `file ${i}\n`);
    }
    p.age('data');
    // the file cache (like git's index) trusts a stat 2 s after the file's last change (ctime too)
    await new Promise((r) => setTimeout(r, 2100));
    const install = await p.tusk(['hooks', 'install', '--hook', 'pre-commit']);
    expect(install.code, install.describe()).toBe(0);
    const t0 = Date.now();
    const first = p.commit('first');
    const firstMs = Date.now() - t0;
    expect(first.code, first.stderr).toBe(0);
    expect(p.lock().inputs['big@master'].files).toBe(FILES);
    const lock = p.read('tusk.lock');

    // the hook as git runs it: sh, then the fast path in node
    const hook = p.path('.git/hooks/pre-commit');
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const r = spawnSync('sh', [hook], { cwd: p.dir, env: gitEnv({ TUSK_HOOK_DEBUG: '1' }), encoding: 'utf8' });
      times.push(performance.now() - t);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/nothing changed/);
    }
    const nodeStart: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      nodeStart.push(performance.now() - t);
    }
    // the baseline: what a bare readdir + stat of the same tree costs here, now
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      bareStatWalk(big);
      bare.push(performance.now() - t);
    }
    const walk: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      digestPath(big);
      walk.push(performance.now() - t);
    }
    const t1 = Date.now();
    const noopCommit = p.commit('no-op');
    const commitMs = Date.now() - t1;
    expect(noopCommit.code, noopCommit.stderr).toBe(0);
    expect(p.read('tusk.lock')).toBe(lock);

    // for scale: one edited file sends the hook down the full path (status of the tree from the
    // file cache, a one-file commit, the lock rewritten)
    fs.appendFileSync(path.join(big, 'd0', 'e0', 'f0.txt'), 'edited\n');
    const t2 = Date.now();
    const edit = p.commit('one file');
    const oneFileCommitMs = Date.now() - t2;
    expect(edit.code, edit.stderr).toBe(0);
    expect(p.read('tusk.lock')).not.toBe(lock);

    const result = {
      files: FILES,
      hookMs: Math.round(median(times)),
      nodeStartupMs: Math.round(median(nodeStart)),
      digestWalkMs: Math.round(median(walk)),
      bareStatWalkMs: Math.round(median(bare)),
      hookOverBareWalk: Number((median(times) / median(bare)).toFixed(2)),
      noopGitCommitMs: commitMs,
      oneFileCommitMs,
      firstCommitMs: firstMs,
      runsMs: times.map(Math.round),
    };
    fs.mkdirSync(path.join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    fs.writeFileSync(path.join(REPO_ROOT, 'test-artifacts', `hook-noop-${FILES}.json`), JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(`hook no-op cost: ${JSON.stringify(result)}\n`);
    // generous: the machine may be busy; the reported number is what matters
    expect(result.hookMs).toBeLessThan(1000 + FILES / 20);
  });
});
