// The pre-commit hook with data in git-ignored directories: a data-only change ends in one git
// commit holding the new lock (git decided "nothing to commit" before the hook staged it, so the
// hook names the command that commits it), and a commit stopped by a failed pipeline leaves
// tusk.lock as it was, with the next commit recovering from the failed pipeline version.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject, UPPER_SH } from './project-helpers.js';

const step = (name: string, fn: () => void | Promise<void>) => it.sequential(name, fn, 60_000);

/** A project with tusk's git hooks installed and a first commit made. */
async function hookedProject(): Promise<TestProject> {
  const p = new TestProject();
  const r = await p.tusk(['hooks', 'install', '--json']);
  if (r.code !== 0) throw new Error(r.describe());
  const g = p.commit('first');
  if (g.code !== 0) throw new Error(g.stderr);
  return p;
}

describe('pre-commit with git-ignored data', () => {
  let p: TestProject;
  beforeAll(async () => {
    p = await hookedProject();
  });
  afterAll(() => p?.cleanup());

  const commits = () => Number(p.gitOk(['rev-list', '--count', 'HEAD']).trim());

  step('a data-only change: the hook names the exact command, which then commits the lock', () => {
    const before = commits();
    p.write({ 'data/words/c.txt': 'third\n' });
    const first = p.git(['commit', '-q', '-m', 'more words']);
    expect(first.code, first.stderr).not.toBe(0);
    expect(first.stderr).toContain('tusk: only tusk.lock changed in git');
    expect(first.stderr).toContain("run `git commit -q -m 'more words'` again");
    const again = p.git(['commit', '-q', '-m', 'more words']);
    expect(again.code, again.stderr).toBe(0);
    expect(commits()).toBe(before + 1);
    const lock = p.lock();
    expect(JSON.parse(p.gitOk(['show', 'HEAD:tusk.lock']))).toEqual(lock);
    expect(Object.keys(lock.pipelines.upper.output.files)).toEqual(['/a.txt', '/b.txt', '/c.txt']);
    expect(p.gitOk(['status', '--porcelain'])).toBe('');
  });

  step('the same with git commit -a, where the hook stages into a temporary index', () => {
    const before = commits();
    p.write({ 'data/words/d.txt': 'fourth\n' });
    const first = p.git(['commit', '-a', '-q', '-m', 'data']);
    expect(first.code, first.stderr).not.toBe(0);
    expect(first.stderr).toContain('run `git commit -a -q -m data` again');
    const again = p.git(['commit', '-a', '-q', '-m', 'data']);
    expect(again.code, again.stderr).toBe(0);
    expect(commits()).toBe(before + 1);
    expect(JSON.parse(p.gitOk(['show', 'HEAD:tusk.lock']))).toEqual(p.lock());
    expect(Object.keys(p.lock().pipelines.upper.output.files)).toContain('/d.txt');
    expect(p.gitOk(['status', '--porcelain'])).toBe('');
  });

  step('a change with something else staged commits at once, without the notice', () => {
    const before = commits();
    p.write({ 'data/words/e.txt': 'fifth\n', 'README.md': 'words\n' });
    p.gitOk(['add', 'README.md']);
    const g = p.git(['commit', '-q', '-m', 'readme and data']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).not.toContain('only tusk.lock changed');
    expect(commits()).toBe(before + 1);
    expect(JSON.parse(p.gitOk(['show', 'HEAD:tusk.lock']))).toEqual(p.lock());
  });
});

describe('a commit stopped by a failed pipeline (wait: true)', () => {
  let p: TestProject;
  beforeAll(async () => {
    p = await hookedProject();
  });
  afterAll(() => p?.cleanup());

  let locked = '';
  step('the commit fails and tusk.lock keeps its bytes, unstaged', () => {
    locked = p.read('tusk.lock');
    p.write({ 'scripts/upper.sh': 'echo "cannot upper-case" >&2\nexit 3\n' });
    const g = p.commit('broken');
    expect(g.code).not.toBe(0);
    expect(g.stderr).toContain('commit stopped: pipeline upper');
    expect(g.stderr).toContain('tusk.lock is unchanged');
    expect(p.read('tusk.lock')).toBe(locked);
    expect(p.gitOk(['diff', '--cached', '--name-only'])).not.toContain('tusk.lock');
    expect(p.gitOk(['log', '--format=%s'])).toBe('first\n');
  });

  step('with the code put back, the next commit re-runs the pipeline and locks a good output', () => {
    p.write({ 'scripts/upper.sh': UPPER_SH, 'README.md': 'x\n' });
    const g = p.commit('fixed');
    expect(g.code, g.stderr).toBe(0);
    const lock = p.lock();
    const before = JSON.parse(locked);
    expect(lock.pipelines.upper.output.state).toBe('success');
    expect(lock.pipelines.upper.output.files).toEqual(before.pipelines.upper.output.files);
    expect(JSON.parse(p.gitOk(['show', 'HEAD:tusk.lock']))).toEqual(lock);
    expect(fs.existsSync(p.path('tusk.lock'))).toBe(true);
  });
});
