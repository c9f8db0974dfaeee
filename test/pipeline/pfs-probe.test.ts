// The sandbox probe's answer is remembered in the store (tmp/pfs-mode.json) so that a later
// process does not probe again: only a helper answer, only under the key it was found under, and
// a stale one is caught by the job's first server, dropped, and the job runs in the mode a fresh
// probe finds, with its inputs private copies as that mode needs.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { HELPER, PFS_MODE_FILE, findPfsMode, probeKey, type FoundMode } from '../../src/pipeline/pfs-probe.js';
import { ChildProcessTransform, type DatumContext } from '../../src/pipeline/transform.js';
import { REPO_ROOT } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';

const BUILT = pathToFileURL(path.join(REPO_ROOT, 'dist', 'pipeline', 'pfs-probe.js')).href;
const helperWorks =
  process.platform === 'linux' &&
  !process.env.TUSK_PFS_MODE &&
  fs.existsSync(HELPER) &&
  (() => {
    const d = tempDir();
    try {
      fs.mkdirSync(path.join(d, 'pfs', 'out'), { recursive: true });
      return spawnSync(HELPER, [path.join(d, 'pfs'), '/', d, '--', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0;
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  })();

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

/** findPfsMode in a process of its own (the built module), as the next `tusk` command would call it. */
function findInNewProcess(answers: string, helper: string): FoundMode {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', 'const m = await import(process.argv[1]); console.log(JSON.stringify(m.findPfsMode(process.argv[2], process.argv[3])))', BUILT, answers, helper], {
    encoding: 'utf8',
    env: { ...process.env, TUSK_PFS_MODE: '' },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as FoundMode;
}

/** A copy of the helper of its own (its own key), in `d`. */
function helperCopy(d: string): string {
  const h = path.join(d, 'tusk-ns');
  fs.copyFileSync(HELPER, h);
  fs.chmodSync(h, 0o755);
  return h;
}

describe.skipIf(!helperWorks)('the remembered sandbox probe', () => {
  it('remembers a helper answer under its key; the next process takes it without probing', () => {
    const answers = dir();
    const helper = helperCopy(answers);
    expect(findInNewProcess(answers, helper)).toEqual({ mode: 'helper', remembered: false });
    const file = JSON.parse(fs.readFileSync(path.join(answers, PFS_MODE_FILE), 'utf8')) as { key: string; mode: string };
    expect(file).toEqual({ key: probeKey(helper), mode: 'helper' });
    expect(findInNewProcess(answers, helper)).toEqual({ mode: 'helper', remembered: true });
    // another helper binary (rebuilt, replaced): a key of its own, so probed again
    fs.appendFileSync(helper, Buffer.alloc(1));
    expect(findInNewProcess(answers, helper)).toEqual({ mode: 'helper', remembered: false });
  });

  it('ignores an answer under another key, and never takes a weaker mode from the file', () => {
    const answers = dir();
    const helper = helperCopy(answers);
    const file = path.join(answers, PFS_MODE_FILE);
    fs.writeFileSync(file, JSON.stringify({ key: 'another machine', mode: 'helper' }));
    expect(findInNewProcess(answers, helper)).toEqual({ mode: 'helper', remembered: false });
    // a file naming a mode that would loosen the sandbox is not an answer, whatever its key
    fs.writeFileSync(file, JSON.stringify({ key: probeKey(helper), mode: 'rewrite' }));
    expect(findInNewProcess(answers, helper)).toEqual({ mode: 'helper', remembered: false });
    fs.writeFileSync(file, '{"key":');
    expect(findInNewProcess(answers, helper)).toEqual({ mode: 'helper', remembered: false });
  });

  it('a stale answer: the first server fails, the answer is dropped, and the datum runs in the mode probed now', async () => {
    const answers = dir();
    const helper = helperCopy(answers);
    // the helper cannot start any more (as after a change the key does not see), yet the key matches
    fs.chmodSync(helper, 0o644);
    fs.writeFileSync(path.join(answers, PFS_MODE_FILE), JSON.stringify({ key: probeKey(helper), mode: 'helper' }));
    const found = findPfsMode(answers, helper);
    expect(found).toEqual({ mode: 'helper', remembered: true });

    const work = dir();
    const store = fs.realpathSync(dir());
    const pfsDir = path.join(work, 'pfs');
    fs.mkdirSync(path.join(pfsDir, 'out'), { recursive: true });
    fs.mkdirSync(path.join(work, 'tmp'));
    const lines: string[] = [];
    const ctx: DatumContext = { pipeline: 'p', jobId: 'j', datumId: 'd', pfsDir, tmpDir: path.join(work, 'tmp'), workingDir: work, env: {}, signal: new AbortController().signal, log: (stream, m) => void (stream === 'stdout' && lines.push(m)), lane: 0 };
    const t = new ChildProcessTransform({ cmd: ['sh', '-c', 'echo "$TUSK_PFS_MODE_USED"; echo made > /pfs/out/x'], accept_return_code: [] } as never, found, helper, answers);
    try {
      expect(t.protectsInputs).toBe(true);
      await t.ready(store);
      // the probe now finds no helper; inputs of the mode found are private copies
      expect(t.pfsMode).not.toBe('helper');
      expect(t.protectsInputs).toBe(false);
      expect(fs.existsSync(path.join(answers, PFS_MODE_FILE))).toBe(false);
      const r = await t.run(ctx, 'main');
      expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
      expect(lines).toEqual([t.pfsMode]);
      expect(fs.readFileSync(path.join(pfsDir, 'out', 'x'), 'utf8')).toBe('made\n');
    } finally {
      t.close();
    }
    // the next process probes too (nothing stale left to take)
    expect(findInNewProcess(answers, helper).remembered).toBe(false);
  });

  it('a remembered answer that holds: the job runs in helper mode, its /pfs read-only', async () => {
    const answers = dir();
    expect(findInNewProcess(answers, HELPER).mode).toBe('helper');
    const found = findInNewProcess(answers, HELPER);
    expect(found.remembered).toBe(true);
    // the datum's scratch inside the store, as a job's is: the store is hidden but for it
    const store = fs.realpathSync(dir());
    const work = path.join(store, 'tmp', 'datums', 'w0');
    const pfsDir = path.join(work, 'pfs');
    fs.mkdirSync(path.join(pfsDir, 'out'), { recursive: true });
    fs.mkdirSync(path.join(work, 'tmp'));
    const lines: string[] = [];
    const ctx: DatumContext = { pipeline: 'p', jobId: 'j', datumId: 'd', pfsDir, tmpDir: path.join(work, 'tmp'), workingDir: '/', hideDir: store, env: {}, signal: new AbortController().signal, log: (stream, m) => void (stream === 'stdout' && lines.push(m)), lane: 0 };
    const t = new ChildProcessTransform({ cmd: ['sh', '-c', 'echo "$TUSK_PFS_MODE_USED $PPID"; touch /pfs/in 2>/dev/null && echo wrote; exit 0'], accept_return_code: [] } as never, found, HELPER, answers);
    try {
      await t.ready(store);
      expect(t.pfsMode).toBe('helper');
      expect(t.protectsInputs).toBe(true);
      const r = await t.run(ctx, 'main');
      expect(r.ok, JSON.stringify(r)).toBe(true);
      // /pfs is read-only but for out/: the sandbox is the helper's
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^helper \d+$/);
    } finally {
      t.close();
    }
    expect(fs.existsSync(path.join(answers, PFS_MODE_FILE))).toBe(true);
  });
});
