// `tusk list metrics`: the metrics.json of every model version (commit) of a pipeline's output
// repo, newest first, so versions can be compared side by side.
import { NotFoundError } from '../errors.js';
import type { RepoReads } from '../pipeline/repo-reads.js';
import type { MetricValues } from './metrics.js';
import { readRepoFile } from './model-source.js';
import { METRICS_FILE, type MetricsJson } from './run.js';

export interface ModelMetrics {
  repo: string;
  commit: string;
  branch: string | null;
  finished: string | null;
  /** input commits the model was trained on, `repo@commit` */
  provenance: string[];
  /** which set the scalar metrics come from: test when there was a split, else train */
  set: 'test' | 'train';
  rows: MetricsJson['rows'];
  /** scalar metrics of `set` (per-class values and confusion matrices are in `metrics`) */
  scalars: Record<string, number | null>;
  metrics: MetricsJson;
}

function scalarsOf(m: MetricValues | undefined): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (typeof v === 'number' || v === null) out[k] = v;
  return out;
}

/** Metrics of every finished, successful commit of `repo` (newest first) that has a metrics.json. */
export async function listModelMetrics(store: RepoReads, repo: string, opts: { branch?: string; number?: number } = {}): Promise<ModelMetrics[]> {
  const commits = await store.listCommits({ repo, branch: opts.branch });
  const out: ModelMetrics[] = [];
  for (const c of commits) {
    if (c.error || !c.finished) continue;
    let metrics: MetricsJson;
    try {
      metrics = JSON.parse((await readRepoFile(store, { repo, commit: c.id, path: `/${METRICS_FILE}` })).toString('utf8')) as MetricsJson;
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof SyntaxError) continue;
      throw err;
    }
    const set = metrics.test ? 'test' : 'train';
    out.push({
      repo,
      commit: c.id,
      branch: c.branch,
      finished: c.finished,
      provenance: c.provenance.map((p) => `${p.repo}@${p.commit}`),
      set,
      rows: metrics.rows ?? {},
      scalars: scalarsOf(metrics[set]),
      metrics,
    });
    if (opts.number && out.length >= opts.number) break;
  }
  return out;
}
