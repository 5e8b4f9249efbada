import { api } from '../lib/api.js';
import { chart } from '../lib/charts.js';
import { badge, bytes, dataTable, h, kv, time } from '../lib/dom.js';

// Pipelines: per pipeline its landing (waiting files), counts by status, the rows and files of each
// run over time, and the last runs with their summaries; then the database sources (lakelet sync)
// with each synced table's watermark, rows and lag.
export async function pipelinesPage() {
  const [pipelines, sources] = await Promise.all([api('pipelines'), api('sources')]);
  return [h('h1', {}, 'Pipelines'), ...pipelines.map(pipelineCard), ...(sources.length ? [h('h1', {}, 'Database sources'), ...sources.map(sourceCard)] : [])];
}

function sourceCard(s) {
  const card = h('section', { class: 'card', 'data-testid': `source-${s.source}` },
    h('h2', {}, s.source, ' ', h('span', { class: 'muted' }, s.url)),
    kv([['target', s.target]]));
  if (s.error) card.append(h('div', { class: 'error-box' }, s.error));
  else if (!s.tables.length) card.append(h('p', { class: 'muted' }, 'No table synced yet: run lakelet sync.'));
  else {
    card.append(dataTable(
      ['table', 'last watermark', 'rows read last run', 'rows read in all', 'last run', 'lag', 'batch'].map((name) => ({ name })),
      s.tables.map((t) => [t.table, t.watermark ?? '(full reload)', t.rowsLastRun, t.rowsTotal, time(t.lastRun), t.lag, t.batch]),
      { testid: 'synced-tables' },
    ));
  }
  return card;
}

function pipelineCard(p) {
  const f = p.files;
  const card = h('section', { class: 'card', 'data-testid': `pipeline-${p.name}` },
    h('h2', {}, p.name, ' ', h('span', { class: 'muted' }, `(${p.format})`)),
    kv([
      ['landing', p.landing], ['stage', p.stage], ['target', p.target ?? '(stage only)'], ['key', p.key.join(', ') || '–'],
      ['archive', p.archive], ['quarantine', p.quarantine],
      ['batches', `${p.batches.done} done${p.batches.unfinished.length ? `, unfinished: ${p.batches.unfinished.join(', ')}` : ''}`],
    ]),
    h('div', { class: 'badges', 'data-testid': 'counts' },
      badge('waiting', `${p.waiting.count} (${bytes(p.waiting.bytes)})`),
      badge('staged', f.staged, 'ok'), badge('merged', f.merged, 'ok'),
      badge('quarantined', f.stillQuarantined, f.stillQuarantined ? 'bad' : undefined),
      badge('duplicate', f.duplicate), badge('replaced', f.replaced), badge('requeued', f.requeued),
      badge('records', p.records)),
  );
  if (p.waiting.files.length) {
    card.append(h('h3', {}, 'Waiting in landing'),
      dataTable([{ name: 'file' }, { name: 'size' }, { name: 'modified' }], p.waiting.files.map((w) => [w.key, bytes(w.size), time(w.lastModified)]), { testid: 'waiting' }));
  }
  if (p.runs.length) {
    const charts = h('div', { class: 'grid' });
    card.append(h('h3', {}, 'Runs'), charts);
    const runs = [...p.runs].reverse();
    const labels = runs.map((r) => `#${r.seq} ${time(r.finishedAt ?? r.createdAt).slice(5, 16)}`);
    chart(charts, {
      type: 'bar', labels, title: 'Rows and files per run',
      datasets: [
        { label: 'records staged', data: runs.map((r) => r.records) },
        { label: 'files', data: runs.map((r) => r.files), type: 'line', yAxisID: 'y2' },
      ],
      yTitle: 'rows', y2Title: 'files',
    });
    chart(charts, {
      type: 'bar', labels, title: 'MERGE outcome per run', stacked: true,
      datasets: [
        { label: 'inserted', data: runs.map((r) => r.rowsInserted ?? 0) },
        { label: 'updated', data: runs.map((r) => r.rowsUpdated ?? 0) },
        { label: 'deleted', data: runs.map((r) => r.rowsDeleted ?? 0) },
      ],
    });
    card.append(dataTable(
      ['batch', 'planned', 'finished', 'files', 'staged', 'quarantined', 'duplicates', 'records', 'inserted', 'updated', 'deleted', 'stage v', 'target v'].map((name) => ({ name })),
      p.runs.map((r) => [r.seq, time(r.createdAt), r.finishedAt ? time(r.finishedAt) : 'unfinished', r.files, r.staged, r.quarantined, r.duplicates, r.records, r.rowsInserted, r.rowsUpdated, r.rowsDeleted, r.stageVersion, r.targetVersion]),
      { testid: 'runs' },
    ));
  }
  card.append(h('p', {}, h('a', { href: `#/files?pipeline=${encodeURIComponent(p.name)}` }, 'Files of this pipeline'), ' · ',
    h('a', { href: `#/tables/${encodeURIComponent(`${p.name}.${p.target ? 'target' : 'stage'}`)}` }, p.target ? 'Target table' : 'Stage table')));
  return card;
}
