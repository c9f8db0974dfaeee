// Streamed prediction: `tusk predict` and predict pipelines read, predict and write a batch at a
// time. Their bytes must be those of predicting the whole table at once and printing it as tusk
// did before it streamed (the reference below), for every kind of column and model, across
// batch boundaries; and a failure must leave no output file behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictChain } from '../../src/ml/chain.js';
import { readTable } from '../../src/ml/data.js';
import { loadModel } from '../../src/ml/model-source.js';
import { dataForModel, predictFile } from '../../src/ml/predict-service.js';
import { predictionHeader, predictionObjects } from '../../src/ml/predictions.js';
import { mulberry32 } from '../../src/ml/rng.js';
import type { Prediction } from '../../src/ml/stages/types.js';
import { cellValue } from '../../src/ml/table.js';
import { parseFileRef } from '../../src/store/address.js';
import type { Store } from '../../src/store/store.js';
import { lastJob, mlStore, pipeline, put, read } from './ml-helpers.js';

/** Houses with awkward text: commas, quotes and newlines in strings, missing numbers and cities, CRLF lines, three classes whose names need quoting. */
function awkwardCsv(n: number, seed: number, opts: { label?: boolean; complete?: boolean; bad?: { row: number; sqft: string } } = {}): string {
  const r = mulberry32(seed);
  const cities = ['Paris, FR', 'Lyon "centre"', 'nantes'];
  const kinds = ['a,b', 'plain', 'q"x'];
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const lines = [`id,sqft,rooms,city,"note, free"${opts.label ? ',price,kind' : ''}`];
  for (let i = 0; i < n; i++) {
    const sqft = Math.round(500 + r() * 2000) + Math.round(r() * 100) / 100;
    const rooms = 1 + Math.floor(r() * 5);
    const c = Math.floor(r() * 3);
    const price = 50 + 0.12 * sqft + 15 * rooms + 40 * c + (r() - 0.5) * 10;
    const miss = r();
    const sqftCell = opts.bad?.row === i ? opts.bad.sqft : opts.complete || miss >= 0.1 ? String(sqft) : miss < 0.04 ? 'NA' : miss < 0.08 ? '' : '?';
    const city = r() < 0.05 ? '' : quote(cities[c]!);
    const note = r() < 0.1 ? quote(`line one\nline "two", ${i}`) : r() < 0.2 ? '' : `n${i}`;
    const kind = kinds[(c + (sqft > 1500 ? 1 : 0)) % 3]!;
    lines.push(`h-${i},${sqftCell},${rooms},${city},${note}${opts.label ? `,${price.toFixed(2)},${quote(kind)}` : ''}${r() < 0.1 ? '\r' : ''}`);
  }
  return lines.join('\n') + '\n';
}

const FEATURES = ['sqft', 'rooms', 'city'];
const IMPUTE_ENCODE = [{ SimpleImputer: { strategy: 'mean', columns: ['sqft'] } }, { OneHotEncoder: { columns: ['city'] } }, { StandardScaler: {} }];
const MODELS = {
  linear: { data: 'houses', label: 'price', chain: [...IMPUTE_ENCODE, { LinearRegression: {} }] },
  logistic: { data: 'houses', label: 'kind', chain: [...IMPUTE_ENCODE, { LogisticRegression: {} }] },
  network: { data: 'houses', label: 'kind', chain: [...IMPUTE_ENCODE, { MLPClassifier: { hidden: [8], epochs: 2, batch_size: 64, seed: 3 } }] },
  // no SimpleImputer: trained on rows without missing values, it refuses them when predicting
  unimputed: { data: 'complete', label: 'price', chain: [{ OneHotEncoder: { columns: ['city'] } }, { LinearRegression: {} }] },
};

