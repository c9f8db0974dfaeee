// `tusk hooks install` / `uninstall` in real git repos: existing hooks are chained (run first, their
// failure stops the commit) and restored byte for byte; the lock is written and committed by the
// pre-commit hook and updated when data, code or spec change; an unchanged commit takes the fast path.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject } from './project-helpers.js';

const step = it.sequential;
const COMMIT_ID = /^[0-9a-f]{12}4[0-9a-f]{19}$/;

describe.concurrent('hooks install and chain', () => {
  let p: TestProject;
  const userHook = '#!/bin/sh\n# the user\'s own hook\necho "user hook ran" >> "$(git rev-parse --git-dir)/user-hook.log"\n[ -f block-commit ] && exit 1\nexit 0\n';
  beforeAll(() => {
    p = new TestProject();
    p.write({ '.git/hooks/pre-commit': userHook });
    fs.chmodSync(p.path('.git/hooks/pre-commit'), 0o751);
  });
  afterAll(() => p.cleanup());

  step('install keeps the existing hook as pre-commit.pre-tusk and chains it', async () => {
    const r = await p.tuskJson(['hooks', 'install']);
    expect(r.hooks.map((h: any) => [h.hook, h.chained, h.updated])).toEqual([
      ['pre-commit', true, false],
      ['post-checkout', false, false],
      ['post-merge', false, false],
    ]);
    expect(p.read('.git/hooks/pre-commit.pre-tusk')).toBe(userHook);
    expect(p.read('.git/hooks/pre-commit')).toContain('# tusk-hook v1');
    expect(fs.statSync(p.path('.git/hooks/pre-commit')).mode & 0o777).toBe(0o755);
  });

  step('installing again updates in place and keeps the chained hook', async () => {
    const r = await p.tuskJson(['hooks', 'install']);
    expect(r.hooks.map((h: any) => [h.hook, h.chained, h.updated])).toEqual([
      ['pre-commit', true, true],
      ['post-checkout', false, true],
      ['post-merge', false, true],
    ]);
    expect(p.read('.git/hooks/pre-commit.pre-tusk')).toBe(userHook);
  });

  step('a commit runs the user hook first, then writes and commits tusk.lock', async () => {
    const g = p.commit('first');
    expect(g.code, g.stderr).toBe(0);
    expect(p.read('.git/user-hook.log')).toBe('user hook ran\n');
    const committed = JSON.parse(p.gitOk(['show', 'HEAD:tusk.lock']));
    expect(committed).toEqual(p.lock());
    expect(committed.inputs['words@master']).toMatchObject({ path: 'data/words', repo: 'words', branch: 'master', files: 2, bytes: 12 });
    expect(committed.inputs['words@master'].commit).toMatch(COMMIT_ID);
    const upper = committed.pipelines.upper;
    expect(upper.output.state).toBe('success');
    expect(Object.keys(upper.output.files)).toEqual(['/a.txt', '/b.txt']);
    expect(upper.inputs).toEqual({ 'words@master': committed.inputs['words@master'].commit });
    expect(upper.specHash).toMatch(/^[0-9a-f]{64}$/);
    expect(upper.salt).toMatch(/^[0-9a-f]{32}$/);
    // nothing left unstaged: the lock in the work tree is the committed one
    expect(p.gitOk(['status', '--porcelain'])).toBe('');
  });

  step('a failing user hook stops the commit before tusk runs', async () => {
    p.write({ 'block-commit': '', 'data/words/c.txt': 'blocked\n' });
    const before = p.read('tusk.lock');
    const g = p.commit('blocked');
    expect(g.code).not.toBe(0);
    expect(p.read('tusk.lock')).toBe(before);
    fs.rmSync(p.path('block-commit'));
    fs.rmSync(p.path('data/words/c.txt'));
  });

  step('uninstall restores the original hook exactly', async () => {
    const r = await p.tuskJson(['hooks', 'uninstall']);
    expect(r.removed.map((h: any) => [h.hook, h.restored])).toEqual([
      ['pre-commit', true],
      ['post-checkout', false],
      ['post-merge', false],
    ]);
    expect(p.read('.git/hooks/pre-commit')).toBe(userHook);
    expect(fs.statSync(p.path('.git/hooks/pre-commit')).mode & 0o777).toBe(0o751);
    expect(fs.existsSync(p.path('.git/hooks/pre-commit.pre-tusk'))).toBe(false);
    expect(fs.existsSync(p.path('.git/hooks/post-checkout'))).toBe(false);
    // a second uninstall finds nothing of tusk's and leaves the user's hook alone
    const again = await p.tuskJson(['hooks', 'uninstall']);
    expect(again.removed).toEqual([]);
    expect(again.foreign).toEqual([p.path('.git/hooks/pre-commit')]);
  });
});

