// Long durations. Reproduction: a pipeline with `datum_timeout: 720h` killed every datum at once
// (a Node timer above 2^31-1 ms fires after 1 ms). Every timer set from a user's duration goes
// through src/timers.ts, which chains shorter timers.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseCronSchedule } from '../../src/pipeline/cron-schedule.js';
import { parseDuration } from '../../src/pipeline/spec.js';
import { MAX_TIMER_MS, setLongInterval, setLongTimeout, sleep } from '../../src/timers.js';
import { expectOk, withStoreDir, writeTree } from '../cli/cli-helpers.js';

const HOUR = 3_600_000;

describe('long timers (on a fake clock whose timers overflow as Node timers do)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a plain setTimeout of 720h fires at once: the bug being guarded against', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    setTimeout(fn, 720 * HOUR);
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('setLongTimeout(720h) fires once, after 720h and not before', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    setLongTimeout(fn, 720 * HOUR);
    vi.advanceTimersByTime(1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(720 * HOUR - MAX_TIMER_MS - 2);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000 * HOUR);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('exactly the limit, short delays, cancel and Infinity', () => {
    vi.useFakeTimers();
    const atLimit = vi.fn();
    setLongTimeout(atLimit, MAX_TIMER_MS);
    const short = vi.fn();
    setLongTimeout(short, 5);
    const cancelled = vi.fn();
    const t = setLongTimeout(cancelled, 3 * MAX_TIMER_MS);
    const never = vi.fn();
    setLongTimeout(never, Infinity);
    vi.advanceTimersByTime(5);
    expect(short).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(atLimit).toHaveBeenCalledTimes(1);
    t.cancel();
    vi.advanceTimersByTime(10 * MAX_TIMER_MS);
    expect(cancelled).not.toHaveBeenCalled();
    expect(never).not.toHaveBeenCalled();
    expect(() => setLongTimeout(() => {}, Number.NaN)).toThrow(RangeError);
  });

  it('setLongInterval(30 days) ticks every 30 days', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const t = setLongInterval(fn, 720 * HOUR);
    vi.advanceTimersByTime(720 * HOUR - 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(720 * HOUR);
    expect(fn).toHaveBeenCalledTimes(2);
    t.cancel();
    vi.advanceTimersByTime(10 * 720 * HOUR);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('sleep(720h) resolves after 720h, or at once when aborted', async () => {
    vi.useFakeTimers();
    let done = false;
    void sleep(720 * HOUR).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(720 * HOUR);
    expect(done).toBe(true);
    const ctl = new AbortController();
    const p = sleep(720 * HOUR, ctl.signal);
    ctl.abort();
    await p;
  });
});

describe('long durations in pipeline specs', () => {
  it('datum_timeout: 720h and job_timeout: 720h let a datum run to its end', async () => {
    await withStoreDir(async (s) => {
      const fg = { env: { TUSK_RUNNER: 'foreground' } };
      expectOk(await s.tusk(['create', 'repo', 'tick']));
      expectOk(await s.tusk(['put', 'file', 'tick@master:/t'], { input: 't' }));
      writeTree(s.dir, {
        'long.json': JSON.stringify({
          pipeline: { name: 'long' },
          input: { pfs: { repo: 'tick', glob: '/*' } },
          datum_timeout: '720h',
          job_timeout: '720h',
          datum_tries: 1,
          transform: { cmd: ['sh'], stdin: ['sleep 0.2', 'cp /pfs/tick/t /pfs/out/t'] },
        }),
      });
      expectOk(await s.tusk(['create', 'pipeline', '-f', 'long.json', '--wait'], fg));
      const [job] = await s.json<{ state: string; reason: string | null }[]>(['list', 'job', '-p', 'long', '-n', '1']);
      expect(job, JSON.stringify(job)).toMatchObject({ state: 'JOB_SUCCESS' });
      expect(expectOk(await s.tusk(['get', 'file', 'long@master:/t'])).stdout).toBe('t');
    });
  });
});

describe('the range of a duration', () => {
  it('parses up to Go\'s limit and names a longer one', () => {
    expect(parseDuration('720h')).toBe(720 * HOUR);
    expect(parseDuration('2562047h')).toBe(2562047 * HOUR);
    expect(() => parseDuration('2562048h')).toThrow(/invalid duration "2562048h": longer than 2562047h/);
    expect(() => parseDuration('99999999999h')).toThrow(/longer than/);
  });

  it('@every 720h ticks 720h apart', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(parseCronSchedule('@every 720h').next(at)?.getTime()).toBe(at.getTime() + 720 * HOUR);
    expect(parseCronSchedule('@every 2562047h').next(at)?.getTime()).toBe(at.getTime() + 2562047 * HOUR);
  });

  it('create pipeline rejects a datum_timeout past the limit, naming the field', async () => {
    await withStoreDir(async (s) => {
      expectOk(await s.tusk(['create', 'repo', 'tick']));
      writeTree(s.dir, { 'p.json': JSON.stringify({ pipeline: { name: 'p' }, input: { pfs: { repo: 'tick', glob: '/*' } }, datum_timeout: '99999999999h', transform: { cmd: ['true'] } }) });
      const r = await s.tusk(['create', 'pipeline', '-f', 'p.json']);
      expect(r.code, r.describe()).toBe(2);
      expect(r.stderr).toContain('datum_timeout');
      expect(await s.json<unknown[]>(['list', 'pipeline'])).toEqual([]);
    });
  });
});
