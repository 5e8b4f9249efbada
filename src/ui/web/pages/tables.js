import { api } from '../lib/api.js';
import { badge, bytes, dataTable, h, kv, time } from '../lib/dom.js';
import { pager } from './files.js';

// Tables: every table the config names; one table's schema, partitioning, properties, protocol,
// size and files, and a paged preview of its rows as of any version, narrowed by filters.

const OPS = ['=', '!=', '<', '<=', '>', '>=', 'contains', 'is null', 'is not null'];
const PAGE = 50;

export async function tablesPage() {
  const tables = await api('tables');
  return [
    h('h1', {}, 'Tables'),
    dataTable(['table', 'role', 'version', 'files', 'size', 'last commit', 'location'].map((name) => ({ name })),
      tables.map((t) => [t.id, t.role, t.exists ? t.version : 'not created yet', t.numFiles ?? null, t.exists ? bytes(t.sizeInBytes) : null, t.lastCommit ? time(t.lastCommit) : null, t.table ?? t.location]),
      { testid: 'tables', render: (i, v) => (i === 0 ? h('td', {}, h('a', { href: `#/tables/${encodeURIComponent(v)}` }, v)) : undefined) }),
  ];
}

export function tableHash(id, state) {
  const q = new URLSearchParams();
  if (state.version !== undefined && state.version !== null && state.version !== '') q.set('version', String(state.version));
  if (state.filters?.length) q.set('filters', JSON.stringify(state.filters));
  if (state.offset) q.set('offset', String(state.offset));
  return `#/tables/${encodeURIComponent(id)}${q.size ? `?${q}` : ''}`;
}

export async function tablePage(id, q) {
  const version = q.get('version') ?? '';
  const filters = JSON.parse(q.get('filters') ?? '[]');
  const offset = Number(q.get('offset') ?? 0);
  const [d, history] = await Promise.all([api(`tables/${encodeURIComponent(id)}`, { version }), api(`tables/${encodeURIComponent(id)}/history`)]);
  const rows = await api(`tables/${encodeURIComponent(id)}/rows`, { version, filters: filters.length ? JSON.stringify(filters) : '', offset, limit: PAGE });
  const state = { version, filters, offset };
  const go = (changes) => { location.hash = tableHash(id, { ...state, offset: 0, ...changes }); };

  const latest = history.versions[0]?.version;
  // BigQuery: no versions lakelet can read (d.timeTravel false), so no picker.
  const picker = !d.timeTravel ? h('span', { class: 'muted', 'data-testid': 'no-time-travel' }, `latest (batch ledger version ${d.version}); ${d.warehouse} tables have no time travel here`) : h('select', { 'data-testid': 'version-picker', onchange: (e) => go({ version: e.target.value }) },
    h('option', { value: '' }, `latest (v${latest})`),
    history.versions.map((v) => h('option', { value: v.version, selected: String(v.version) === version }, `v${v.version} · ${v.operation} · ${time(v.timestamp)}`)));

  const column = h('select', { 'data-testid': 'filter-column' }, d.schema.map((c) => h('option', { value: c.name }, c.name)));
  const op = h('select', { 'data-testid': 'filter-op' }, OPS.map((o) => h('option', { value: o }, o)));
  const value = h('input', { type: 'text', placeholder: 'value', 'data-testid': 'filter-value' });
  const add = () => go({ filters: [...filters, { column: column.value, op: op.value, ...(op.value.startsWith('is ') ? {} : { value: value.value }) }] });
  value.addEventListener('keydown', (e) => e.key === 'Enter' && add());

  return [
    h('h1', {}, id, ' ', h('span', { class: 'muted' }, version ? `as of version ${d.version}` : `version ${d.version}`)),
    h('p', {}, h('a', { href: `#/history/${encodeURIComponent(id)}` }, 'History and charts'), ' · ', h('a', { href: '#/tables' }, 'All tables')),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'data-testid': 'describe' },
        h('h2', {}, 'Table'),
        d.warehouse === 'bigquery' ? kv([
          ['table', d.tableId], ['location', d.uri], ['ledger version', `${d.version} (last batch ${time(d.timestamp)})`], ['created', time(d.createdTime)],
          ['rows', d.numRows], ['size', bytes(d.sizeInBytes)], ['partitioned by', d.partitioning ?? (d.partitionColumns.length ? d.partitionColumns.join(', ') : '(not partitioned)')],
          ['clustered by', d.clustering?.length ? d.clustering.join(', ') : '(not clustered)'],
          ...(d.stagingTables ? [['staging tables', d.stagingTables.length ? d.stagingTables.join(', ') : '(none left: dropped by stage retention)']] : []),
        ]) : kv([
          ['location', d.uri], ['id', d.tableId], ['version', `${d.version} (committed ${time(d.timestamp)})`], ['created', time(d.createdTime)],
          ['files', `${d.numFiles} files, ${bytes(d.sizeInBytes)}`], ['partitioned by', d.partitionColumns.length ? d.partitionColumns.join(', ') : '(not partitioned)'],
          ['protocol', `reader ${d.protocol.minReaderVersion}, writer ${d.protocol.minWriterVersion}${d.protocol.readerFeatures?.length ? `; reader features: ${d.protocol.readerFeatures.join(', ')}` : ''}${d.protocol.writerFeatures?.length ? `; writer features: ${d.protocol.writerFeatures.join(', ')}` : ''}`],
          ['change data feed', d.changeDataFeed ? 'on' : 'off'],
        ]),
        h('h3', {}, 'Properties'),
        Object.keys(d.properties).length ? kv(Object.entries(d.properties)) : h('p', { class: 'muted' }, '(none)')),
      h('section', { class: 'card' }, h('h2', {}, 'Schema'),
        dataTable(['column', 'type', 'nullable', ''].map((name) => ({ name })), d.schema.map((c) => [c.name, c.type, c.nullable ? 'yes' : 'no', d.partitionColumns.includes(c.name) ? 'partition' : '']), { testid: 'schema' }))),
    h('section', { class: 'card' },
      h('h2', {}, 'Rows'),
      h('div', { class: 'toolbar' }, 'version', picker),
      h('div', { class: 'toolbar' }, 'filter', column, op, value, h('button', { 'data-testid': 'filter-add', onclick: add }, 'Add filter'),
        filters.map((f, i) => h('span', { class: 'chip' }, `${f.column} ${f.op}${f.value !== undefined ? ` ${JSON.stringify(f.value)}` : ''}`,
          h('button', { title: 'remove', onclick: () => go({ filters: filters.filter((_, j) => j !== i) }) }, '×')))),
      h('div', { class: 'badges' }, badge('rows', rows.total), rows.filesTotal === null ? null : badge('files read', `${rows.filesScanned} of ${rows.filesTotal}`)),
      h('p', { class: 'muted', 'data-testid': 'row-count' }, rows.total === 0 ? 'No rows match.' : `${rows.offset + 1}–${rows.offset + rows.rows.length} of ${rows.total} rows`),
      dataTable(rows.columns, rows.rows, { testid: 'rows' }),
      pager(rows, (o) => go({ offset: o }))),
  ];
}
