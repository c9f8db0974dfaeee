// compareNames is UTF-8 byte order, checked against Buffer.compare on names that mix ASCII,
// accents, U+E000–U+FFFF and characters above U+FFFF (where JavaScript's `<` disagrees).
import { describe, expect, it } from 'vitest';
import { compareNames, nameSortKey } from '../../src/store/name-order.js';
import { nameHeight } from '../../src/store/page-format.js';

const ALPHABET = ['a', 'Z', '0', '.', 'é', 'ü', '写', '真', '\ue000', '\uffee', '😀', '𝒳', '\u{10ffff}', '\u0301'];

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('compareNames', () => {
  it('orders names as their UTF-8 bytes do', () => {
    const rand = seeded(7);
    const names = Array.from({ length: 400 }, () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => ALPHABET[Math.floor(rand() * ALPHABET.length)]).join(''));
    const byBytes = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect([...names].sort(compareNames)).toEqual(byBytes);
    const byKey = [...names].sort((a, b) => (nameSortKey(a) < nameSortKey(b) ? -1 : nameSortKey(a) > nameSortKey(b) ? 1 : 0));
    expect(byKey).toEqual(byBytes);
  });

  it('puts U+E000 before an emoji, where JavaScript string order does not', () => {
    expect('😀' < '\ue000').toBe(true);
    expect(compareNames('\ue000', '😀')).toBeLessThan(0);
    expect(compareNames('😀', '\ue000')).toBeGreaterThan(0);
    expect(compareNames('a😀', 'a😀')).toBe(0);
    expect(compareNames('ab', 'abc')).toBeLessThan(0);
  });
});

describe('nameHeight', () => {
  // the format's definition (docs/format.md), written out: FNV-1a over the name's UTF-8 bytes,
  // murmur3's finalizer, then trailing zero 6-bit groups (at most 5)
  const reference = (name: string) => {
    let h = 0x811c9dc5;
    for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    let height = 0;
    while (height < 5 && (h & 63) === 0) {
      height++;
      h >>>= 6;
    }
    return height;
  };

  it('is a function of the UTF-8 bytes of the name, ASCII or not', () => {
    const names = Array.from({ length: 20000 }, (_, i) => [`f${i}`, `写${i}`, `é${i}😀`][i % 3]!);
    const got = names.map(nameHeight);
    expect(got).toEqual(names.map(reference));
    // non-ASCII names do cut pages (height >= 1), as often as ASCII ones
    expect(got.filter((h, i) => h >= 1 && names[i]!.startsWith('写')).length).toBeGreaterThan(40);
  });
});