describe.concurrent('the lock follows data, code and spec', () => {
  let p: TestProject;
  let first: any;
  beforeAll(async () => {
    p = new TestProject();
    const r = await p.tusk(['hooks', 'install', '--json']);
    if (r.code !== 0) throw new Error(r.describe());
    p.age();
    const g = p.commit('first');
    if (g.code !== 0) throw new Error(g.stderr);
    first = p.lock();
  });
  afterAll(() => p.cleanup());

  step('an unchanged commit is a no-op on the fast path', () => {
    p.write({ 'README.md': 'docs only\n' });
    const g = p.commit('docs', { TUSK_HOOK_DEBUG: '1' });
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toMatch(/tusk pre-commit: nothing changed \([\d.]+ ms\)/);
    expect(p.lock()).toEqual(first);
  });

  step('changed data: a new input commit, and the output recomputed from it', () => {
    p.write({ 'data/words/c.txt': 'again\n' });
    fs.rmSync(p.path('data/words/a.txt'));
    const g = p.commit('data');
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toMatch(/data\/words → words@master=\w+ \(1 added, 0 modified, 1 deleted\)/);
    const lock = p.lock();
    expect(JSON.parse(p.gitOk(['show', 'HEAD:tusk.lock']))).toEqual(lock);
    expect(lock.inputs['words@master'].commit).not.toBe(first.inputs['words@master'].commit);
    expect(lock.pipelines.upper.inputs['words@master']).toBe(lock.inputs['words@master'].commit);
    expect(Object.keys(lock.pipelines.upper.output.files)).toEqual(['/b.txt', '/c.txt']);
    expect(lock.pipelines.upper.output.files['/b.txt']).toBe(first.pipelines.upper.output.files['/b.txt']);
    expect(lock.pipelines.upper.salt).toBe(first.pipelines.upper.salt);
  });

  step('changed code: the pipeline is reprocessed with a new salt', () => {
    p.write({ 'scripts/upper.sh': '#!/bin/sh\nfor f in "$1"/*; do tr a-z A-Z < "$f" | rev > "$2/$(basename "$f")"; done\n' });
    const before = p.lock();
    const g = p.commit('code');
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toContain('pipeline upper reprocessed');
    const lock = p.lock();
    expect(lock.pipelines.upper.codeHash).not.toBe(before.pipelines.upper.codeHash);
    expect(lock.pipelines.upper.salt).not.toBe(before.pipelines.upper.salt);
    expect(lock.pipelines.upper.output.files['/b.txt']).not.toBe(before.pipelines.upper.output.files['/b.txt']);
    expect(lock.inputs).toEqual(before.inputs);
  });

  step('changed spec: new spec hash, reprocessed', () => {
    const spec = JSON.parse(p.read('pipelines/upper.json'));
    spec.input.pfs.glob = '/*.txt';
    p.write({ 'pipelines/upper.json': JSON.stringify(spec) });
    const before = p.lock();
    const g = p.commit('spec');
    expect(g.code, g.stderr).toBe(0);
    const lock = p.lock();
    expect(lock.pipelines.upper.specHash).not.toBe(before.pipelines.upper.specHash);
    expect(lock.pipelines.upper.version).toBe(before.pipelines.upper.version + 1);
  });

  step('post-checkout reports that the lock now pins other data', () => {
    const g = p.git(['checkout', '-q', 'HEAD~3']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toContain(`tusk.lock pins words@master=${first.inputs['words@master'].commit} for data/words`);
    p.gitOk(['checkout', '-q', 'main']);
  });

  step('TUSK_SKIP_HOOKS=1 skips the hook', () => {
    p.write({ 'data/words/d.txt': 'skipped\n' });
    const before = p.read('tusk.lock');
    const g = p.commit('skip', { TUSK_SKIP_HOOKS: '1' });
    expect(g.code, g.stderr).toBe(0);
    expect(p.read('tusk.lock')).toBe(before);
  });
});

describe.concurrent('wait: false', () => {
  let p: TestProject;
  beforeAll(async () => {
    p = new TestProject({ config: 'store: .tusk\ntrack:\n  - path: data/words\n    repo: words\npipelines:\n  - pipelines/upper.json\n' });
    const r = await p.tusk(['hooks', 'install', '--hook', 'pre-commit', '--hook', 'pre-push', '--json']);
    if (r.code !== 0) throw new Error(r.describe());
  });
  afterAll(() => p.cleanup());

  step('the commit does not wait for the pipeline; the lock says running, and a later commit pins the output', async () => {
    // no background runner: the job stays pending, as a long pipeline would
    const g = p.commit('first', { TUSK_RUNNER: 'none' });
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toContain('still running');
    const lock = p.lock();
    expect(lock.pipelines.upper.output.state).toBe('running');
    expect(lock.pipelines.upper.output.files).toBeUndefined();
    // pre-push warns (and lets the push go on) while the lock names an unfinished output
    const remote = p.path('.git/remote.git');
    p.gitOk(['init', '-q', '--bare', remote]);
    const push = p.git(['push', '-q', remote, 'main'], { TUSK_RUNNER: 'none' });
    expect(push.code, push.stderr).toBe(0);
    expect(push.stderr).toContain(`upper@${lock.pipelines.upper.output.commit} is still running`);
    // the pipeline runs (as the background runner would), then the next commit records it
    expect((await p.tusk(['run'])).code).toBe(0);
    const g2 = p.commit('second', { TUSK_RUNNER: 'none' });
    expect(g2.code, g2.stderr).toBe(0);
    const done = p.lock();
    expect(done.pipelines.upper.output.state).toBe('success');
    expect(done.pipelines.upper.output.commit).toBe(lock.pipelines.upper.output.commit);
    expect(Object.keys(done.pipelines.upper.output.files)).toEqual(['/a.txt', '/b.txt']);
  });
});
