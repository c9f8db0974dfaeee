// The console's pure parts: the CSV parser fed in pieces, the line diff, metrics flattening and
// the loopback check.
import { describe, expect, it } from 'vitest';
import { CsvParser } from '../../src/console/content.js';
import { flattenMetrics } from '../../src/console/metrics.js';
import { isLoopbackHost } from '../../src/console/security.js';
import { diffOps, splitLines, toHunks } from '../../src/console/text-diff.js';

function parse(text: string, pieces: number[], delimiter = ','): string[][] {
  const p = new CsvParser(delimiter);
  const b = Buffer.from(text);
  let at = 0;
  for (const n of pieces) {
    p.push(b.subarray(at, at + n));
    at += n;
  }
  p.push(b.subarray(at));
  p.end();
  return p.rows;
}

describe('CsvParser', () => {
  const text = 'name,note\r\n"Smith, J","said ""hi""\nand left"\nx,\n"é",last';
  const rows = [
    ['name', 'note'],
    ['Smith, J', 'said "hi"\nand left'],
    ['x', ''],
    ['é', 'last'],
  ];
  it('reads quotes, escaped quotes, newlines in fields, CRLF and a last row without newline', () => {
    expect(parse(text, [])).toEqual(rows);
  });
  it('gives the same rows however the bytes are split (even inside a UTF-8 character)', () => {
    for (let cut = 1; cut < Buffer.byteLength(text); cut++) expect(parse(text, [cut]), `cut at ${cut}`).toEqual(rows);
  });
  it('reads tab-separated values', () => {
    expect(parse('a\tb\n1\t2\n', [], '\t')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
});

describe('line diff', () => {
  const apply = (a: string[], b: string[], ops: string[]) => {
    const out: string[] = [];
    let i = 0;
    let j = 0;
    for (const op of ops) {
      if (op === ' ') {
        expect(a[i]).toBe(b[j]);
        out.push(a[i++]!);
        j++;
      } else if (op === '-') i++;
      else out.push(b[j++]!);
    }
    expect([i, j]).toEqual([a.length, b.length]);
    return out;
  };

  it('finds a shortest edit script that turns one text into the other', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let round = 0; round < 200; round++) {
      const a = Array.from({ length: rnd(30) }, () => `l${rnd(6)}`);
      const b = a.slice();
      for (let e = rnd(8); e > 0; e--) {
        if (rnd(2) && b.length) b.splice(rnd(b.length), 1);
        else b.splice(rnd(b.length + 1), 0, `n${rnd(6)}`);
      }
      const ops = diffOps(a, b)!;
      expect(apply(a, b, ops)).toEqual(b);
      // no shorter than the bound any diff must meet
      expect(ops.filter((o) => o !== ' ').length).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
    }
    expect(diffOps(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual([' ', '-', '+', ' ']);
  });

  it('gives up past the edit limit, and cuts hunks with context', () => {
    const a = Array.from({ length: 50 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 50 }, (_, i) => `b${i}`);
    expect(diffOps(a, b, 20)).toBeNull();
    const long = Array.from({ length: 40 }, (_, i) => `line ${i}`);
    const edited = long.map((l, i) => (i === 5 || i === 30 ? `${l}!` : l));
    const hunks = toHunks(long, edited, diffOps(long, edited)!);
    expect(hunks.map((h) => [h.oldStart, h.oldLines, h.newStart, h.newLines])).toEqual([
      [3, 7, 3, 7],
      [28, 7, 28, 7],
    ]);
    expect(splitLines('a\r\nb\n')).toEqual(['a', 'b']);
    expect(toHunks([], ['x'], diffOps([], ['x'])!)).toEqual([{ oldStart: 0, oldLines: 0, newStart: 1, newLines: 1, lines: [{ op: '+', text: 'x', old: null, new: 1 }] }]);
  });
});

describe('metrics and hosts', () => {
  it('flattens numbers two levels deep, skipping arrays, strings and deeper detail', () => {
    const m = { rows: { train: 80, test: 20 }, test: { accuracy: 0.9, f1: null, per_class: { cat: 0.8 }, confusion_matrix: { labels: ['a'], matrix: [[1]] } }, model: 'mlp', loss: [1, 2], epochs: 3 };
    expect(flattenMetrics(m)).toEqual({ 'rows.train': 80, 'rows.test': 20, 'test.accuracy': 0.9, epochs: 3 });
  });
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });
});
