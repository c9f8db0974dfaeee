// The one order of names in trees, diffs, merges and listings: UTF-8 byte order (the same as
// Unicode code point order, Go's and Pachyderm's string order, and SQLite's BINARY collation).
// JavaScript's `<` compares UTF-16 code units, which differs only where a character above U+FFFF
// (a surrogate pair: emoji, rare CJK) meets one in U+E000–U+FFFF; every comparison of names in
// the store goes through compareNames so that walks over two trees agree on what comes first.

// A code unit at or above U+D800: only then can code unit order and code point order disagree.
const HIGH_UNIT = /[\ud800-\uffff]/;

/** Negative, zero or positive as `a` sorts before, with or after `b` in UTF-8 byte order. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  if (!HIGH_UNIT.test(a) || !HIGH_UNIT.test(b)) return a < b ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // surrogates (U+D800–U+DFFF) start code points above U+FFFF: move them after U+E000–U+FFFF
    if (x >= 0xd800 && y >= 0xd800) return (x >= 0xe000 ? x - 0x800 : x + 0x2000) - (y >= 0xe000 ? y - 0x800 : y + 0x2000);
    return x - y;
  }
  return a.length - b.length;
}

/** Whether `a` sorts before `b` (compareNames < 0). */
export function nameBefore(a: string, b: string): boolean {
  return compareNames(a, b) < 0;
}

/**
 * A string whose JavaScript order (`<`) is the UTF-8 byte order of `name`: the name itself unless
 * it holds a code unit at or above U+D800, else its code units moved as compareNames moves them.
 * Sorting many names by key costs one scan per name instead of one per comparison.
 */
export function nameSortKey(name: string): string {
  if (!HIGH_UNIT.test(name)) return name;
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    out += String.fromCharCode(c < 0xd800 ? c : c >= 0xe000 ? c - 0x800 : c + 0x2000);
  }
  return out;
}
