// Drift over time: one chart per column of a monitor pipeline's reports, its severity (score
// against threshold) per output commit, with the threshold drawn and the commits past it marked.
import type { DriftSeries } from '../../../src/console/api-types.js';
import { api, seg } from '../api.js';
import { lineChart } from '../chart.js';
import { encodePath, h, link, mount, section, shortId, table, time } from '../dom.js';
import type { PageContext } from '../router.js';

export async function driftPage(ctx: PageContext): Promise<void> {
  const repo = ctx.params.repo!;
  ctx.setTitle(`drift ${repo}`);
  const d = await api<DriftSeries>(`/repos/${seg(repo)}/drift`, {});
  if (!ctx.isCurrent()) return;
  const labels = d.points.map((p) => (p.input ? shortId(p.input.replace(/^.*@/, '')) : shortId(p.commit)));
  // the reference side: one commit, the earlier versions of a window (`reference: window`), or none
  const refs = d.points.map((p) => (p.reference ? p.reference.replace(/^.*@/, '').split(',').map(shortId).join(' + ') : p.note ? 'none' : '—'));
  mount(
    ctx.root,
    h('nav', { class: 'crumbs' }, link('#/', 'Repos'), ' / ', link(`#/repo/${encodePath(repo)}`, repo), ' / ', h('span', null, 'drift')),
    h('h1', null, 'Drift of ', h('code', null, repo)),
    h('p', { class: 'muted' }, `Severity of each column in /drift.json of each output commit, oldest first, labelled by the input commit compared: score against threshold, so 1 is the threshold and red points crossed it (${d.points.length} ${d.points.length === 1 ? 'report' : 'reports'}).`),
    d.points.length === 0
      ? h('p', { class: 'empty', 'data-testid': 'no-drift' }, `No commit of ${repo} has a /drift.json (the output of a transform.ml task drift).`)
      : [
          h(
            'div',
            { class: 'charts', 'data-testid': 'drift-charts' },
            d.columns.map((col) => {
              const tests = [...new Set(d.points.map((p) => p.columns[col]?.test).filter((t): t is string => !!t))];
              return section(
                h('span', null, h('code', null, col), tests.length ? ` (${tests.join(', ')})` : ''),
                lineChart(
                  col,
                  d.points.map((p, i) => {
                    const c = p.columns[col];
                    return { label: labels[i]!, value: c?.severity ?? undefined, crossed: c?.status === 'drift', title: `${labels[i]} vs ${refs[i]} ${c?.test ?? ''} score ${c?.score ?? '—'} threshold ${c?.threshold ?? '—'}` };
                  }),
                  { threshold: 1 },
                ),
              );
            }),
          ),
          section(
            'Reports',
            table(
              ['Input', 'Reference', 'Report commit', 'Finished', 'Drift', 'Drifted columns'],
              d.points.map((p, i) => [
                labels[i]!,
                refs[i]!,
                link(`#/commit/${encodePath(repo)}/${p.commit}`, h('code', null, shortId(p.commit))),
                time(p.finished),
                p.drift ? 'yes' : 'no',
                Object.entries(p.columns)
                  .filter(([, c]) => c.status !== 'ok')
                  .map(([k, c]) => `${k} (${c.status})`)
                  .join(', ') || '—',
              ]),
              { class: 'list', 'data-testid': 'drift-table' },
            ),
          ),
        ],
  );
}
