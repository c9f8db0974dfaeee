// Plain decimals (`-12.5`, `0.0731`, `42`) to doubles, the way Number() reads them, only faster,
// for the cells of numeric CSV files: the simple cases exactly, the rest left to Number().
//
// Why exact: an integer m below 2^53 and 10^d for d ≤ 22 are both doubles, and IEEE division
// rounds m / 10^d correctly, which is what reading the decimal "m·10^-d" must give.

/** 10^d for d = 0…15, each exact. */
const POW10 = Array.from({ length: 16 }, (_, d) => 10 ** d);

/** Most digits a decimal may have here: 10^15 < 2^53, so every integer met on the way is exact. */
const MAX_DIGITS = 15;

/**
 * The double text[start, end) spells when it is a plain decimal: an optional minus, digits
 * (15 at most) with at most one point among them. NaN when it is anything else (a sign other
 * than minus, an exponent, spaces, an empty cell), for Number() to read.
 */
export function parseDecimal(text: string, start: number, end: number): number {
  let i = start;
  const neg = i < end && text.charCodeAt(i) === 45; // '-'
  if (neg) i++;
  let m = 0;
  let digits = 0;
  let frac = -1; // digits after the point; -1 before it
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) frac = 0; // '.'
    else return NaN;
  }
  if (digits === 0 || digits > MAX_DIGITS) return NaN;
  const v = frac > 0 ? m / POW10[frac]! : m;
  return neg ? -v : v;
}
