// The file browser: a directory a page at a time (any size), or a file's preview with download.
import type { DirPage, FileInfo, Preview } from '../../../src/console/api-types.js';
import { api, apiUrl, seg } from '../api.js';
import { badge, encodePath, facts, fmtBytes, fmtCount, h, link, mount, query, section, shortId, type Child } from '../dom.js';
import type { PageContext } from '../router.js';

const PAGE = 200;

function filesHref(repo: string, ref: string, path: string, params: Record<string, string | undefined> = {}): string {
  return `#/files/${encodePath(repo)}/${encodeURIComponent(ref)}${encodePath(path === '/' ? '/' : path)}${query(params)}`;
}

function crumbs(repo: string, ref: string, path: string): HTMLElement {
  const parts = path.split('/').filter(Boolean);
  const out: Child[] = [link('#/', 'Repos'), ' / ', link(`#/repo/${encodePath(repo)}`, repo), ' / ', link(filesHref(repo, ref, '/'), `@${ref.length === 32 ? shortId(ref) : ref}:`)];
  parts.forEach((p, i) => {
    const sub = `/${parts.slice(0, i + 1).join('/')}`;
    out.push(' / ', i === parts.length - 1 ? h('span', null, p) : link(filesHref(repo, ref, sub), p));
  });
  return h('nav', { class: 'crumbs', 'data-testid': 'crumbs' }, out);
}

export async function filesPage(ctx: PageContext): Promise<void> {
  const repo = ctx.params.repo!;
  const ref = ctx.params.ref!;
  const path = `/${ctx.params.path ?? ''}`.replace(/\/+$/, '') || '/';
  const after = ctx.query.get('after') ?? undefined;
  const from = ctx.query.get('from') ?? undefined;
  ctx.setTitle(`${repo}@${ref}:${path}`);
  const page = await api<DirPage>(`/repos/${seg(repo)}/files`, { ref, path, after, from, limit: PAGE });
  if (!ctx.isCurrent()) return;
  if (page.kind === 'file') return previewPage(ctx, repo, ref, page.file);
  const { dir, entries, total, next } = page;
  const goto = h('input', { type: 'search', placeholder: 'Go to name…', 'aria-label': 'go to name', value: from ?? '' });
  const form = h(
    'form',
    {
      class: 'goto',
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = filesHref(repo, ref, path, { from: goto.value || undefined });
      },
    },
    goto,
    h('button', { type: 'submit' }, 'Go'),
  );
  const pager = h(
    'div',
    { class: 'pager' },
    after || from ? link(filesHref(repo, ref, path), '« First page') : null,
    next ? link(filesHref(repo, ref, path, { after: next }), 'Next page »') : null,
  );
  mount(
    ctx.root,
    crumbs(repo, ref, path),
    h('h1', null, path === '/' ? `${repo}@${ref.length === 32 ? shortId(ref) : ref}` : path),
    h(
      'p',
      { class: 'muted', 'data-testid': 'dir-summary' },
      `${fmtCount(total)} ${total === 1 ? 'entry' : 'entries'}, ${fmtCount(dir.files)} files, ${fmtBytes(dir.sizeBytes)}`,
      after || from ? ` — from ${after ? `after “${after}”` : `“${from}”`}` : '',
      ' · commit ',
      link(`#/commit/${encodePath(repo)}/${dir.commit}`, h('code', null, shortId(dir.commit))),
    ),
    total > PAGE ? form : null,
    section(
      'Files',
      entries.length === 0
        ? h('p', { class: 'empty' }, total === 0 ? 'This directory is empty.' : 'No more entries.')
        : h(
            'table',
            { class: 'list files', 'data-testid': 'files' },
            h('thead', null, h('tr', null, ['Name', 'Type', 'Size', 'Files', 'Datum'].map((x) => h('th', null, x)))),
            h(
              'tbody',
              null,
              entries.map((f) =>
                h(
                  'tr',
                  null,
                  h('td', null, link(filesHref(repo, ref, f.path), f.path.slice(f.path.lastIndexOf('/') + 1) + (f.type === 'dir' ? '/' : ''))),
                  h('td', null, f.type),
                  h('td', null, fmtBytes(f.sizeBytes)),
                  h('td', null, f.type === 'dir' ? fmtCount(f.files) : ''),
                  h('td', null, f.datum ? h('code', null, shortId(f.datum)) : ''),
                ),
              ),
            ),
          ),
      pager,
    ),
  );
}

async function previewPage(ctx: PageContext, repo: string, ref: string, file: FileInfo): Promise<void> {
  const p = await api<Preview>(`/repos/${seg(repo)}/preview`, { ref, path: file.path });
  if (!ctx.isCurrent()) return;
  const raw = apiUrl(`/repos/${seg(repo)}/raw`, { ref, path: file.path });
  const download = apiUrl(`/repos/${seg(repo)}/raw`, { ref, path: file.path, download: 1 });
  mount(
    ctx.root,
    crumbs(repo, ref, file.path),
    h('h1', null, file.path.slice(file.path.lastIndexOf('/') + 1)),
    h(
      'p',
      { class: 'actions' },
      h('a', { href: download, download: file.path.slice(file.path.lastIndexOf('/') + 1), 'data-testid': 'download' }, 'Download'),
      h('a', { href: raw, target: '_blank', rel: 'noopener' }, 'Raw'),
      link(`#/diff/${encodePath(repo)}${query({ new: file.commit, file: file.path })}`, 'Diff with parent commit'),
    ),
    facts([
      ['Path', h('code', null, file.path)],
      ['Size', fmtBytes(file.sizeBytes)],
      ['Commit', link(`#/commit/${encodePath(repo)}/${file.commit}`, h('code', null, shortId(file.commit)))],
      ['Content id', h('code', { title: file.hash }, shortId(file.hash))],
      ['Datum', file.datum ? h('code', null, file.datum) : null],
      ['Preview', badge(p.kind, 'kind')],
    ]),
    section('Preview', renderPreview(p, raw, download)),
  );
}

function renderPreview(p: Preview, raw: string, download: string): Child {
  const cut = p.truncated ? h('p', { class: 'muted', 'data-testid': 'truncated' }, `Showing the first ${p.kind === 'csv' ? `${p.rows?.length ?? 0} rows` : fmtBytes(p.bytesRead)} of ${fmtBytes(p.file.sizeBytes)}. `, h('a', { href: download }, 'Download'), ' for all of it.') : null;
  switch (p.kind) {
    case 'empty':
      return h('p', { class: 'empty' }, 'Empty file.');
    case 'image':
      return h('div', { class: 'image' }, h('img', { src: raw, alt: p.file.path, 'data-testid': 'preview-image' }));
    case 'binary':
      return h('p', { class: 'empty' }, 'Binary file, not shown. ', h('a', { href: download }, 'Download'), '.');
    case 'csv': {
      const [head, ...rows] = p.rows ?? [];
      return [
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'csv', 'data-testid': 'preview-csv' },
            h('thead', null, h('tr', null, (head ?? []).map((c) => h('th', null, c)))),
            h(
              'tbody',
              null,
              rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))),
            ),
          ),
        ),
        cut,
      ];
    }
    case 'json': {
      let pretty = p.text ?? '';
      try {
        pretty = JSON.stringify(JSON.parse(pretty), null, 2);
      } catch {
        // shown as it is
      }
      return [h('pre', { class: 'code json', 'data-testid': 'preview-json' }, pretty), cut];
    }
    default:
      return [h('pre', { class: 'code', 'data-testid': 'preview-text' }, p.text ?? ''), cut];
  }
}
