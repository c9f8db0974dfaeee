// The pipeline graph and list, and one pipeline: its spec and its jobs, updating live.
import type { Dag, JobInfo, PipelineInfo } from '../../../src/console/api-types.js';
import { api, seg, subscribe } from '../api.js';
import { badge, encodePath, facts, fmtDuration, h, link, mount, section, shortId, stateWord, table, time } from '../dom.js';
import { dagSvg } from '../graph.js';
import type { PageContext } from '../router.js';

export async function pipelinesPage(ctx: PageContext): Promise<void> {
  ctx.setTitle('Pipelines');
  const [dag, list] = await Promise.all([api<Dag>('/dag'), api<PipelineInfo[]>('/pipelines')]);
  if (!ctx.isCurrent()) return;
  const listEl = h('div');
  const drawList = (ps: PipelineInfo[]) =>
    mount(
      listEl,
      ps.length === 0
        ? h('p', { class: 'empty' }, 'No pipelines yet. Create one with ', h('code', null, 'tusk create pipeline -f SPEC'), '.')
        : table(
            ['Pipeline', 'State', 'Last job', 'Input', 'Version', 'Updated', 'Description'],
            ps.map((p) => [
              link(`#/pipeline/${encodePath(p.name)}`, h('strong', null, p.name)),
              pipelineBadge(p.state),
              p.lastJobState ? badge(p.lastJobState, p.lastJobState) : '—',
              h('code', null, p.input),
              String(p.version),
              time(p.updated),
              p.description,
            ]),
            { class: 'list', 'data-testid': 'pipelines' },
          ),
    );
  drawList(list);
  const dagEl = h('div', { class: 'scroll' }, dag.nodes.length ? dagSvg(dag) : h('p', { class: 'empty' }, 'No repos yet.'));
  mount(ctx.root, h('h1', null, 'Pipelines'), section('Graph', dagEl), section('All pipelines', listEl));
  // pipeline states follow their jobs: redraw both when any job changes
  let refreshing = false;
  ctx.onLeave(
    subscribe({}, (e) => {
      if (e.type !== 'jobs' || refreshing) return;
      refreshing = true;
      void Promise.all([api<Dag>('/dag'), api<PipelineInfo[]>('/pipelines')])
        .then(([d, ps]) => {
          if (!ctx.isCurrent()) return;
          mount(dagEl, d.nodes.length ? dagSvg(d) : null);
          drawList(ps);
        })
        .finally(() => (refreshing = false));
    }),
  );
}

/** processed / skipped / failed of total, as a bar and in words. */
export function progress(j: JobInfo): HTMLElement {
  const total = Math.max(j.total, j.processed + j.skipped + j.failed + j.recovered);
  const pct = (n: number) => (total === 0 ? 0 : (100 * n) / total);
  const bar = h(
    'div',
    { class: 'bar', title: `${j.processed} processed, ${j.skipped} skipped, ${j.failed} failed, ${j.recovered} recovered of ${j.total}` },
    h('span', { class: 'bar-processed', style: { width: `${pct(j.processed)}%` } }),
    h('span', { class: 'bar-skipped', style: { width: `${pct(j.skipped)}%` } }),
    h('span', { class: 'bar-recovered', style: { width: `${pct(j.recovered)}%` } }),
    h('span', { class: 'bar-failed', style: { width: `${pct(j.failed)}%` } }),
  );
  return h(
    'div',
    { class: 'progress', 'data-testid': 'progress' },
    bar,
    h('span', { class: 'progress-text' }, `${j.processed} processed · ${j.skipped} skipped · ${j.failed} failed${j.recovered ? ` · ${j.recovered} recovered` : ''} / ${j.total}`),
  );
}

// "running" here means "not paused", not a job at work: drawn unlike a running job
function pipelineBadge(state: PipelineInfo['state']): HTMLElement {
  return badge(state, state === 'running' ? 'active' : 'paused');
}

export function duration(j: JobInfo): string {
  if (!j.started) return '—';
  const end = j.finished ? Date.parse(j.finished) : Date.now();
  return fmtDuration(end - Date.parse(j.started));
}

export function jobState(j: JobInfo): HTMLElement {
  const w = stateWord(j.state);
  return badge(w, w);
}

export function jobsTable(jobs: JobInfo[]): HTMLElement {
  return table(
    ['Job', 'State', 'Progress', 'Created', 'Duration', 'Reason'],
    jobs.map((j) => [
      link(`#/job/${encodePath(j.pipeline)}/${j.id}`, h('code', null, shortId(j.id))),
      jobState(j),
      progress(j),
      time(j.created),
      duration(j),
      j.reason ?? '',
    ]),
    { class: 'list', 'data-testid': 'jobs' },
  );
}

export async function pipelinePage(ctx: PageContext): Promise<void> {
  const name = ctx.params.name!;
  ctx.setTitle(name);
  const [p, jobs] = await Promise.all([api<PipelineInfo>(`/pipelines/${seg(name)}`), api<JobInfo[]>(`/pipelines/${seg(name)}/jobs`, { limit: 100 })]);
  if (!ctx.isCurrent()) return;
  const jobsEl = h('div', null, jobs.length ? jobsTable(jobs) : h('p', { class: 'empty' }, 'No jobs yet.'));
  const isMl = Boolean(p.spec.transform.ml);
  mount(
    ctx.root,
    h('nav', { class: 'crumbs' }, link('#/pipelines', 'Pipelines'), ' / ', h('span', null, name)),
    h('h1', null, name, ' ', pipelineBadge(p.state)),
    p.description ? h('p', null, p.description) : null,
    h(
      'p',
      { class: 'actions' },
      link(`#/repo/${encodePath(name)}?branch=${encodeURIComponent(p.outputBranch)}`, 'Output repo'),
      link(`#/files/${encodePath(name)}/${encodeURIComponent(p.outputBranch)}/`, 'Browse output'),
      link(`#/metrics/${encodePath(name)}?branch=${encodeURIComponent(p.outputBranch)}`, isMl ? 'Model metrics' : 'Metrics'),
    ),
    section(
      'Details',
      facts([
        ['Input', h('code', null, p.input)],
        ['Output branch', `${name}@${p.outputBranch}`],
        ['Version', String(p.version)],
        ['Transform', p.spec.transform.ml ? 'ML' : h('code', null, [...p.spec.transform.cmd, ...(p.spec.transform.stdin ?? [])].join(' '))],
        ['Parallelism', p.spec.parallelism ? String(p.spec.parallelism) : 'one per core'],
        ['Created', time(p.created)],
        ['Updated', time(p.updated)],
      ]),
    ),
    section('Jobs', h('p', { class: 'muted live' }, 'Live'), jobsEl),
    section('Spec', h('pre', { class: 'code json', 'data-testid': 'spec' }, JSON.stringify(p.raw, null, 2))),
  );
  ctx.onLeave(
    subscribe({ pipeline: name }, (e) => {
      if (e.type === 'jobs' && ctx.isCurrent()) mount(jobsEl, e.jobs.length ? jobsTable(e.jobs) : h('p', { class: 'empty' }, 'No jobs yet.'));
    }),
  );
}
