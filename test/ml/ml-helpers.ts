// Helpers for the ML tests: a real store with the ML transform registered, files put from
// fixtures, pipelines created from spec objects and run in the foreground.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerMlTransforms } from '../../src/ml/index.js';
import { createPipelines } from '../../src/pipeline/pipeline-service.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { mulberry32 } from '../../src/ml/rng.js';
import { parseFileRef } from '../../src/store/address.js';
import type { Store } from '../../src/store/store.js';
import { readBack, streamOf, tempStore } from '../helpers.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ml');

export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES, name));
}

export function mlStore(): ReturnType<typeof tempStore> {
  registerMlTransforms();
  return tempStore();
}

/** Put files (repo path → bytes) in one commit; returns the commit id. */
export async function put(store: Store, repo: string, files: Record<string, Buffer | string>): Promise<string> {
  if (!(await store.listRepos()).some((r) => r.name === repo)) await store.createRepo(repo);
  const r = await store.putFiles(
    { repo, branch: 'master' },
    Object.entries(files).map(([p, data]) => ({ kind: 'stream' as const, stream: streamOf(data), repoPath: p })),
  );
  return r.commit;
}

export async function pipeline(store: Store, dir: string, spec: Record<string, unknown>): Promise<void> {
  await createPipelines(store.handle, JSON.stringify(spec), { baseDir: dir });
  await runForeground(store.handle);
}

export async function read(store: Store, ref: string): Promise<Buffer> {
  return readBack(store, parseFileRef(ref));
}

export async function readJson<T = any>(store: Store, ref: string): Promise<T> {
  return JSON.parse((await read(store, ref)).toString('utf8')) as T;
}

/** The state and failure reason of a pipeline's newest job, with its datum errors. */
export async function lastJob(store: Store, name: string): Promise<{ state: string; reason: string | null; errors: string[]; processed: number; skipped: number }> {
  const j = (await store.core.jobs.jobsOf(name))[0]!;
  const errors = (await store.core.jobs.datumsOf(name, j.id)).flatMap((d) => (d.error ? [d.error] : []));
  return { state: j.state, reason: j.reason, errors, processed: j.processed, skipped: j.skipped };
}

/** Relative closeness: |a − b| ≤ tol·|b| (absolute tol when b is 0). */
export function near(a: number, b: number, tol = 0.01): boolean {
  return Math.abs(a - b) <= tol * Math.max(Math.abs(b), 1e-12) || (b === 0 && Math.abs(a) <= tol);
}

/** Seeded synthetic houses: price depends on sqft, rooms and city. */
export function housesCsv(n: number, seed: number, start = 0, withPrice = true): string {
  const rand = mulberry32(seed);
  const cities = ['lyon', 'nantes', 'paris'];
  const rows = [`id,sqft,rooms,city${withPrice ? ',price' : ''}`];
  for (let i = start; i < start + n; i++) {
    const sqft = Math.round(500 + rand() * 2000);
    const rooms = 1 + Math.floor(rand() * 5);
    const city = cities[Math.floor(rand() * 3)]!;
    const price = 50 + 0.12 * sqft + 15 * rooms + (city === 'paris' ? 120 : city === 'lyon' ? 40 : 0) + (rand() - 0.5) * 10;
    rows.push(`h${i},${sqft},${rooms},${city}${withPrice ? `,${price.toFixed(2)}` : ''}`);
  }
  return rows.join('\n') + '\n';
}


export const PRICE_ML = {
  task: 'train',
  data: { format: 'csv', path: '/pfs/houses/train.csv', label: 'price', features: ['sqft', 'rooms', 'city'] },
  chain: [{ OneHotEncoder: { columns: ['city'] } }, { StandardScaler: {} }, { PolynomialFeatures: { degree: 2 } }, { LinearRegression: {} }],
  split: { test: 0.2, seed: 42 },
  metrics: ['mse', 'r2'],
};

export const priceSpec = (name = 'price-model', ml: Record<string, unknown> = PRICE_ML) => ({ pipeline: { name }, input: { pfs: { repo: 'houses', glob: '/' } }, transform: { ml } });
