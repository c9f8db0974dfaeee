// One job: state and datum progress, its datums, and its logs, all updating while it runs; and
// one datum with its files and logs.
import type { DatumInfo, DatumPage, JobInfo, LogLine, LogPage } from '../../../src/console/api-types.js';
import { api, seg, subscribe } from '../api.js';
import { badge, encodePath, facts, fmtBytes, h, link, mount, query, section, shortId, table, time } from '../dom.js';
import type { PageContext } from '../router.js';
import { commitLink } from './commit.js';
import { duration, jobState, progress } from './pipelines.js';

const DATUM_PAGE = 100;

function logLine(l: LogLine): HTMLElement {
  return h(
    'div',
    { class: `log log-${l.stream}` },
    h('time', { title: l.ts }, l.ts.slice(11, 23)),
    ' ',
    h('code', { class: 'log-datum', title: l.datum }, shortId(l.datum)),
    ' ',
    h('span', { class: 'log-msg' }, l.message),
  );
}

function jobFacts(j: JobInfo): HTMLElement {
  return facts([
    ['State', jobState(j)],
    ['Progress', progress(j)],
    ['Reason', j.reason],
    ['Created', time(j.created)],
    ['Started', time(j.started)],
    ['Finished', j.finished ? time(j.finished) : null],
    ['Duration', duration(j)],
    ['Output commit', commitLink(j.pipeline, j.outputCommit)],
    ['Inputs', j.inputs.length ? j.inputs.map((i, n) => [n ? ', ' : '', commitLink(i.repo, i.commit)]) : '—'],
    ['Data', `${fmtBytes(j.downloadBytes)} in, ${fmtBytes(j.uploadBytes)} out`],
  ]);
}

function datumTable(pipeline: string, job: string, datums: DatumInfo[]): HTMLElement {
  return table(
    ['Datum', 'State', 'Files', 'Attempts', 'Started', 'Error'],
    datums.map((d) => [
      link(`#/datum/${encodePath(pipeline)}/${job}/${encodeURIComponent(d.id)}`, h('code', null, shortId(d.id))),
      badge(d.state, d.state),
      d.files.map((f, i) => [i ? ', ' : '', h('code', null, `${f.repo}:${f.path}`)]),
      String(d.attempts),
      time(d.started),
      d.error ?? '',
    ]),
    { class: 'list', 'data-testid': 'datums' },
  );
}

