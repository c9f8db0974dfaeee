// Using models: `tusk predict`, `tusk list metrics` and `tusk serve model`, as services on a real
// store and as the built CLI (spawned, --json, exit codes) against a store trained in-process.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { listModelMetrics } from '../../src/ml/metrics-service.js';
import { predictFile } from '../../src/ml/predict-service.js';
import { serveModel, type ModelServer } from '../../src/ml/serve.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { parseFileRef } from '../../src/store/address.js';
import { BIN, runTusk } from '../cli/cli-helpers.js';
import { housesCsv, lastJob, mlStore, pipeline, PRICE_ML, priceSpec, put } from './ml-helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A store with price-model trained twice (two versions) and a local CSV of new houses. */
async function trained() {
  const env = mlStore();
  cleanups.push(env.cleanup);
  const { store, dir } = env;
  await put(store, 'houses', { '/train.csv': housesCsv(150, 1) });
  await pipeline(store, dir, priceSpec());
  const v1 = (await store.inspectCommit(parseFileRef('price-model@master'))).id;
  await put(store, 'houses', { '/train.csv': housesCsv(300, 2) });
  await runForeground(store.handle);
  const v2 = (await store.inspectCommit(parseFileRef('price-model@master'))).id;
  const csv = path.join(dir, 'new.csv');
  fs.writeFileSync(csv, housesCsv(4, 9, 100, false));
  return { ...env, v1, v2, csv };
}

describe('predict service', () => {
  it('writes input columns plus predictions, for any version of the model', async () => {
    const { store, dir, v1, csv } = await trained();
    const out = path.join(dir, 'out.csv');
    const r = await predictFile(store, parseFileRef('price-model@master'), csv, { output: out });
    expect(r.rows).toBe(4);
    expect(r.model).toMatchObject({ repo: 'price-model', path: '/model' });
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('id,sqft,rooms,city,prediction');
    expect(lines).toHaveLength(5);
    const printed: Buffer[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _enc, cb) {
        printed.push(Buffer.from(chunk));
        cb();
      },
    });
    const old = await predictFile(store, parseFileRef('price-model@master^'), csv, { json: true, stdout });
    expect(old.model.commit).toBe(v1);
    const doc = JSON.parse(Buffer.concat(printed).toString('utf8'));
    expect(doc).toMatchObject({ model: { commit: v1 }, rows: 4, output: null });
    expect(doc.predictions).toHaveLength(4);
    expect(typeof doc.predictions[0].prediction).toBe('number');
  });

  it('names the missing feature and refuses repos without a model', async () => {
    const { store, dir } = await trained();
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'id,sqft,city\nx,100,paris\n');
    // a predict user wrote no spec: errors name the model they gave, not transform.ml.model
    await expect(predictFile(store, parseFileRef('price-model@master'), bad, {})).rejects.toMatchObject({
      code: 'E_INVALID',
      message: `model price-model@master (LinearRegression): the model expects feature "rooms" (a number), which ${bad} lacks`,
    });
    await expect(predictFile(store, parseFileRef('houses@master'), bad, {})).rejects.toMatchObject({ code: 'E_INVALID', message: expect.stringMatching(/^no fitted model in houses@/) });
  });

  it('a cell that is not a number gets a hint about the model and the -f file, not transform.ml.data.columns', async () => {
    const { store, dir } = await trained();
    const feature = path.join(dir, 'feature.csv');
    fs.writeFileSync(feature, 'id,sqft,rooms,city\nh1,100,2,paris\nh2,120,many,lyon\n');
    const err = (await predictFile(store, parseFileRef('price-model@master'), feature, { stdout: new Writable({ write: (_c, _e, cb) => cb() }) }).catch((e: unknown) => e)) as { code: string; message: string; hint: string };
    expect(err).toMatchObject({ code: 'E_INVALID', message: 'feature.csv record 3: column "rooms" holds "many", which is not a number' });
    expect(err.hint).toBe(`the model was trained on "rooms" as numbers: fix or remove that record of ${feature}`);
    // a column the model does not use, typed from the first 1,000 rows
    const extra = path.join(dir, 'extra.csv');
    const rows = Array.from({ length: 1001 }, (_, i) => `h${i},100,2,paris,${i === 1000 ? 'n/a-ish' : i}`);
    fs.writeFileSync(extra, ['id,sqft,rooms,city,floor', ...rows].join('\n') + '\n');
    const err2 = (await predictFile(store, parseFileRef('price-model@master'), extra, { stdout: new Writable({ write: (_c, _e, cb) => cb() }) }).catch((e: unknown) => e)) as { message: string; hint: string };
    expect(err2.message).toContain('column "floor" holds "n/a-ish"');
    expect(err2.hint).toBe(`the model does not use "floor", whose type was inferred from the first rows: remove that column from ${extra}`);
    expect(err2.hint).not.toContain('transform.ml');
  });
});

