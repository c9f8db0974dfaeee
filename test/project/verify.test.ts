// `tusk verify` on a real project: passes untouched (also in a fresh clone that has only the
// store), and fails, naming pipeline, datum and file, when the code, an input or an output is
// tampered with. `--changed` re-runs only the datums whose inputs changed since a base lock.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/store/hash.js';
import { tempDir } from '../helpers.js';
import { gitEnv, TestProject, UPPER_SH } from './project-helpers.js';
import { runTusk } from '../cli/cli-helpers.js';
import { spawnSync } from 'node:child_process';

const step = it.sequential;

type Report = {
  ok: boolean;
  inputs: { input: string; ok: boolean; problem?: string }[];
  pipelines: {
    pipeline: string;
    status: string;
    problems: string[];
    reran: number;
    reused: number;
    files: { path: string; kind: string; datum: string | null; datumInputs: string[]; expected: string | null; actual: string | null; firstDifference?: { offset: number; expected: string; actual: string } }[];
    failedDatums: { datum: string; inputs: string[]; error: string | null; log: string[] }[];
  }[];
};

/** A project whose lock was written (pipelines run) and committed; removed after the group. */
function useProject(): { get: () => { p: TestProject; locked: any } } {
  let p: TestProject;
  let locked: any;
  beforeAll(async () => {
    p = new TestProject();
    const r = await p.tusk(['lock', '--json']);
    if (r.code !== 0) throw new Error(r.describe());
    p.commit('first');
    locked = p.lock();
  });
  afterAll(() => p.cleanup());
  return { get: () => ({ p, locked }) };
}

/** Run verify --json (and, with `human`, also without --json); returns the exit code, the human output and the report. */
async function verify(args: string[], cwd: string, human = false): Promise<{ code: number; text: string; report: Report }> {
  const [json, text] = await Promise.all([runTusk(['verify', ...args, '--json'], { cwd }), human ? runTusk(['verify', ...args], { cwd }) : undefined]);
  if (text) expect(text.code, text.describe()).toBe(json.code);
  const body = json.json<any>();
  return { code: json.code, text: text ? text.stdout + text.stderr : json.describe(), report: (body.error ? body.error.details : body) as Report };
}

