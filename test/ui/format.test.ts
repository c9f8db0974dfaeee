import { describe, expect, it } from 'vitest';
import { dash, formatBytes, formatG, formatTime, humanDuration, relativeTime, shortId } from '../../src/ui/format.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const PiB = 1024 * TiB;

describe('formatBytes (go-units BytesSize)', () => {
  it.each([
    [0, '0B'],
    [1, '1B'],
    [1023, '1023B'],
    [1024, '1KiB'],
    [1229, '1.2KiB'],
    [58645, '57.27KiB'],
    [1024 * 1024, '1MiB'],
    [2 * MiB, '2MiB'],
    [3.42 * GiB, '3.42GiB'],
    [5.372 * TiB, '5.372TiB'],
    [2.22 * PiB, '2.22PiB'],
    [1024 * PiB, '1EiB'],
    [KiB * KiB * KiB * KiB * KiB * PiB, '1.049e+06YiB'],
    [243_916, '238.2KiB'],
    [1_048_575, '1024KiB'], // 1023.999…KiB rounds up at 4 digits, as Go's %.4g does
    [1_024_512, '1000KiB'], // exactly 1000.5KiB: Go rounds the tie to even
    [1_025_536, '1002KiB'], // exactly 1001.5KiB: to even, upward
  ])('%d → %s', (n, want) => {
    expect(formatBytes(n)).toBe(want);
  });
});

describe('formatG (Go %g)', () => {
  it.each([
    [0.0001, 4, '0.0001'],
    [0.00001234, 4, '1.234e-05'],
    [123456, 4, '1.235e+05'],
    [9999.5, 4, '1e+04'],
    [1.5, 4, '1.5'],
    [-2.25, 2, '-2.2'],
  ])('%f %%.%dg → %s', (x, p, want) => {
    expect(formatG(x, p)).toBe(want);
  });
});

describe('humanDuration (go-units HumanDuration)', () => {
  const s = 1000;
  const min = 60 * s;
  const hour = 60 * min;
  const day = 24 * hour;
  const week = 7 * day;
  const month = 30 * day;
  const year = 365 * day;
  // The table of go-units' own TestHumanDuration, plus edges of each threshold.
  it.each([
    [-5 * s, 'Less than a second'],
    [0, 'Less than a second'],
    [450, 'Less than a second'],
    [999, 'Less than a second'],
    [1 * s, '1 second'],
    [1999, '1 second'],
    [2 * s, '2 seconds'],
    [45 * s, '45 seconds'],
    [59 * s + 999, '59 seconds'],
    [60 * s, 'About a minute'],
    [119 * s, 'About a minute'],
    [2 * min, '2 minutes'],
    [35 * min + 40 * s, '35 minutes'],
    [59 * min + 59 * s, '59 minutes'],
    [1 * hour, 'About an hour'],
    [1 * hour + 29 * min, 'About an hour'],
    [1 * hour + 30 * min, '2 hours'],
    [1 * hour + 31 * min, '2 hours'],
    [3 * hour + 29 * min, '3 hours'],
    [3 * hour + 31 * min, '4 hours'],
    [24 * hour, '24 hours'],
    [1 * day + 12 * hour, '36 hours'],
    [47 * hour + 29 * min, '47 hours'],
    [47 * hour + 30 * min, '2 days'],
    [2 * day, '2 days'],
    [13 * day + 5 * hour, '13 days'],
    [2 * week, '2 weeks'],
    [2 * week + 4 * day, '2 weeks'],
    [4 * week + 3 * day, '4 weeks'],
    [1 * month, '4 weeks'],
    [1 * month + 2 * week, '6 weeks'],
    [2 * month, '2 months'],
    [5 * month + 2 * week, '5 months'],
    [24 * month, '24 months'],
    [2 * year - 1 * hour, '24 months'],
    [24 * month + 2 * week, '2 years'],
    [3 * year + 2 * month, '3 years'],
  ])('%d ms → %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });
});

describe('times', () => {
  const now = Date.UTC(2024, 0, 15, 12, 0, 0);

  it('relativeTime appends " ago" and takes Date, number or ISO string', () => {
    expect(relativeTime(new Date(now - 3 * 60_000), now)).toBe('3 minutes ago');
    expect(relativeTime(now - 5_000, now)).toBe('5 seconds ago');
    expect(relativeTime(new Date(now - 90 * 60_000).toISOString(), now)).toBe('2 hours ago');
    expect(relativeTime(now, now)).toBe('Less than a second ago');
  });

  it('prints - for a missing time', () => {
    expect(relativeTime(undefined, now)).toBe('-');
    expect(relativeTime(null, now)).toBe('-');
    expect(formatTime(undefined)).toBe('-');
    expect(formatTime(null, { full: true })).toBe('-');
  });

  it('formatTime is relative by default and RFC 3339 (local zone, whole seconds) when full', () => {
    const t = now - 2 * 86_400_000 - 1234;
    expect(formatTime(t, { now })).toBe('2 days ago');
    const full = formatTime(t, { full: true });
    expect(full).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/);
    expect(Date.parse(full)).toBe(Math.floor(t / 1000) * 1000);
  });
});

describe('ids and dashes', () => {
  it('keeps 32-hex ids whole', () => {
    expect(shortId('0123456789abcdef0123456789abcdef')).toBe('0123456789abcdef0123456789abcdef');
  });

  it('dash replaces missing values only', () => {
    expect(dash(undefined)).toBe('-');
    expect(dash(null)).toBe('-');
    expect(dash('')).toBe('-');
    expect(dash(0)).toBe('0');
    expect(dash('x')).toBe('x');
  });
});
