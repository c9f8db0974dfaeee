// Drift over time for the console: each column's severity in every drift.json of a monitor
// pipeline's output repo, oldest first, for one chart per column.
import { listDrift, type DriftHistoryReads } from '../monitor/drift-history.js';
import type { DriftSeries } from './api-types.js';

/** The newest `limit` reports of `repo`, oldest first. */
export async function readDrift(store: DriftHistoryReads, repo: string, limit: number): Promise<DriftSeries> {
  const rows = (await listDrift(store, repo, { number: limit })).reverse();
  const columns = new Set<string>();
  const points = rows.map((r) => {
    const cells: DriftSeries['points'][number]['columns'] = {};
    for (const c of r.columns) {
      columns.add(c.column);
      cells[c.column] = { test: c.test, score: c.score, threshold: c.threshold, severity: c.severity, status: c.status };
    }
    return { commit: r.commit, finished: r.finished, input: r.input, reference: r.reference, note: r.note, drift: r.drift, columns: cells };
  });
  return { repo, columns: [...columns], points };
}
