import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type LocalKind, parseSourceList, planPutSources, type PutTargetDeps } from '../../src/cli/put-targets.js';
import { parseFileRef } from '../../src/store/address.js';

// A fake filesystem: every path not listed is missing.
function deps(kinds: Record<string, LocalKind>): PutTargetDeps {
  const stdin = Readable.from([]);
  return {
    stat: (p) => kinds[p] ?? 'missing',
    stdin: () => stdin,
    openTar: () => Readable.from([]),
  };
}

const fs = deps({ 'x.png': 'file', 'local/x.png': 'file', a: 'file', b: 'file', dir: 'dir', 'dir/': 'dir', '.': 'dir', 'a.tar': 'file' });

function plan(target: string, files: string[], opts: Partial<{ recursive: boolean; untar: boolean; fullPath: boolean }> = {}) {
  const sources = planPutSources(
    {
      target: parseFileRef(target),
      targetIsDir: target.includes(':') && target.endsWith('/'),
      files,
      recursive: opts.recursive ?? false,
      untar: opts.untar ?? false,
      fullPath: opts.fullPath ?? false,
    },
    fs,
  );
  return sources.map((s) => (s.kind === 'local' ? [s.kind, s.localPath, s.repoPath, s.recursive] : [s.kind, s.repoPath]));
}

describe('planPutSources (pachctl target-path rules)', () => {
  it('reads stdin to the given path', () => {
    expect(plan('repo@master:/a.txt', [])).toEqual([['stream', '/a.txt']]);
    expect(plan('repo@master:/a.txt', ['-'])).toEqual([['stream', '/a.txt']]);
  });

  it('refuses stdin without a path', () => {
    expect(() => plan('repo@master', [])).toThrow('must specify filename when reading data from stdin');
    expect(() => plan('repo@master:/', ['-'])).toThrow('must specify filename when reading data from stdin');
  });

  it('refuses -r with stdin', () => {
    expect(() => plan('repo@master', [], { recursive: true })).toThrow(
      'cannot set -r and read from stdin (must also set -f or -i)',
    );
  });

  it('puts a file at its basename, or its whole path with --full-path', () => {
    expect(plan('repo@master', ['local/x.png'])).toEqual([['local', 'local/x.png', '/x.png', false]]);
    expect(plan('repo@master', ['local/x.png'], { fullPath: true })).toEqual([['local', 'local/x.png', '/local/x.png', false]]);
  });

  it('uses a path given with a single source as the file name', () => {
    expect(plan('repo@master:/p/y.png', ['x.png'])).toEqual([['local', 'x.png', '/p/y.png', false]]);
  });

  it('treats the path as a prefix for several sources or a trailing slash', () => {
    expect(plan('repo@master:/p', ['a', 'b'])).toEqual([
      ['local', 'a', '/p/a', false],
      ['local', 'b', '/p/b', false],
    ]);
    expect(plan('repo@master:/p/', ['x.png'])).toEqual([['local', 'x.png', '/p/x.png', false]]);
  });

  it('mirrors a directory under its basename, or into the given path', () => {
    expect(plan('repo@master', ['dir'], { recursive: true })).toEqual([['local', 'dir', '/dir', true]]);
    expect(plan('repo@master', ['dir/'], { recursive: true })).toEqual([['local', 'dir/', '/dir', true]]);
    expect(plan('repo@master:/p', ['dir'], { recursive: true })).toEqual([['local', 'dir', '/p', true]]);
    expect(plan('repo@master', ['.'], { recursive: true })).toEqual([['local', '.', '/', true]]);
  });

  it('puts one directory into the given path whatever it is, the root included', () => {
    // Pachyderm's group and joins examples: `put file -r stores@master:/ -f stores`.
    expect(plan('repo@master:/', ['dir'], { recursive: true })).toEqual([['local', 'dir', '/', true]]);
    expect(plan('repo@master:/p/', ['dir'], { recursive: true })).toEqual([['local', 'dir', '/p', true]]);
    expect(plan('repo@master:/', ['x.png'])).toEqual([['local', 'x.png', '/x.png', false]]);
  });

  it('joins the path and the whole source path for -r with --full-path', () => {
    expect(plan('repo@master:/p', ['dir'], { recursive: true, fullPath: true })).toEqual([['local', 'dir', '/p/dir', true]]);
    expect(plan('repo@master:/p', ['x.png'], { fullPath: true })).toEqual([['local', 'x.png', '/p', false]]);
  });

  it('uses the path as a prefix for several directories', () => {
    expect(plan('repo@master:/', ['dir', 'a'], { recursive: true })).toEqual([
      ['local', 'dir', '/dir', true],
      ['local', 'a', '/a', false],
    ]);
  });

  it('refuses a directory without -r, and a missing source', () => {
    expect(() => plan('repo@master', ['dir'])).toThrow('dir is a directory');
    expect(() => plan('repo@master', ['nope'])).toThrow("nope doesn't exist");
  });

  it('unpacks tar archives under the path', () => {
    expect(plan('repo@master', ['a.tar'], { untar: true })).toEqual([['tar', '/']]);
    expect(plan('repo@master:/in', ['a.tar'], { untar: true })).toEqual([['tar', '/in']]);
    expect(plan('repo@master', ['-'], { untar: true })).toEqual([['tar', '/']]);
  });

  it('refuses URLs and reading stdin twice', () => {
    expect(() => plan('repo@master', ['https://example.com/e.png'])).toThrow('only local files and stdin');
    expect(() => plan('repo@master:/p', ['-', '-'])).toThrow('stdin can only be read once');
  });

  it('reports errors with stable codes', () => {
    expect(() => plan('repo@master', [])).toThrow(expect.objectContaining({ code: 'E_INVALID' }));
    expect(() => plan('repo@master', ['nope'])).toThrow(expect.objectContaining({ code: 'E_NOT_FOUND' }));
  });
});

describe('parseSourceList', () => {
  it('takes one source per line and skips blank lines', () => {
    expect(parseSourceList('a.png\r\n\n  b/c.png  \n')).toEqual(['a.png', 'b/c.png']);
  });
});
