// The single-page app: a hash router (#/pipelines, #/files, #/files/<pipeline>/<file>, #/tables,
// #/tables/<id>?version=N, #/history/<id>, #/benchmarks) over plain ES modules; no build step.
import { api } from './lib/api.js';
import { destroyCharts } from './lib/charts.js';
import { failure, h } from './lib/dom.js';
import { pipelinesPage } from './pages/pipelines.js';
import { filesPage, filePage } from './pages/files.js';
import { tablesPage, tablePage } from './pages/tables.js';
import { historyPage } from './pages/history.js';
import { benchmarksPage } from './pages/benchmarks.js';

const app = document.getElementById('app');

const ROUTES = [
  [/^pipelines$/, 'pipelines', () => pipelinesPage()],
  [/^files$/, 'files', (_m, q) => filesPage(q)],
  [/^files\/([^/]+)\/(.+)$/, 'files', (m) => filePage(decodeURIComponent(m[1]), decodeURIComponent(m[2]))],
  [/^tables$/, 'tables', () => tablesPage()],
  [/^tables\/([^/]+)$/, 'tables', (m, q) => tablePage(decodeURIComponent(m[1]), q)],
  [/^history\/([^/]+)$/, 'tables', (m, q) => historyPage(decodeURIComponent(m[1]), q)],
  [/^benchmarks$/, 'benchmarks', () => benchmarksPage()],
];

let generation = 0;

async function render() {
  const hash = location.hash.replace(/^#\/?/, '') || 'pipelines';
  const [path, query = ''] = hash.split('?');
  const q = new URLSearchParams(query);
  const mine = ++generation;
  destroyCharts();
  const found = ROUTES.map(([re, nav, page]) => [re.exec(path), nav, page]).find(([m]) => m);
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', found?.[1] === a.dataset.nav);
  const page = h('div', { 'data-page': found?.[1] ?? 'unknown' });
  app.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    if (!found) throw new Error(`no page #/${path}`);
    await found[2](found[0], q).then((content) => page.append(...[content].flat()));
  } catch (err) {
    page.append(failure(err));
  }
  if (mine !== generation) return; // a newer navigation won
  app.replaceChildren(page);
  page.setAttribute('data-ready', '');
}

window.addEventListener('hashchange', render);
api('overview').then((o) => { document.getElementById('config').textContent = `${o.config} · warehouse: ${o.warehouse}`; }, () => {});
render();
