// Streaming prediction: a predict pipeline over a CSV file that only grows reads and predicts the
// rows added since its last job, and its output is byte for byte a full predict's. An edit that
// is not an append (same size, one earlier row changed) or a new model predicts everything again.
// `window_metrics` keeps one line of statistics per window of new rows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictFile } from '../../src/ml/predict-service.js';
import { parseFileRef } from '../../src/store/address.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { housesCsv, lastJob, mlStore, pipeline, PRICE_ML, priceSpec, put, read } from './ml-helpers.js';

type Window = { job: string; from_row: number; to_row: number; rows: number; mean: number };

describe('predicting appended rows', () => {
  let env: ReturnType<typeof mlStore>;
  let events = '';
  beforeAll(async () => {
    env = mlStore();
    await put(env.store, 'houses', { '/train.csv': housesCsv(300, 1) });
    await pipeline(env.store, env.dir, priceSpec('price-model', { ...PRICE_ML, split: undefined }));
    expect((await lastJob(env.store, 'price-model')).state).toBe('JOB_SUCCESS');
  });
  afterAll(() => env?.cleanup());

  /** What `tusk predict` gives for the file as it is now: the bytes every run must produce. */
  async function reference(): Promise<string> {
    const local = path.join(env.dir, 'events-now.csv');
    const out = path.join(env.dir, 'reference.csv');
    fs.writeFileSync(local, events);
    fs.rmSync(out, { force: true });
    await predictFile(env.store, parseFileRef('price-model@master'), local, { output: out });
    return fs.readFileSync(out, 'utf8');
  }
  async function putEvents(text: string) {
    events = text;
    await put(env.store, 'events', { '/new.csv': events });
    await runForeground(env.store.handle);
    expect(await lastJob(env.store, 'priced')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
  }
  const windows = async () =>
    (await read(env.store, 'priced@master:/new.csv.windows.jsonl'))
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Window);
  const spans = async () => (await windows()).map((w) => [w.from_row, w.to_row]);

  it('predicts the whole file first', async () => {
    events = housesCsv(5000, 9, 0, false);
    await put(env.store, 'events', { '/new.csv': events });
    await pipeline(env.store, env.dir, {
      pipeline: { name: 'priced' },
      input: { cross: [{ pfs: { repo: 'events', glob: '/*' } }, { pfs: { repo: 'price-model', glob: '/' } }] },
      transform: { ml: { task: 'predict', model: '/pfs/price-model', data: { path: '/pfs/events' }, window_metrics: true } },
    });
    expect(await lastJob(env.store, 'priced')).toMatchObject({ state: 'JOB_SUCCESS', processed: 1 });
    expect((await read(env.store, 'priced@master:/new.csv')).toString('utf8')).toBe(await reference());
    expect(await spans()).toEqual([[0, 5000]]);
  });

  it('then only the rows appended since, with the same bytes as predicting the whole file', async () => {
    const added = housesCsv(50, 10, 5000, false).split('\n').slice(1).join('\n');
    await putEvents(events + added);
    // the input was laid out as its cached earlier copy plus the new rows: only those were read from packs
    const job = (await env.store.core.jobs.jobsOf('priced'))[0]!;
    expect((await env.store.core.jobs.datumBytes('priced', job.id)).downloadBytes).toBe(Buffer.byteLength(added));
    expect(await spans()).toEqual([
      [0, 5000],
      [5000, 5050],
    ]);
    expect((await read(env.store, 'priced@master:/new.csv')).toString('utf8')).toBe(await reference());
    await putEvents(events + housesCsv(7, 11, 5050, false).split('\n').slice(1).join('\n'));
    expect(await spans()).toEqual([
      [0, 5000],
      [5000, 5050],
      [5050, 5057],
    ]);
    const [, second] = await windows();
    expect(second!.rows).toBe(50);
    expect(second!.mean).toBeGreaterThan(0);
    expect((await read(env.store, 'priced@master:/new.csv')).toString('utf8')).toBe(await reference());
  });

  it('an earlier row changed, the size the same: the whole file is predicted again', async () => {
    const lines = events.split('\n');
    const [id, sqft, ...rest] = lines[1]!.split(',');
    const other = String(sqft).replace(/^./, (d) => String((Number(d) % 9) + 1));
    expect(other.length).toBe(sqft!.length);
    lines[1] = [id, other, ...rest].join(',');
    await putEvents(lines.join('\n'));
    expect(await spans()).toEqual([[0, 5057]]);
    expect((await read(env.store, 'priced@master:/new.csv')).toString('utf8')).toBe(await reference());
  });

  it('a new model predicts the whole file again', async () => {
    await putEvents(events + housesCsv(3, 12, 5057, false).split('\n').slice(1).join('\n'));
    expect(await spans()).toEqual([
      [0, 5057],
      [5057, 5060],
    ]);
    await put(env.store, 'houses', { '/train.csv': housesCsv(400, 2) });
    await runForeground(env.store.handle);
    expect(await lastJob(env.store, 'priced')).toMatchObject({ state: 'JOB_SUCCESS', errors: [] });
    expect(await spans()).toEqual([[0, 5060]]);
    expect((await read(env.store, 'priced@master:/new.csv')).toString('utf8')).toBe(await reference());
  });

  it('an earlier run whose data is gone (commit deleted, gc run) is not built on: the whole file is predicted', async () => {
    const before = events;
    await putEvents(events + housesCsv(4, 13, 5060, false).split('\n').slice(1).join('\n'));
    const newestEvents = (await env.store.core.jobs.jobsOf('priced'))[0]!.id;
    await env.store.deleteCommit({ repo: '', commit: newestEvents });
    await env.store.gc();
    await putEvents(before + housesCsv(5, 14, 5060, false).split('\n').slice(1).join('\n'));
    expect((await read(env.store, 'priced@master:/new.csv')).toString('utf8')).toBe(await reference());
  });
});
