// Go's time.ParseDuration, which Pachyderm reads every duration of a spec with (datum_timeout,
// job_timeout, `@every` of a cron input), in milliseconds.
import { InvalidArgumentError } from '../errors.js';

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** The longest duration accepted: Go's time.Duration maximum, 2^63-1 ns. */
const MAX_DURATION_MS = 9_223_372_036_854;

/** Go's time.ParseDuration ("1h30m", "500ms", "1.5s") in milliseconds, rounded up to whole ms. */
export function parseDuration(text: string): number {
  const fail = () =>
    new InvalidArgumentError(`invalid duration ${JSON.stringify(text)}`, 'write a duration such as "30s", "1m30s", "500ms" or "1h"');
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s[0] === '-' ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw fail();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?([^\d.]+)/.exec(s);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) throw fail();
    const unit = DURATION_UNITS_MS[m[3]];
    if (unit === undefined) {
      throw new InvalidArgumentError(`invalid duration ${JSON.stringify(text)}: unknown unit ${JSON.stringify(m[3])}`, 'units are ns, us, ms, s, m and h');
    }
    total += Number(`${m[1] || '0'}.${m[2] || '0'}`) * unit;
    s = s.slice(m[0].length);
  }
  // Go's time.Duration (int64 nanoseconds) ends here too; past it, dates stop being representable
  if (total > MAX_DURATION_MS) throw new InvalidArgumentError(`invalid duration ${JSON.stringify(text)}: longer than 2562047h (about 292 years)`, 'write a shorter duration');
  return sign * Math.ceil(total);
}