export async function jobPage(ctx: PageContext): Promise<void> {
  const pipeline = ctx.params.pipeline!;
  const id = ctx.params.id!;
  const stateFilter = ctx.query.get('state') ?? undefined;
  const offset = Number(ctx.query.get('offset') ?? 0) || 0;
  ctx.setTitle(`${pipeline}@${shortId(id)}`);
  const base = `/pipelines/${seg(pipeline)}/jobs/${seg(id)}`;
  const [job, datums, logs] = await Promise.all([
    api<JobInfo>(base),
    api<DatumPage>(`${base}/datums`, { state: stateFilter, offset, limit: DATUM_PAGE }),
    api<LogPage>(`${base}/logs`),
  ]);
  if (!ctx.isCurrent()) return;
  const here = (params: Record<string, string | number | undefined>) => `#/job/${encodePath(pipeline)}/${id}${query(params)}`;
  const factsEl = h('div', null, jobFacts(job));
  const datumsEl = h('div');
  const drawDatums = (page: DatumPage) =>
    mount(
      datumsEl,
      h(
        'p',
        { class: 'tabs' },
        link(here({}), stateFilter ? 'all' : h('strong', null, 'all')),
        Object.entries(page.counts).map(([st, n]) => link(here({ state: st }), st === stateFilter ? h('strong', null, `${st} (${n})`) : `${st} (${n})`)),
      ),
      page.datums.length ? datumTable(pipeline, id, page.datums) : h('p', { class: 'empty' }, 'No datums yet.'),
      h(
        'div',
        { class: 'pager' },
        offset > 0 ? link(here({ state: stateFilter, offset: Math.max(0, offset - DATUM_PAGE) }), '« Previous') : null,
        offset + DATUM_PAGE < page.total ? link(here({ state: stateFilter, offset: offset + DATUM_PAGE }), 'Next »') : null,
      ),
    );
  drawDatums(datums);
  const logsEl = h('div', { class: 'logs', 'data-testid': 'logs' }, logs.lines.map(logLine));
  const logCount = h('span', { class: 'muted' }, `${logs.lines.length} lines${logs.truncated ? ' (the newest)' : ''}`);
  mount(
    ctx.root,
    h('nav', { class: 'crumbs' }, link('#/pipelines', 'Pipelines'), ' / ', link(`#/pipeline/${encodePath(pipeline)}`, pipeline), ' / ', h('span', null, shortId(id))),
    h('h1', null, 'Job ', h('code', { 'data-testid': 'job-id' }, id)),
    section('Job', h('p', { class: 'muted live' }, 'Live'), factsEl),
    section('Datums', datumsEl),
    section(['Logs ', logCount], logsEl),
  );
  let refreshing = false;
  const streamed = new Map<string, number>();
  ctx.onLeave(
    subscribe({ pipeline, job: id }, (e) => {
      if (!ctx.isCurrent()) return;
      if (e.type === 'jobs' && e.jobs[0]) {
        mount(factsEl, jobFacts(e.jobs[0]));
        if (refreshing) return;
        refreshing = true;
        void api<DatumPage>(`${base}/datums`, { state: stateFilter, offset, limit: DATUM_PAGE })
          .then((p) => ctx.isCurrent() && drawDatums(p))
          .finally(() => (refreshing = false));
      } else if (e.type === 'logs') {
        // the stream's first batch repeats what the page fetched: per datum, skip as many lines as were shown
        for (const l of e.lines) {
          const n = (streamed.get(l.datum) ?? 0) + 1;
          streamed.set(l.datum, n);
          if (n > (logs.perDatum[l.datum] ?? 0)) logsEl.appendChild(logLine(l));
        }
        logCount.textContent = `${logsEl.children.length} lines`;
        logsEl.scrollTop = logsEl.scrollHeight;
      }
    }),
  );
}

export async function datumPage(ctx: PageContext): Promise<void> {
  const { pipeline, job, datum } = ctx.params as { pipeline: string; job: string; datum: string };
  ctx.setTitle(`datum ${shortId(datum)}`);
  const base = `/pipelines/${seg(pipeline)}/jobs/${seg(job)}`;
  const [d, logs] = await Promise.all([api<DatumInfo>(`${base}/datums/${seg(datum)}`), api<LogPage>(`${base}/logs`, { datum })]);
  if (!ctx.isCurrent()) return;
  mount(
    ctx.root,
    h(
      'nav',
      { class: 'crumbs' },
      link('#/pipelines', 'Pipelines'),
      ' / ',
      link(`#/pipeline/${encodePath(pipeline)}`, pipeline),
      ' / ',
      link(`#/job/${encodePath(pipeline)}/${job}`, shortId(job)),
      ' / ',
      h('span', null, shortId(d.id)),
    ),
    h('h1', null, 'Datum ', h('code', { 'data-testid': 'datum-id' }, d.id)),
    section(
      'Datum',
      facts([
        ['State', badge(d.state, d.state)],
        ['Attempts', String(d.attempts)],
        ['Started', time(d.started)],
        ['Finished', d.finished ? time(d.finished) : null],
        ['Error', d.error ? h('span', { class: 'failure-text' }, d.error) : null],
        ['Data', `${fmtBytes(d.downloadBytes)} in, ${fmtBytes(d.uploadBytes)} out`],
        ['Hash', h('code', null, d.hash)],
      ]),
    ),
    section(
      'Input files',
      table(
        ['Input', 'Path', 'Type', 'Size', 'Commit'],
        d.files.map((f) => [
          f.name,
          link(`#/files/${encodePath(f.repo)}/${f.commit}${encodePath(f.path)}`, h('code', null, f.path)),
          f.type,
          fmtBytes(f.size),
          commitLink(f.repo, f.commit),
        ]),
        { class: 'list', 'data-testid': 'datum-files' },
      ),
    ),
    section('Logs', h('div', { class: 'logs', 'data-testid': 'logs' }, logs.lines.length ? logs.lines.map(logLine) : h('p', { class: 'empty' }, 'No log lines.'))),
  );
}