describe('list metrics service', () => {
  it('lists every model version newest first and skips failed jobs', async () => {
    const { store, dir, v1, v2 } = await trained();
    await put(store, 'houses', { '/train.csv': 'sqft,price\n1,2\n' });
    await runForeground(store.handle);
    expect((await lastJob(store, 'price-model')).state).toBe('JOB_FAILURE');
    const rows = await listModelMetrics(store, 'price-model');
    expect(rows.map((r) => r.commit)).toEqual([v2, v1]);
    expect(rows[0]).toMatchObject({ set: 'test', rows: { train: 240, test: 60 } });
    expect(Object.keys(rows[0]!.scalars)).toEqual(['mse', 'r2']);
    expect(rows[0]!.provenance[0]).toMatch(/^houses@/);
    expect(dir).toBeTruthy();
  });
});

async function call(url: string, init?: RequestInit): Promise<{ status: number; body: any; version: string | null }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.json(), version: r.headers.get('x-model-version') };
}
const post = (body: unknown) => ({ method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('serve model', () => {
  it('predicts, reports its version, rejects bad requests with 400 and reloads when the branch moves', async () => {
    const { store, dir, v2 } = await trained();
    const server: ModelServer = await serveModel(store, { repo: 'price-model', branch: 'master', port: 0, pollMs: 60_000 });
    cleanups.push(() => server.close());
    const health = await call(`${server.url}/health`);
    expect(health).toMatchObject({ status: 200, version: v2, body: { status: 'ok', model: { repo: 'price-model', branch: 'master', commit: v2 }, error: null } });

    const ok = await call(`${server.url}/predict`, post({ instances: [{ sqft: 1000, rooms: 2, city: 'paris' }, { sqft: 2000, rooms: 4, city: 'nantes' }] }));
    expect(ok.status).toBe(200);
    expect(ok.body.model.commit).toBe(v2);
    expect(ok.body.predictions).toHaveLength(2);
    expect(Math.abs(ok.body.predictions[0].prediction - (50 + 120 + 30 + 120))).toBeLessThan(10);

    for (const [bad, msg] of [
      ['{not json', /not valid JSON/],
      [{ rows: [] }, /instances/],
      [{ instances: [{ sqft: 1000, city: 'paris' }] }, /instance 0 lacks feature "rooms"/],
      [{ instances: [{ sqft: 'big', rooms: 2, city: 'paris' }] }, /feature "sqft" must be a number/],
      [{ instances: [7] }, /instance 0 is not an object/],
    ] as const) {
      const r = await call(`${server.url}/predict`, post(bad));
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(Object.keys(r.body.error).sort()).toEqual(['code', 'hint', 'message']);
      expect(r.body.error.code).toBe('E_INVALID');
      expect(r.body.error.message).toMatch(msg);
      expect(r.body.model.commit).toBe(v2);
    }
    // HTTP's own errors answer in the same shape as the console's and the CLI's --json errors
    const nowhere = await call(`${server.url}/nowhere`);
    expect(nowhere).toMatchObject({ status: 404, body: { error: { code: 'E_NOT_FOUND', message: 'no route GET /nowhere', hint: 'use POST /predict or GET /health' } } });
    const getPredict = await call(`${server.url}/predict`);
    expect(getPredict).toMatchObject({ status: 405, body: { error: { code: 'E_METHOD', hint: 'use POST /predict with a JSON body' } } });
    const postHealth = await call(`${server.url}/health`, post({}));
    expect(postHealth).toMatchObject({ status: 405, body: { error: { code: 'E_METHOD' } } });
    const small: ModelServer = await serveModel(store, { repo: 'price-model', branch: 'master', port: 0, pollMs: 60_000, maxBody: 64 });
    cleanups.push(() => small.close());
    const tooBig = await call(`${small.url}/predict`, post({ instances: Array.from({ length: 20 }, () => ({ sqft: 1000, rooms: 2, city: 'paris' })) }));
    expect(tooBig).toMatchObject({ status: 413, body: { error: { code: 'E_TOO_LARGE', message: 'request body over 64 bytes' } } });
    // a branch that holds no model: the server runs, says why in /health, and refuses to predict
    const none: ModelServer = await serveModel(store, { repo: 'houses', branch: 'master', port: 0, pollMs: 60_000 });
    cleanups.push(() => none.close());
    const unloaded = await call(`${none.url}/health`);
    expect(unloaded).toMatchObject({ status: 503, body: { status: 'unavailable', model: null, error: { code: expect.stringMatching(/^E_/), message: expect.any(String) } } });
    expect(Object.keys(unloaded.body.error).sort()).toEqual(['code', 'hint', 'message']);
    const refused = await call(`${none.url}/predict`, post([{ sqft: 1000, rooms: 2, city: 'lyon' }]));
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'E_UNAVAILABLE', message: `no model loaded: ${unloaded.body.error.message}` } } });
    // without a content-length the size is only known while reading: the answer is the same
    const streamed = await call(`${small.url}/predict`, { method: 'POST', body: new Blob(['x'.repeat(1000)]).stream(), duplex: 'half' } as RequestInit);
    expect(streamed).toMatchObject({ status: 413, body: { error: { code: 'E_TOO_LARGE' } } });

    // a new training job moves the branch: the server swaps models
    await put(store, 'houses', { '/train.csv': housesCsv(100, 5) });
    await runForeground(store.handle);
    const v3 = (await store.inspectCommit(parseFileRef('price-model@master'))).id;
    expect(v3).not.toBe(v2);
    await server.refresh();
    const after = await call(`${server.url}/predict`, post([{ sqft: 1000, rooms: 2, city: 'lyon' }]));
    expect(after).toMatchObject({ status: 200, version: v3, body: { model: { commit: v3 } } });
    expect(dir).toBeTruthy();
  });
});

