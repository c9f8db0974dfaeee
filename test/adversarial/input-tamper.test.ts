// One pipeline must not be able to change what another pipeline reads. Input files are hard
// links into the store's input cache; a transform that wrote into its input file changed the
// cached copy, another pipeline then read the altered bytes, `fsck --verify-data` said "No errors
// found" and `--reprocess` kept reading the bad copy.
//
// Reproduction: repo `in` with /src.txt; pipeline `evil` runs
//   sh -c 'chmod u+w /pfs/in/src.txt; echo x >> /pfs/in/src.txt'   (as root the chmod is not needed)
// then pipeline `victim` copies /pfs/in/src.txt to its output: it held "original\nx\n".
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRoot, namespacesWork, sandboxStore, USERS, writeSpec, type Mode } from './sandbox-helpers.js';

const MODES: Mode[] = namespacesWork() ? ['helper', 'namespace', 'rewrite'] : ['rewrite'];
if (!namespacesWork()) console.warn('user namespaces are not available here: only the path-rewrite mode is tested');

// as root a remount to read-write is tried first (the helper's locked mounts refuse it; the
// shell namespace allows it, which is why it gets private copies)
const EVIL = 'mount -o remount,rw,bind /pfs/in 2>/dev/null || mount -o remount,rw,bind /pfs 2>/dev/null; chmod u+w /pfs/in/src.txt; echo x >> /pfs/in/src.txt; echo "write: $?"; cp /pfs/in/src.txt /pfs/out/seen.txt; exit 0';

const VICTIM = { pipeline: { name: 'victim' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'cp /pfs/in/src.txt /pfs/out/src.txt'] } };

describe.concurrent.each(MODES)('TUSK_PFS_MODE=%s', (mode) => {
  it.each(USERS)('a transform writing its input (as $name) changes nothing another pipeline reads', async ({ uid }) => {
    const s = await sandboxStore(mode, uid);
    try {
      await s.ok(['create', 'repo', 'in']);
      await s.ok(['put', 'file', 'in@master:/src.txt'], { input: 'original\n' });
      // evil's job runs first (the older pipeline), then victim's
      const evil = { pipeline: { name: 'evil' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', '-c', EVIL] } };
      writeSpec(s, 'victim.json', VICTIM);
      await s.ok(['create', 'pipeline', '-f', writeSpec(s, 'both.json', [evil, VICTIM])]);
      expect((await s.ok(['get', 'file', 'victim@master:/src.txt'])).stdout).toBe('original\n');
      // the helper's read-only, locked /pfs: the write itself fails
      if (mode === 'helper') expect((await s.ok(['get', 'file', 'evil@master:/seen.txt'])).stdout).toBe('original\n');
      // the victim again, from scratch: still the original bytes
      await s.ok(['update', 'pipeline', '-f', 'victim.json', '--reprocess']);
      expect((await s.ok(['get', 'file', 'victim@master:/src.txt'])).stdout).toBe('original\n');
      const fsck = (await s.ok(['fsck', '--verify-data', '--json'])).json();
      expect(fsck).toMatchObject({ ok: true, problems: [] });
      expect(fsck.checked.cachedInputs).toBeGreaterThanOrEqual(1);
    } finally {
      s.cleanup();
    }
  });
});

describe('fsck --verify-data checks the input cache', () => {
  it('reports and removes a cached input whose bytes were changed; the next job reads the original', async () => {
    const s = await sandboxStore(MODES[0]!);
    try {
      await s.ok(['create', 'repo', 'in']);
      await s.ok(['put', 'file', 'in@master:/src.txt'], { input: 'original\n' });
      await s.ok(['create', 'pipeline', '-f', writeSpec(s, 'copy.json', { pipeline: { name: 'copy' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'cp /pfs/in/src.txt /pfs/out/'] } })]);
      const cache = path.join(s.store, 'cache');
      const [file] = fs.readdirSync(cache).flatMap((d) => fs.readdirSync(path.join(cache, d)).map((f) => path.join(cache, d, f)));
      // the same size and mode: only hashing can tell (as a remount or another tool would leave it)
      fs.chmodSync(file!, 0o644);
      fs.writeFileSync(file!, 'ORIGINAL\n');
      fs.chmodSync(file!, 0o444);
      const bad = await s.tusk(['fsck', '--verify-data', '--json']);
      expect(bad.code, bad.describe()).toBe(5);
      expect(bad.json().error.details.problems).toEqual([{ subject: `cached input ${path.basename(file!).slice(0, 16)}`, problem: expect.stringContaining('do not match its content id (removed') }]);
      expect(fs.existsSync(file!)).toBe(false);
      await s.ok(['update', 'pipeline', '-f', 'copy.json', '--reprocess']);
      expect((await s.ok(['get', 'file', 'copy@master:/src.txt'])).stdout).toBe('original\n');
      expect((await s.ok(['fsck', '--verify-data', '--json'])).json().ok).toBe(true);
    } finally {
      s.cleanup();
    }
  });
});

if (!isRoot) console.warn('not root: the unprivileged-user runs are the current user');
