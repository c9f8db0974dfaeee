// Output text built as bytes in one buffer: ASCII copied byte by byte, numbers written digit by
// digit. Formatting millions of cells this way makes no string per cell and no long string to
// flatten and encode afterwards, which is where the time of printing predictions went.
import { decimalPlaces, pow10 } from './readers/decimal.js';

export class TextBuffer {
  private buf: Buffer;
  private pos = 0;

  constructor(capacity = 1 << 20) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** A string, as UTF-8. */
  text(s: string): void {
    const n = s.length;
    this.reserve(3 * n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = pos + buf.write(s.slice(i), pos, 'utf8');
        return;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
  }

  /** One ASCII character, by its code. */
  byte(c: number): void {
    this.reserve(1);
    this.buf[this.pos++] = c;
  }

  /**
   * A number exactly as String(v) prints it; faster than String() for short decimals such as
   * numbers read from CSV text (1.5762), slower for long ones (float32 probabilities), which
   * should go through text(String(v)). `hint`: what this returned for a similar number (the
   * cell above); returns how many fraction digits v took (-1: String() printed it).
   */
  number(v: number, hint = -1): number {
    const a = v < 0 ? -v : v;
    const d = decimalPlaces(a, hint);
    const m = d < 0 ? 0 : Math.round(a * pow10(d));
    // integer arithmetic (below 2^31) writes the digits; anything else is String()'s
    if (d < 0 || m >= 0x80000000) this.text(String(v));
    else this.decimal(m, d, v < 0);
    return d;
  }

  /** The bytes written since the last clear: a view, valid until the next write or clear. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Start again, reusing the memory: one buffer serves every batch. */
  clear(): void {
    this.pos = 0;
  }

  /** m·10^-d (1 ≤ m < 2^31, no trailing zero when d > 0) as String() prints it: 12.5, 0.00125, 125. */
  private decimal(m: number, d: number, neg: boolean): void {
    const digits = digitCount(m);
    // "0.000ddd" when every digit is a fraction digit, else the digits with the point among them
    const lead = digits <= d ? d - digits + 2 : 0;
    const length = (neg ? 1 : 0) + lead + digits + (d > 0 && lead === 0 ? 1 : 0);
    this.reserve(length);
    const buf = this.buf;
    let at = this.pos + length;
    for (let k = 0; k < digits; k++) {
      if (k === d && k > 0 && lead === 0) buf[--at] = 46; // '.'
      const q = (m / 10) | 0;
      buf[--at] = 48 + m - q * 10;
      m = q;
    }
    if (lead > 0) {
      while (at > this.pos + (neg ? 1 : 0) + 2) buf[--at] = 48; // zeros after the point
      buf[--at] = 46;
      buf[--at] = 48;
    }
    if (neg) buf[--at] = 45;
    this.pos += length;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
}

/** Decimal digits of 1 ≤ m < 2^31. */
function digitCount(m: number): number {
  if (m < 1e5) return m < 10 ? 1 : m < 100 ? 2 : m < 1e3 ? 3 : m < 1e4 ? 4 : 5;
  return m < 1e6 ? 6 : m < 1e7 ? 7 : m < 1e8 ? 8 : m < 1e9 ? 9 : 10;
}
