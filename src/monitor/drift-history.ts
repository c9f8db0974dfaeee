// `tusk list drift`: the drift.json of every output commit of a monitor pipeline, newest first,
// so the drift of each column can be followed over the input's commits.
import { NotFoundError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { ColumnStatus } from './drift.js';
import { DRIFT_FILE, type DriftJson, type Performance } from './monitor-task.js';

export interface DriftPoint {
  column: string;
  status: ColumnStatus;
  test: string | null;
  score: number | null;
  threshold: number | null;
  severity: number | null;
}

export interface DriftHistoryRow {
  /** the output commit holding drift.json */
  commit: string;
  finished: string | null;
  /** `repo@commit` of the compared input and of the reference */
  input: string | null;
  reference: string | null;
  drift: boolean;
  drifted: string[];
  schemaChanges: string[];
  worst: DriftJson['worst'];
  columns: DriftPoint[];
  /** the predictions scored against labels that arrived, when the step was given labels */
  performance: Performance | null;
}

function at(side: DriftJson['current']): string | null {
  return side.repo && side.commit ? `${side.repo}@${side.commit}` : null;
}

/** One row per finished output commit of `repo` that holds a drift.json, newest first. */
export function listDrift(store: Store, repo: string, opts: { number?: number } = {}): DriftHistoryRow[] {
  store.inspectRepo(repo);
  const out: DriftHistoryRow[] = [];
  for (const c of store.listCommits({ repo })) {
    if (c.error || !c.finished) continue;
    let report: DriftJson;
    try {
      const file = store.streamFile({ repo, commit: c.id, path: `/${DRIFT_FILE}` });
      report = JSON.parse(Buffer.concat([...file.chunks()]).toString('utf8')) as DriftJson;
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof SyntaxError) continue;
      throw err;
    }
    out.push({
      commit: c.id,
      finished: c.finished,
      input: at(report.current),
      reference: at(report.reference),
      drift: report.drift,
      drifted: report.drifted,
      schemaChanges: report.schemaChanges,
      worst: report.worst,
      columns: report.columns.map((d) => ({ column: d.column, status: d.status, test: d.test ?? null, score: d.score ?? null, threshold: d.threshold ?? null, severity: d.severity ?? null })),
      performance: report.performance ?? null,
    });
    if (opts.number && out.length >= opts.number) break;
  }
  return out;
}
