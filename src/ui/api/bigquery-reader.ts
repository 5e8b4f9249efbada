import { dirname } from 'node:path';
import type { LakeletConfig } from '../../pipeline/config.ts';
import { tableIdFor } from '../../warehouse/bigquery/bigquery-warehouse.ts';
import { catalogColumns, queryWithParams, tableInfo, type CatalogColumn, type QueryParam } from '../../warehouse/bigquery/catalog.ts';
import { BigQueryClient } from '../../warehouse/bigquery/client.ts';
import { LEDGER_TABLE } from '../../warehouse/bigquery/ledger.ts';
import { stagingTable } from '../../warehouse/bigquery/stage.ts';
import { quoteIdent } from '../../warehouse/bigquery/types.ts';
import { UiRequestError } from '../errors.ts';
import { parseFilters, type Filter } from './filters.ts';
import type { RowsPage } from './rows-page.ts';
import type { LogQuery, PageQuery, StatusCount, TableReader } from './table-reader.ts';
import type { TableRef } from './workspace.ts';

/**
 * `warehouse: bigquery` for the UI: the tables the config names, read with query jobs on the dataset.
 * Schema, partitioning and clustering from INFORMATION_SCHEMA.COLUMNS and the tables API; rows paged
 * by LIMIT/OFFSET in BigQuery (never the whole table here); history from the batch ledger
 * (`_lakelet_batches`: one row per batch and role, the MERGE's counts on target rows), since a
 * BigQuery table has no versions lakelet can name. No time travel: lakelet's ledger times are the
 * client's, not BigQuery's commit times, so FOR SYSTEM_TIME AS OF one of them could miss its batch;
 * the answer says `timeTravel: false` and the page hides the version picker.
 *
 * Every value from a request is a query parameter (`@name`), never SQL text; column names are the
 * table's own (matched by parseFilters), quoted; table ids come from the config.
 *
 * The stage of a BigQuery pipeline is one staging table per batch (dropped by stage retention), so
 * its rows are those of the staging tables still there, side by side (UNION ALL, missing columns NULL).
 */
type Role = 'stage' | 'target' | 'log';
const ROLE: Record<TableRef['role'], Role> = { stage: 'stage', target: 'target', 'ingestion-log': 'log' };
const OPERATION: Record<Role, string> = { stage: 'LOAD', target: 'MERGE', log: 'WRITE' };

/** Types a filter value (a string parameter) can be CAST to, to compare with the column as that type. */
const CASTABLE = new Set(['INT64', 'FLOAT64', 'NUMERIC', 'BIGNUMERIC', 'BOOL', 'DATE', 'DATETIME', 'TIMESTAMP', 'TIME', 'STRING']);

interface Source {
  /** FROM clause: a table, or the staging tables side by side; undefined: nothing to read (yet). */
  from: string | undefined;
  columns: { name: string; type: string }[];
}

export class BigQueryReader implements TableReader {
  readonly warehouse = 'bigquery';
  readonly timeTravel = false;
  readonly client: BigQueryClient;
  private readonly baseDir: string;

  constructor(
    private readonly config: LakeletConfig,
    private readonly tables: TableRef[],
  ) {
    if (!config.bigquery) throw new UiRequestError(400, `${config.file}: warehouse: bigquery needs a bigquery: block (project, dataset, location)`);
    this.client = BigQueryClient.open(config.bigquery);
    this.baseDir = dirname(config.file);
  }

  async list(): Promise<Record<string, unknown>[]> {
    const ledger = await this.ledgerSummary();
    const out = [];
    for (const ref of this.tables) {
      const role = ROLE[ref.role];
      const mine = ledger.filter((l) => l.role === role && (role === 'log' || l.pipeline === ref.pipeline));
      const info = role === 'stage' ? undefined : await tableInfo(this.client, this.tableId(ref));
      const exists = role === 'stage' ? mine.length > 0 : info !== undefined;
      out.push({
        id: ref.id,
        role: ref.role,
        pipeline: ref.pipeline ?? null,
        location: ref.location,
        table: this.fullId(ref),
        exists,
        ...(exists
          ? {
              version: mine.reduce((a, l) => (role === 'log' ? a + l.batches : Math.max(a, l.version)), 0),
              numFiles: null,
              sizeInBytes: info?.numBytes ?? null,
              lastCommit: mine.map((l) => l.at).filter((x): x is string => x !== null).sort().pop() ?? null,
            }
          : {}),
      });
    }
    return out;
  }