describe.concurrent('tusk verify: untouched, fresh clone, tampered lock and store', () => {
  const project = useProject();
  let p: TestProject;
  let locked: any;
  beforeAll(() => {
    ({ p, locked } = project.get());
  });

  step('an untouched project verifies', async () => {
    const v = await verify([], p.dir, true);
    expect(v.code, v.text).toBe(0);
    expect(v.report.ok).toBe(true);
    expect(v.report.pipelines.map((x) => [x.pipeline, x.status, x.reran])).toEqual([['upper', 'ok', 2]]);
    expect(v.text).toContain('all outputs reproduced');
    // the scratch pipeline is gone, the real output branch did not move
    const repos = await p.tuskJson(['list', 'repo']);
    expect(repos.map((r: any) => r.name).sort()).toEqual(['upper', 'words']);
    const head = await p.tuskJson(['inspect', 'branch', 'upper@master']);
    expect(head.head).toBe(locked.pipelines.upper.output.commit);
  });

  step('a fresh clone with only the store verifies; a corrupt input in that store fails', async () => {
    const clone = path.join(tempDir('tusk-clone-'), 'repo');
    try {
      const g = spawnSync('git', ['clone', '-q', p.dir, clone], { env: gitEnv(), encoding: 'utf8' });
      expect(g.status, g.stderr).toBe(0);
      expect(fs.existsSync(path.join(clone, 'data'))).toBe(false);
      // CI restores the store from its cache; here, a copy
      fs.cpSync(p.path('.tusk'), path.join(clone, '.tusk'), { recursive: true });
      const ok = await verify([], clone);
      expect(ok.code, ok.text).toBe(0);

      // flip a byte of the chunk holding data/words/a.txt, and drop the materialized-input cache
      const id = hashBytes(Buffer.from('hello\n'));
      const db = new Database(path.join(clone, '.tusk', 'meta.db'));
      const loc = db.prepare('SELECT p.name AS name, c.offset AS offset FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.id = ?').get(id) as { name: string; offset: number };
      db.close();
      const packFile = findFile(path.join(clone, '.tusk', 'packs'), loc.name);
      const fd = fs.openSync(packFile, 'r+');
      const b = Buffer.alloc(1);
      fs.readSync(fd, b, 0, 1, loc.offset + 48);
      b[0]! ^= 0xff;
      fs.writeSync(fd, b, 0, 1, loc.offset + 48);
      fs.closeSync(fd);
      fs.rmSync(path.join(clone, '.tusk', 'cache'), { recursive: true, force: true });
      const bad = await verify([], clone);
      expect(bad.code, bad.text).toBe(1);
      const up = bad.report.pipelines[0]!;
      expect(up.status).toBe('failed');
      expect(up.failedDatums.map((d) => d.inputs)).toEqual([['words:/a.txt']]);
      expect(up.failedDatums[0]!.error).toMatch(/cannot be read|does not match/);
    } finally {
      fs.rmSync(path.dirname(clone), { recursive: true, force: true });
    }
  });

  step('a tampered output id in the lock', async () => {
    const lock = p.lock();
    lock.pipelines.upper.output.files['/b.txt'] = lock.pipelines.upper.output.files['/a.txt'];
    p.write({ 'tusk.lock': JSON.stringify(lock, null, 2) });
    try {
      const v = await verify([], p.dir);
      expect(v.code, v.text).toBe(1);
      const files = v.report.pipelines[0]!.files;
      expect(files.map((f) => [f.path, f.kind, f.datumInputs])).toEqual([['/b.txt', 'content', ['words:/b.txt']]]);
      expect(files[0]!.firstDifference).toEqual({ offset: 0, expected: 'HELLO\\n', actual: 'WORLD\\n' });
    } finally {
      p.gitOk(['checkout', 'tusk.lock']);
    }
  });

  step('ids that differ only at the end are shown long enough to differ', async () => {
    const lock = p.lock();
    const real: string = lock.pipelines.upper.output.files['/a.txt'];
    const near = real.slice(0, -1) + (real.endsWith('0') ? '1' : '0');
    lock.pipelines.upper.output.files['/a.txt'] = near;
    p.write({ 'tusk.lock': JSON.stringify(lock, null, 2) });
    try {
      const v = await verify([], p.dir, true);
      expect(v.code, v.text).toBe(1);
      expect(v.report.pipelines[0]!.problems).toContain('1 output file differs from the lock');
      expect(v.text).toContain(`locked ${near}, got ${real}`);
    } finally {
      p.gitOk(['checkout', 'tusk.lock']);
    }
  });

  step('inputs: a new commit in the store leaves the lock verifiable; a lock pointing elsewhere fails', async () => {
    // the store moves on, the lock still pins the commit it was made from
    const put = await p.tusk(['put', 'file', 'words@master:/a.txt', '--json'], { input: 'changed\n' });
    expect(put.code, put.describe()).toBe(0);
    const newer = put.json().commit as string;
    expect((await verify([], p.dir)).code).toBe(0);

    // the pipeline's locked input replaced by the newer commit: its outputs no longer match
    const lock = p.lock();
    lock.pipelines.upper.inputs['words@master'] = newer;
    p.write({ 'tusk.lock': JSON.stringify(lock, null, 2) });
    const v = await verify([], p.dir);
    expect(v.code, v.text).toBe(1);
    expect(v.report.pipelines[0]!.files.map((f) => [f.path, f.kind])).toEqual([['/a.txt', 'content']]);
    expect(v.report.pipelines[0]!.files[0]!.firstDifference).toEqual({ offset: 0, expected: 'HELLO\\n', actual: 'CHANGED\\n' });

    // the tracked input's commit replaced: its tree is not the locked one
    const lock2 = p.lock();
    lock2.pipelines.upper.inputs['words@master'] = locked.inputs['words@master'].commit;
    lock2.inputs['words@master'].commit = newer;
    p.write({ 'tusk.lock': JSON.stringify(lock2, null, 2) });
    const w = await verify([], p.dir, true);
    expect(w.code, w.text).toBe(1);
    expect(w.text).toContain('Error: 1 locked input does not match the store');
    expect(w.report.inputs).toEqual([{ input: 'words@master', commit: newer, ok: false, problem: expect.stringContaining('the lock says') }]);
    p.gitOk(['checkout', 'tusk.lock']);
  });

});