describe('CLI', () => {
  it('tusk predict and tusk list metrics', async () => {
    const { store, dir, v1, v2, csv } = await trained();
    const env = { TUSK_STORE: store.path };
    const csvOut = await runTusk(['predict', 'price-model@master', '-f', csv], { env });
    expect(csvOut.code, csvOut.describe()).toBe(0);
    expect(csvOut.stdout.split('\n')[0]).toBe('id,sqft,rooms,city,prediction');
    const json = await runTusk(['predict', 'price-model@master', '-f', csv, '--json'], { env });
    expect(json.code, json.describe()).toBe(0);
    expect(json.json()).toMatchObject({ model: { repo: 'price-model', commit: v2 }, rows: 4, output: null });
    // streamed, but laid out as every --json document is, and printed once
    expect(json.stdout).toBe(JSON.stringify(json.json(), null, 2) + '\n');
    expect(json.json().predictions).toHaveLength(4);
    const out = path.join(dir, 'priced.csv');
    const toFile = await runTusk(['predict', 'price-model@master', '-f', csv, '-o', out, '--json'], { env });
    expect(toFile.json()).toEqual({ model: expect.objectContaining({ commit: v2 }), rows: 4, output: out });
    expect(fs.readFileSync(out, 'utf8')).toBe(csvOut.stdout);
    const missing = await runTusk(['predict', 'price-model@master', '-f', path.join(dir, 'nope.csv'), '--json'], { env });
    expect(missing.code).toBe(2);
    expect(missing.json().error.code).toBe('E_INVALID');
    const noRepo = await runTusk(['predict', 'nope@master', '-f', csv, '--json'], { env });
    expect(noRepo.code).toBe(4);

    const metrics = await runTusk(['list', 'metrics', 'price-model', '--json'], { env });
    expect(metrics.code, metrics.describe()).toBe(0);
    expect(metrics.json().map((r: { commit: string }) => r.commit)).toEqual([v2, v1]);
    const table = await runTusk(['list', 'metrics', 'price-model'], { env });
    expect(table.stdout.split('\n')[0]).toMatch(/^COMMIT\s+FINISHED\s+SET\s+ROWS\s+MSE\s+R2$/);
    expect(table.stdout).toContain(v1);
    expect(PRICE_ML.metrics).toEqual(['mse', 'r2']);
  });

  it('tusk serve model answers until interrupted', async () => {
    const { store, v2 } = await trained();
    const child = spawn(process.execPath, [BIN, 'serve', 'model', 'price-model@master', '--port', '0', '--json'], { env: { ...process.env, TUSK_STORE: store.path }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => child.kill('SIGKILL'));
    const started = await new Promise<{ url: string; model: { commit: string } }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const end = out.indexOf('\n}');
        if (end >= 0) resolve(JSON.parse(out.slice(0, end + 2)));
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    expect(started.model.commit).toBe(v2);
    const r = await call(`${started.url}/predict`, post({ instances: [{ sqft: 1500, rooms: 3, city: 'lyon' }] }));
    expect(r).toMatchObject({ status: 200, version: v2 });
    expect((await call(`${started.url}/predict`, post('[{"sqft": null'))).status).toBe(400);
    expect((await call(`${started.url}/health`)).status).toBe(200);
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
  });
});
