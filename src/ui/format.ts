// Cell formatters shared by every table and inspect view: sizes, durations and times printed
// exactly as pachctl prints them (it uses docker/go-units for sizes and durations).

/** A time as stored or passed around: a Date, epoch milliseconds, or an ISO-8601 string. */
export type TimeLike = Date | number | string;

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] as const;

/** Bytes as go-units `BytesSize` prints them: binary units, `%.4g` (`0B`, `1.2KiB`, `57.27KiB`). */
export function formatBytes(n: number): string {
  // %.4g of a whole number below 1024 is the number itself: skip formatG's exact decimal expansion,
  // the bulk of a long listing's rendering otherwise
  if (Number.isInteger(n) && n >= 0 && n < 1024) return `${n}B`;
  let size = n;
  let i = 0;
  while (size >= 1024 && i < BINARY_UNITS.length - 1) {
    size /= 1024;
    i++;
  }
  return formatG(size, 4) + BINARY_UNITS[i];
}

/** A duration in go-units `HumanDuration` words (`Less than a second`, `About a minute`, `3 days`). */
export function humanDuration(ms: number): string {
  // Go converts a Duration to int by truncating toward zero; Math.trunc does the same.
  const seconds = Math.trunc(ms / 1000);
  if (!(seconds >= 1)) return 'Less than a second'; // also NaN and negative durations
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // go-units rounds hours to nearest (`int(d.Hours() + 0.5)`); only the years branch truncates.
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** `5 minutes ago`-style age of a time; `-` when there is no time. */
export function relativeTime(date: TimeLike | null | undefined, now: number = Date.now()): string {
  const t = toMillis(date);
  if (t === undefined) return '-';
  return `${humanDuration(now - t)} ago`;
}

/** A time cell: RFC 3339 in local time under `--full-timestamps`, else relative; `-` when absent. */
export function formatTime(
  date: TimeLike | null | undefined,
  { full = false, now }: { full?: boolean; now?: number } = {},
): string {
  const t = toMillis(date);
  if (t === undefined) return '-';
  return full ? rfc3339(new Date(t)) : relativeTime(t, now);
}

/** An id as pachctl prints it: in full (pachctl never abbreviates its 32-hex ids). */
export function shortId(id: string): string {
  return id;
}

/**
 * Two ids shortened alike and long enough to tell apart: `min` characters, or one past their
 * common prefix when that is longer (two ids that differ late must not print the same).
 */
export function distinctIds(a: string, b: string, min = 12): [string, string] {
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  const n = Math.max(min, common + 1);
  return [a.slice(0, n), b.slice(0, n)];
}

/** `n thing` or `n things`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `-` for a missing value (null, undefined or empty string), else the value as text. */
export function dash(v: string | number | null | undefined): string {
  return v === null || v === undefined || v === '' ? '-' : String(v);
}

function toMillis(date: TimeLike | null | undefined): number | undefined {
  if (date === null || date === undefined) return undefined;
  const t = date instanceof Date ? date.getTime() : typeof date === 'string' ? Date.parse(date) : date;
  return Number.isFinite(t) ? t : undefined;
}

/** Go's `time.RFC3339` layout (`2006-01-02T15:04:05Z07:00`) in the local zone: no fraction, `Z` at UTC. */
function rfc3339(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const date = `${String(d.getFullYear()).padStart(4, '0')}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}`;
  const time = `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  const offset = -d.getTimezoneOffset(); // minutes east of UTC
  const zone =
    offset === 0
      ? 'Z'
      : `${offset > 0 ? '+' : '-'}${p2(Math.trunc(Math.abs(offset) / 60))}:${p2(Math.abs(offset) % 60)}`;
  return `${date}T${time}${zone}`;
}

/**
 * Go's `%.<prec>g`: `prec` significant digits, trailing zeros dropped, exponent form (`1.049e+06`)
 * when the exponent is < -4 or >= prec. Rounds exact ties to even, as Go does and JS's
 * toPrecision does not (1024512 bytes is exactly 1000.5KiB: Go prints `1000KiB`).
 */
export function formatG(x: number, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  if (x === 0) return '0';
  const sign = x < 0 ? '-' : '';
  const a = Math.abs(x);

  let sig: string; // exactly `prec` significant digits
  let exp: number; // decimal exponent of the first digit
  if (a < 1e21) {
    // toFixed(100) is the exact decimal value of the double (to 100 places), so ties are real ties.
    const [ip, fp] = a.toFixed(100).split('.');
    const digits = ip + fp;
    const first = digits.search(/[1-9]/);
    exp = ip.length - 1 - first;
    sig = digits.slice(first, first + prec).padEnd(prec, '0');
    const rest = digits.slice(first + prec);
    const roundUp =
      rest[0] > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || Number(sig[prec - 1]) % 2 === 1));
    if (roundUp) {
      const bumped = (BigInt(sig) + 1n).toString();
      if (bumped.length > prec) {
        sig = bumped.slice(0, prec);
        exp++;
      } else {
        sig = bumped;
      }
    }
  } else {
    const [m, e] = a.toExponential(prec - 1).split('e');
    sig = m.replace('.', '');
    exp = Number(e);
  }

  if (exp < -4 || exp >= prec) {
    const frac = sig.slice(1).replace(/0+$/, '');
    const absExp = Math.abs(exp);
    return `${sign}${sig[0]}${frac ? '.' + frac : ''}e${exp < 0 ? '-' : '+'}${absExp < 10 ? '0' : ''}${absExp}`;
  }
  let intPart: string;
  let frac: string;
  if (exp >= 0) {
    intPart = sig.slice(0, exp + 1);
    frac = sig.slice(exp + 1);
  } else {
    intPart = '0';
    frac = '0'.repeat(-exp - 1) + sig;
  }
  frac = frac.replace(/0+$/, '');
  return `${sign}${intPart}${frac ? '.' + frac : ''}`;
}
