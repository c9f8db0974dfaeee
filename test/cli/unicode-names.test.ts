// Unicode file names through the built CLI: put (stdin, files, -r), get, list, glob, diff, datums
// and /pfs, in NFC whatever form they were typed or stored on disk in, ordered by UTF-8 bytes.
// Names with control characters, two local names that are one NFC name, and names that are not
// UTF-8 are refused with the reason, and the store is unchanged.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCliError, expectJsonError, expectOk, type StoreDir, withStoreDir, writeTree } from './cli-helpers.js';

const NFC_E = '\u00e9'; // é precomposed
const NFD_E = 'e\u0301'; // é decomposed, as macOS file systems hand it out
const PRIVATE = '\ue000'; // sorts before any emoji in UTF-8, after them in UTF-16
type FileInfo = { path: string; type: string; hash: string };

describe('unicode file names', () => {
  let s: StoreDir;
  beforeAll(async () => {
    s = await withStoreDir();
    expectOk(await s.tusk(['create', 'repo', 'docs']));
  });
  afterAll(() => s?.cleanup());

  it('put from stdin and get back a CJK path; --json and the table show it as given', async () => {
    expectOk(await s.tusk(['put', 'file', 'docs@master:/写真/猫.png'], { input: 'meow' }));
    expect(expectOk(await s.tusk(['get', 'file', 'docs@master:/写真/猫.png'])).stdout).toBe('meow');
    const files = await s.json<FileInfo[]>(['list', 'file', 'docs@master:/写真']);
    expect(files.map((f) => f.path)).toEqual(['/写真/猫.png']);
    expect(expectOk(await s.tusk(['list', 'file', 'docs@master:/写真'])).stdout).toMatch(/^NAME\s+TYPE SIZE\n\/写真\/猫\.png file 4B\n$/);
  });

  it('put -r of a folder of accented, CJK and emoji names: NFC names in UTF-8 byte order', async () => {
    writeTree(s.dir, {
      [`local/${NFD_E}t${NFD_E}.txt`]: 'summer',
      'local/ünï.txt': 'u',
      'local/😀.txt': 'smile',
      [`local/${PRIVATE}.txt`]: 'private use',
      'local/plain.txt': 'p',
      'local/写真/猫.png': 'cat',
    });
    expectOk(await s.tusk(['put', 'file', 'docs@master:/r', '-r', '-f', 'local']));
    const files = await s.json<FileInfo[]>(['list', 'file', 'docs@master:/r']);
    const want = ['/r/plain.txt', `/r/${NFC_E}t${NFC_E}.txt`, '/r/ünï.txt', '/r/写真', `/r/${PRIVATE}.txt`, '/r/😀.txt'];
    expect(files.map((f) => f.path)).toEqual(want);
    expect(files.map((f) => f.path)).toEqual([...want].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    // typed in either form, the path names the one stored file
    for (const e of [NFC_E, NFD_E]) expect(expectOk(await s.tusk(['get', 'file', `docs@master:/r/${e}t${e}.txt`])).stdout).toBe('summer');
    // a glob in either form matches it too
    for (const e of [NFC_E, NFD_E]) {
      const hit = await s.json<FileInfo[]>(['glob', 'file', `docs@master:/r/${e}*`]);
      expect(hit.map((f) => f.path)).toEqual([`/r/${NFC_E}t${NFC_E}.txt`]);
    }
    const emoji = await s.json<FileInfo[]>(['glob', 'file', 'docs@master:/r/?.txt']);
    expect(emoji.map((f) => f.path)).toEqual([`/r/${PRIVATE}.txt`, '/r/😀.txt']);
    // get -r writes the names back out (NFC)
    expectOk(await s.tusk(['get', 'file', 'docs@master:/r', '-r', '-o', 'back']));
    expect(fs.readdirSync(path.join(s.dir, 'back')).sort()).toEqual(['plain.txt', 'ünï.txt', `${NFC_E}t${NFC_E}.txt`, '写真', `${PRIVATE}.txt`, '😀.txt'].sort());
    expect(fs.readFileSync(path.join(s.dir, 'back', '写真', '猫.png'), 'utf8')).toBe('cat');
  });

  it('one file at a time or all at once, the directory has the same tree id; diff walks both orders alike', async () => {
    const names = ['a.txt', `${PRIVATE}.txt`, '😀.txt', 'ünï.txt', '写.txt'];
    writeTree(s.dir, Object.fromEntries(names.map((n) => [`one/${n}`, n])));
    expectOk(await s.tusk(['put', 'file', 'docs@master:/all', '-r', '-f', 'one']));
    // the emoji and the U+E000 name (whose UTF-8 and UTF-16 orders differ) go in by separate merges
    expectOk(await s.tusk(['put', 'file', 'docs@master:/each', ...['a.txt', 'ünï.txt', '写.txt'].flatMap((n) => ['-f', `one/${n}`])]));
    for (const n of ['😀.txt', `${PRIVATE}.txt`]) expectOk(await s.tusk(['put', 'file', `docs@master:/each/${n}`, '-f', `one/${n}`]));
    const all = await s.json<FileInfo>(['inspect', 'file', 'docs@master:/all']);
    const each = await s.json<FileInfo>(['inspect', 'file', 'docs@master:/each']);
    expect(each.hash).toBe(all.hash);
    // a change to the emoji file only: the diff names exactly it
    fs.writeFileSync(path.join(s.dir, 'one', '😀.txt'), 'changed');
    expectOk(await s.tusk(['put', 'file', 'docs@master:/each/😀.txt', '-f', 'one/😀.txt']));
    const diff = await s.json<{ path: string }[]>(['diff', 'file', 'docs@master:/each', 'docs@master^:/each']);
    expect(JSON.stringify(diff)).toContain('/each/😀.txt');
    expect(JSON.stringify(diff)).not.toContain(PRIVATE);
  });

  it('datums and /pfs see the names; the output keeps them', async () => {
    expectOk(await s.tusk(['create', 'repo', 'photos']));
    expectOk(await s.tusk(['put', 'file', 'photos@master:/写真.txt'], { input: 'x' }));
    expectOk(await s.tusk(['put', 'file', `photos@master:/${NFD_E}.txt`], { input: 'y' }));
    writeTree(s.dir, { 'copy.json': JSON.stringify({ pipeline: { name: 'copy' }, input: { pfs: { repo: 'photos', glob: '/*' } }, transform: { cmd: ['sh', '-c', 'for f in /pfs/photos/*; do cp "$f" "/pfs/out/$(basename "$f").seen"; done'] } }) });
    expectOk(await s.tusk(['create', 'pipeline', '-f', 'copy.json', '--wait'], { env: { TUSK_RUNNER: 'foreground' } }));
    const out = await s.json<FileInfo[]>(['list', 'file', 'copy@master']);
    expect(out.map((f) => f.path)).toEqual([`/${NFC_E}.txt.seen`, '/写真.txt.seen']);
    const [job] = await s.json<{ id: string }[]>(['list', 'job', '-p', 'copy']);
    const datums = await s.json<{ files: { path: string }[] }[]>(['list', 'datum', `copy@${job!.id}`]);
    expect(datums.map((d) => d.files[0]!.path).sort()).toEqual([`/${NFC_E}.txt`, '/写真.txt']);
  });

  it('refuses control characters, two local names for one NFC name, and non-UTF-8 names; the store is unchanged', async () => {
    const heads = async () => (await s.json<{ name: string; head: string }[]>(['list', 'branch', 'docs'])).map((b) => `${b.name}=${b.head}`);
    const before = await heads();
    const bell = await expectCliError(['put', 'file', 'docs@master:/bell\x07.txt'], { exit: 2, code: 'E_INVALID', mentions: ['control character (\\u0007) not allowed in path'] }, { cwd: s.dir, input: 'x' });
    expect(bell.message).toContain('/bell\\u0007.txt');

    writeTree(s.dir, { [`twins/caf${NFC_E}`]: '1', [`twins/caf${NFD_E}`]: '2' });
    const twins = await expectJsonError(['put', 'file', 'docs@master:/t', '-r', '-f', 'twins'], { exit: 2, code: 'E_INVALID', mentions: ['are one name in the repo'] }, { cwd: s.dir });
    expect(twins.hint).toContain('rename or remove one of them');

    fs.mkdirSync(path.join(s.dir, 'latin1'));
    // a file name in Latin-1 bytes (0xe9 = é): not UTF-8
    const made = spawnSync('sh', ['-c', "printf x > \"$(printf 'latin1/caf\\351')\""], { cwd: s.dir });
    expect(made.status).toBe(0);
    const latin = await expectJsonError(['put', 'file', 'docs@master:/l', '-r', '-f', 'latin1'], { exit: 2, code: 'E_INVALID', mentions: ['its name is not UTF-8 (bytes 636166e9)'] }, { cwd: s.dir });
    expect(latin.hint).toContain('rename it');
    expect(await heads()).toEqual(before);
  });
});