  async describe(id: string, version: number | undefined): Promise<Record<string, unknown>> {
    this.noVersions(id, version);
    const ref = this.ref(id);
    const role = ROLE[ref.role];
    const last = (await this.ledgerRows(ref, 1))[0];
    const info = role === 'stage' ? undefined : await tableInfo(this.client, this.tableId(ref));
    const cols = role === 'stage' ? await catalogColumns(this.client, { prefix: this.stagePrefix(ref) }) : info ? await catalogColumns(this.client, { tables: [info.id] }) : [];
    if (role !== 'stage' && !info) throw this.notYet(ref);
    if (role === 'stage' && !last && cols.length === 0) throw this.notYet(ref);
    const source = await this.source(ref);
    const [count] = source.from ? await this.query(`SELECT COUNT(*) AS n FROM ${source.from}`, {}, `counting the rows of ${id}`) : [{ n: 0 }];
    const stagingTables = [...new Set(cols.map((c) => c.table))];
    return {
      warehouse: this.warehouse,
      timeTravel: this.timeTravel,
      id,
      location: ref.location,
      uri: `bigquery://${this.client.settings.project}/${this.client.settings.dataset}/${role === 'stage' ? `${this.tableId(ref)}__batch_*` : this.tableId(ref)}`,
      tableId: this.fullId(ref),
      version: last ? Number(last.version) : 0,
      timestamp: last?.committed_at ?? null,
      createdTime: info?.created ? new Date(info.created).toISOString() : null,
      numRows: Number(count.n),
      numFiles: null,
      sizeInBytes: info?.numBytes ?? null,
      partitionColumns: unique(cols.filter((c) => c.partitioning).map((c) => c.name)),
      partitioning: info?.partitioning ?? null,
      clustering: info?.clustering.length ? info.clustering : unique(cols.filter((c) => c.clustering !== null).sort((a, b) => a.clustering! - b.clustering!).map((c) => c.name)),
      ...(role === 'stage' ? { stagingTables } : {}),
      protocol: null,
      properties: {},
      changeDataFeed: false,
      schema: source.columns.map((c) => ({ name: c.name, type: c.type, nullable: cols.find((x) => x.name === c.name)?.nullable ?? true })),
    };
  }

  async history(id: string, limit: number): Promise<Record<string, unknown>> {
    const ref = this.ref(id);
    const role = ROLE[ref.role];
    const rows = await this.ledgerRows(ref, limit);
    if (rows.length === 0 && role !== 'log') throw this.notYet(ref);
    const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    return {
      id,
      source: `${this.client.settings.dataset}.${LEDGER_TABLE}`,
      timeTravel: this.timeTravel,
      versions: rows.map((r) => ({
        version: Number(r.version),
        timestamp: r.committed_at ?? null,
        operation: OPERATION[role],
        operationParameters: { pipeline: r.pipeline, batch: Number(r.batch), ...(r.load_path ? { loadPath: r.load_path } : {}) },
        operationMetrics:
          role === 'target'
            ? { numTargetRowsInserted: n(r.inserted), numTargetRowsUpdated: n(r.updated), numTargetRowsDeleted: n(r.deleted), numSourceRowsDeduplicated: n(r.deduplicated), numTombstones: n(r.tombstones) }
            : { numOutputRows: n(r.staged_rows), ...(role === 'stage' ? { numOutputBytes: n(r.bytes) } : {}) },
      })),
      // BigQuery keeps no per-version sizes lakelet could read.
      sizes: [],
    };
  }

  async rows(id: string, q: PageQuery & { version?: number; filters: string | null }): Promise<RowsPage & { version: number; where: string | null; filesScanned: null; filesTotal: null; params: Record<string, QueryParam> }> {
    this.noVersions(id, q.version);
    const ref = this.ref(id);
    const source = await this.source(ref);
    if (!source.from && ROLE[ref.role] !== 'stage') throw this.notYet(ref);
    const filters = parseFilters(q.filters, source.columns.map((c) => c.name));
    const where = filterSql(filters, new Map(source.columns.map((c) => [c.name, c.type])));
    const page = await this.page(source, where, ref.order, q);
    const last = (await this.ledgerRows(ref, 1))[0];
    return { ...page, version: last ? Number(last.version) : 0, where: where?.sql ?? null, params: where?.params ?? {}, filesScanned: null, filesTotal: null };
  }

  async changes(id: string): Promise<Record<string, unknown>> {
    this.ref(id);
    return { id, enabled: false, hint: `BigQuery tables keep no change data feed lakelet reads; the history of ${id} lists what each batch's MERGE inserted, updated and deleted` };
  }

