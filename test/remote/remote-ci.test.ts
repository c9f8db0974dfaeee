// The CI story of docs/ci.md: a developer locks a project and pushes its store; CI makes a fresh
// git clone, `tusk clone`s the store from the remote and runs `tusk verify`, which passes; when
// the remote's data was tampered with, the clone fails (E_CORRUPT) instead of verifying wrong bytes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTusk } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { gitEnv, TestProject } from '../project/project-helpers.js';

const work = tempDir('tusk-remote-ci-');
const p = new TestProject();
afterAll(() => {
  p.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

function gitClone(name: string): string {
  const dir = path.join(work, name);
  const g = spawnSync('git', ['clone', '-q', p.dir, dir], { env: gitEnv(), encoding: 'utf8' });
  expect(g.status, g.stderr).toBe(0);
  return dir;
}

describe('CI: git clone + tusk clone + tusk verify', () => {
  it('verifies from a pushed store, and refuses a tampered remote', async () => {
    const remote = `file://${path.join(work, 'remote')}`;
    const lock = await p.tusk(['lock', '--json']);
    expect(lock.code, lock.describe()).toBe(0);
    p.commit('first');
    for (const args of [['remote', 'add', 'origin', remote], ['push']]) {
      const r = await p.tusk([...args, '--json']);
      expect(r.code, r.describe()).toBe(0);
    }

    const ci = gitClone('ci');
    const cloned = await runTusk(['clone', remote, ci, '--json']);
    expect(cloned.code, cloned.describe()).toBe(0);
    const verified = await runTusk(['verify', '--json'], { cwd: ci });
    expect(verified.code, verified.describe()).toBe(0);
    expect(verified.json().ok).toBe(true);

    // tamper with the remote's data: every pack gets one byte flipped in its last record
    const packs = path.join(work, 'remote', 'packs');
    for (const f of fs.readdirSync(packs)) {
      const bytes = fs.readFileSync(path.join(packs, f));
      bytes[bytes.length - 2] ^= 0x01;
      fs.writeFileSync(path.join(packs, f), bytes);
    }
    const ci2 = gitClone('ci2');
    const bad = await runTusk(['clone', remote, ci2, '--json']);
    expect(bad.code, bad.describe()).toBe(5);
    expect(bad.json().error.code).toBe('E_CORRUPT');
    // no half store is left for a later step to verify
    expect(fs.existsSync(path.join(ci2, '.tusk'))).toBe(false);
    expect((await runTusk(['verify', '--json'], { cwd: ci2 })).code).not.toBe(0);
  }, 60_000);
});