/** A predictions file as tusk printed it before streaming: the whole table predicted at once, rows of cells, numbers through String(). */
function referenceCsv(table: Awaited<ReturnType<typeof readTable>>, pred: Prediction): string {
  const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const cells = (i: number): (string | number)[] => {
    if (pred.kind === 'regression') return [pred.values[i]!];
    if (pred.kind === 'anomaly') return [pred.score[i]!, pred.flag[i]!];
    const k = pred.classes.length;
    return [pred.classes[pred.index[i]!]!, ...(pred.proba ? Array.from({ length: k }, (_, c) => pred.proba![i * k + c]!) : [])];
  };
  const keep = table.columns.filter((c) => c.type === 'number' || c.type === 'string');
  const lines = [[...keep.map((c) => c.name), ...predictionHeader(pred)].map(quote).join(',')];
  for (let i = 0; i < table.rows; i++) lines.push([...keep.map((c) => cellValue(c, i)), ...cells(i)].map((v) => (v === null ? '' : quote(String(v)))).join(','));
  return lines.join('\n') + '\n';
}

async function reference(store: Store, model: string, file: string): Promise<{ csv: string; json: string }> {
  const m = await loadModel(store, parseFileRef(`${model}@master`));
  try {
    const { data, schema } = await dataForModel(m.chain, file);
    const table = await readTable(data, file, schema);
    const pred = await predictChain(m.chain, table);
    const json = JSON.stringify({ model: m.version, rows: table.rows, output: null, predictions: predictionObjects(pred) }, null, 2) + '\n';
    return { csv: referenceCsv(table, pred), json };
  } finally {
    m.close();
  }
}

/** A stdout stand-in that takes its time (a small buffer and late callbacks), so that writers must wait for 'drain'. */
function slowStdout(): { stream: Writable; text: () => string } {
  const parts: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      parts.push(Buffer.from(chunk));
      setImmediate(cb);
    },
  });
  return { stream, text: () => Buffer.concat(parts).toString('utf8') };
}

let env: ReturnType<typeof mlStore>;
let input: string;

beforeAll(async () => {
  env = mlStore();
  await put(env.store, 'houses', { '/train.csv': awkwardCsv(400, 1, { label: true }) });
  await put(env.store, 'complete', { '/train.csv': awkwardCsv(400, 1, { label: true, complete: true }) });
  for (const [name, m] of Object.entries(MODELS))
    await pipeline(env.store, env.dir, {
      pipeline: { name },
      input: { pfs: { repo: m.data, glob: '/' } },
      transform: { ml: { task: 'train', data: { path: `/pfs/${m.data}/train.csv`, label: m.label, features: FEATURES }, chain: m.chain, seed: 1 } },
    });
  for (const name of Object.keys(MODELS)) expect(await lastJob(env.store, name), name).toMatchObject({ state: 'JOB_SUCCESS' });
  input = path.join(env.dir, 'new.csv');
  // 700 rows: batches of 256, 256 and 188
  fs.writeFileSync(input, awkwardCsv(700, 2));
}, 120_000);
afterAll(() => env?.cleanup());

/** The files a directory holds (a failed run must leave none, temporary or not). */
const filesIn = (dir: string) => fs.readdirSync(dir).sort();

