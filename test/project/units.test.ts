// The project layer's pure parts, in process: tusk.yaml checks, lock encoding, the hook state's
// no-op decision, hook scripts, byte diffs.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/project/config.js';
import { isNoop, writeState } from '../../src/project/hook-state.js';
import { hookScript } from '../../src/project/hooks.js';
import { digestPath, hashFileBytes } from '../../src/project/local-scan.js';
import { emptyLock, formatLock, parseLock } from '../../src/project/lock.js';
import { firstDifference } from '../../src/project/verify.js';
import { tempDir } from '../helpers.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function dir(): string {
  const d = tempDir('tusk-unit-');
  dirs.push(d);
  return d;
}

describe('tusk.yaml', () => {
  it('fills in defaults', () => {
    expect(parseConfig('track:\n  - {path: data/img/, repo: images}\npipelines: [p.json, {spec: q.yaml, code: src}]\n')).toEqual({
      track: [{ path: 'data/img', repo: 'images', branch: 'master' }],
      pipelines: [
        { spec: 'p.json', code: [] },
        { spec: 'q.yaml', code: ['src'] },
      ],
      images: {},
      wait: false,
      lock: 'tusk.lock',
      checkout: 'manual',
      lockFiles: 10_000,
    });
    expect(parseConfig('')).toMatchObject({ track: [], pipelines: [] });
  });

  it('reads the WORKDIR stand-ins, per spec file and per image', () => {
    const c = parseConfig('pipelines: [{spec: p/a.json, workdir: src/}, {spec: b.json, workdir: .}]\nimages:\n  "org/img:1.0": {workdir: code}\n');
    expect(c.pipelines).toEqual([
      { spec: 'p/a.json', code: [], workdir: 'src' },
      { spec: 'b.json', code: [], workdir: '.' },
    ]);
    expect(c.images).toEqual({ 'org/img:1.0': 'code' });
  });

  it.each([
    ['track: [{path: a, repo: "bad name"}]', 'track[0].repo'],
    ['track: [{path: /abs, repo: a}]', 'track[0].path'],
    ['track: [{path: ../up, repo: a}]', 'track[0].path'],
    ['track: [{path: a, repo: x}, {path: a/b, repo: y}]', 'overlaps'],
    ['track: [{path: a, repo: x}, {path: b, repo: x}]', 'already tracked'],
    ['track: [{path: a, repo: x, brnach: y}]', 'unknown field "brnach"'],
    ['wait: yes please', 'wait'],
    ['checkout: sometimes', 'checkout'],
    ['tracks: []', 'unknown field "tracks"'],
    ['pipelines: [{spec: p.json, workdir: ../up}]', 'pipelines[0].workdir'],
    ['images: {"a:1": {wrkdir: src}}', 'unknown field "wrkdir"'],
    ['images: {"a:1": src}', 'images["a:1"]'],
    ['images: [a]', 'images'],
    ['track: [', 'tusk.yaml'],
  ])('rejects %s', (text, mention) => {
    expect(() => parseConfig(text)).toThrow(expect.objectContaining({ code: 'E_INVALID', message: expect.stringContaining(mention) }));
  });
});

describe('tusk.lock', () => {
  const id = 'b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a';
  it('is written with sorted keys, so equal locks have equal bytes', () => {
    const a = emptyLock();
    a.pipelines.z = { spec: 's', specHash: 'h', salt: 's', version: 1, inputs: { 'b@master': id, 'a@master': id }, output: { branch: 'master', commit: id, state: 'success', files: { '/b': 'x', '/a': 'y' } } };
    a.inputs['a@master'] = { path: 'd', repo: 'a', branch: 'master', commit: id, tree: 't', files: 1, bytes: 2 };
    const text = formatLock(a);
    expect(text.indexOf('"a@master"')).toBeLessThan(text.indexOf('"b@master"'));
    expect(text.indexOf('"/a"')).toBeLessThan(text.indexOf('"/b"'));
    expect(formatLock(parseLock(text))).toBe(text);
  });

  it('rejects what is not a lock', () => {
    expect(() => parseLock('{')).toThrow(expect.objectContaining({ code: 'E_INVALID' }));
    expect(() => parseLock('{"version": 9}')).toThrow(/unsupported lock version/);
    expect(() => parseLock(JSON.stringify({ version: 1, pipelines: { p: { specHash: 'h', inputs: {}, output: { commit: 'nope' } } } }))).toThrow(/pipelines.p.output.commit/);
  });
});

