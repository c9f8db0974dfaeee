// A tracked directory that is a symbolic link to a place outside the project must not let
// checkout delete or write files there (nor sync read them); the real location is checked.
//
// Reproduction: tusk.yaml `track: [{path: evil, repo: words}]` with `evil -> /some/outside/dir`,
// then `tusk checkout --force`: files in the outside directory were deleted and the commit's
// files written there.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTusk } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A project (tusk.yaml + store) with repo `words` holding /a.txt, and an outside directory holding victim.txt. */
async function setup(track: string) {
  const project = tempDir('tusk-proj-');
  const outside = tempDir('tusk-outside-');
  dirs.push(project, outside);
  fs.writeFileSync(path.join(outside, 'victim.txt'), 'keep me\n');
  fs.writeFileSync(path.join(project, 'tusk.yaml'), `store: .tusk\ntrack:\n  - path: ${track}\n    repo: words\n`);
  const tusk = (args: string[], opts: { input?: string } = {}) => runTusk(args, { cwd: project, ...opts });
  for (const args of [['init'], ['create', 'repo', 'words']]) expect((await tusk(args)).code).toBe(0);
  const put = await tusk(['put', 'file', 'words@master:/a.txt'], { input: 'alpha\n' });
  expect(put.code, put.describe()).toBe(0);
  return { project, outside, tusk };
}

const listing = (d: string) => fs.readdirSync(d).sort();

describe('tracked paths behind symbolic links', () => {
  it('checkout --force refuses a tracked path that links outside the project; nothing outside changes', async () => {
    const { project, outside, tusk } = await setup('evil');
    fs.symlinkSync(outside, path.join(project, 'evil'));
    for (const args of [['checkout', '--force', '--json'], ['checkout', '--json'], ['status', '--json']]) {
      const r = await tusk(args);
      expect(r.code, r.describe()).toBe(2);
      expect(r.json().error).toMatchObject({ code: 'E_INVALID', message: expect.stringContaining('track[0].path evil leads outside the project') });
    }
    expect(listing(outside)).toEqual(['victim.txt']);
    expect(fs.readFileSync(path.join(outside, 'victim.txt'), 'utf8')).toBe('keep me\n');
  });

  it('a link in a parent of the tracked path is caught too', async () => {
    const { project, outside, tusk } = await setup('via/data');
    fs.mkdirSync(path.join(outside, 'data'));
    fs.writeFileSync(path.join(outside, 'data', 'victim.txt'), 'keep me\n');
    fs.symlinkSync(outside, path.join(project, 'via'));
    const r = await tusk(['checkout', '--force', '--json']);
    expect(r.code, r.describe()).toBe(2);
    expect(listing(path.join(outside, 'data'))).toEqual(['victim.txt']);
  });

  it('a symbolic link inside the tracked directory is not written through', async () => {
    const { project, outside, tusk } = await setup('data');
    // the commit has /sub/b.txt; locally `sub` is a link to the outside directory
    expect((await tusk(['put', 'file', 'words@master:/sub/b.txt'], { input: 'bravo\n' })).code).toBe(0);
    fs.mkdirSync(path.join(project, 'data'));
    fs.symlinkSync(outside, path.join(project, 'data', 'sub'));
    const r = await tusk(['checkout', '--force', '--json']);
    expect(r.code, r.describe()).toBe(2);
    expect(r.json().error.message).toContain('through a symbolic link');
    expect(listing(outside)).toEqual(['victim.txt']);
    expect(listing(path.join(project, 'data'))).toEqual(['sub']);
  });

  it('a tracked path that links inside the project still works', async () => {
    const { project, tusk } = await setup('data');
    fs.mkdirSync(path.join(project, 'real'));
    fs.symlinkSync('real', path.join(project, 'data'));
    const r = await tusk(['checkout', '--json']);
    expect(r.code, r.describe()).toBe(0);
    expect(fs.readFileSync(path.join(project, 'real', 'a.txt'), 'utf8')).toBe('alpha\n');
  });
});
