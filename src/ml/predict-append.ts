// Predicting only the rows a CSV file gained since the last job. A predict datum is redone when
// any of its files changed; when the model and every other input are the same and a data file's
// old bytes are exactly the start of its new ones (checked by chunk ids, not by size), the
// earlier predictions are kept (by content id: the store writes them as that content plus the
// new predictions, never reading them back to disk) and only the rows after the old end are read
// and predicted. Any other change (an edited row, a new model, an old file not ending at a line
// break) predicts the whole file again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PreviousRun } from '../pipeline/previous-run.js';
import type { ContentId } from '../pipeline/transform.js';
import type { Prediction } from './stages/types.js';

/** An earlier output file, known by its content id (never read back whole). */
export interface EarlierOutput {
  id: ContentId;
  size: number;
  /** the bytes of its windows file, when window_metrics is on */
  windows?: Buffer;
}

/** How one predict unit (a CSV file) is done in this run. */
export type UnitPlan =
  | { kind: 'full'; why: string }
  /** the file did not change: its earlier outputs are kept */
  | { kind: 'same'; previous: EarlierOutput }
  /** rows were appended: the earlier predictions, then those of the rows from byte `from` */
  | { kind: 'append'; previous: EarlierOutput; from: number };

/** The file beside a predictions file that holds one line of statistics per window of new rows. */
export function windowsFile(out: string): string {
  return `${out}.windows.jsonl`;
}

/**
 * Decide, for each unit, whether the previous run's output can be built on. `units[i].path` is
 * a local path below `pfsDir`, `units[i].out` a path below `/pfs/out`. Only the earlier
 * predictions' ids are looked up; the small windows files are read.
 */
export async function planUnits(
  units: readonly { path: string; out: string }[],
  pfsDir: string,
  previous: PreviousRun | undefined,
  opts: { windowMetrics: boolean },
): Promise<UnitPlan[]> {
  if (!previous) return units.map(() => ({ kind: 'full', why: 'no earlier run of this datum' }));
  const keys = units.map((u) => `/pfs/${path.relative(pfsDir, u.path).split(path.sep).join('/')}`);
  const other = [...previous.inputs].find(([k, c]) => !keys.includes(k) && c.change !== 'same');
  if (other) return units.map(() => ({ kind: 'full', why: `${other[0]} is ${other[1].change}` }));
  const plans: UnitPlan[] = [];
  for (const [i, u] of units.entries()) plans.push(await planUnit(u, keys[i]!, previous, opts));
  return plans;
}

async function planUnit(u: { path: string; out: string }, key: string, previous: PreviousRun, opts: { windowMetrics: boolean }): Promise<UnitPlan> {
  {
    const change = previous.inputs.get(key);
    if (!change || change.change === 'new' || change.change === 'changed') return { kind: 'full', why: `${key} is ${change?.change ?? 'new'}` };
    const out = `/${u.out.split(path.sep).join('/')}`;
    const earlier = await previous.outputFile(out);
    const windows = opts.windowMetrics ? await previous.outputFile(windowsFile(out)) : undefined;
    // gone since (its commit deleted, then gc), or never written: predicting everything is still right
    if (!earlier || (opts.windowMetrics && !windows)) return { kind: 'full', why: `the earlier output has no ${u.out}${earlier ? ` windows file` : ''} to build on` };
    let kept: EarlierOutput = earlier;
    if (opts.windowMetrics) {
      try {
        kept = { ...earlier, windows: await previous.readOutput(windowsFile(out)) };
      } catch (err) {
        return { kind: 'full', why: `the earlier output cannot be read (${(err as Error).message})` };
      }
    }
    if (change.change === 'same') return { kind: 'same', previous: kept };
    if (change.before === 0 || !endsLine(u.path, change.before)) return { kind: 'full', why: `${key} did not end at a line break` };
    return { kind: 'append', previous: kept, from: change.before };
  }
}

/** Whether byte `size - 1` of the file is a line break: the old content ended with a whole row. */
function endsLine(file: string, size: number): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(1);
    return fs.readSync(fd, b, 0, 1, size - 1) === 1 && b[0] === 0x0a;
  } finally {
    fs.closeSync(fd);
  }
}

/** Statistics of the predictions of one window of rows, one JSON line of the windows file. */
export class WindowStats {
  rows = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;
  private readonly classes = new Map<string, number>();
  private anomalies = 0;
  private kind: Prediction['kind'] | undefined;

  add(p: Prediction, rows: number): void {
    this.kind = p.kind;
    this.rows += rows;
    if (p.kind === 'regression') {
      for (const v of p.values) {
        this.sum += v;
        if (v < this.min) this.min = v;
        if (v > this.max) this.max = v;
      }
    } else if (p.kind === 'classification') {
      for (const k of p.index) {
        const c = String(p.classes[k]);
        this.classes.set(c, (this.classes.get(c) ?? 0) + 1);
      }
    } else for (const f of p.flag) this.anomalies += f;
  }

  /** The line: where the window lies in the file (rows, 0-based, end exclusive) and what was predicted. */
  line(fields: { job?: string; fromRow: number }): string {
    const base: Record<string, unknown> = { job: fields.job ?? null, from_row: fields.fromRow, to_row: fields.fromRow + this.rows, rows: this.rows };
    if (this.kind === 'regression') Object.assign(base, { mean: this.rows ? this.sum / this.rows : null, min: this.rows ? this.min : null, max: this.rows ? this.max : null });
    else if (this.kind === 'classification') base.classes = Object.fromEntries([...this.classes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    else if (this.kind === 'anomaly') Object.assign(base, { anomalies: this.anomalies, anomaly_rate: this.rows ? this.anomalies / this.rows : null });
    return JSON.stringify(base) + '\n';
  }
}

/** The row after the last window of a windows file's text (0 for none). */
export function lastRow(windows: string): number {
  const text = windows.trimEnd();
  const last = text.slice(text.lastIndexOf('\n') + 1);
  return last ? (JSON.parse(last) as { to_row: number }).to_row : 0;
}
