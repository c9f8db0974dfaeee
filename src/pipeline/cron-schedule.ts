// When a cron input ticks. The spec language is robfig/cron's ParseStandard, which Pachyderm uses:
// five fields (minute hour day-of-month month day-of-week) with lists, ranges, steps and month /
// weekday names, the descriptors @yearly … @hourly, `@every <duration>`, and an optional
// `TZ=<zone>` / `CRON_TZ=<zone>` prefix. Pure functions of (spec, time): no clock, no I/O.
import { parseDuration, validateCronSpec } from './spec.js';

/** A parsed cron spec: the tick times it produces. */
export interface CronSchedule {
  /** The first tick strictly after `after`; undefined when the schedule never fires again. */
  next(after: Date): Date | undefined;
  /** The newest tick in (after, now]; undefined when none falls in that interval. */
  latest(after: Date, now: Date): Date | undefined;
}

/** Parse a cron spec (checked with validateCronSpec: throws `error parsing cron-spec: …`). */
export function parseCronSchedule(spec: string): CronSchedule {
  validateCronSpec(spec);
  let s = spec.trim();
  // Without a prefix the spec is read in UTC: Pachyderm computes ticks from UTC timestamps (the
  // `start` time and the RFC 3339 names of earlier ticks), whatever the cluster's zone.
  let zone = 'UTC';
  const tz = /^(?:CRON_)?TZ=(\S+)\s*/.exec(s);
  if (tz) {
    zone = tz[1]!;
    s = s.slice(tz[0].length);
  }
  if (s.startsWith('@every')) return new EverySchedule(parseDuration(s.slice('@every'.length).trim()));
  return new FieldSchedule(s.startsWith('@') ? DESCRIPTORS[s]! : parseFields(s), zone);
}

/** The first tick of `spec` strictly after `after` (undefined: never again). */
export function nextTick(spec: string, after: Date): Date | undefined {
  return parseCronSchedule(spec).next(after);
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// ─── @every ───────────────────────────────────────────────────────────────────────────────────

// robfig/cron's ConstantDelaySchedule: the delay is cut to whole seconds (at least one), and
// each tick is the previous time, cut to the second, plus the delay.
class EverySchedule implements CronSchedule {
  private readonly delay: number;
  constructor(ms: number) {
    this.delay = Math.max(SECOND, ms - (ms % SECOND));
  }
  next(after: Date): Date {
    return new Date(floorTo(after.getTime(), SECOND) + this.delay);
  }
  latest(after: Date, now: Date): Date | undefined {
    const first = this.next(after).getTime();
    if (first > now.getTime()) return undefined;
    return new Date(first + Math.floor((now.getTime() - first) / this.delay) * this.delay);
  }
}

// ─── five fields ──────────────────────────────────────────────────────────────────────────────

interface Fields {
  minute: boolean[];
  hour: boolean[];
  dom: boolean[];
  month: boolean[];
  dow: boolean[];
  // robfig/cron: when either day field is `*` (or `?`), a day must match both fields; when
  // both are restricted, either may match ("1 * * 1,15 mon" fires on the 1st, the 15th and Mondays).
  domStar: boolean;
  dowStar: boolean;
}

interface Bounds {
  min: number;
  max: number;
  names?: readonly string[];
  /** value of the first name (months count from 1) */
  nameBase?: number;
}

const MINUTE_B: Bounds = { min: 0, max: 59 };
const HOUR_B: Bounds = { min: 0, max: 23 };
const DOM_B: Bounds = { min: 1, max: 31 };
const MONTH_B: Bounds = { min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'], nameBase: 1 };
const DOW_B: Bounds = { min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], nameBase: 0 };

function only(b: Bounds, ...values: number[]): boolean[] {
  const out = new Array<boolean>(b.max + 1).fill(false);
  for (const v of values) out[v] = true;
  return out;
}
function every(b: Bounds): boolean[] {
  return new Array<boolean>(b.max + 1).fill(false).map((_, i) => i >= b.min);
}

// robfig/cron's parseDescriptor, second field dropped (standard specs always tick at :00).
const DESCRIPTORS: Record<string, Fields> = (() => {
  const base = { minute: only(MINUTE_B, 0), hour: only(HOUR_B, 0), dom: every(DOM_B), month: every(MONTH_B), dow: every(DOW_B), domStar: true, dowStar: true };
  const yearly = { ...base, dom: only(DOM_B, 1), month: only(MONTH_B, 1), domStar: false };
  return {
    '@yearly': yearly,
    '@annually': yearly,
    '@monthly': { ...base, dom: only(DOM_B, 1), domStar: false },
    '@weekly': { ...base, dow: only(DOW_B, 0), dowStar: false },
    '@daily': base,
    '@midnight': base,
    '@hourly': { ...base, hour: every(HOUR_B) },
  };
})();

function parseFields(s: string): Fields {
  const [minute, hour, dom, month, dow] = s.split(/\s+/) as [string, string, string, string, string];
  const d = parseField(dom, DOM_B);
  const w = parseField(dow, DOW_B);
  return { minute: parseField(minute, MINUTE_B).bits, hour: parseField(hour, HOUR_B).bits, dom: d.bits, month: parseField(month, MONTH_B).bits, dow: w.bits, domStar: d.star, dowStar: w.star };
}

// The spec was validated first: this trusts its input.
function parseField(field: string, b: Bounds): { bits: boolean[]; star: boolean } {
  const bits = new Array<boolean>(b.max + 1).fill(false);
  let star = false;
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const [lo, hi] = range.split('-') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    let start: number;
    let end: number;
    if (lo === '*' || lo === '?') {
      [start, end] = [b.min, b.max];
      // `*/2` restricts the field; `*` and `*/1` do not (robfig/cron's starBit)
      if (step === 1) star = true;
    } else {
      start = fieldValue(lo, b);
      end = hi !== undefined ? fieldValue(hi, b) : stepText !== undefined ? b.max : start;
    }
    for (let v = start; v <= end; v += step) bits[v] = true;
  }
  return { bits, star };
}

