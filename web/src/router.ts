// Hash routing: `#/repo/images?branch=master` picks a page and its parameters. A page renders into
// the main element and registers what to stop (live streams) when the user moves on.
import { ApiError } from './api.js';
import { h, mount } from './dom.js';

export interface PageContext {
  root: HTMLElement;
  params: Record<string, string>;
  query: URLSearchParams;
  /** false once the user navigated elsewhere: late results must not be drawn */
  isCurrent(): boolean;
  onLeave(fn: () => void): void;
  setTitle(title: string): void;
}

export type Page = (ctx: PageContext) => Promise<void> | void;

interface Route {
  pattern: RegExp;
  names: string[];
  page: Page;
}

const routes: Route[] = [];

/** Register a page. `:name` matches one path element; a final `*name` matches the rest. */
export function addRoute(path: string, page: Page): void {
  const names: string[] = [];
  const body = path.replace(/\/\*(\w+)$|:(\w+)/g, (_m, rest: string | undefined, name: string | undefined) => {
    names.push((rest ?? name)!);
    return rest ? '(?:/(.*))?' : '([^/]+)';
  });
  routes.push({ pattern: new RegExp(`^${body}$`), names, page });
}

let generation = 0;
let leaving: (() => void)[] = [];

/** Render the page the current hash names. */
export async function navigate(root: HTMLElement): Promise<void> {
  for (const fn of leaving) fn();
  leaving = [];
  const mine = ++generation;
  const hash = location.hash.replace(/^#/, '') || '/';
  const q = hash.indexOf('?');
  const path = q < 0 ? hash : hash.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : hash.slice(q + 1));
  const ctx: PageContext = {
    root,
    params: {},
    query,
    isCurrent: () => mine === generation,
    onLeave: (fn) => (mine === generation ? leaving.push(fn) : fn()),
    setTitle: (t) => (document.title = `${t} · tusk console`),
  };
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    r.names.forEach((n, i) => (ctx.params[n] = m[i + 1] === undefined ? '' : decodeURIComponent(m[i + 1]!)));
    root.setAttribute('aria-busy', 'true');
    try {
      await r.page(ctx);
    } catch (err) {
      if (ctx.isCurrent()) showError(root, err);
    } finally {
      if (ctx.isCurrent()) root.removeAttribute('aria-busy');
    }
    return;
  }
  showError(root, new ApiError(404, 'E_NOT_FOUND', `no page ${path}`, 'start from the repos list'));
}

export function errorBox(err: unknown): HTMLElement {
  const e = err instanceof ApiError ? err : null;
  return h(
    'div',
    { class: 'error', 'data-testid': 'error', role: 'alert' },
    h('strong', null, e ? `${e.status === 404 ? 'Not found' : 'Error'}: ` : 'Error: '),
    err instanceof Error ? err.message : String(err),
    e?.hint ? h('div', { class: 'hint' }, e.hint) : null,
  );
}

function showError(root: HTMLElement, err: unknown): void {
  mount(root, errorBox(err), h('p', null, h('a', { href: '#/' }, '← Repos')));
}
