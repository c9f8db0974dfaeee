// Model metrics across versions: one chart per number found in the commits' metrics.json.
import type { MetricsSeries } from '../../../src/console/api-types.js';
import { api, seg } from '../api.js';
import { lineChart } from '../chart.js';
import { encodePath, h, link, mount, section, shortId, table, time } from '../dom.js';
import type { PageContext } from '../router.js';

export async function metricsPage(ctx: PageContext): Promise<void> {
  const repo = ctx.params.repo!;
  const branch = ctx.query.get('branch') ?? 'master';
  const path = ctx.query.get('path') ?? undefined;
  ctx.setTitle(`metrics ${repo}`);
  const m = await api<MetricsSeries>(`/repos/${seg(repo)}/metrics`, { branch, path });
  if (!ctx.isCurrent()) return;
  const labels = m.points.map((p, i) => `v${i + 1}`);
  mount(
    ctx.root,
    h('nav', { class: 'crumbs' }, link('#/', 'Repos'), ' / ', link(`#/repo/${encodePath(repo)}`, repo), ' / ', h('span', null, 'metrics')),
    h('h1', null, 'Metrics of ', h('code', null, `${repo}@${branch}`)),
    h('p', { class: 'muted' }, `Numbers in ${m.path} of each commit where it changed, oldest first (${m.points.length} ${m.points.length === 1 ? 'version' : 'versions'}).`),
    m.points.length === 0
      ? h('p', { class: 'empty', 'data-testid': 'no-metrics' }, `No commit of ${repo}@${branch} has a ${m.path} with numbers in it.`)
      : [
          h(
            'div',
            { class: 'charts', 'data-testid': 'charts' },
            m.keys.map((k) =>
              section(
                h('code', null, k),
                lineChart(
                  k,
                  m.points.map((p, i) => ({ label: labels[i]!, value: p.metrics[k], title: `${labels[i]} ${shortId(p.commit)}` })),
                ),
              ),
            ),
          ),
          section(
            'Versions',
            table(
              ['Version', 'Commit', 'Finished', ...m.keys],
              m.points.map((p, i) => [labels[i]!, link(`#/commit/${encodePath(repo)}/${p.commit}`, h('code', null, shortId(p.commit))), time(p.finished), ...m.keys.map((k) => (p.metrics[k] === undefined ? '—' : String(p.metrics[k])))]),
              { class: 'list', 'data-testid': 'metrics-table' },
            ),
          ),
        ],
  );
}
