// The console's entry point: the page frame (header and navigation) and the routes.
import { h, mount } from './dom.js';
import { commitPage } from './pages/commit.js';
import { diffPage } from './pages/diff.js';
import { filesPage } from './pages/files.js';
import { datumPage, jobPage } from './pages/job.js';
import { metricsPage } from './pages/metrics.js';
import { driftPage } from './pages/drift.js';
import { pipelinePage, pipelinesPage } from './pages/pipelines.js';
import { repoPage } from './pages/repo.js';
import { commitSetPage, commitSetsPage, reposPage } from './pages/repos.js';
import { addRoute, navigate } from './router.js';

addRoute('/', reposPage);
addRoute('/repos', reposPage);
addRoute('/repo/:repo', repoPage);
addRoute('/commit/:repo/:id', commitPage);
addRoute('/files/:repo/:ref/*path', filesPage);
addRoute('/diff/:repo', diffPage);
addRoute('/commitsets', commitSetsPage);
addRoute('/commitset/:id', commitSetPage);
addRoute('/pipelines', pipelinesPage);
addRoute('/pipeline/:name', pipelinePage);
addRoute('/job/:pipeline/:id', jobPage);
addRoute('/datum/:pipeline/:job/:datum', datumPage);
addRoute('/metrics/:repo', metricsPage);
addRoute('/drift/:repo', driftPage);

const main = h('main', { id: 'main', 'data-testid': 'main' });
const nav = h(
  'nav',
  { class: 'top' },
  h('a', { href: '#/', class: 'brand' }, h('img', { src: '/favicon.svg', alt: '', width: 20, height: 20 }), 'tusk'),
  h('a', { href: '#/', 'data-nav': 'repos' }, 'Repos'),
  h('a', { href: '#/pipelines', 'data-nav': 'pipelines' }, 'Pipelines'),
  h('a', { href: '#/commitsets', 'data-nav': 'commitsets' }, 'Commit sets'),
  h('span', { class: 'readonly', title: 'The console never changes the store' }, 'read-only'),
);
mount(document.body, h('header', null, nav), main);

function route(): void {
  const first = (location.hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '') || 'repos';
  const section = ['pipelines', 'pipeline', 'job', 'datum'].includes(first) ? 'pipelines' : first.startsWith('commitset') ? 'commitsets' : 'repos';
  for (const a of nav.querySelectorAll('a[data-nav]')) a.classList.toggle('active', a.getAttribute('data-nav') === section);
  void navigate(main);
}
window.addEventListener('hashchange', route);
route();
