// Model metrics across versions: the numbers in each commit's metrics.json (as ML pipelines write
// next to the model), oldest first, one point per distinct version of the file.
import { NotFoundError } from '../errors.js';
import type { MetricsPoint, MetricsSeries } from './api-types.js';
import type { ConsoleData } from './services.js';
import { readHead } from './content.js';

/** Where a metrics file is looked for when the caller names none. */
export const DEFAULT_METRICS_PATH = '/metrics.json';
const MAX_METRICS_BYTES = 1024 * 1024;
// `{"test": {"accuracy": …}}` flattens to `test.accuracy`; what is nested deeper (per-class values,
// confusion matrices) is detail, not a curve to follow across versions.
const MAX_DEPTH = 2;

/** Numeric leaves of a JSON value as `a.b.c → n` (arrays and strings are skipped). */
export function flattenMetrics(value: unknown, prefix = '', out: Record<string, number> = {}, depth = 0): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (prefix) out[prefix] = value;
  } else if (value && typeof value === 'object' && !Array.isArray(value) && depth < MAX_DEPTH) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flattenMetrics(v, prefix ? `${prefix}.${k}` : k, out, depth + 1);
  }
  return out;
}

/**
 * Read `path` in the newest `limit` commits of `repo@branch`. Commits without the file, with a file
 * too large or not JSON are skipped; a commit whose file is unchanged from its parent's (a commit
 * that did not retrain) adds no point.
 */
export async function readMetrics(store: ConsoleData, opts: { repo: string; branch: string; path?: string; limit: number }): Promise<MetricsSeries> {
  const path = opts.path ?? DEFAULT_METRICS_PATH;
  const commits = (await store.listCommits({ repo: opts.repo, branch: opts.branch, number: opts.limit })).reverse();
  const points: MetricsPoint[] = [];
  const keys = new Set<string>();
  let lastHash: string | null = null;
  for (const c of commits) {
    if (c.finished === null || c.error) continue;
    const ref = { repo: c.repo, commit: c.id, path };
    let hash: string;
    let size: number;
    try {
      const f = await store.inspectFile(ref);
      if (f.type !== 'file') continue;
      [hash, size] = [f.hash, f.sizeBytes];
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    if (hash === lastHash || size > MAX_METRICS_BYTES) continue;
    lastHash = hash;
    let metrics: Record<string, number>;
    try {
      metrics = flattenMetrics(JSON.parse((await readHead(store, ref, MAX_METRICS_BYTES)).data.toString('utf8')));
    } catch (err) {
      if (err instanceof SyntaxError) continue;
      throw err;
    }
    if (Object.keys(metrics).length === 0) continue;
    for (const k of Object.keys(metrics)) keys.add(k);
    points.push({ commit: c.id, started: c.started, finished: c.finished, description: c.description, metrics });
  }
  return { repo: opts.repo, branch: opts.branch, path, keys: [...keys].sort(), points };
}
