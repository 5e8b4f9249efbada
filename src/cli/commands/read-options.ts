/** What `lakelet read` was asked for, shared by its two paths (read-direct.ts, read-duckdb.ts). */
export type ReadFormat = 'table' | 'ndjson' | 'csv';

export interface ReadOptions {
  version?: number;
  timestamp?: string;
  where?: string;
  columns?: string[];
  limit?: number;
  format: ReadFormat;
}

export const TABLE_FORMAT_LIMIT = 50;
