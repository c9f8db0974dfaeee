// When a cron input ticks: the tick times of a spec read by cron-spec.ts (the grammar, shared
// with spec checking). Pure functions of (spec, time): no clock, no I/O.
import { parseCronSpec, type CronFields } from './cron-spec.js';

/** A parsed cron spec: the tick times it produces. */
export interface CronSchedule {
  /** The first tick strictly after `after`; undefined when the schedule never fires again. */
  next(after: Date): Date | undefined;
  /** The newest tick in (after, now]; undefined when none falls in that interval. */
  latest(after: Date, now: Date): Date | undefined;
}

/** Parse a cron spec (parseCronSpec: throws `error parsing cron-spec: …`). */
export function parseCronSchedule(spec: string): CronSchedule {
  const parsed = parseCronSpec(spec);
  return parsed.kind === 'every' ? new EverySchedule(parsed.ms) : new FieldSchedule(parsed.fields, parsed.zone);
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

/**
 * Five-field schedules are matched on the wall clock of `zone`. Wall times are handled as
 * "naive" milliseconds (the wall clock read as if it were UTC) and turned into instants at the
 * end, so months, days and hours can be stepped with Date.UTC and no DST arithmetic.
 */
class FieldSchedule implements CronSchedule {
  private readonly clock: ZoneClock;
  constructor(
    private readonly f: CronFields,
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
