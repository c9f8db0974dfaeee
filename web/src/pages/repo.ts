// One repo: its branches and a branch's history as a graph, a page of commits at a time.
import type { CommitInfo, CommitPage, RepoDetail } from '../../../src/console/api-types.js';
import { api, seg } from '../api.js';
import { badge, encodePath, fmtBytes, fmtCount, h, link, mount, section, shortId, table, time } from '../dom.js';
import { laneCell, layoutLanes } from '../graph.js';
import type { PageContext } from '../router.js';

const PAGE = 50;

export async function repoPage(ctx: PageContext): Promise<void> {
  const name = ctx.params.repo!;
  ctx.setTitle(name);
  const detail = await api<RepoDetail>(`/repos/${seg(name)}`);
  if (!ctx.isCurrent()) return;
  const { repo, branches } = detail;
  const all = ctx.query.get('branch') === '*';
  const branch = all ? undefined : (ctx.query.get('branch') ?? (branches.some((b) => b.name === 'master') ? 'master' : branches[0]?.name));
  const headsAt = new Map<string, string[]>();
  for (const b of branches) headsAt.set(b.head, [...(headsAt.get(b.head) ?? []), b.name]);

  const history = h('div', { 'data-testid': 'history' });
  const more = h('button', { type: 'button', class: 'more' }, 'Load more');
  const commits: CommitInfo[] = [];
  let cursor: string | null = null;
  const draw = () => {
    const rows = layoutLanes(commits);
    const width = Math.max(1, ...rows.map((r) => Math.max(r.above.length, r.below.length, r.lane + 1)));
    mount(
      history,
      table(
        ['', 'Commit', 'Origin', 'Branch', 'Description', 'Size', 'Files', 'Started', 'Set'],
        commits.map((c, i) => [
          laneCell(rows[i]!, c, width),
          [link(`#/commit/${encodePath(name)}/${c.id}`, h('code', null, shortId(c.id))), ...(headsAt.get(c.id) ?? []).map((b) => h('span', { class: 'head' }, b))],
          badge(c.origin, c.origin),
          c.branch ?? '—',
          [c.description || h('span', { class: 'muted' }, c.finished ? '' : 'open'), c.error ? badge('error', 'failure') : null],
          fmtBytes(c.sizeBytes),
          fmtCount(c.files),
          time(c.started),
          // a commit's id is its commit set's: the same id names what was computed from it
          link(`#/commitset/${c.id}`, 'set'),
        ]),
        { class: 'list history' },
      ),
    );
    more.hidden = cursor === null;
  };
  const load = async () => {
    more.setAttribute('disabled', '');
    const page = await api<CommitPage>(`/repos/${seg(name)}/commits`, { branch, cursor: cursor ?? undefined, limit: PAGE });
    if (!ctx.isCurrent()) return;
    commits.push(...page.commits);
    cursor = page.next;
    more.removeAttribute('disabled');
    draw();
  };
  more.addEventListener('click', () => void load());
  await load();
  if (!ctx.isCurrent()) return;

  mount(
    ctx.root,
    h('nav', { class: 'crumbs' }, link('#/', 'Repos'), ' / ', h('span', null, name)),
    h('h1', null, name, ' ', badge(repo.type, repo.type)),
    repo.description ? h('p', null, repo.description) : null,
    h(
      'p',
      { class: 'actions' },
      link(`#/files/${encodePath(name)}/${encodeURIComponent(branch ?? 'master')}/`, 'Browse files'),
      detail.pipeline ? link(`#/pipeline/${encodePath(detail.pipeline)}`, `Pipeline ${detail.pipeline}`) : null,
      link(`#/metrics/${encodePath(name)}${branch ? `?branch=${encodeURIComponent(branch)}` : ''}`, 'Metrics'),
      link(`#/drift/${encodePath(name)}`, 'Drift'),
      h('span', { class: 'muted' }, `${fmtBytes(repo.sizeBytes)} at master`),
    ),
    section(
      'Branches',
      branches.length === 0
        ? h('p', { class: 'empty' }, 'No branches.')
        : table(
            ['Branch', 'Head', 'Provenance', 'Downstream'],
            branches.map((b) => [
              link(`#/repo/${encodePath(name)}?branch=${encodeURIComponent(b.name)}`, b.name === branch ? h('strong', null, b.name) : b.name),
              link(`#/commit/${encodePath(name)}/${b.head}`, h('code', null, shortId(b.head))),
              b.provenance.join(', ') || '—',
              b.subvenance.join(', ') || '—',
            ]),
            { class: 'list', 'data-testid': 'branches' },
          ),
    ),
    section(
      [
        'History ',
        h(
          'span',
          { class: 'tabs' },
          branches.map((b) => link(`#/repo/${encodePath(name)}?branch=${encodeURIComponent(b.name)}`, b.name === branch ? h('strong', null, b.name) : b.name)),
          link(`#/repo/${encodePath(name)}?branch=*`, all ? h('strong', null, 'all commits') : 'all commits'),
        ),
      ],
      history,
      more,
    ),
  );
}
