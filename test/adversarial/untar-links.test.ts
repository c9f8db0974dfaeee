// `put file --untar` must not drop archive entries silently: a hard link is a regular file with
// its target's content; a symbolic link is skipped with a warning, as `put -r` skips one; any
// other special entry is skipped with a warning too.
//
// Reproduction: `mkdir hl; echo hi > hl/a.txt; ln hl/a.txt hl/linked.txt; tar cf hl.tar hl`,
// then `tusk put file --untar r@master -f hl.tar`: `files: 2`… and no /hl/linked.txt, no warning.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withStoreDir } from '../cli/cli-helpers.js';

function tar(cwd: string, args: string[]): void {
  const r = spawnSync('tar', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: ${r.stderr}`);
}

describe('--untar keeps hard links and names what it skips', () => {
  it('stores a hard link as a file with its target content, and warns about a symbolic link and a fifo', async () => {
    await withStoreDir(async (s) => {
      const src = path.join(s.dir, 'src');
      fs.mkdirSync(path.join(src, 'hl'), { recursive: true });
      fs.writeFileSync(path.join(src, 'hl', 'a.txt'), 'hello\n');
      fs.linkSync(path.join(src, 'hl', 'a.txt'), path.join(src, 'hl', 'linked.txt'));
      fs.symlinkSync('a.txt', path.join(src, 'hl', 'sym'));
      spawnSync('mkfifo', [path.join(src, 'hl', 'pipe')]);
      tar(src, ['cf', path.join(s.dir, 'hl.tar'), 'hl']);
      tar(src, ['czf', path.join(s.dir, 'hl.tgz'), 'hl']);
      expect((await s.tusk(['create', 'repo', 'r'])).code).toBe(0);

      const r = await s.tusk(['put', 'file', '--untar', 'r@master', '-f', 'hl.tar', '--json']);
      expect(r.code, r.describe()).toBe(0);
      const res = r.json();
      expect(res.files).toBe(2);
      expect(res.warnings).toEqual(expect.arrayContaining([expect.stringContaining('skipping symbolic link hl/sym -> a.txt'), expect.stringContaining('hl/pipe')]));
      const listed = (await s.json(['list', 'file', 'r@master:/hl/'])).map((f: { path: string }) => f.path).sort();
      expect(listed).toEqual(['/hl/a.txt', '/hl/linked.txt']);
      const got = await s.tusk(['get', 'file', 'r@master:/hl/linked.txt']);
      expect(got.stdout).toBe('hello\n');

      // without --json the warnings go to stderr; gzip archives behave the same
      const z = await s.tusk(['put', 'file', '--untar', 'r@master:/z', '-f', 'hl.tgz']);
      expect(z.code, z.describe()).toBe(0);
      expect(z.stderr).toContain('warning: skipping symbolic link hl/sym -> a.txt');
      expect((await s.tusk(['get', 'file', 'r@master:/z/hl/linked.txt'])).stdout).toBe('hello\n');
    });
  });

  it('warns about a hard link whose target is not in the archive', async () => {
    await withStoreDir(async (s) => {
      const src = path.join(s.dir, 'src');
      fs.mkdirSync(path.join(src, 'hl'), { recursive: true });
      fs.writeFileSync(path.join(src, 'hl', 'a.txt'), 'hello\n');
      fs.linkSync(path.join(src, 'hl', 'a.txt'), path.join(src, 'hl', 'linked.txt'));
      // only the link member: tar records it as a link to hl/a.txt, which the archive lacks
      tar(src, ['cf', path.join(s.dir, 'only-link.tar'), 'hl/a.txt', 'hl/linked.txt']);
      tar(s.dir, ['--delete', '-f', 'only-link.tar', 'hl/a.txt']);
      expect((await s.tusk(['create', 'repo', 'r'])).code).toBe(0);
      const r = await s.tusk(['put', 'file', '--untar', 'r@master', '-f', 'only-link.tar', '--json']);
      expect(r.code, r.describe()).toBe(0);
      expect(r.json().warnings).toEqual([expect.stringContaining('skipping hard link hl/linked.txt')]);
    });
  });
});
