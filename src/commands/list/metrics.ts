import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { validateName, type ModelMetrics } from '../../app/api.js';
import { renderTable } from '../../ui/table.js';

export type ListMetricsResult = ModelMetrics[];

function cell(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

export default class ListMetrics extends TuskCommand<ListMetricsResult> {
  static override summary = "List the metrics of every model version a pipeline produced, side by side.";
  static override description =
    "Reads /metrics.json from each successful commit of the pipeline's output repo, newest first. The table " +
    'shows the scalar metrics of the test set (of the training set when there was no split); --json gives ' +
    'each metrics.json in full, with per-class values and confusion matrices.';
  static override examples = ['<%= config.bin %> list metrics price-model', '<%= config.bin %> list metrics price-model -n 5 --json'];
  static override args = { pipeline: Args.string({ required: true, description: 'pipeline (or any repo holding /metrics.json)' }) };
  static override flags = {
    ...outputFlags,
    number: Flags.integer({ char: 'n', description: 'Show at most this many versions (0 = all).', min: 0, default: 0 }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<ListMetricsResult> {
    const { args, flags } = await this.parse(ListMetrics);
    const repo = validateName('pipeline', args.pipeline);
    const rows = await (await this.tusk()).models.listMetrics(repo, { number: flags.number || undefined });
    this.render(() => {
      const names = [...new Set(rows.flatMap((r) => Object.keys(r.scalars)))];
      return renderTable(
        ['commit', 'finished', 'set', 'rows', ...names],
        rows.map((r) => [r.commit, this.time(r.finished), r.set, r.rows[r.set] ?? '-', ...names.map((n) => cell(r.scalars[n]))]),
        { tty: this.isTty },
      );
    });
    return rows;
  }
}
