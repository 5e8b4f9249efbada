import type { RowsPage } from './rows-page.ts';

/**
 * How the UI reads the tables a config names, whatever the warehouse: Delta tables through lakelet's
 * engine and DuckDB (delta-reader.ts), BigQuery tables through jobs on the dataset
 * (bigquery-reader.ts). The routes, the files page and the pipelines page call only this, so a page
 * works the same on both; what one warehouse lacks (versions, a change feed) it says in the answer
 * (`timeTravel: false`, `enabled: false`) instead of failing.
 */
export interface PageQuery {
  limit: number;
  offset: number;
}

export interface LogQuery {
  /** Part of the file name (case-insensitive). */
  q?: string;
  pipeline?: string;
  status?: string;
  /** Exactly this file name (a file's history). */
  file?: string;
  limit: number;
  offset: number;
  oldestFirst?: boolean;
}

export interface StatusCount {
  pipeline: string;
  status: string;
  files: number;
  records: number;
}

export interface TableReader {
  readonly warehouse: 'delta' | 'bigquery';
  /** Rows can be read as of an older version (the version picker). */
  readonly timeTravel: boolean;
  list(): Promise<Record<string, unknown>[]>;
  describe(id: string, version: number | undefined): Promise<Record<string, unknown>>;
  history(id: string, limit: number): Promise<Record<string, unknown>>;
  /** A page of rows (filtered), with the version read, the predicate used, and files read (null where the warehouse has no files). */
  rows(id: string, q: PageQuery & { version?: number; filters: string | null }): Promise<RowsPage & { version: number; where: string | null; filesScanned: number | null; filesTotal: number | null }>;
  changes(id: string, q: PageQuery & { from: number; to?: number }): Promise<Record<string, unknown>>;
  /** Files and records of the ingestion log by pipeline and status. */
  statusCounts(): Promise<StatusCount[]>;
  /** A page of ingestion-log rows, newest first (or oldest first for one file's history). */
  logPage(q: LogQuery): Promise<RowsPage>;
}
