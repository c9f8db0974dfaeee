// The cron grammar of a cron input's spec, read once for both its readers: spec checking
// (spec.ts, when a pipeline is created) and the ticker (cron-schedule.ts, which turns the result
// into tick times). The language is robfig/cron's ParseStandard, which Pachyderm uses: five
// fields (minute hour day-of-month month day-of-week) with lists, ranges, steps and month /
// weekday names, the descriptors @yearly … @hourly, `@every <duration>`, and an optional
// `TZ=<zone>` / `CRON_TZ=<zone>` prefix. Errors keep robfig/cron's wording after
// `error parsing cron-spec: `, as pachctl prints them.
import { InvalidArgumentError } from '../errors.js';
import { parseDuration } from './duration.js';

/** The values each field allows, indexed by value (true: it matches). */
export interface CronFields {
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

/** A checked cron spec. `zone`: the IANA zone of the TZ= prefix, UTC without one. */
export type CronSpec = { kind: 'every'; ms: number; zone: string } | { kind: 'fields'; fields: CronFields; zone: string };

interface FieldDef {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** value of the first name (months count from 1) */
  nameBase?: number;
}

const MINUTE: FieldDef = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldDef = { name: 'hour', min: 0, max: 23 };
const DOM: FieldDef = { name: 'day of month', min: 1, max: 31 };
const MONTH: FieldDef = { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'], nameBase: 1 };
const DOW: FieldDef = { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], nameBase: 0 };

function only(f: FieldDef, ...values: number[]): boolean[] {
  const out = new Array<boolean>(f.max + 1).fill(false);
  for (const v of values) out[v] = true;
  return out;
}
function every(f: FieldDef): boolean[] {
  return new Array<boolean>(f.max + 1).fill(false).map((_, i) => i >= f.min);
}

// robfig/cron's parseDescriptor, second field dropped (standard specs always tick at :00).
const DESCRIPTORS: Readonly<Record<string, CronFields>> = (() => {
  const base = { minute: only(MINUTE, 0), hour: only(HOUR, 0), dom: every(DOM), month: every(MONTH), dow: every(DOW), domStar: true, dowStar: true };
  const yearly = { ...base, dom: only(DOM, 1), month: only(MONTH, 1), domStar: false };
  return {
    '@yearly': yearly,
    '@annually': yearly,
    '@monthly': { ...base, dom: only(DOM, 1), domStar: false },
    '@weekly': { ...base, dow: only(DOW, 0), dowStar: false },
    '@daily': base,
    '@midnight': base,
    '@hourly': { ...base, hour: every(HOUR) },
  };
})();

type Fail = (detail: string) => InvalidArgumentError;

/** Read a cron input's spec as robfig/cron's ParseStandard does; throws `error parsing cron-spec: …`. */
export function parseCronSpec(spec: string): CronSpec {
  const fail: Fail = (detail) =>
    new InvalidArgumentError(
      `error parsing cron-spec: ${detail}`,
      'use 5 fields (minute hour day-of-month month day-of-week), e.g. "*/10 * * * *", or "@every 1h", "@daily"',
    );
  let s = spec.trim();
  if (s === '') throw fail('empty spec string');
  // Without a prefix the spec is read in UTC: Pachyderm computes ticks from UTC timestamps (the
  // `start` time and the RFC 3339 names of earlier ticks), whatever the cluster's zone.
  let zone = 'UTC';
  const tz = /^(?:CRON_)?TZ=(\S+)\s*/.exec(s);
  if (tz) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz[1] });
    } catch {
      throw fail(`provided bad location ${tz[1]}: unknown time zone ${tz[1]}`);
    }
    zone = tz[1]!;
    s = s.slice(tz[0].length);
  }
  if (s.startsWith('@every ') || s === '@every') {
    const d = s.slice('@every'.length).trim();
    let ms: number;
    try {
      ms = parseDuration(d);
    } catch {
      throw fail(`failed to parse duration ${s}: invalid duration ${JSON.stringify(d)}`);
    }
    if (ms <= 0) throw fail(`@every needs a positive duration, got ${JSON.stringify(d)}`);
    return { kind: 'every', ms, zone };
  }
  if (s.startsWith('@')) {
    const fields = Object.hasOwn(DESCRIPTORS, s) ? DESCRIPTORS[s] : undefined;
    if (!fields) throw fail(`unrecognized descriptor: ${s}`);
    return { kind: 'fields', fields, zone };
  }
  const texts = s.split(/\s+/);
  if (texts.length !== 5) throw fail(`expected exactly 5 fields, found ${texts.length}: [${texts.join(' ')}]`);
  const [minute, hour, dom, month, dow] = [MINUTE, HOUR, DOM, MONTH, DOW].map((f, i) => parseField(texts[i]!, f, fail)) as [Field, Field, Field, Field, Field];
  return {
    kind: 'fields',
    fields: { minute: minute.bits, hour: hour.bits, dom: dom.bits, month: month.bits, dow: dow.bits, domStar: dom.star, dowStar: dow.star },
    zone,
  };
}

interface Field {
  bits: boolean[];
  /** `*`, `?` or `*` / `?` with step 1: the field does not restrict (robfig/cron's starBit) */
  star: boolean;
}

function parseField(text: string, f: FieldDef, fail: Fail): Field {
  const bits = new Array<boolean>(f.max + 1).fill(false);
  let star = false;
  for (const part of text.split(',')) star = parseRange(part, f, bits, fail) || star;
  return { bits, star };
}

/** One comma-separated part of a field, marked in `bits`; whether it is a bare `*`. */
function parseRange(expr: string, f: FieldDef, bits: boolean[], fail: Fail): boolean {
  const [range, step, ...moreSlashes] = expr.split('/') as [string, string | undefined, ...string[]];
  if (moreSlashes.length > 0) throw fail(`too many slashes: ${expr}`);
  const [lo, hi, ...moreHyphens] = range.split('-') as [string, string | undefined, ...string[]];
  if (moreHyphens.length > 0) throw fail(`too many hyphens: ${expr}`);
  const value = (s: string): number => {
    const named = f.names?.indexOf(s.toLowerCase()) ?? -1;
    if (named >= 0) return named + (f.nameBase ?? 0);
    if (!/^\d+$/.test(s)) throw fail(`failed to parse int from ${JSON.stringify(s)} in the ${f.name} field: ${expr}`);
    return Number(s);
  };
  const wild = lo === '*' || lo === '?';
  let start: number;
  let end: number;
  if (wild) {
    if (hi !== undefined) throw fail(`"${lo}" cannot start a range: ${expr}`);
    [start, end] = [f.min, f.max];
  } else {
    start = value(lo);
    // `N/step` runs from N to the field's maximum.
    end = hi !== undefined ? value(hi) : step !== undefined ? f.max : start;
  }
  if (step !== undefined && (!/^\d+$/.test(step) || Number(step) === 0)) {
    throw fail(`step of range should be a positive number: ${expr}`);
  }
  if (start < f.min) throw fail(`beginning of range (${start}) below minimum (${f.min}) for ${f.name}: ${expr}`);
  if (end > f.max) throw fail(`end of range (${end}) above maximum (${f.max}) for ${f.name}: ${expr}`);
  if (start > end) throw fail(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  const by = step === undefined ? 1 : Number(step);
  for (let v = start; v <= end; v += by) bits[v] = true;
  // `*/2` restricts the field; `*` and `*/1` do not
  return wild && by === 1;
}

/** Check a cron input's spec (parseCronSpec, result dropped); throws `error parsing cron-spec: …`. */
export function validateCronSpec(spec: string): void {
  parseCronSpec(spec);
}
