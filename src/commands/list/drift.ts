import { Args, Flags } from '@oclif/core';
import { outputFlags, TuskCommand } from '../../cli/base.js';
import { stat } from '../../monitor/views.js';
import { validateName, type DriftHistoryRow } from '../../app/api.js';
import { shortId } from '../../ui/format.js';
import { renderTable } from '../../ui/table.js';

function performanceCell(p: DriftHistoryRow['performance']): string {
  if (!p) return '-';
  if (p.kind === 'classification') return `accuracy ${stat(p.accuracy)}`;
  return `mae ${stat(p.mae)} rmse ${stat(p.rmse)} r2 ${stat(p.r2)}`;
}

export type ListDriftResult = DriftHistoryRow[];

export default class ListDrift extends TuskCommand<ListDriftResult> {
  static override summary = 'List the drift reports of a monitor pipeline, one row per output commit.';
  static override description =
    "Reads /drift.json from each finished commit of the pipeline's output repo (a transform.ml task drift), newest " +
    'first (for reference: window, the per-window reports of the newest commit, one row per input version): the ' +
    'input commit compared, the reference, the columns that drifted and the worst score, and, for a step ' +
    'given labels, how its predictions scored against them (accuracy, or MAE, RMSE and R²). --json gives every ' +
    "column's score and threshold. See docs/monitoring.md.";
  static override examples = ['<%= config.bin %> list drift sales-drift', '<%= config.bin %> list drift sales-drift -n 10 --json'];
  static override args = { pipeline: Args.string({ required: true, description: 'monitor pipeline (or any repo holding /drift.json)' }) };
  static override flags = {
    ...outputFlags,
    number: Flags.integer({ char: 'n', description: 'Show at most this many reports (0 = all).', min: 0, default: 0 }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<ListDriftResult> {
    const { args, flags } = await this.parse(ListDrift);
    const rows = await (await this.tusk()).models.listDrift(validateName('pipeline', args.pipeline), { number: flags.number || undefined });
    const scored = rows.some((r) => r.performance);
    this.render(() =>
      renderTable(
        ['commit', 'finished', 'input', 'reference', 'drift', 'drifted', 'worst', 'score', ...(scored ? ['labelled', 'performance'] : [])],
        rows.map((r) => [
          r.commit,
          this.time(r.finished),
          r.input ? r.input.replace(/@(.*)$/, (_, id: string) => `@${shortId(id)}`) : '-',
          // a window's earlier versions are pooled: each is named; none for a window's first version
          r.reference ? r.reference.replace(/@(.*)$/, (_, ids: string) => `@${ids.split(',').map(shortId).join('+')}`) : r.note ? 'none' : '-',
          r.drift ? 'yes' : 'no',
          [...r.drifted, ...r.schemaChanges.map((c) => `${c} (schema)`)].join(', ') || '-',
          r.worst ? `${r.worst.column} (${r.worst.test})` : '-',
          r.worst ? stat(r.worst.score) : '-',
          ...(scored ? [r.performance ? String(r.performance.joined) : '-', performanceCell(r.performance)] : []),
        ]),
        { tty: this.isTty },
      ),
    );
    return rows;
  }
}
