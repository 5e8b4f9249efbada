import { plain, type BigQueryClient } from './client.ts';
import { bigQueryErrorFrom } from './bigquery-error.ts';
import { quoteIdent } from './types.ts';

/**
 * Read-only looks at a dataset for readers other than the pipeline (`lakelet ui`): queries with
 * query parameters (values never spliced into SQL text), a table's columns with their partitioning
 * and clustering from INFORMATION_SCHEMA.COLUMNS, and its metadata (rows, bytes, partitioning,
 * clustering, times) from the tables API. Nothing here writes.
 */
export type QueryParam = string | number | boolean;

/** One query job with named parameters (`@name` in the SQL); rows with plain JS values, INT64 as strings. */
export async function queryWithParams(client: BigQueryClient, sql: string, params: Record<string, QueryParam>, what: string): Promise<Record<string, unknown>[]> {
  client.stats.jobs++;
  try {
    const [job] = await client.bq.createQueryJob({ query: sql, params, location: client.settings.location });
    const [rows] = await job.getQueryResults({ wrapIntegers: { integerTypeCastFunction: (v: string) => v } });
    return rows.map((r) => plain(r as Record<string, unknown>, 'base64'));
  } catch (err) {
    throw bigQueryErrorFrom(err, `${what} (${sql.replace(/\s+/g, ' ').slice(0, 120)}…)`);
  }
}

export interface CatalogColumn {
  table: string;
  name: string;
  /** GoogleSQL type as INFORMATION_SCHEMA names it (INT64, STRING, NUMERIC(10, 2), …). */
  type: string;
  nullable: boolean;
  partitioning: boolean;
  /** 1-based position among the clustering columns, or null. */
  clustering: number | null;
}

/** The columns of the named tables (or of every table whose id starts with `prefix`), in column order. */
export async function catalogColumns(client: BigQueryClient, which: { tables: string[] } | { prefix: string }): Promise<CatalogColumn[]> {
  const view = quoteIdent(`${client.settings.project}.${client.settings.dataset}.INFORMATION_SCHEMA.COLUMNS`);
  const [where, params]: [string, Record<string, QueryParam>] =
    'prefix' in which ? ['STARTS_WITH(table_name, @prefix)', { prefix: which.prefix }] : [which.tables.map((_, i) => `table_name = @t${i}`).join(' OR ') || 'FALSE', Object.fromEntries(which.tables.map((t, i) => [`t${i}`, t]))];
  const rows = await queryWithParams(
    client,
    `SELECT table_name, column_name, data_type, is_nullable, is_partitioning_column, clustering_ordinal_position FROM ${view} WHERE ${where} ORDER BY table_name, ordinal_position`,
    params,
    `reading the columns of ${'prefix' in which ? `${which.prefix}*` : which.tables.join(', ')}`,
  );
  return rows.map((r) => ({
    table: String(r.table_name),
    name: String(r.column_name),
    type: String(r.data_type),
    nullable: String(r.is_nullable).toUpperCase() !== 'NO',
    partitioning: String(r.is_partitioning_column).toUpperCase() === 'YES',
    clustering: r.clustering_ordinal_position === null || r.clustering_ordinal_position === undefined ? null : Number(r.clustering_ordinal_position),
  }));
}

export interface TableInfo {
  id: string;
  numRows: number | null;
  numBytes: number | null;
  created: number | null;
  modified: number | null;
  /** `DAY(column)`, `HOUR(_PARTITIONTIME)`, … or null. */
  partitioning: string | null;
  clustering: string[];
}

/** A table's metadata (one API call, no job); undefined when the table does not exist. */
export async function tableInfo(client: BigQueryClient, table: string): Promise<TableInfo | undefined> {
  try {
    const [m] = (await client.bq.dataset(client.settings.dataset).table(table).getMetadata()) as unknown as [Record<string, any>];
    const num = (v: unknown) => (v === undefined || v === null || v === '' ? null : Number(v));
    const tp = m.timePartitioning as { type?: string; field?: string } | undefined;
    const rp = m.rangePartitioning as { field?: string } | undefined;
    return {
      id: table,
      numRows: num(m.numRows),
      numBytes: num(m.numBytes),
      created: num(m.creationTime),
      modified: num(m.lastModifiedTime),
      partitioning: tp ? `${tp.type ?? 'DAY'}(${tp.field ?? '_PARTITIONTIME'})` : rp?.field ? `RANGE_BUCKET(${rp.field})` : null,
      clustering: (m.clustering?.fields as string[] | undefined) ?? [],
    };
  } catch (err) {
    const e = err as { code?: number; errors?: { reason?: string }[] };
    if (e.code === 404 || e.errors?.some((x) => x.reason === 'notFound')) return undefined;
    throw bigQueryErrorFrom(err, `reading the metadata of ${table}`);
  }
}