  async statusCounts(): Promise<StatusCount[]> {
    const log = this.logRef();
    if (!(await tableInfo(this.client, this.tableId(log)))) return [];
    const rows = await this.query(`SELECT pipeline, status, COUNT(*) AS files, SUM(records) AS records FROM ${this.client.table(this.tableId(log))} GROUP BY pipeline, status ORDER BY pipeline, status`, {}, 'counting the ingestion log');
    return rows.map((r) => ({ pipeline: String(r.pipeline), status: String(r.status), files: Number(r.files), records: Number(r.records ?? 0) }));
  }

  async logPage(q: LogQuery): Promise<RowsPage> {
    const log = this.logRef();
    const source = await this.source(log);
    if (!source.from) return { columns: [], rows: [], total: 0, offset: q.offset, limit: q.limit };
    const conditions: string[] = [];
    const params: Record<string, QueryParam> = {};
    if (q.q) (conditions.push('STRPOS(LOWER(file_name), @q) > 0'), (params.q = q.q.toLowerCase()));
    if (q.pipeline) (conditions.push('pipeline = @pipeline'), (params.pipeline = q.pipeline));
    if (q.status) (conditions.push('status = @status'), (params.status = q.status));
    if (q.file) (conditions.push('file_name = @file'), (params.file = q.file));
    const order = q.oldestFirst ? ['logged_at', 'batch', 'file_name'] : ['logged_at DESC', 'batch DESC', 'file_name'];
    return this.page(source, conditions.length ? { sql: conditions.join(' AND '), params } : undefined, order, q);
  }

  // ---- helpers ----

  private async page(source: Source, where: { sql: string; params: Record<string, QueryParam> } | undefined, order: string[], q: PageQuery): Promise<RowsPage> {
    if (!source.from) return { columns: source.columns, rows: [], total: 0, offset: q.offset, limit: q.limit };
    const names = new Set(source.columns.map((c) => c.name.toLowerCase()));
    const terms = order.filter((t) => names.has(t.split(' ')[0].toLowerCase())).map((t) => `${quoteIdent(t.split(' ')[0])}${t.endsWith(' DESC') ? ' DESC' : ''}`);
    const whereSql = where ? ` WHERE ${where.sql}` : '';
    const params = where?.params ?? {};
    const [counted] = await this.query(`SELECT COUNT(*) AS n FROM ${source.from}${whereSql}`, params, 'counting rows');
    const rows = await this.query(
      `SELECT * FROM ${source.from}${whereSql}${terms.length ? ` ORDER BY ${terms.join(', ')}` : ''} LIMIT @__limit OFFSET @__offset`,
      { ...params, __limit: q.limit, __offset: q.offset },
      'reading a page of rows',
    );
    return { columns: source.columns, rows: rows.map((r) => source.columns.map((c) => r[c.name] ?? null)), total: Number(counted.n), offset: q.offset, limit: q.limit };
  }

  /** What to read for a table: the table itself, or the stage's staging tables still there. */
  private async source(ref: TableRef): Promise<Source> {
    if (ROLE[ref.role] !== 'stage') {
      const cols = await catalogColumns(this.client, { tables: [this.tableId(ref)] });
      return { from: cols.length ? this.client.table(this.tableId(ref)) : undefined, columns: cols.map((c) => ({ name: c.name, type: c.type })) };
    }
    const cols = await catalogColumns(this.client, { prefix: this.stagePrefix(ref) });
    const tables = unique(cols.map((c) => c.table)).filter((t) => /__batch_\d+$/.test(t)).sort((a, b) => batchOf(a) - batchOf(b));
    const all: CatalogColumn[] = [];
    for (const c of cols) if (tables.includes(c.table) && !all.some((a) => a.name.toLowerCase() === c.name.toLowerCase())) all.push(c);
    if (tables.length === 0) return { from: undefined, columns: [] };
    const selects = tables.map((t) => {
      const has = new Set(cols.filter((c) => c.table === t).map((c) => c.name.toLowerCase()));
      return `SELECT ${all.map((c) => (has.has(c.name.toLowerCase()) ? quoteIdent(c.name) : `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`)).join(', ')} FROM ${this.client.table(t)}`;
    });
    return { from: `(${selects.join(' UNION ALL ')})`, columns: all.map((c) => ({ name: c.name, type: c.type })) };
  }