function fieldValue(text: string, b: Bounds): number {
  const named = b.names?.indexOf(text.toLowerCase()) ?? -1;
  return named >= 0 ? named + (b.nameBase ?? 0) : Number(text);
}

/**
 * Five-field schedules are matched on the wall clock of `zone`. Wall times are handled as
 * "naive" milliseconds (the wall clock read as if it were UTC) and turned into instants at the
 * end, so months, days and hours can be stepped with Date.UTC and no DST arithmetic.
 */
class FieldSchedule implements CronSchedule {
  private readonly clock: ZoneClock;
  constructor(
    private readonly f: Fields,
    zone: string,
  ) {
    this.clock = new ZoneClock(zone);
  }

  next(after: Date): Date | undefined {
    const a = after.getTime();
    const shifts = this.clock.shiftsNear(a);
    // Where the clock is set back, a wall time just before wall(after) happens again later: start
    // the search three hours early (no zone shifts by more) and keep the earliest instant.
    let n = floorTo(this.clock.wall(a), MINUTE) + (shifts ? -3 * HOUR : MINUTE);
    // robfig/cron gives up after five years (30 February never comes)
    const limit = new Date(n).getUTCFullYear() + 5;
    let best: number | undefined;
    let bestWall = 0;
    for (;;) {
      const m = this.nextWall(n, limit);
      if (m === undefined) break;
      if (best !== undefined && m > bestWall + 3 * HOUR) break;
      for (const i of this.clock.instants(m)) {
        if (i > a && (best === undefined || i < best)) {
          best = i;
          bestWall = m;
        }
      }
      if (best !== undefined && !shifts && !this.clock.shiftsNear(best)) break;
      n = m + MINUTE;
    }
    return best === undefined ? undefined : new Date(best);
  }

  latest(after: Date, now: Date): Date | undefined {
    const first = this.next(after);
    if (!first || first > now) return undefined;
    // Find a recent tick without walking every tick since `after` (a laptop asleep for a month
    // under "* * * * *" missed 43,200): look back 1 minute, 2, 4, … until one falls in the window;
    // the ticks after it are few, since the previous window (half as long) held none.
    let t = first;
    for (let w = MINUTE; now.getTime() - w > first.getTime(); w *= 2) {
      const found = this.next(new Date(now.getTime() - w));
      if (found && found <= now) {
        t = found;
        break;
      }
    }
    for (let n = this.next(t); n && n <= now; n = this.next(t)) t = n;
    return t;
  }

  /** The first wall-clock minute ≥ `n` (naive ms) that matches every field, or undefined past `limitYear`. */
  private nextWall(n: number, limitYear: number): number | undefined {
    const f = this.f;
    let d = new Date(n);
    for (;;) {
      const [y, mo, day, h, mi] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()];
      if (y > limitYear) return undefined;
      if (!f.month[mo + 1]) d = new Date(Date.UTC(y, mo + 1, 1));
      else if (!this.dayMatches(d)) d = new Date(Date.UTC(y, mo, day + 1));
      else if (!f.hour[h]) d = new Date(Date.UTC(y, mo, day, h + 1));
      else if (!f.minute[mi]) d = new Date(Date.UTC(y, mo, day, h, mi + 1));
      else return d.getTime();
    }
  }

  private dayMatches(d: Date): boolean {
    const dom = this.f.dom[d.getUTCDate()]!;
    const dow = this.f.dow[d.getUTCDay()]!;
    return this.f.domStar || this.f.dowStar ? dom && dow : dom || dow;
  }
}

function floorTo(ms: number, unit: number): number {
  return Math.floor(ms / unit) * unit;
}

// ─── time zones ───────────────────────────────────────────────────────────────────────────────

/** Wall clock of one IANA zone, through Intl (no time zone database of our own). */
class ZoneClock {
  private readonly fmt: Intl.DateTimeFormat | undefined;
  constructor(zone: string) {
    this.fmt =
      zone === 'UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  }

  /** Offset of the zone from UTC at an instant, in ms (whole seconds). */
  offset(instant: number): number {
    if (!this.fmt) return 0;
    const p: Record<string, number> = {};
    for (const part of this.fmt.formatToParts(new Date(instant))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
    return wall - floorTo(instant, SECOND);
  }

  /** The wall clock at an instant, as naive ms. */
  wall(instant: number): number {
    return instant + this.offset(instant);
  }

  /** Whether the offset changes within a day of this instant (a DST switch is near). */
  shiftsNear(instant: number): boolean {
    return this.fmt !== undefined && this.offset(instant - DAY) !== this.offset(instant + DAY);
  }

  /**
   * The instants whose wall clock reads `n`, oldest first: one usually, two in the hour a clock
   * is set back, none in the hour it skips (robfig/cron skips those ticks too).
   */
  instants(n: number): number[] {
    const out = new Set<number>();
    // zone offsets stay within ±14 h, so a day either side brackets the offsets in force around n
    for (const o of [this.offset(n - DAY), this.offset(n + DAY)]) if (this.wall(n - o) === n) out.add(n - o);
    return [...out].sort((x, y) => x - y);
  }
}
