import { api } from '../lib/api.js';
import { chart } from '../lib/charts.js';
import { dataTable, h, time } from '../lib/dom.js';
import { tableHash } from './tables.js';

// History: every version with its operation, parameters and metrics; charts of MERGE metrics per
// version and of the table's size over versions; a diff of two versions through the change feed.

const n = (v) => (v === undefined || v === null ? 0 : Number(v));

export async function historyPage(id, q) {
  const [hist, d] = await Promise.all([api(`tables/${encodeURIComponent(id)}/history`), api(`tables/${encodeURIComponent(id)}`)]);
  const versions = hist.versions;
  const out = [h('h1', {}, id, ' ', h('span', { class: 'muted' }, 'history')), h('p', {}, h('a', { href: tableHash(id, {}) }, 'Table and rows'))];

  const charts = h('div', { class: 'grid' });
  out.push(charts);
  const merges = [...versions].reverse().filter((v) => v.operation === 'MERGE');
  if (merges.length) {
    const labels = merges.map((v) => `v${v.version}`);
    const m = (k) => merges.map((v) => n(v.operationMetrics[k]));
    chart(charts, {
      type: 'bar', labels, stacked: true, title: 'MERGE rows per version',
      datasets: [
        { label: 'inserted', data: m('numTargetRowsInserted') }, { label: 'updated', data: m('numTargetRowsUpdated') },
        { label: 'deleted', data: m('numTargetRowsDeleted') }, { label: 'copied', data: m('numTargetRowsCopied') },
      ],
    });
    chart(charts, {
      type: 'bar', labels, title: 'MERGE target files per version',
      datasets: [{ label: 'scanned', data: m('numTargetFilesScanned') }, { label: 'skipped', data: m('numTargetFilesSkipped') }, { label: 'added', data: m('numTargetFilesAdded') }, { label: 'removed', data: m('numTargetFilesRemoved') }],
    });
  }
  if (hist.sizes.length) {
    chart(charts, {
      type: 'line', labels: hist.sizes.map((s) => `v${s.version}`), title: 'Table size over versions', yTitle: 'bytes', y2Title: 'files',
      datasets: [{ label: 'bytes', data: hist.sizes.map((s) => s.bytes) }, { label: 'files', data: hist.sizes.map((s) => s.files), yAxisID: 'y2' }],
    });
  }

  out.push(h('h2', {}, 'Versions'), dataTable(['version', 'time', 'operation', 'parameters', 'metrics', ''].map((name) => ({ name })),
    versions.map((v) => [v.version, time(v.timestamp), v.operation, v.operationParameters, v.operationMetrics, v.version]),
    {
      testid: 'versions',
      render: (i, val) => {
        if (i === 3 || i === 4) return h('td', { class: 'mono' }, Object.entries(val).map(([k, x]) => h('div', {}, `${k}=${typeof x === 'string' ? x : JSON.stringify(x)}`)));
        if (i === 5 && !d.timeTravel) return h('td', {});
        if (i === 5) return h('td', {}, h('a', { href: tableHash(id, { version: val }), 'data-testid': `as-of-${val}` }, `rows as of v${val}`));
        return undefined;
      },
    }));

  out.push(await diffSection(id, d, versions, q));
  return out;
}

async function diffSection(id, d, versions, q) {
  const section = h('section', { class: 'card', 'data-testid': 'diff' }, h('h2', {}, 'Diff two versions (change data feed)'));
  if (d.warehouse === 'bigquery') {
    section.append(h('p', { class: 'muted' }, `${id} is a BigQuery table: lakelet keeps no change feed for it; the versions above are its batch ledger, with what each MERGE inserted, updated and deleted.`));
    return section;
  }
  if (!d.changeDataFeed) {
    section.append(h('p', { class: 'muted' }, `The change data feed is off for ${id}: set delta.enableChangeDataFeed=true in its properties to diff versions.`));
    return section;
  }
  const oldest = versions[versions.length - 1]?.version ?? 0;
  const latest = versions[0]?.version ?? 0;
  const from = q.get('from') ?? String(Math.max(oldest, latest - 1));
  const to = q.get('to') ?? String(latest);
  const select = (value, testid) => h('select', { 'data-testid': testid }, versions.map((v) => h('option', { value: v.version, selected: String(v.version) === value }, `v${v.version} ${v.operation}`)));
  const a = select(from, 'diff-from');
  const b = select(to, 'diff-to');
  section.append(h('div', { class: 'toolbar' }, 'changes from', a, 'to', b,
    h('button', { onclick: () => { location.hash = `#/history/${encodeURIComponent(id)}?from=${a.value}&to=${b.value}`; } }, 'Show changes')));
  try {
    const c = await api(`tables/${encodeURIComponent(id)}/changes`, { from, to, limit: 200 });
    section.append(h('p', { class: 'muted' }, `${c.total} change rows in versions ${c.metrics.fromVersion}..${c.metrics.toVersion}`), dataTable(c.columns, c.rows, { testid: 'changes' }));
  } catch (err) {
    section.append(h('div', { class: 'error-box' }, err.message));
  }
  return section;
}

