// Globs that backtrack. Reproduction: `tusk glob file 'r@b:/*a*a*a*a*b'` against one 250-character
// name took 35 s (6–8 stars: minutes), SIGTERM did not stop it, and as a pipeline glob it held the
// store's write lock so that every `put file` failed with E_LOCKED. Such globs are now matched by
// an NFA (src/store/glob-nfa.ts) in time linear in the path; these tests also check that it gives
// exactly the RegExp's answers and captures wherever the RegExp is quick enough to ask.
import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../src/store/glob.js';
import { expectOk, withStoreDir, writeTree } from '../cli/cli-helpers.js';

/** xorshift: the same cases on every run */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const PIECES = ['a', 'b', 'ab', '/', '*', '**', '?', '[ab]', '[!a]', '[a-c]', '{a,b}', '{a,}', '@(a|b)', '*(a)', '+(ab|a)', '?(b)', '!(a)', '!(*.c)', '(a)', '.c', '@(*a|b*)', '!(a|b*)x', '*(a|)'];
const NAME_CHARS = ['a', 'b', 'c', '.', '/', 'x'];

function randomGlob(r: () => number): string {
  const n = 1 + Math.floor(r() * 5);
  let g = '/';
  for (let i = 0; i < n; i++) g += PIECES[Math.floor(r() * PIECES.length)];
  return g;
}

function randomPath(r: () => number): string {
  const n = 1 + Math.floor(r() * 8);
  let p = '/';
  for (let i = 0; i < n; i++) p += NAME_CHARS[Math.floor(r() * NAME_CHARS.length)];
  return p.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
}

describe('glob matching without backtracking', () => {
  it('gives the RegExp matcher\'s answers and captures on 20,000 random globs × paths', () => {
    const r = rng(19);
    let matched = 0;
    for (let i = 0; i < 2000; i++) {
      const glob = randomGlob(r);
      let regex, nfa;
      try {
        regex = compileGlob(glob, { engine: 'regex' });
        nfa = compileGlob(glob, { engine: 'nfa' });
      } catch {
        continue; // a glob the parser rejects is rejected the same way by both
      }
      for (let j = 0; j < 10; j++) {
        const p = randomPath(r);
        const want = regex.match(p);
        expect(nfa.match(p), `${glob} against ${p}`).toEqual(want);
        if (want) matched++;
      }
    }
    expect(matched).toBeGreaterThan(1000);
  });

  it('the globs of the glob table match as before', () => {
    const cases: [string, string, string[] | null][] = [
      ['/*a*a*a*a*b', `/${'a'.repeat(20)}b`, []],
      ['/*a*a*a*a*b', `/${'a'.repeat(20)}`, null],
      ['/(*)/(*).txt', '/x/y.txt', ['x', 'y']],
      ['/!(*.js)', '/a.js', null],
      ['/!(*.js)', '/a.js.gz', ['a.js.gz']],
      ['/**.txt', '/a/b/c.txt', []],
      ['/*(a|b)c', '/ababc', ['abab']],
      ['/@(a|ab)*(b)', '/abbb', ['a', 'bbb']],
    ];
    for (const [glob, p, want] of cases) {
      expect(compileGlob(glob, { engine: 'nfa' }).match(p), `${glob} ${p}`).toEqual(want);
      expect(compileGlob(glob, { engine: 'regex' }).match(p), `${glob} ${p}`).toEqual(want);
    }
  });

  it('a glob that backtracks exponentially is matched by the NFA, at any length', () => {
    const name = `/${'a'.repeat(250)}`;
    for (const glob of ['/*a*a*a*a*b', '/*a*a*a*a*a*a*a*b', '/**a**a**a**a**b', '/*(a|aa)*(a|aa)*(a|aa)b', '/!(b*)*a*a*a*a*b']) {
      expect(compileGlob(glob).match(name), glob).toBeNull();
      expect(compileGlob(glob).match(`${name}b`), glob).not.toBeNull();
    }
  });

  it('the CLI: `tusk glob file` with 5 and 8 stars against a 250-character name ends', async () => {
    await withStoreDir(async (s) => {
      const fg = { env: { TUSK_RUNNER: 'foreground' } };
      const long = 'a'.repeat(250);
      expectOk(await s.tusk(['create', 'repo', 'r']));
      expectOk(await s.tusk(['put', 'file', `r@b:/${long}`], { input: 'x' }));
      expectOk(await s.tusk(['put', 'file', `r@b:/${long}b`], { input: 'y' }));
      // without the fix each of these ran for 35 s to minutes: the kill after 20 s fails the test
      for (const glob of ['/*a*a*a*a*b', '/*a*a*a*a*a*a*a*b']) {
        const r = await s.tusk(['glob', 'file', `r@b:${glob}`, '--json'], { timeoutMs: 20_000 });
        expect(r.code, r.describe()).toBe(0);
        expect(r.json<{ path: string }[]>().map((f) => f.path)).toEqual([`/${long}b`]);
      }
      // as a pipeline glob: the job plans its datums and later writes go through
      writeTree(s.dir, { 'p.json': JSON.stringify({ pipeline: { name: 'p' }, input: { pfs: { repo: 'r', branch: 'b', glob: '/*a*a*a*a*a*a*a*b' } }, transform: { cmd: ['sh'], stdin: ['cp -r /pfs/r/. /pfs/out/'] } }) });
      expectOk(await s.tusk(['create', 'pipeline', '-f', 'p.json', '--wait'], { ...fg, timeoutMs: 20_000 }));
      const put = await s.tusk(['put', 'file', 'r@b:/more', '--wait'], { ...fg, input: 'z', timeoutMs: 20_000 });
      expect(put.code, put.describe()).toBe(0);
      expect((await s.json<{ path: string }[]>(['list', 'file', 'p@master:/'])).map((f) => f.path)).toEqual([`/${long}b`]);
    });
  });
});
