// The one cron grammar both spec checking and the ticker read (cron-spec.ts): what a spec parses
// into. Error wording is tested through validateCronSpec in spec.test.ts, tick times in
// cron-schedule.test.ts.
import { describe, expect, it } from 'vitest';
import { parseCronSpec, validateCronSpec } from '../../src/pipeline/cron-spec.js';
import { validateCronSpec as validateFromSpec } from '../../src/pipeline/spec.js';

describe('parseCronSpec', () => {
  it('reads each descriptor as the five fields it stands for', () => {
    const pairs: [string, string][] = [
      ['@yearly', '0 0 1 1 *'],
      ['@annually', '0 0 1 jan ?'],
      ['@monthly', '0 0 1 * *'],
      ['@weekly', '0 0 * * sun'],
      ['@daily', '0 0 * * *'],
      ['@midnight', '0 0 */1 * *'],
      ['@hourly', '0 * * * *'],
    ];
    for (const [descriptor, fields] of pairs) expect(parseCronSpec(descriptor), descriptor).toEqual(parseCronSpec(fields));
  });

  it('marks lists, ranges, steps and names in each field, and whether a day field is unrestricted', () => {
    const spec = parseCronSpec('5,10-12 */6 1-31/10 feb-apr mon,FRI');
    if (spec.kind !== 'fields') throw new Error(`expected fields, got ${spec.kind}`);
    const on = (bits: boolean[]) => bits.flatMap((b, i) => (b ? [i] : []));
    expect(on(spec.fields.minute)).toEqual([5, 10, 11, 12]);
    expect(on(spec.fields.hour)).toEqual([0, 6, 12, 18]);
    expect(on(spec.fields.dom)).toEqual([1, 11, 21, 31]);
    expect(on(spec.fields.month)).toEqual([2, 3, 4]);
    expect(on(spec.fields.dow)).toEqual([1, 5]);
    expect([spec.fields.domStar, spec.fields.dowStar]).toEqual([false, false]);
    expect(spec.zone).toBe('UTC');
    const starred = parseCronSpec('* * ? * */2');
    if (starred.kind !== 'fields') throw new Error(`expected fields, got ${starred.kind}`);
    expect([starred.fields.domStar, starred.fields.dowStar]).toEqual([true, false]);
  });

  it('keeps the zone of a TZ= or CRON_TZ= prefix, for @every as well', () => {
    expect(parseCronSpec('TZ=Europe/Paris @every 90s')).toEqual({ kind: 'every', ms: 90_000, zone: 'Europe/Paris' });
    expect(parseCronSpec('CRON_TZ=Asia/Tokyo 0 9 * * *')).toMatchObject({ kind: 'fields', zone: 'Asia/Tokyo' });
  });

  it('refuses a name that is only a property of every object as a descriptor', () => {
    for (const s of ['@toString', '@constructor', '@__proto__', '@hasOwnProperty'])
      expect(() => parseCronSpec(s), s).toThrow(`error parsing cron-spec: unrecognized descriptor: ${s}`);
  });

  it('is what spec checking uses', () => {
    expect(validateFromSpec).toBe(validateCronSpec);
  });
});