  /** Ledger rows of a table, newest first ([] before the first batch: the ledger may not exist yet). */
  private async ledgerRows(ref: TableRef, limit: number): Promise<Record<string, unknown>[]> {
    if (!(await tableInfo(this.client, LEDGER_TABLE))) return [];
    const role = ROLE[ref.role];
    return this.query(
      `SELECT pipeline, role, batch, version, staged_rows, inserted, updated, deleted, deduplicated, tombstones, load_path, bytes, committed_at FROM ${this.client.table(LEDGER_TABLE)} ` +
        `WHERE role = @role${role === 'log' ? '' : ' AND pipeline = @pipeline'} ORDER BY committed_at DESC, version DESC LIMIT @limit`,
      { role, ...(role === 'log' ? {} : { pipeline: ref.pipeline! }), limit },
      `reading the batch ledger of ${ref.id}`,
    );
  }

  private async ledgerSummary(): Promise<{ pipeline: string; role: string; version: number; batches: number; at: string | null }[]> {
    if (!(await tableInfo(this.client, LEDGER_TABLE))) return [];
    const rows = await this.query(`SELECT pipeline, role, MAX(version) AS version, COUNT(*) AS batches, MAX(committed_at) AS at FROM ${this.client.table(LEDGER_TABLE)} GROUP BY pipeline, role`, {}, 'reading the batch ledger');
    return rows.map((r) => ({ pipeline: String(r.pipeline), role: String(r.role), version: Number(r.version), batches: Number(r.batches), at: r.at === null || r.at === undefined ? null : String(r.at) }));
  }

  private query(sql: string, params: Record<string, QueryParam>, what: string) {
    return queryWithParams(this.client, sql, params, what);
  }

  private ref(id: string): TableRef {
    const ref = this.tables.find((t) => t.id === id);
    if (!ref) throw new UiRequestError(404, `no table '${id}' in ${this.config.file}; the tables are ${this.tables.map((t) => t.id).join(', ')}`);
    return ref;
  }

  private logRef(): TableRef {
    return this.tables.find((t) => t.role === 'ingestion-log')!;
  }

  private tableId(ref: TableRef): string {
    return tableIdFor(ref.location, this.baseDir);
  }

  private stagePrefix(ref: TableRef): string {
    return stagingTable(this.tableId(ref), 0).replace(/0$/, '');
  }

  private fullId(ref: TableRef): string {
    return `${this.client.settings.project}.${this.client.settings.dataset}.${this.tableId(ref)}${ROLE[ref.role] === 'stage' ? '__batch_*' : ''}`;
  }

  private noVersions(id: string, version: number | undefined): void {
    if (version !== undefined) throw new UiRequestError(400, `${id} is a BigQuery table: lakelet reads no older versions of it (no time travel); leave out version= to read its rows now`);
  }

  private notYet(ref: TableRef): UiRequestError {
    return new UiRequestError(404, `table ${ref.id} (${this.fullId(ref)}) does not exist yet: run the pipeline first (lakelet run -c ${this.config.file})`);
  }
}

/**
 * The typed filter in GoogleSQL: the value is a STRING query parameter CAST to the column's type (so
 * `amount > 25` compares numbers), or, for types a string cannot be cast to, compared with the
 * column's text. `contains` is case-insensitive on the text, as on Delta.
 */
export function filterSql(filters: Filter[], types: Map<string, string>): { sql: string; params: Record<string, QueryParam> } | undefined {
  if (filters.length === 0) return undefined;
  const params: Record<string, QueryParam> = {};
  const parts = filters.map((f, i) => {
    const col = quoteIdent(f.column);
    const type = (types.get(f.column) ?? 'STRING').replace(/\(.*$/, '').trim().toUpperCase();
    const p = `f${i}`;
    switch (f.op) {
      case 'is null':
        return `${col} IS NULL`;
      case 'is not null':
        return `${col} IS NOT NULL`;
      case 'contains':
        params[p] = f.value!.toLowerCase();
        return `STRPOS(LOWER(${textOf(col, type)}), @${p}) > 0`;
      default:
        params[p] = f.value!;
        return CASTABLE.has(type) ? `${col} ${f.op} CAST(@${p} AS ${type})` : `${textOf(col, type)} ${f.op} @${p}`;
    }
  });
  return { sql: parts.join(' AND '), params };
}

function textOf(col: string, type: string): string {
  if (type === 'STRING') return col;
  if (type === 'JSON') return `TO_JSON_STRING(${col})`;
  if (type === 'BYTES') return `TO_BASE64(${col})`;
  return `CAST(${col} AS STRING)`;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function batchOf(table: string): number {
  return Number(table.slice(table.lastIndexOf('_') + 1));
}