describe('streamed tusk predict', () => {
  it.each(['linear', 'logistic', 'network'])('writes the bytes of the whole-table reference, batch by batch (%s)', async (name) => {
    const want = await reference(env.store, name, input);
    const out = path.join(env.dir, `${name}.csv`);
    const r = await predictFile(env.store, parseFileRef(`${name}@master`), input, { output: out, batchRows: 256 });
    expect(r.rows).toBe(700);
    expect(fs.readFileSync(out, 'utf8')).toBe(want.csv);
    const stdout = slowStdout();
    await predictFile(env.store, parseFileRef(`${name}@master`), input, { stdout: stdout.stream, batchRows: 256 });
    expect(stdout.text()).toBe(want.csv);
    const json = slowStdout();
    const jr = await predictFile(env.store, parseFileRef(`${name}@master`), input, { json: true, stdout: json.stream, batchRows: 256 });
    expect(json.text()).toBe(want.json);
    expect(jr.predictions).toBeUndefined();
  });

  it('keeps the header, quoting and probability columns of the reference', async () => {
    const { csv } = await reference(env.store, 'logistic', input);
    const header = csv.slice(0, csv.indexOf('\n'));
    expect(header).toBe('id,sqft,rooms,city,"note, free",prediction,"proba_a,b",proba_plain,"proba_q""x"');
    expect(csv).toContain('"Lyon ""centre"""');
    expect(csv).toMatch(/,"line one\nline ""two"", \d+",/);
  });

  it('prints the same document for a file without rows', async () => {
    const empty = path.join(env.dir, 'empty.csv');
    fs.writeFileSync(empty, 'id,sqft,rooms,city\n');
    const want = await reference(env.store, 'logistic', empty);
    const json = slowStdout();
    await predictFile(env.store, parseFileRef('logistic@master'), empty, { json: true, stdout: json.stream });
    expect(json.text()).toBe(want.json);
    expect(want.json).toContain('"predictions": []');
    const csv = slowStdout();
    await predictFile(env.store, parseFileRef('logistic@master'), empty, { stdout: csv.stream });
    expect(csv.text()).toBe('id,sqft,rooms,city,prediction,"proba_a,b",proba_plain,"proba_q""x"\n');
  });

  it('checks the header against the model before writing anything', async () => {
    const dir = fs.mkdtempSync(path.join(env.dir, 'out-'));
    const bad = path.join(env.dir, 'no-rooms.csv');
    fs.writeFileSync(bad, 'id,sqft,city\nx,100,nantes\n');
    const stdout = slowStdout();
    await expect(predictFile(env.store, parseFileRef('linear@master'), bad, { output: path.join(dir, 'p.csv') })).rejects.toMatchObject({ code: 'E_INVALID', exitCode: 2, message: expect.stringContaining('the model expects feature "rooms"') });
    await expect(predictFile(env.store, parseFileRef('linear@master'), bad, { stdout: stdout.stream })).rejects.toMatchObject({ code: 'E_INVALID' });
    expect(filesIn(dir)).toEqual([]);
    expect(stdout.text()).toBe('');
  });

  it('leaves no output file when a later batch fails, and numbers rows across batches', async () => {
    const dir = fs.mkdtempSync(path.join(env.dir, 'out-'));
    const out = path.join(dir, 'p.csv');
    fs.writeFileSync(out, 'an older file\n');
    const badCell = path.join(env.dir, 'bad-cell.csv');
    fs.writeFileSync(badCell, awkwardCsv(700, 2, { bad: { row: 600, sqft: 'oops' } }));
    await expect(predictFile(env.store, parseFileRef('linear@master'), badCell, { output: out, batchRows: 256 })).rejects.toMatchObject({
      code: 'E_INVALID',
      message: 'bad-cell.csv record 602: column "sqft" holds "oops", which is not a number',
    });
    const missing = path.join(env.dir, 'missing.csv');
    fs.writeFileSync(missing, awkwardCsv(700, 2, { complete: true, bad: { row: 600, sqft: 'NA' } }));
    await expect(predictFile(env.store, parseFileRef('unimputed@master'), missing, { output: out, batchRows: 256 })).rejects.toMatchObject({
      code: 'E_INVALID',
      message: expect.stringContaining('column "sqft" has a missing or infinite value (row 601)'),
    });
    expect(filesIn(dir)).toEqual(['p.csv']);
    expect(fs.readFileSync(out, 'utf8')).toBe('an older file\n');
  });

  it('predict pipelines stream the same bytes (more rows than one batch)', async () => {
    const big = awkwardCsv(5000, 3);
    await put(env.store, 'listings', { '/big.csv': big });
    await pipeline(env.store, env.dir, {
      pipeline: { name: 'priced' },
      input: { cross: [{ pfs: { repo: 'listings', glob: '/*' } }, { pfs: { repo: 'linear', glob: '/' } }] },
      transform: { ml: { task: 'predict', model: '/pfs/linear', data: { path: '/pfs/listings' } } },
    });
    expect(await lastJob(env.store, 'priced')).toMatchObject({ errors: [], state: 'JOB_SUCCESS' });
    const local = path.join(env.dir, 'big.csv');
    fs.writeFileSync(local, big);
    expect((await read(env.store, 'priced@master:/big.csv')).toString('utf8')).toBe((await reference(env.store, 'linear', local)).csv);
  });
});
