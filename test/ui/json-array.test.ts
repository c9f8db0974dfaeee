// The streamed `--json` array is, byte for byte, what printing the whole array at once prints
// (`JSON.stringify(rows, null, 2)` and a newline), whatever the rows hold.
import { describe, expect, it } from 'vitest';
import { jsonArray } from '../../src/ui/json-array.js';

function streamed(rows: unknown[]): string {
  const s = jsonArray();
  const out: string[] = [];
  for (const r of rows) s.row(r, out);
  s.end(out);
  return out.join('');
}

const rows: unknown[] = [
  { path: '/dir/e0000000', type: 'file', sizeBytes: 7, files: 1, hash: 'ab'.repeat(32), repo: 'wide', commit: 'c0ffee', datum: null },
  // characters JSON escapes, a line break inside a value, a lone surrogate, astral characters
  { path: '/a "quoted"\\path\nwith\tbreaks\u0001', name: 'caf\u00e9 \ud83d\udc18 \ud800', n: -0, big: 1e21, nan: NaN, inf: -Infinity },
  // nested values, empty ones, and values JSON leaves out of an object
  { nested: { a: [1, { b: [] }], c: {} }, list: [null, 'x', [[]]], skip: undefined, fn: () => 1, ok: true, no: false },
  // toJSON, a date, a class instance, an array as an element, primitives as elements
  { toJSON: () => ({ replaced: 'yes' }) },
  { when: new Date(0) },
  new (class Row {
    constructor(readonly own = 1) {}
  })(),
  [1, [2, { three: 3 }]],
  'a string element',
  42,
  null,
  {},
  [],
];

describe('jsonArray', () => {
  it('prints what JSON.stringify(rows, null, 2) prints, an element at a time', () => {
    expect(streamed(rows)).toBe(JSON.stringify(rows, null, 2) + '\n');
  });

  it('one element, and none', () => {
    for (const r of rows) expect(streamed([r])).toBe(JSON.stringify([r], null, 2) + '\n');
    expect(streamed([])).toBe('[]\n');
  });
});