describe.concurrent('tusk verify: changed code, --changed', () => {
  const project = useProject();
  let p: TestProject;
  let locked: any;
  beforeAll(() => {
    ({ p, locked } = project.get());
  });

  step('changed code: the differing files, their datums and first differing bytes', async () => {
    p.write({ 'scripts/upper.sh': UPPER_SH.replace('> "$2', '| sed s/L/1/ > "$2') });
    try {
      const v = await verify([], p.dir, true);
      expect(v.code, v.text).toBe(1);
      const up = v.report.pipelines[0]!;
      expect(up.status).toBe('failed');
      expect(up.problems.join('\n')).toContain('code of upper (scripts/upper.sh) changed since the lock');
      expect(up.files.map((f) => [f.path, f.kind, f.datumInputs])).toEqual([
        ['/a.txt', 'content', ['words:/a.txt']],
        ['/b.txt', 'content', ['words:/b.txt']],
      ]);
      expect(up.files[0]!.expected).toBe(locked.pipelines.upper.output.files['/a.txt']);
      expect(up.files[0]!.datum).toMatch(/^[0-9a-f]{64}$/);
      expect(up.files[0]!.firstDifference).toEqual({ offset: 2, expected: 'LLO\\n', actual: '1LO\\n' });
      expect(v.text).toContain('FAILED  upper');
      expect(v.text).toContain('/a.txt: datum');
      expect(v.text).toContain('first difference at byte 2: locked "LLO\\n", got "1LO\\n"');
      expect(v.text).toMatch(/Error: 1 of 1 locked pipelines did not reproduce/);
    } finally {
      p.write({ 'scripts/upper.sh': UPPER_SH });
    }
  });

  step('code that now fails: the failed datums and their log', async () => {
    p.write({ 'scripts/upper.sh': 'echo "cannot upper-case $1" >&2\nexit 3\n' });
    try {
      const v = await verify([], p.dir);
      expect(v.code, v.text).toBe(1);
      const up = v.report.pipelines[0]!;
      expect(up.failedDatums.length).toBe(2);
      expect(up.failedDatums[0]!.log.join('\n')).toContain('cannot upper-case');
    } finally {
      p.write({ 'scripts/upper.sh': UPPER_SH });
    }
  });

  step('--changed re-runs only the datums whose inputs changed since the base lock', async () => {
    p.write({ 'data/words/c.txt': 'third\n' });
    const l = await p.tusk(['lock', '--json']);
    expect(l.code, l.describe()).toBe(0);
    p.commit('more data');
    const v = await verify(['--changed', '--base', 'HEAD~1'], p.dir);
    expect(v.code, v.text).toBe(0);
    expect(v.report.pipelines.map((x) => [x.pipeline, x.status, x.reran, x.reused])).toEqual([['upper', 'ok', 1, 2]]);
    // a base lock given as a file works the same; the full verify re-runs everything
    fs.writeFileSync(p.path('.git/base.lock'), p.gitOk(['show', 'HEAD~1:tusk.lock']));
    const f = await verify(['--changed', '--base', '.git/base.lock'], p.dir);
    expect(f.report.pipelines[0]!.reused).toBe(2);
    const full = await verify([], p.dir);
    expect(full.report.pipelines.map((x) => [x.reran, x.reused])).toEqual([[3, 0]]);
  });

  step('--base naming neither a lock file nor a git revision is an error, not a full re-run', async () => {
    const before = await p.tuskJson(['list', 'repo']);
    for (const base of ['no-such-branch', 'HEAD~99']) {
      const r = await runTusk(['verify', '--changed', '--base', base, '--json'], { cwd: p.dir });
      expect(r.code, r.describe()).toBe(2);
      expect(r.json().error).toMatchObject({ code: 'E_INVALID', message: `--base ${base} is neither a lock file nor a git revision` });
    }
    const plain = await runTusk(['verify', '--base', 'origin/main'], { cwd: p.dir });
    expect(plain.code, plain.describe()).toBe(2);
    expect(plain.stderr).toMatch(/^Error: --base origin\/main is neither a lock file nor a git revision\nHint: .*git fetch/);
    expect(await p.tuskJson(['list', 'repo'])).toEqual(before);
  });
});

function findFile(dir: string, name: string): string {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const hit = findFile(p, name);
      if (hit) return hit;
    } else if (e.name === name || e.name === `${name}.pack`) return p;
  }
  return '';
}
