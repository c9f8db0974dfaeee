// Tables for profiles and drift reports.
import { renderTable, type Cell } from '../ui/table.js';
import { formatBytes, shortId } from '../ui/format.js';
import type { DriftReport } from './drift-service.js';
import type { FileProfile } from './profile.js';

/** A statistic in a table cell: 4 significant digits, `-` when absent. */
export function stat(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  if (v === 0 || Number.isInteger(v)) return String(v);
  return Math.abs(v) < 1e-4 || Math.abs(v) >= 1e6 ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

function quantile(p: FileProfile['columns'][number], q: number): number | undefined {
  return p.quantiles?.find((x) => x.q === q)?.value;
}

export function profileView(p: FileProfile, opts: { tty: boolean }): string {
  const head = `${p.repo}@${shortId(p.commit)}:${p.path}  ${formatBytes(p.bytes)}, ${p.rows} rows${p.cached ? ' (kept profile)' : ''}\n`;
  const rows: Cell[][] = p.columns.map((c) => [
    c.name,
    c.type,
    c.count,
    c.missing + (c.invalid ? ` (+${c.invalid} invalid)` : ''),
    `${c.distinctExact ? '' : '≥'}${c.distinct}`,
    stat(c.mean),
    stat(c.std),
    stat(c.min),
    stat(quantile(c, 0.5)),
    stat(c.max),
    c.top.slice(0, 3).map((t) => `${t.value} (${t.count})`).join(', '),
  ]);
  const table = renderTable(['column', 'type', 'count', 'missing', 'distinct', 'mean', 'std', 'min', 'median', 'max', 'top'], rows, { tty: opts.tty });
  return head + table + `quantiles: KLL sketch, k=${p.sketch.k}, rank error ±${p.sketch.rankError} (exact below ${p.sketch.k} values)\n`;
}

const TEST_LABEL: Record<string, string> = { ks: 'KS p-value', chi2: 'chi² p-value', wasserstein_normed: 'Wasserstein/std', jensenshannon: 'Jensen–Shannon', psi: 'PSI' };

export function driftView(r: DriftReport, opts: { tty: boolean }): string {
  const mark = (s: string) => (opts.tty && s === 'drift' ? `\x1b[31m${s}\x1b[0m` : s);
  const rows: Cell[][] = r.columns.map((c) => [
    c.column,
    c.type,
    mark(c.status),
    c.test ? TEST_LABEL[c.test] : c.reason ?? '-',
    stat(c.score),
    stat(c.threshold),
    stat(c.stats?.ks?.pValue ?? c.stats?.chi2?.pValue),
    stat(c.stats?.wassersteinNormed ?? c.stats?.jensenShannon),
    stat(c.stats?.psi),
  ]);
  const pooled = r.reference.window ? `, ${r.reference.window.length} commits pooled` : '';
  const head = `${r.reference.repo}@${shortId(r.reference.commit)}:${r.reference.path} (${r.reference.rows} rows${pooled}) → ${r.current.repo}@${shortId(r.current.commit)}:${r.current.path} (${r.current.rows} rows)\n`;
  const table = renderTable(['column', 'type', 'status', 'test', 'score', 'threshold', 'p-value', 'distance', 'psi'], rows, { tty: opts.tty });
  return head + table + driftSummary(r) + '\n';
}

/** One line: what drifted, or that nothing did. */
export function driftSummary(r: DriftReport): string {
  const compared = r.columns.filter((c) => c.test).length;
  const parts: string[] = [];
  if (r.drifted.length > 0) parts.push(`drift in ${r.drifted.length} of ${compared} compared column${compared === 1 ? '' : 's'}: ${r.drifted.join(', ')}`);
  if (r.schemaChanges.length > 0) parts.push(`schema changed: ${r.schemaChanges.join(', ')}`);
  if (parts.length === 0) return `no drift in ${compared} compared column${compared === 1 ? '' : 's'}`;
  return parts.join('; ');
}
