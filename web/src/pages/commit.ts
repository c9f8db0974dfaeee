// One commit: its details, provenance (upstream and downstream, clickable), and its commit set.
import type { CommitDetail, CommitInfo } from '../../../src/console/api-types.js';
import { api, seg } from '../api.js';
import { badge, encodePath, facts, fmtBytes, fmtCount, h, link, mount, section, shortId, table, time } from '../dom.js';
import type { PageContext } from '../router.js';

export function commitLink(repo: string, id: string, text?: string): HTMLAnchorElement {
  return link(`#/commit/${encodePath(repo)}/${encodeURIComponent(id)}`, h('code', null, text ?? `${repo}@${shortId(id)}`));
}

function commitRows(commits: CommitInfo[]) {
  return commits.map((c) => [commitLink(c.repo, c.id), c.branch ?? '—', badge(c.origin, c.origin), c.finished ? time(c.finished) : badge('open', 'running'), fmtBytes(c.sizeBytes), c.error ? badge('error', 'failure') : '']);
}

export async function commitPage(ctx: PageContext): Promise<void> {
  const repo = ctx.params.repo!;
  const id = ctx.params.id!;
  const d = await api<CommitDetail>(`/repos/${seg(repo)}/commits/${seg(id)}`);
  if (!ctx.isCurrent()) return;
  const c = d.commit;
  ctx.setTitle(`${repo}@${shortId(c.id)}`);
  const r = encodePath(repo);
  mount(
    ctx.root,
    h('nav', { class: 'crumbs' }, link('#/', 'Repos'), ' / ', link(`#/repo/${r}`, repo), ' / ', h('span', null, shortId(c.id))),
    h('h1', null, 'Commit ', h('code', { 'data-testid': 'commit-id' }, c.id)),
    h(
      'p',
      { class: 'actions' },
      link(`#/files/${r}/${c.id}/`, 'Browse files'),
      c.parent ? link(`#/diff/${r}?new=${c.id}&old=${c.parent}`, 'Diff with parent') : link(`#/diff/${r}?new=${c.id}`, 'Show files added'),
    ),
    section(
      'Details',
      facts([
        ['Repo', link(`#/repo/${r}`, repo)],
        ['Branch', c.branch ?? '—'],
        ['Heads', d.heads.length ? d.heads.join(', ') : null],
        ['Origin', badge(c.origin, c.origin)],
        ['Description', c.description || '—'],
        ['Parent', c.parent ? commitLink(repo, c.parent, shortId(c.parent)) : '—'],
        ['Children', c.children.length ? c.children.map((k, i) => [i ? ', ' : '', commitLink(repo, k, shortId(k))]) : '—'],
        ['Started', time(c.started)],
        ['Finished', c.finished ? time(c.finished) : badge('open', 'running')],
        ['Size', `${fmtBytes(c.sizeBytes)} in ${fmtCount(c.files)} ${c.files === 1 ? 'file' : 'files'}`],
        ['Error', c.error ? h('span', { class: 'failure-text' }, c.error) : null],
      ]),
    ),
    section(
      'Provenance',
      h('h3', null, 'Upstream: made from'),
      d.upstream.length
        ? h(
            'ul',
            { 'data-testid': 'upstream' },
            d.upstream.map((p) => h('li', null, commitLink(p.repo, p.commit), p.branch ? h('span', { class: 'muted' }, ` on ${p.branch}`) : null)),
          )
        : h('p', { class: 'empty' }, 'Nothing: a commit made by a user.'),
      h('h3', null, 'Downstream: made from this'),
      d.downstream.length
        ? h(
            'ul',
            { 'data-testid': 'downstream' },
            d.downstream.map((x) => h('li', null, commitLink(x.repo, x.id), ' ', badge(x.origin, x.origin), x.finished ? null : [' ', badge('open', 'running')])),
          )
        : h('p', { class: 'empty' }, 'Nothing yet.'),
    ),
    section(['Commit set ', h('code', null, shortId(c.id))], table(['Commit', 'Branch', 'Origin', 'Finished', 'Size', ''], commitRows(d.set), { class: 'list', 'data-testid': 'commit-set' })),
  );
}
