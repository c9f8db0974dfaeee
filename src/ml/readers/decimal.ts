// Plain decimals (`-12.5`, `0.0731`, `42`) to doubles and back, the way Number() and String() do
// it, only faster, for the cells of numeric CSV files. Each function handles the simple cases
// exactly and leaves the rest to Number()/String(): an answer is always theirs.
//
// Why exact: an integer m below 2^53 and 10^d for d ≤ 22 are both doubles, and IEEE division
// rounds m / 10^d correctly, which is what reading the decimal "m·10^-d" must give. With at most
// 15 significant digits, no two such decimals read as the same double (doubles carry 15.9), so
// the one that reads back, without trailing zeros, is the shortest: the one String() prints.

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
  // no delimiter (-1 is no character code): the cell is the whole range
  return readDecimalField(text, start, end, -1, { stop: end });
}

/** Where readDecimalField stopped: the index of the delimiter that ended the cell, or `end`. */
export interface FieldStop {
  stop: number;
}

/**
 * parseDecimal of one cell of a line, found and read in the same scan: text[start, stop), where
 * stop is the first `delimiter` (a character code) at or after start, or `end` when none comes
 * before it. The stop is left in `at.stop`. A numeric CSV line is thus read once, not once to find
 * each delimiter and again to read the digits between them.
 */
export function readDecimalField(text: string, start: number, end: number, delimiter: number, at: FieldStop): number {
  let i = start;
  // the delimiter is checked first: it may itself be a minus, a point or a digit
  const neg = i < end && text.charCodeAt(i) === 45 && delimiter !== 45; // '-'
  if (neg) i++;
  let m = 0;
  let digits = 0;
  let frac = -1; // digits after the point; -1 before it
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === delimiter) break;
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) frac = 0; // '.'
    else {
      // not a plain decimal: only the cell's end is still wanted
      while (i < end && text.charCodeAt(i) !== delimiter) i++;
      at.stop = i;
      return NaN;
    }
  }
  at.stop = i;
  if (digits === 0 || digits > MAX_DIGITS) return NaN;
  const v = frac > 0 ? m / POW10[frac]! : m;
  return neg ? -v : v;
}

/**
 * How String(a) writes a positive a, when it is a decimal of at most 15 significant digits
 * printed without an exponent (10^-6 ≤ a < 10^15): the fewest fraction digits d for which
 * round(a·10^d) / 10^d = a. String(a) is then the digits of round(a·10^d) with a point d from the
 * right. -1 for any other a (String() must print it). `hint`, the answer for a similar number
 * (the cell above), is tried first: one division instead of one per digit.
 */
export function decimalPlaces(a: number, hint = -1): number {
  if (!(a >= 1e-6 && a < 1e15)) return -1;
  if (hint >= 0 && a * POW10[hint]! < 1e15) {
    let m = Math.round(a * POW10[hint]!);
    if (m / POW10[hint]! === a) {
      // a decimal with `hint` places: without its trailing zeros, the fewest
      let d = hint;
      for (let q = Math.floor(m * 0.1); d > 0 && q * 10 === m; q = Math.floor(m * 0.1)) {
        m = q;
        d--;
      }
      return d;
    }
  }
  for (let d = 0; d <= MAX_DIGITS; d++) {
    const p = POW10[d]!;
    if (a * p >= 1e15) break;
    if (Math.round(a * p) / p === a) return d;
  }
  return -1;
}

/** 10^d, exact, for d = 0…15. */
export function pow10(d: number): number {
  return POW10[d]!;
}
