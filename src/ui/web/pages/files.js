import { api } from '../lib/api.js';
import { bytes, dataTable, h, kv, time } from '../lib/dom.js';

// Files: the ingestion log, searchable and paged in DuckDB; and one file's lifecycle
// (landed → staged → merged / quarantined), with its error report, bad records and a requeue hint.

const STATUSES = ['', 'merged', 'staged', 'quarantined', 'duplicate', 'replaced', 'requeued'];
const SHOWN = ['batch', 'file_name', 'status', 'records', 'rows_rejected', 'size', 'stage_version', 'target_version', 'total_ms', 'logged_at', 'error'];
const PAGE = 50;

export async function filesPage(q) {
  const overview = await api('overview');
  const params = { q: q.get('q') ?? '', pipeline: q.get('pipeline') ?? '', status: q.get('status') ?? '', offset: Number(q.get('offset') ?? 0), limit: PAGE };
  const page = await api('files', params);
  const go = (changes) => {
    const next = new URLSearchParams(Object.entries({ ...params, offset: 0, ...changes }).filter(([k, v]) => k !== 'limit' && v !== '' && v !== 0).map(([k, v]) => [k, String(v)]));
    location.hash = `#/files${next.size ? `?${next}` : ''}`;
  };
  const search = h('input', { type: 'search', placeholder: 'file name contains…', value: params.q, 'data-testid': 'file-search', onkeydown: (e) => e.key === 'Enter' && go({ q: e.target.value }) });
  const pipeline = h('select', { onchange: (e) => go({ pipeline: e.target.value }) }, h('option', { value: '' }, 'all pipelines'), overview.pipelines.map((p) => h('option', { value: p, selected: p === params.pipeline }, p)));
  const status = h('select', { 'data-testid': 'status-filter', onchange: (e) => go({ status: e.target.value }) }, STATUSES.map((s) => h('option', { value: s, selected: s === params.status }, s || 'any status')));
  const idx = Object.fromEntries(page.columns.map((c, i) => [c.name, i]));
  const columns = SHOWN.filter((n) => n in idx);
  const rows = page.rows.map((r) => [r[idx.pipeline], ...columns.map((n) => r[idx[n]])]);
  return [
    h('h1', {}, 'Files'),
    h('div', { class: 'toolbar' }, search, h('button', { onclick: () => go({ q: search.value }) }, 'Search'), pipeline, status),
    h('p', { class: 'muted' }, page.total === 0 ? 'No files in the ingestion log match.' : `${page.offset + 1}–${page.offset + page.rows.length} of ${page.total} log rows, newest first`),
    dataTable([{ name: 'pipeline' }, ...columns.map((name) => ({ name }))], rows, {
      testid: 'files',
      render: (i, v, row) => {
        const name = ['pipeline', ...columns][i];
        if (name === 'file_name') return h('td', {}, h('a', { href: `#/files/${encodeURIComponent(row[0])}/${encodeURIComponent(v)}` }, v));
        if (name === 'status') return h('td', { class: `status-${v}` }, v);
        if (name === 'logged_at') return h('td', {}, time(String(v)));
        return undefined;
      },
    }),
    pager(page, (offset) => go({ offset })),
  ];
}

export function pager(page, go) {
  return h('div', { class: 'toolbar' },
    h('button', { disabled: page.offset === 0, onclick: () => go(Math.max(0, page.offset - page.limit)) }, '‹ Previous'),
    h('button', { disabled: page.offset + page.rows.length >= page.total, onclick: () => go(page.offset + page.limit) }, 'Next ›'));
}

export async function filePage(pipeline, file) {
  const d = await api('file', { pipeline, file });
  const out = [h('h1', {}, file, ' ', h('span', { class: 'muted' }, `(${pipeline})`))];
  if (d.requeue) {
    out.push(h('div', { class: 'hint', 'data-testid': 'requeue-hint' }, 'Still in quarantine at ', h('code', {}, d.requeue.location),
      '. Once the cause is fixed, move it back to landing with ', h('code', {}, d.requeue.command), '.'));
  }
  if (!d.batches.length) out.push(h('p', { class: 'muted' }, 'No batch has taken this file yet (it may still be waiting in landing).'));
  for (const b of d.batches) out.push(batchCard(b));
  const h2 = d.history;
  if (h2.rows.length) {
    out.push(h('h2', {}, 'Ingestion log rows (oldest first)'), dataTable(h2.columns, h2.rows, { testid: 'file-history' }));
  }
  return out;
}

function batchCard(b) {
  const card = h('section', { class: 'card', 'data-testid': `batch-${b.batch}` }, h('h2', {}, `Batch ${b.batch}: `, h('span', { class: `status-${b.outcome === 'quarantine' ? 'quarantined' : b.outcome === 'stage' ? 'merged' : b.outcome}` }, b.outcome)));
  const steps = [h('li', {}, `landed ${time(b.landedAt)}`), h('li', {}, `planned ${time(b.plannedAt)}`)];
  if (b.outcome === 'stage') {
    steps.push(h('li', { class: 'ok' }, `staged${b.stageVersion !== null ? ` (stage v${b.stageVersion})` : ''}`));
    if (b.targetVersion !== null) steps.push(h('li', { class: 'ok' }, `merged (target v${b.targetVersion})`));
  } else if (b.outcome === 'quarantine') steps.push(h('li', { class: 'bad' }, 'quarantined'));
  else if (b.outcome === 'duplicate') steps.push(h('li', {}, `duplicate of batch ${b.duplicateOf}`));
  else steps.push(h('li', {}, `replaced: ${b.replaced ?? ''}`));
  if (b.finishedAt) steps.push(h('li', {}, `batch finished ${time(b.finishedAt)}`));
  card.append(h('ol', { class: 'lifecycle', 'data-testid': 'lifecycle' }, steps));
  card.append(kv([['size', bytes(b.size)], ['sha256', h('code', {}, b.sha256)], ['records', b.records ?? '–']]));
  if (b.error) {
    const where = b.error.position ? ` (line ${b.error.position.line}, column ${b.error.position.column})` : '';
    card.append(h('div', { class: 'error-box', 'data-testid': 'quarantine-error' }, `${b.error.kind}: ${b.error.message}${where}`));
    if (b.error.hint) card.append(h('div', { class: 'hint' }, b.error.hint));
  }
  if (b.quarantine) {
    card.append(h('h3', {}, 'Error report'), h('p', { class: 'muted' }, b.quarantine.location, b.quarantine.stillThere ? '' : ' (no longer there: requeued)'));
    if (b.quarantine.errorReport) card.append(h('pre', { class: 'mono card', 'data-testid': 'error-report' }, JSON.stringify(b.quarantine.errorReport, null, 2)));
  }
  if (b.bad) card.append(h('div', { class: 'error-box', 'data-testid': 'bad-summary' }, b.bad.summary));
  if (b.badRecords) {
    const recs = b.badRecords.records;
    card.append(h('h3', {}, `Bad records (${b.badRecords.location})`),
      dataTable(['line', 'kind', 'error', 'text'].map((name) => ({ name })), recs.map((r) => [r.line ?? r.record ?? null, r.kind ?? null, r.error ?? null, r.text ?? null]), { testid: 'bad-records' }),
      b.badRecords.truncated ? h('p', { class: 'muted' }, 'Only the first records are shown.') : null);
  }
  return card;
}

