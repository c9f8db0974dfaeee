// Errors and warnings that fit the command that was run: a get's destination error speaks of -o,
// a missing commit echoes the ref as given, a missing `-i` entry names the list file and line,
// and `put -r` says what it skipped on stderr (or in --json, never both).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCliError, expectOk, snapshot, type StoreDir, withStoreDir, writeTree } from './cli-helpers.js';

describe('messages that fit the command', () => {
  let s: StoreDir;
  beforeAll(async () => {
    s = await withStoreDir();
    expectOk(await s.tusk(['create', 'repo', 'images']));
    expectOk(await s.tusk(['put', 'file', 'images@master:/cat.txt'], { input: 'meow\n' }));
  });
  afterAll(() => s?.cleanup());

  it('get file -o an existing directory: the hint is about -o, and nothing is left behind', async () => {
    fs.mkdirSync(path.join(s.dir, 'out'));
    const err = await expectCliError(['get', 'file', 'images@master:/cat.txt', '-o', 'out'], { exit: 2, code: 'E_INVALID', mentions: ['it is a directory'] }, { cwd: s.dir });
    expect(err.message).toBe(`cannot write ${path.join(s.dir, 'out')}: it is a directory`);
    expect(err.hint).toContain(`-o ${path.join(s.dir, 'out')}/NAME`);
    expect(err.hint).not.toContain('put');
    expect(fs.readdirSync(path.join(s.dir, 'out'))).toEqual([]);
    expect(fs.readdirSync(s.dir).filter((f) => f.includes('.tusk-'))).toEqual([]);
  });

  it('inspect commit of an unknown id echoes the ref as given, without a stray =', async () => {
    const id = '1630a8b7c6d54a2b1c0d9e8f7a6b5c4d'; // a well-formed id (version nibble 4) that no commit has
    await expectCliError(['inspect', 'commit', `images@${id}`], { exit: 4, code: 'E_NOT_FOUND', mentions: [`commit images@${id} not found`] }, { cwd: s.dir });
  });

  it('a missing entry of -i LIST names the list file and its line; the store is unchanged', async () => {
    writeTree(s.dir, { 'in/a.txt': 'a', 'list.txt': 'in/a.txt\n\nin/nope.txt\n' });
    const before = await snapshot(s.dir);
    const err = await expectCliError(['put', 'file', 'images@master', '-i', 'list.txt'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['in/nope.txt doesn\'t exist (listed on line 3 of list.txt)'] }, { cwd: s.dir });
    expect(err.hint).toMatch(/^fix or remove line 3 of list\.txt/);
    const stdin = await expectCliError(['put', 'file', 'images@master', '-i', '-'], { exit: 4, code: 'E_NOT_FOUND', mentions: ['(listed on line 1 of the list read from stdin)'] }, { cwd: s.dir, input: 'in/nope.txt\n' });
    expect(stdin.hint).not.toContain('-f');
    expect(await snapshot(s.dir)).toEqual(before);
  });

  it('put -r prints skipped links on stderr; under --json they are in warnings[] and stderr is empty', async () => {
    writeTree(s.dir, { 'tree/real.txt': 'r' });
    fs.symlinkSync('real.txt', path.join(s.dir, 'tree', 'link.txt'));
    const plain = expectOk(await s.tusk(['put', 'file', 'images@master:/t1', '-r', '-f', 'tree']));
    expect(plain.stderr).toMatch(/^warning: .*link\.txt.*\n$/);
    const json = expectOk(await s.tusk(['put', 'file', 'images@master:/t2', '-r', '-f', 'tree', '--json']));
    expect(json.stderr).toBe('');
    expect(json.json<{ warnings: string[] }>().warnings).toEqual([expect.stringContaining('link.txt')]);
  });
});
