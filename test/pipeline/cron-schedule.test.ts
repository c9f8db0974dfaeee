// When cron inputs tick: every spec form robfig/cron's ParseStandard accepts, time zones and DST,
// and the catch-up rule's `latest` against a tick-by-tick walk.
import { describe, expect, it } from 'vitest';
import { nextTick, parseCronSchedule } from '../../src/pipeline/cron-schedule.js';

const at = (iso: string) => new Date(iso);
const next = (spec: string, after: string) => nextTick(spec, at(after))?.toISOString();

// 2024-01-01 is a Monday
const MON = '2024-01-01T10:17:30Z';

describe('nextTick', () => {
  it('five fields: every minute, steps, single values', () => {
    expect(next('* * * * *', MON)).toBe('2024-01-01T10:18:00.000Z');
    expect(next('*/10 * * * *', MON)).toBe('2024-01-01T10:20:00.000Z');
    expect(next('5 * * * *', MON)).toBe('2024-01-01T11:05:00.000Z');
    expect(next('0-59/2 0-23 1-31 1-12 0-6', MON)).toBe('2024-01-01T10:18:00.000Z');
    // N/step runs from N to the field's maximum
    expect(next('10/25 * * * *', MON)).toBe('2024-01-01T10:35:00.000Z');
    expect(next('10/25 * * * *', '2024-01-01T10:35:00Z')).toBe('2024-01-01T11:10:00.000Z');
    expect(next('30 9 15 * *', MON)).toBe('2024-01-15T09:30:00.000Z');
    expect(next('0 0 1 1 *', MON)).toBe('2025-01-01T00:00:00.000Z');
  });

  it('is strictly after: a tick exactly at `after` is not returned', () => {
    expect(next('* * * * *', '2024-01-01T10:18:00Z')).toBe('2024-01-01T10:19:00.000Z');
    expect(next('* * * * *', '2024-01-01T10:17:59.999Z')).toBe('2024-01-01T10:18:00.000Z');
  });

  it('lists, ranges and names of months and weekdays (any case)', () => {
    expect(next('0,15,30,45 9-17 * * mon-fri', MON)).toBe('2024-01-01T10:30:00.000Z');
    expect(next('0,15,30,45 9-17 * * mon-fri', '2024-01-05T17:45:00Z')).toBe('2024-01-08T09:00:00.000Z'); // Friday evening → Monday
    expect(next('0 8 * * mon-wed', MON)).toBe('2024-01-02T08:00:00.000Z');
    expect(next('0 0 1 mar-may *', MON)).toBe('2024-03-01T00:00:00.000Z');
    expect(next('0 0 1 MAR-May *', '2024-05-01T00:00:00Z')).toBe('2025-03-01T00:00:00.000Z');
    expect(next('5 4 * JAN,jul SUN', MON)).toBe('2024-01-07T04:05:00.000Z');
    expect(next('5 4 * JAN,jul SUN', '2024-01-28T05:00:00Z')).toBe('2024-07-07T04:05:00.000Z');
    expect(next('0 12 * * 0', MON)).toBe('2024-01-07T12:00:00.000Z');
  });

  it('day of month and day of week: both restricted → either; one a star → both', () => {
    expect(next('0 12 13 * fri', MON)).toBe('2024-01-05T12:00:00.000Z'); // Friday the 5th comes before the 13th
    expect(next('0 12 13 * *', MON)).toBe('2024-01-13T12:00:00.000Z');
    expect(next('0 0 ? * ?', MON)).toBe('2024-01-02T00:00:00.000Z');
    // `*/1` still counts as a star; `*/2` restricts (robfig/cron's starBit)
    expect(next('0 0 */1 * mon', MON)).toBe('2024-01-08T00:00:00.000Z');
    expect(next('0 0 */2 * mon', MON)).toBe('2024-01-03T00:00:00.000Z');
  });

  it('leap days, and a date that never comes', () => {
    expect(next('0 0 29 2 *', MON)).toBe('2024-02-29T00:00:00.000Z');
    expect(next('0 0 29 2 *', '2024-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('0 0 30 2 *', MON)).toBeUndefined();
    expect(next('0 0 31 4,6,9,11 *', MON)).toBeUndefined();
  });

  it('descriptors', () => {
    expect(next('@hourly', MON)).toBe('2024-01-01T11:00:00.000Z');
    expect(next('@daily', MON)).toBe('2024-01-02T00:00:00.000Z');
    expect(next('@midnight', MON)).toBe('2024-01-02T00:00:00.000Z');
    expect(next('@weekly', MON)).toBe('2024-01-07T00:00:00.000Z');
    expect(next('@monthly', MON)).toBe('2024-02-01T00:00:00.000Z');
    expect(next('@yearly', MON)).toBe('2025-01-01T00:00:00.000Z');
    expect(next('@annually', MON)).toBe('2025-01-01T00:00:00.000Z');
  });

  it('@every: whole seconds from `after` cut to the second, at least one second', () => {
    expect(next('@every 10s', MON)).toBe('2024-01-01T10:17:40.000Z');
    expect(next('@every 10s', '2024-01-01T10:17:30.750Z')).toBe('2024-01-01T10:17:40.000Z');
    expect(next('@every 1h30m', MON)).toBe('2024-01-01T11:47:30.000Z');
    expect(next('@every 1500ms', MON)).toBe('2024-01-01T10:17:31.000Z');
    expect(next('@every 100ms', MON)).toBe('2024-01-01T10:17:31.000Z');
  });

  it('reads five fields in UTC unless TZ= or CRON_TZ= names a zone', () => {
    expect(next('0 9 * * *', MON)).toBe('2024-01-02T09:00:00.000Z');
    expect(next('TZ=Europe/Paris 0 9 * * *', MON)).toBe('2024-01-02T08:00:00.000Z'); // 11:17 in Paris
    expect(next('CRON_TZ=America/New_York 0 9 * * *', MON)).toBe('2024-01-01T14:00:00.000Z'); // 05:17 in New York
    expect(next('CRON_TZ=UTC @daily', MON)).toBe('2024-01-02T00:00:00.000Z');
    expect(next('TZ=Asia/Kolkata @daily', MON)).toBe('2024-01-01T18:30:00.000Z'); // +05:30
  });

  it('DST: a skipped wall time does not tick; a repeated one ticks twice, in order', () => {
    // Paris skips 02:00–03:00 on 2024-03-31
    expect(next('TZ=Europe/Paris 30 2 * * *', '2024-03-30T12:00:00Z')).toBe('2024-04-01T00:30:00.000Z');
    expect(next('TZ=Europe/Paris 0 3 * * *', '2024-03-30T12:00:00Z')).toBe('2024-03-31T01:00:00.000Z');
    // and repeats 02:00–03:00 on 2024-10-27: 02:30 CEST is 00:30Z, 02:30 CET is 01:30Z
    const fall = 'TZ=Europe/Paris 30 2 * * *';
    expect(next(fall, '2024-10-26T12:00:00Z')).toBe('2024-10-27T00:30:00.000Z');
    expect(next(fall, '2024-10-27T00:30:00Z')).toBe('2024-10-27T01:30:00.000Z');
    expect(next(fall, '2024-10-27T01:30:00Z')).toBe('2024-10-28T01:30:00.000Z');
    // 02:40 in the first pass comes before 02:10 in the second
    expect(next('TZ=Europe/Paris 10,40 2 * * *', '2024-10-27T00:35:00Z')).toBe('2024-10-27T00:40:00.000Z');
    expect(next('TZ=Europe/Paris 10,40 2 * * *', '2024-10-27T00:40:00Z')).toBe('2024-10-27T01:10:00.000Z');
    // hourly ticks stay an hour apart across the switch
    expect(next('TZ=America/New_York 0 * * * *', '2024-03-10T06:30:00Z')).toBe('2024-03-10T07:00:00.000Z'); // 03:00 EDT
  });

  it('rejects what validateCronSpec rejects, with its message', () => {
    expect(() => nextTick('61 * * * *', at(MON))).toThrow('error parsing cron-spec: end of range (61) above maximum (59) for minute: 61');
    expect(() => nextTick('@often', at(MON))).toThrow('error parsing cron-spec: unrecognized descriptor: @often');
  });
});

describe('latest: the newest tick in (after, now], for catching up once', () => {
  /** Walk every tick: what `latest` must equal. */
  const walk = (spec: string, after: Date, now: Date) => {
    const s = parseCronSchedule(spec);
    let last: Date | undefined;
    for (let t = s.next(after); t && t <= now; t = s.next(t)) last = t;
    return last?.toISOString();
  };

  it('@every: closed form', () => {
    const s = parseCronSchedule('@every 10s');
    expect(s.latest(at('2024-01-01T00:00:00Z'), at('2024-01-01T00:01:35.500Z'))?.toISOString()).toBe('2024-01-01T00:01:30.000Z');
    expect(s.latest(at('2024-01-01T00:00:00Z'), at('2024-01-01T00:00:09.999Z'))).toBeUndefined();
    expect(s.latest(at('2024-01-01T00:00:00Z'), at('2024-01-01T00:00:10Z'))?.toISOString()).toBe('2024-01-01T00:00:10.000Z');
  });

  it('five fields: months of missed minutes, without walking them', () => {
    const s = parseCronSchedule('*/15 * * * *');
    expect(s.latest(at('2024-01-01T00:00:00Z'), at('2024-03-31T10:17:00Z'))?.toISOString()).toBe('2024-03-31T10:15:00.000Z');
    expect(s.latest(at('2024-01-01T10:00:00Z'), at('2024-01-01T10:14:59Z'))).toBeUndefined();
    expect(parseCronSchedule('0 0 1 1 *').latest(at('2020-06-01T00:00:00Z'), at('2024-05-01T00:00:00Z'))?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(parseCronSchedule('0 0 30 2 *').latest(at('2020-06-01T00:00:00Z'), at('2024-05-01T00:00:00Z'))).toBeUndefined();
  });

  it('agrees with a tick-by-tick walk', () => {
    const specs = ['* * * * *', '*/7 3 * * *', '0 12 13 * fri', '5 4 * jan,jul sun', '@hourly', '@weekly', 'TZ=Europe/Paris 30 2 * * *', '@every 45s'];
    const windows: [string, string][] = [
      ['2024-01-01T10:17:30Z', '2024-01-01T10:17:31Z'],
      ['2024-01-01T10:17:30Z', '2024-01-02T03:20:00Z'],
      ['2024-01-01T00:00:00Z', '2024-01-20T00:00:00Z'],
      ['2024-03-25T00:00:00Z', '2024-04-02T00:00:00Z'],
      ['2024-10-20T00:00:00Z', '2024-10-27T01:45:00Z'],
    ];
    for (const spec of specs) {
      for (const [a, n] of windows) {
        expect(parseCronSchedule(spec).latest(at(a), at(n))?.toISOString(), `${spec} in (${a}, ${n}]`).toBe(walk(spec, at(a), at(n)));
      }
    }
  });
});
