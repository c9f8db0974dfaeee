// A predict job over rows appended to a CSV file writes, byte for byte, what a job predicting the
// whole file writes: several number features with negative, tiny and huge values (plain decimals,
// exponents, more digits than a double holds), empty cells filled by an imputer, quoted numbers,
// and string columns with quotes, commas and empty fields echoed beside the predictions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/ml/rng.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { lastJob, mlStore, pipeline, put, read } from './ml-helpers.js';

/** Rows `from`..`from + n` of a seeded CSV (no header); `label` adds the target y. */
function rows(from: number, n: number, label: boolean): string {
  const r = mulberry32(from + 1);
  const lines: string[] = [];
  for (let i = from; i < from + n; i++) {
    const a = Math.round((r() - 0.7) * 1e6) / 1000; // mostly negative, 3 places (trailing zeros kept below)
    const b = (r() - 0.5) * 10 ** -(3 + Math.floor(r() * 6)); // tiny: 1e-3 … 1e-9, printed with exponents too
    const c = (r() + 0.5) * 10 ** (12 + Math.floor(r() * 11)); // huge: 1e12 … 1e23
    const y = 3 * a + 2e6 * b + c / 1e15 + r();
    const cells = [
      i % 7 === 0 ? `"r,${i}"` : `r${i}`,
      i % 11 === 0 ? '' : i % 5 === 0 ? `"${a.toFixed(3)}"` : a.toFixed(3),
      i % 13 === 0 ? '' : i % 3 === 0 ? b.toExponential(4) : b.toFixed(12),
      i % 17 === 0 ? '' : i % 4 === 0 ? c.toFixed(0) : String(c),
      i % 6 === 0 ? '' : i % 9 === 0 ? `"say ""hi"", ${i}"` : `n${i % 10}`,
      ...(label ? [y.toFixed(6)] : []),
    ];
    lines.push(cells.join(','));
  }
  return lines.join('\n') + '\n';
}

const HEADER = 'id,a,b,c,note';

describe('predictions of appended rows, byte for byte', () => {
  let env: ReturnType<typeof mlStore>;
  beforeAll(async () => {
    env = mlStore();
    await put(env.store, 'train', { '/train.csv': `${HEADER},y\n${rows(0, 2000, true)}` });
    await pipeline(env.store, env.dir, {
      pipeline: { name: 'model' },
      input: { pfs: { repo: 'train', glob: '/' } },
      transform: {
        ml: { task: 'train', data: { path: '/pfs/train/train.csv', label: 'y', features: ['a', 'b', 'c'] }, chain: [{ SimpleImputer: {} }, { StandardScaler: {} }, { LinearRegression: {} }] },
      },
    });
    expect((await lastJob(env.store, 'model')).state).toBe('JOB_SUCCESS');
  });
  afterAll(() => env?.cleanup());

  const predictSpec = (name: string) => ({
    pipeline: { name },
    input: { cross: [{ pfs: { repo: 'events', glob: '/*' } }, { pfs: { repo: 'model', glob: '/' } }] },
    transform: { ml: { task: 'predict', model: '/pfs/model', data: { path: '/pfs/events' }, window_metrics: true } },
  });
  const spans = async (name: string) =>
    (await read(env.store, `${name}@master:/events.csv.windows.jsonl`))
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => {
        const w = JSON.parse(l) as { from_row: number; to_row: number };
        return [w.from_row, w.to_row];
      });

  it('equals the whole file predicted at once, across batches of rows', async () => {
    const first = `${HEADER}\n${rows(10_000, 4500, false)}`;
    await put(env.store, 'events', { '/events.csv': first });
    await pipeline(env.store, env.dir, predictSpec('appended'));
    expect(await lastJob(env.store, 'appended')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });

    const whole = first + rows(14_500, 4000, false);
    await put(env.store, 'events', { '/events.csv': whole });
    await runForeground(env.store.handle);
    expect(await lastJob(env.store, 'appended')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    // the second job predicted only the appended rows
    expect(await spans('appended')).toEqual([
      [0, 4500],
      [4500, 8500],
    ]);

    // a pipeline created now predicts the whole file in its first job
    await pipeline(env.store, env.dir, predictSpec('whole'));
    expect(await lastJob(env.store, 'whole')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    expect(await spans('whole')).toEqual([[0, 8500]]);

    const appended = await read(env.store, 'appended@master:/events.csv');
    const full = await read(env.store, 'whole@master:/events.csv');
    expect(appended.length).toBe(full.length);
    expect(appended.equals(full)).toBe(true);
    // the values went through the number paths this test is about
    const text = full.toString('utf8');
    expect(text.split('\n')[0]).toBe('id,a,b,c,note,prediction');
    expect(text).toMatch(/e-\d/);
    expect(text).toMatch(/e\+\d/);
    expect(text).toContain('"say ""hi"", 10017"');
    expect(text).toContain('"r,10003"');
  });
});
