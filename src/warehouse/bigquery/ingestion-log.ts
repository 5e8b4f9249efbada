import type { IngestionLogTable, LogRow } from '../warehouse.ts';
import type { BigQueryClient } from './client.ts';
import { LEDGER_TABLE, ledgerInsert, ledgerSelect, notYet, type LedgerCache } from './ledger.ts';
import { literal, quoteString } from './types.ts';

/**
 * The ingestion log as a BigQuery table (seed 004's file-information table): one row per landed
 * file per batch, shared by the pipelines of a config. A batch's rows and its `log` ledger row are
 * inserted in one transaction, guarded, so a batch's rows are there once. `load_path` says how
 * each file reached BigQuery: `in-process` (read and checked here, loaded as the batch's Parquet)
 * or `load-job` (a load job straight from its gs:// URI, seed 004's path for big files).
 */
const COLUMNS: [keyof LogRow | 'load_path', string][] = [
  ['pipeline', 'STRING'], ['batch', 'INT64'], ['file_name', 'STRING'], ['size', 'INT64'], ['sha256', 'STRING'], ['records', 'INT64'],
  ['rows_rejected', 'INT64'], ['rows_rescued', 'INT64'], ['status', 'STRING'], ['stage_version', 'INT64'], ['target_version', 'INT64'],
  ['read_ms', 'INT64'], ['stage_ms', 'INT64'], ['merge_ms', 'INT64'], ['total_ms', 'INT64'], ['error', 'STRING'], ['repaired', 'BOOL'],
  ['repairs', 'STRING'], ['moved_to', 'STRING'], ['logged_at', 'TIMESTAMP'], ['load_path', 'STRING'],
];

/** The log's CREATE (the warehouse runs it with its other set-up statements, one job). */
export function createLogSql(client: BigQueryClient, table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${client.table(table)} (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`;
}

export class BigQueryIngestionLog implements IngestionLogTable {
  constructor(
    private readonly client: BigQueryClient,
    private readonly ledger: LedgerCache,
    readonly table: string,
  ) {}

  async appliedVersion(pipeline: string): Promise<number> {
    const rows = await this.ledger.rows(pipeline, 'log');
    return rows.length ? Math.max(...rows.map((r) => r.batch)) : 0;
  }

  /** The batch's rows and its `log` ledger row in one transaction; the script ends selecting the ledger row (one job). */
  async append(pipeline: string, seq: number, rows: LogRow[]): Promise<number> {
    const script = [
      'BEGIN TRANSACTION',
      `${this.insert(rows)} WHERE ${notYet(this.client, pipeline, 'log', seq)}`,
      ledgerInsert(this.client, pipeline, 'log', seq, { staged_rows: rows.length, committed_at: Date.now() }),
      'COMMIT TRANSACTION',
      ledgerSelect(this.client, pipeline, 'log', seq),
    ];
    const row = await this.ledger.write(pipeline, 'log', seq, script.join(';\n') + ';', `writing the ingestion-log rows of batch ${seq} of ${pipeline}`);
    return row.version;
  }

  async record(rows: LogRow[]): Promise<number> {
    await this.client.query(this.insert(rows), `writing ingestion-log rows to ${this.table}`);
    const [r] = await this.client.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${this.client.table(this.table)}`);
    return Number(r.n);
  }

  async read(options: { pipeline?: string; limit?: number } = {}): Promise<Record<string, unknown>[]> {
    const rows = await this.client.query(
      `SELECT * EXCEPT(logged_at), UNIX_MILLIS(logged_at) AS logged_at FROM ${this.client.table(this.table)}${options.pipeline ? ` WHERE pipeline = ${quoteString(options.pipeline)}` : ''} ` +
        `ORDER BY logged_at DESC, batch DESC, file_name${options.limit !== undefined ? ` LIMIT ${options.limit}` : ''}`,
      `reading ${this.table}`,
    );
    // logged_at as DuckDB's JSON rows give a TIMESTAMPTZ (the Delta log's read), so status prints both alike.
    return rows.map((r) => ({ ...r, logged_at: new Date(Number(r.logged_at)).toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '') + '+00' }));
  }

  close(): void {}

  /** `INSERT … SELECT` of the rows (no WHERE yet: append adds its guard). */
  private insert(rows: LogRow[]): string {
    const selects = rows.map((r) => `SELECT ${COLUMNS.map(([k, type]) => `${literal((r as unknown as Record<string, unknown>)[k] ?? (k === 'load_path' ? 'in-process' : null), type)} AS ${k}`).join(', ')}`);
    return `INSERT INTO ${this.client.table(this.table)} (${COLUMNS.map(([k]) => k).join(', ')}) SELECT * FROM (${selects.join(' UNION ALL ')})`;
  }
}

export { LEDGER_TABLE };
