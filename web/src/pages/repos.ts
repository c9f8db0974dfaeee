// The repos list (the home page) and the commit sets list.
import type { CommitInfo, CommitSetInfo, RepoInfo } from '../../../src/console/api-types.js';
import { api } from '../api.js';
import { badge, encodePath, fmtBytes, h, link, mount, section, shortId, table, time } from '../dom.js';
import type { PageContext } from '../router.js';

export async function reposPage(ctx: PageContext): Promise<void> {
  ctx.setTitle('Repos');
  const repos = await api<RepoInfo[]>('/repos', { all: 1 });
  if (!ctx.isCurrent()) return;
  const total = repos.reduce((n, r) => n + r.sizeBytes, 0);
  mount(
    ctx.root,
    h('h1', null, 'Repos'),
    h('p', { class: 'muted' }, `${repos.length} ${repos.length === 1 ? 'repo' : 'repos'}, ${fmtBytes(total)} at the heads of master`),
    repos.length === 0
      ? h('p', { class: 'empty' }, 'No repos yet. Create one with ', h('code', null, 'tusk create repo NAME'), '.')
      : table(
          ['Name', 'Type', 'Size', 'Branches', 'Created', 'Description'],
          repos.map((r) => [
            link(`#/repo/${encodePath(r.name)}`, h('strong', null, r.name)),
            badge(r.type, r.type),
            fmtBytes(r.sizeBytes),
            r.branches.length === 0
              ? '—'
              : r.branches.map((b, i) => [i > 0 ? ', ' : '', link(`#/repo/${encodePath(r.name)}?branch=${encodeURIComponent(b)}`, b)]),
            time(r.created),
            r.description,
          ]),
          { 'data-testid': 'repos', class: 'list' },
        ),
  );
}

export async function commitSetsPage(ctx: PageContext): Promise<void> {
  ctx.setTitle('Commit sets');
  const sets = await api<CommitSetInfo[]>('/commitsets', { limit: 100 });
  if (!ctx.isCurrent()) return;
  mount(
    ctx.root,
    h('h1', null, 'Commit sets'),
    h('p', { class: 'muted' }, 'Commits that share one id across repos: a user commit and everything computed from it.'),
    section(
      'Newest 100',
      table(
        ['Id', 'Commits', 'Finished', 'Failed', 'Created', 'Modified'],
        sets.map((c) => [link(`#/commitset/${c.id}`, h('code', null, shortId(c.id))), c.commits, c.finished, c.failed ? badge(String(c.failed), 'failure') : '0', time(c.created), time(c.modified)]),
        { class: 'list' },
      ),
    ),
  );
}

export async function commitSetPage(ctx: PageContext): Promise<void> {
  const id = ctx.params.id!;
  ctx.setTitle(`commit set ${shortId(id)}`);
  const commits = await api<CommitInfo[]>(`/commitsets/${encodeURIComponent(id)}`);
  if (!ctx.isCurrent()) return;
  mount(
    ctx.root,
    h('nav', { class: 'crumbs' }, link('#/commitsets', 'Commit sets'), ' / ', h('span', null, shortId(id))),
    h('h1', null, 'Commit set ', h('code', null, id)),
    section(
      `${commits.length} ${commits.length === 1 ? 'commit' : 'commits'}`,
      table(
        ['Commit', 'Branch', 'Origin', 'Finished', 'Size', 'Made from'],
        commits.map((c) => [
          link(`#/commit/${encodePath(c.repo)}/${c.id}`, h('code', null, `${c.repo}@${shortId(c.id)}`)),
          c.branch ?? '—',
          badge(c.origin, c.origin),
          c.finished ? time(c.finished) : badge('open', 'running'),
          fmtBytes(c.sizeBytes),
          c.provenance.map((p, i) => [i ? ', ' : '', link(`#/commit/${encodePath(p.repo)}/${p.commit}`, h('code', null, `${p.repo}@${shortId(p.commit)}`))]),
        ]),
        { class: 'list' },
      ),
    ),
  );
}
