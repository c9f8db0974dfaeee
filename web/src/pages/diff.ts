// Diff between two commits: the changed files, and a line diff of the one picked.
import type { DiffResult, TextDiff } from '../../../src/console/api-types.js';
import { api, seg } from '../api.js';
import { badge, encodePath, fmtBytes, h, link, mount, query, section, shortId, type Child } from '../dom.js';
import type { PageContext } from '../router.js';
import { errorBox } from '../router.js';

export async function diffPage(ctx: PageContext): Promise<void> {
  const repo = ctx.params.repo!;
  const q = ctx.query;
  const params = { new: q.get('new') ?? 'master', old: q.get('old') ?? undefined, path: q.get('path') ?? undefined };
  const file = q.get('file') ?? undefined;
  ctx.setTitle(`diff ${repo}`);
  const diff = await api<DiffResult>(`/repos/${seg(repo)}/diff`, params);
  if (!ctx.isCurrent()) return;
  const here = (extra: Record<string, string | undefined>) => `#/diff/${encodePath(repo)}${query({ ...params, new: diff.newCommit.id, old: diff.oldCommit?.id, ...extra })}`;

  const newInput = h('input', { name: 'new', value: q.get('new') ?? diff.newCommit.id, 'aria-label': 'new commit', size: 34 });
  const oldInput = h('input', { name: 'old', value: q.get('old') ?? diff.oldCommit?.id ?? '', placeholder: 'parent', 'aria-label': 'old commit', size: 34 });
  const form = h(
    'form',
    {
      class: 'refs',
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = `#/diff/${encodePath(repo)}${query({ new: newInput.value, old: oldInput.value || undefined, path: params.path })}`;
      },
    },
    h('label', null, 'New ', newInput),
    h('label', null, 'Old ', oldInput),
    h('button', { type: 'submit' }, 'Compare'),
  );

  let textPane: Child = null;
  if (file) {
    try {
      const td = await api<TextDiff>(`/repos/${seg(repo)}/textdiff`, { new: diff.newCommit.id, old: diff.oldCommit?.id, path: file });
      textPane = section(['Changes in ', h('code', null, file)], renderTextDiff(td));
    } catch (err) {
      textPane = errorBox(err);
    }
    if (!ctx.isCurrent()) return;
  }

  const commitRef = (id: string | undefined) => (id ? link(`#/commit/${encodePath(repo)}/${id}`, h('code', null, shortId(id))) : h('span', { class: 'muted' }, 'nothing'));
  mount(
    ctx.root,
    h('nav', { class: 'crumbs' }, link('#/', 'Repos'), ' / ', link(`#/repo/${encodePath(repo)}`, repo), ' / ', h('span', null, 'diff')),
    h('h1', null, 'Diff ', commitRef(diff.oldCommit?.id), ' → ', commitRef(diff.newCommit.id)),
    form,
    section(
      `${diff.total} changed ${diff.total === 1 ? 'path' : 'paths'}${diff.path !== '/' ? ` under ${diff.path}` : ''}`,
      diff.changes.length === 0
        ? h('p', { class: 'empty' }, 'No differences.')
        : h(
            'table',
            { class: 'list', 'data-testid': 'diff-files' },
            h('thead', null, h('tr', null, ['', 'Path', 'Old size', 'New size'].map((x) => h('th', null, x)))),
            h(
              'tbody',
              null,
              diff.changes.map((c) =>
                h(
                  'tr',
                  { class: c.path === file ? 'selected' : null },
                  h('td', null, badge(c.status, c.status)),
                  h('td', null, c.type === 'file' ? link(here({ file: c.path }), c.path) : `${c.path}/`),
                  h('td', null, c.oldSize === null ? '' : fmtBytes(c.oldSize)),
                  h('td', null, c.newSize === null ? '' : fmtBytes(c.newSize)),
                ),
              ),
            ),
          ),
      diff.truncated ? h('p', { class: 'muted' }, `Showing the first ${diff.changes.length}.`) : null,
    ),
    textPane,
  );
  if (file) ctx.root.querySelector('[data-testid="text-diff"]')?.scrollIntoView({ block: 'nearest' });
}

function renderTextDiff(td: TextDiff): Child {
  if (td.status === 'binary') return h('p', { class: 'empty', 'data-testid': 'text-diff' }, 'Binary file: no line diff.');
  if (td.status === 'too-large') return h('p', { class: 'empty', 'data-testid': 'text-diff' }, 'Too large for a line diff (over 1 MiB); download both versions to compare.');
  if (td.status === 'too-different') return h('p', { class: 'empty', 'data-testid': 'text-diff' }, 'The versions differ on too many lines to show a line diff.');
  if (td.hunks.length === 0) return h('p', { class: 'empty', 'data-testid': 'text-diff' }, 'The contents are identical.');
  return h(
    'div',
    { 'data-testid': 'text-diff' },
    h('p', { class: 'muted' }, h('span', { class: 'added-text' }, `+${td.added}`), ' ', h('span', { class: 'removed-text' }, `−${td.removed}`)),
    h(
      'table',
      { class: 'textdiff' },
      td.hunks.map((hk) =>
        h(
          'tbody',
          null,
          h('tr', { class: 'hunk' }, h('td', { colspan: 3 }, `@@ -${hk.oldStart},${hk.oldLines} +${hk.newStart},${hk.newLines} @@`)),
          hk.lines.map((l) =>
            h(
              'tr',
              { class: l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'ctx' },
              h('td', { class: 'ln' }, l.old ?? ''),
              h('td', { class: 'ln' }, l.new ?? ''),
              h('td', { class: 'code' }, `${l.op === ' ' ? ' ' : l.op === '+' ? '+' : '−'} ${l.text}`),
            ),
          ),
        ),
      ),
    ),
  );
}
