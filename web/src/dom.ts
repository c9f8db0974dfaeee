// DOM building without a framework: h() makes an element from attributes and children; text is
// always set as text (never parsed as HTML), so names and file contents from the store cannot
// inject markup.

export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined;
export type Attrs = { [name: string]: AttrValue | ((e: Event) => void) | Partial<CSSStyleDeclaration> };

function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

function setAttrs(el: Element, attrs: Attrs | null | undefined): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v as (e: Event) => void);
    // style properties, not a style attribute: the page's CSP forbids inline style attributes
    else if (k === 'style' && typeof v === 'object') Object.assign((el as HTMLElement).style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** An HTML element. Event handlers are attributes named on*, e.g. `{ onclick: () => … }`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** A link to a console page (`#/…`). */
export function link(href: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href }, ...children);
}

/** Replace everything in `el`. */
export function mount(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Encode each path element for a `#/…` address, keeping the slashes. */
export function encodePath(p: string): string {
  return p
    .split('/')
    .map((x) => encodeURIComponent(x))
    .join('/');
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

// ─── formatting ──────────────────────────────────────────────────────────────────────────────

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const sec = ms / 1000;
  if (sec < 60) return `${sec < 10 ? sec.toFixed(1) : Math.round(sec)} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min ${Math.round(sec % 60)} s`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

export function fmtAgo(iso: string | null | undefined): string {
  if (!iso) return '—';
  const ms = Date.now() - Date.parse(iso);
  if (ms < 5_000) return 'just now';
  if (ms < 60_000) return `${Math.round(ms / 1000)} seconds ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} minutes ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} hours ago`;
  return `${Math.round(ms / 86_400_000)} days ago`;
}

/** A time cell: relative, with the exact time on hover. */
export function time(iso: string | null | undefined): HTMLElement {
  return h('time', iso ? { datetime: iso, title: iso } : null, fmtAgo(iso));
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** `JOB_SUCCESS` → `success`. */
export function stateWord(state: string): string {
  return state.replace(/^JOB_/, '').toLowerCase();
}

export function badge(text: string, kind: string): HTMLElement {
  return h('span', { class: `badge badge-${kind.toLowerCase()}` }, text);
}

/** A table with a header row; rows are arrays of cells. */
export function table(headers: string[], rows: Child[][], attrs?: Attrs): HTMLTableElement {
  return h(
    'table',
    attrs ?? null,
    h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))),
    h(
      'tbody',
      null,
      rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))),
    ),
  );
}

/** A definition list of label → value pairs (null values are left out). */
export function facts(pairs: [string, Child][]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
  );
}

export function section(title: Child, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}
