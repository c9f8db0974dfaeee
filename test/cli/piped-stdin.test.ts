// A command's arguments come from its command line only: a script or CI job that pipes text into
// tusk (or runs it with stdin left open on a pipe) must not have that text taken for a missing
// argument, optional or required.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withStoreDir, type StoreDir } from './cli-helpers.js';

describe('piped stdin', () => {
  let s: StoreDir;
  beforeAll(async () => {
    s = await withStoreDir();
    await s.json(['create', 'repo', 'images']);
    await s.json(['put', 'file', 'images@master:/a.txt', '-f', '-'], { input: 'alpha\n' });
  });
  afterAll(() => s?.cleanup());

  it('is not read as an optional argument', async () => {
    // `list commit` without a repo lists the commit sets; the piped word, taken for a repo, names none
    const sets = await s.json(['list', 'commit'], { input: 'nosuchrepo\n' });
    expect(sets.map((c: { commits: number }) => c.commits)).toEqual([1]);
  });

  it('is not read as a required argument', async () => {
    const r = await s.tusk(['inspect', 'repo', '--json'], { input: 'images\n' });
    expect(r.code, r.describe()).toBe(2);
    expect(r.json().error.code).toBe('E_INVALID');
  });

  it('still feeds the commands that read data from it', async () => {
    await s.json(['put', 'file', 'images@master:/b.txt', '-f', '-'], { input: 'beta\n' });
    const r = await s.tusk(['get', 'file', 'images@master:/b.txt']);
    expect(r.stdout).toBe('beta\n');
  });
});