describe('the hook fast path', () => {
  function setup() {
    const d = dir();
    fs.mkdirSync(path.join(d, '.git'));
    fs.mkdirSync(path.join(d, 'data/sub'), { recursive: true });
    for (const f of ['data/a', 'data/sub/b', 'tusk.yaml', 'tusk.lock']) fs.writeFileSync(path.join(d, f), f);
    const past = new Date(Date.now() - 60_000);
    for (const f of ['data/a', 'data/sub/b']) fs.utimesSync(path.join(d, f), past, past);
    const gitDir = path.join(d, '.git');
    const state = (over: Partial<Parameters<typeof writeState>[1]> = {}) =>
      writeState(gitDir, {
        writtenAt: Date.now(),
        configPath: path.join(d, 'tusk.yaml'),
        config: hashFileBytes(path.join(d, 'tusk.yaml')),
        lockPath: path.join(d, 'tusk.lock'),
        lock: hashFileBytes(path.join(d, 'tusk.lock')),
        complete: true,
        racy: false,
        watch: [{ path: path.join(d, 'data'), digest: digestPath(path.join(d, 'data')).digest }],
        tracked: {},
        ...over,
      });
    return { d, gitDir, state };
  }

  it('is a no-op only while config, lock and every tracked stat are as recorded', () => {
    const { d, gitDir, state } = setup();
    expect(isNoop('pre-commit', gitDir)).toBe(false); // no state yet
    state();
    expect(isNoop('pre-commit', gitDir)).toBe(true);
    fs.utimesSync(path.join(d, 'data/sub/b'), new Date(), new Date());
    expect(isNoop('pre-commit', gitDir)).toBe(false);
    state();
    expect(isNoop('pre-commit', gitDir)).toBe(true);
    fs.writeFileSync(path.join(d, 'data/sub/new'), '');
    expect(isNoop('pre-commit', gitDir)).toBe(false);
    state();
    fs.writeFileSync(path.join(d, 'tusk.lock'), 'edited');
    expect(isNoop('pre-commit', gitDir)).toBe(false);
    expect(isNoop('post-checkout', gitDir)).toBe(false);
    state();
    expect(isNoop('post-checkout', gitDir)).toBe(true);
    state({ racy: true });
    expect(isNoop('pre-commit', gitDir)).toBe(false);
    state({ complete: false });
    expect(isNoop('pre-commit', gitDir)).toBe(false);
    expect(isNoop('pre-push', gitDir)).toBe(false);
  });

  it('runs as a script without the CLI: exit 0 for a no-op, 1 otherwise', () => {
    const { d, state } = setup();
    const script = path.resolve(import.meta.dirname, '../../dist/project/hook-fast.js');
    const run = () => {
      try {
        execFileSync(process.execPath, [script, 'pre-commit', d], { cwd: d, stdio: 'ignore', env: { ...process.env, GIT_DIR: '' } });
        return 0;
      } catch (e) {
        return (e as { status: number }).status;
      }
    };
    expect(run()).toBe(1);
    state();
    expect(run()).toBe(0);
  });
});

describe('hook scripts', () => {
  it('quote the recorded paths and chain the previous hook first', () => {
    const s = hookScript('pre-commit', "sub dir/it's", { node: '/opt/node 20/bin/node', root: '/x' });
    expect(s).toContain("project='sub dir/it'\\''s'");
    expect(s).toContain("node='/opt/node 20/bin/node'");
    expect(s.indexOf('"$prev" "$@" || exit $?')).toBeLessThan(s.indexOf('hook-fast.js'));
    const out = execFileSync('sh', ['-n', '-c', s]);
    expect(out.length).toBe(0);
  });
});

describe('first differing bytes', () => {
  it('finds the offset and escapes a window of each side', () => {
    expect(firstDifference(Buffer.from('abc\ndef'), Buffer.from('abc\nxef'))).toEqual({ offset: 4, expected: 'def', actual: 'xef' });
    expect(firstDifference(Buffer.from('ab'), Buffer.from('abc'))).toEqual({ offset: 2, expected: '', actual: 'c' });
    expect(firstDifference(Buffer.from([0, 1]), Buffer.from([0, 2]))).toEqual({ offset: 1, expected: '\\x01', actual: '\\x02' });
    expect(firstDifference(Buffer.from('same'), Buffer.from('same'))).toBeUndefined();
  });
});
