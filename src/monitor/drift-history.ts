// `tusk list drift`: the drift.json of every output commit of a monitor pipeline, newest first,
// so the drift of each column can be followed over the input's commits. A step with
// `reference: window` keeps one report per window under /drift/ in every output commit: the newest
// output commit holds the whole history, listed newest window first.
import { NotFoundError } from '../errors.js';
import type { Store } from '../store/store.js';

/** The store reads a drift history needs. */
export type DriftHistoryReads = Pick<Store, 'streamFile' | 'listFiles' | 'inspectRepo' | 'listCommits'>;
import type { ColumnStatus } from './drift.js';
import { DRIFT_FILE, type DriftJson, type DriftJsonWindow, type Performance } from './monitor-task.js';

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
  /** `repo@commit` of the compared input and of the reference (`repo@c1,c2` for a window's earlier versions) */
  input: string | null;
  reference: string | null;
  /** `reference: window`: the window, and the versions the reference pooled, oldest first */
  window: (Omit<DriftJsonWindow, 'versions'> & { reference: string[] }) | null;
  /** why nothing was compared (a window with one version) */
  note: string | null;
  drift: boolean;
  drifted: string[];
  schemaChanges: string[];
  worst: DriftJson['worst'];
  columns: DriftPoint[];
  /** the predictions scored against labels that arrived, when the step was given labels */
  performance: Performance | null;
}

function at(side: DriftJson['current']): string | null {
  if (side.commits && side.commits.length > 1) return side.repo ? `${side.repo}@${side.commits.map((c) => c.commit).join(',')}` : null;
  return side.repo && side.commit ? `${side.repo}@${side.commit}` : null;
}

async function readReport(store: DriftHistoryReads, repo: string, commit: string, path: string): Promise<DriftJson | undefined> {
  try {
    const file = await store.streamFile({ repo, commit, path });
    const parts: Buffer[] = [];
    for await (const b of file.chunks()) parts.push(b);
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as DriftJson;
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** The window reports under /drift/ of one output commit, newest window first; undefined when it has none. */
async function windowReports(store: DriftHistoryReads, repo: string, commit: string): Promise<DriftJson[] | undefined> {
  let files;
  try {
    files = await store.listFiles({ repo, commit, path: '/drift' });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  const reports: DriftJson[] = [];
  for (const f of files) {
    if (f.type !== 'file' || !f.path.endsWith('.json')) continue;
    const r = await readReport(store, repo, commit, f.path);
    if (r?.window !== undefined) reports.push(r);
  }
  if (reports.length === 0) return undefined;
  // sliding windows put a version in several windows; the one it ends, with the most versions
  // before it, is its report (the later, partial ones are redone as commits join them)
  const best = new Map<string, DriftJson>();
  for (const r of reports) {
    const key = r.current.commit ?? '';
    const had = best.get(key);
    const refs = (x: DriftJson) => x.reference.commits?.length ?? 0;
    if (!had || refs(r) > refs(had) || (refs(r) === refs(had) && r.window!.end > had.window!.end)) best.set(key, r);
  }
  return [...best.values()].sort((a, b) => b.window!.end - a.window!.end || b.window!.start - a.window!.start);
}

function row(commit: string, finished: string | null, report: DriftJson): DriftHistoryRow {
  return {
    commit,
    finished,
    input: at(report.current),
    reference: at(report.reference),
    window: report.window ? { by: report.window.by, start: report.window.start, end: report.window.end, reference: (report.reference.commits ?? []).map((c) => c.commit) } : null,
    note: report.note ?? null,
    drift: report.drift,
    drifted: report.drifted,
    schemaChanges: report.schemaChanges,
    worst: report.worst,
    columns: report.columns.map((d) => ({ column: d.column, status: d.status, test: d.test ?? null, score: d.score ?? null, threshold: d.threshold ?? null, severity: d.severity ?? null })),
    performance: report.performance ?? null,
  };
}

/** One row per finished output commit of `repo` that holds a drift.json, newest first; or one per window report. */
export async function listDrift(store: DriftHistoryReads, repo: string, opts: { number?: number } = {}): Promise<DriftHistoryRow[]> {
  await store.inspectRepo(repo);
  const out: DriftHistoryRow[] = [];
  for (const c of await store.listCommits({ repo })) {
    if (c.error || !c.finished) continue;
    const report = await readReport(store, repo, c.id, `/${DRIFT_FILE}`);
    if (!report) {
      // every window's report is kept in each output commit: the newest holds the history
      const windows = await windowReports(store, repo, c.id);
      if (!windows) continue;
      for (const r of windows) out.push(row(c.id, c.finished, r));
      break;
    }
    out.push(row(c.id, c.finished, report));
    if (opts.number && out.length >= opts.number) break;
  }
  return opts.number ? out.slice(0, opts.number) : out;
}
