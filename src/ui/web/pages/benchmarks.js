import { api } from '../lib/api.js';
import { chart } from '../lib/charts.js';
import { bytes, dataTable, h, kv, time } from '../lib/dom.js';

// Benchmarks: the reports in benchmarks/results/, newest first; the latest drawn as charts
// (median wall time and peak memory per scenario and engine), the others listed.

export async function benchmarksPage() {
  const reports = await api('benchmarks');
  if (!reports.length) return [h('h1', {}, 'Benchmarks'), h('p', { class: 'muted' }, 'No reports yet: `npm run bench` writes one into benchmarks/results/.')];
  return [h('h1', {}, 'Benchmarks'), ...reports.map((r, i) => reportCard(r, i === 0))];
}

function reportCard(r, drawn) {
  const card = h('section', { class: 'card', 'data-testid': `report-${r.id}` }, h('h2', {}, r.id, ' ', h('span', { class: 'muted' }, `${time(r.startedAt)} · scale ${r.scale}`)));
  if (r.machine) card.append(kv([['machine', `${r.machine.cpus} CPUs (${r.machine.cpuModel}), Node ${r.machine.node}, DuckDB ${r.machine.duckdb}`], ['lakelet commit', r.machine.lakeletCommit ?? '–']]));
  const engines = r.engines.filter((e) => e.available);
  const labels = r.scenarios.map((s) => s.id);
  if (drawn) {
    const charts = h('div', { class: 'grid' });
    card.append(charts);
    chart(charts, {
      type: 'bar', labels, title: 'Median wall time per scenario (ms, log scale)', logY: true,
      datasets: engines.map((e) => ({ label: e.label, data: r.scenarios.map((s) => s.results[e.id]?.medianWallMs ?? null) })),
    });
    chart(charts, {
      type: 'bar', labels, title: 'Median peak memory per scenario (MB)',
      datasets: engines.map((e) => ({ label: e.label, data: r.scenarios.map((s) => { const b = s.results[e.id]?.medianPeakRssBytes; return b === null || b === undefined ? null : Math.round(b / 1048576); }) })),
    });
  }
  card.append(dataTable([{ name: 'scenario' }, ...engines.map((e) => ({ name: e.label }))],
    r.scenarios.map((s) => [s.title, ...engines.map((e) => {
      const x = s.results[e.id];
      if (!x || x.status !== 'ok' || x.medianWallMs === null) return x?.status ?? 'n/a';
      return `${Math.round(x.medianWallMs)} ms (${Math.round(x.minWallMs)}–${Math.round(x.maxWallMs)}), ${bytes(x.medianPeakRssBytes)}`;
    })]), { testid: 'bench-table' }));
  return card;
}
