import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgress, itemsLine, progressBar, progressLine, type ProgressStream } from '../../src/ui/progress.js';
import { stripAnsi } from '../../src/ui/table.js';

const GREEN = '\x1b[32m▇\x1b[39m';
const YELLOW = '\x1b[33m▇\x1b[39m';
const RED = '\x1b[31m▇\x1b[39m';

/** Cells of a coloured bar: g(reen), y(ellow), r(ed) or _ (blank). */
function cells(bar: string): string {
  let out = '';
  for (let rest = bar; rest.length > 0; ) {
    const next = [GREEN, YELLOW, RED, ' '].find((c) => rest.startsWith(c));
    if (!next) throw new Error(`unexpected bar text ${JSON.stringify(rest)}`);
    out += next === GREEN ? 'g' : next === YELLOW ? 'y' : next === RED ? 'r' : '_';
    rest = rest.slice(next.length);
  }
  return out;
}

describe('progressBar', () => {
  it.each([
    [{ done: 0, running: 0, failed: 0, total: 0 }, '________'],
    [{ done: 3, running: 0, failed: 0, total: 3 }, 'gggggggg'],
    [{ done: 1, running: 1, failed: 0, total: 2 }, 'ggggyyyy'],
    [{ done: 2, running: 1, failed: 1, total: 4 }, 'ggggyyrr'],
    [{ done: 99, running: 0, failed: 1, total: 100 }, 'gggggggr'], // any failure marks the last cell
    [{ done: 0, running: 0, failed: 3, total: 3 }, 'rrrrrrrr'],
    [{ done: 1, running: 0, failed: 0, total: 4 }, 'gg______'], // pending share stays blank
    [{ done: 1, running: 2, failed: 0, total: 3 }, 'gggyyyyy'], // cell i green while i*3 < 1*8
    [{ done: 1, failed: 0, total: 3 }, 'ggg_____'],
  ])('%o → %s', (counts, want) => {
    const bar = progressBar(counts, true);
    expect(cells(bar)).toBe(want);
    expect([...stripAnsi(bar)]).toHaveLength(8);
  });

  it('without colour prints the same cells uncoloured', () => {
    expect(progressBar({ done: 2, running: 1, failed: 1, total: 4 }, false)).toBe('▇▇▇▇▇▇▇▇');
    expect(progressBar({ done: 1, failed: 0, total: 4 }, false)).toBe('▇▇      ');
    expect(progressBar({ done: 0, failed: 0, total: 0 }, false)).toBe('        ');
  });
});

/** A stand-in for stderr that records what is written. */
function fakeStream(isTTY: boolean, columns?: number): ProgressStream & { writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    isTTY,
    columns,
    write: ((chunk: string | Uint8Array) => {
      writes.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return true;
    }) as ProgressStream['write'],
  };
}

describe('createProgress', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('writes nothing when disabled explicitly', () => {
    const stream = fakeStream(true);
    const p = createProgress({ label: 'put', total: 100, stream, enabled: false });
    p.update(50, 1);
    p.update(100, 2);
    p.done();
    expect(stream.writes).toEqual([]);
  });

  it('is disabled by default off a TTY, under CI=true and with TUSK_NO_PROGRESS', () => {
    vi.stubEnv('CI', '');
    vi.stubEnv('TUSK_NO_PROGRESS', '');
    const notTty = fakeStream(false);
    createProgress({ label: 'put', stream: notTty }).update(10);
    expect(notTty.writes).toEqual([]);

    vi.stubEnv('CI', 'true');
    const ci = fakeStream(true);
    createProgress({ label: 'put', stream: ci }).update(10);
    expect(ci.writes).toEqual([]);

    vi.stubEnv('CI', '');
    vi.stubEnv('TUSK_NO_PROGRESS', '1');
    const optedOut = fakeStream(true);
    createProgress({ label: 'put', stream: optedOut }).update(10);
    expect(optedOut.writes).toEqual([]);

    vi.stubEnv('TUSK_NO_PROGRESS', '');
    const tty = fakeStream(true);
    createProgress({ label: 'put', stream: tty }).update(10);
    expect(tty.writes).toHaveLength(1);
  });

  it('redraws one line at most every 100 ms and clears it when done', () => {
    let t = 1_000;
    const stream = fakeStream(true);
    const p = createProgress({ label: 'put file', total: 4 * 1024 * 1024, stream, enabled: true, now: () => t });
    t += 500;
    p.update(1024 * 1024, 1);
    t += 50;
    p.update(1536 * 1024, 1); // too soon: skipped
    t += 50;
    p.update(2 * 1024 * 1024, 2);
    p.done();
    p.update(3 * 1024 * 1024); // after done: nothing
    p.done();
    expect(stream.writes).toEqual([
      '\r\x1b[2Kput file  1 file  1MiB / 4MiB  25%  2MiB/s',
      '\r\x1b[2Kput file  2 files  2MiB / 4MiB  50%  3.333MiB/s',
      '\r\x1b[2K',
    ]);
  });

  it('done() before any draw writes nothing', () => {
    const stream = fakeStream(true);
    createProgress({ label: 'get', stream, enabled: true }).done();
    expect(stream.writes).toEqual([]);
  });

  it('cuts the line short of the terminal width so \\r can redraw it', () => {
    let t = 0;
    const stream = fakeStream(true, 12);
    const p = createProgress({ label: 'get file', stream, enabled: true, now: () => t });
    t = 1000;
    p.update(2048);
    expect(stream.writes).toEqual(['\r\x1b[2Kget file  2']);
  });
});

describe('progressLine', () => {
  it('shows bytes without total or rate when unknown', () => {
    expect(progressLine('get', 58645, undefined, undefined, 0)).toBe('get  57.27KiB');
    expect(progressLine('get', 0, 0, undefined, 1000)).toBe('get  0B  0B/s');
    expect(progressLine('put', 2048, 1024, 3, 2000)).toBe('put  3 files  2KiB / 1KiB  100%  1KiB/s');
  });
});

describe('itemsLine', () => {
  it('counts items, with a percentage and rate when the total is known', () => {
    expect(itemsLine('reading', 256, 1024, 2000)).toBe('reading  256 / 1024  25%  128/s');
    expect(itemsLine('scanning', 7, undefined, 0)).toBe('scanning  7');
  });
});
