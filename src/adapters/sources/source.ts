import { LakeletError } from '../../errors/lakelet-error.ts';
import type { SourceUrl } from './source-url.ts';

/**
 * The Source port: an incremental database source (mysql://, postgres://). It discovers tables,
 * and streams a table's rows in pages ordered by (watermark column, primary key), each row as text
 * (binary as base64), never a whole table at once. One folder per vendor with the same files:
 *
 *   <vendor>/<vendor>-source.ts   connect, discover, page, keys
 *   <vendor>/types.ts             the vendor's column types → DuckDB types and how to decode the text
 *   <vendor>/sql.ts               identifier quoting and the page / key queries (values bound, never spliced)
 *
 * The sync flow (pipeline/sync/) turns pages into Parquet (extract-writer.ts) and hands them to the
 * warehouse's stage → MERGE path.
 */

/** A column as the source has it, with the DuckDB type it lands as. */
export interface SourceColumn {
  name: string;
  /** The source's own type, as information_schema spells it (e.g. `bigint unsigned`, `timestamp with time zone`). */
  sourceType: string;
  /** The DuckDB type of the column in the lake. */
  duckType: string;
  /** DuckDB SQL turning the text value `expr` (VARCHAR) into `duckType`. */
  decode(expr: string): string;
  /** How the column can order a watermark (undefined: it cannot). */
  watermark?: WatermarkKind;
}

export type WatermarkKind = 'date' | 'timestamp' | 'timestamptz' | 'integer';

export interface SourceTable {
  schema: string;
  name: string;
  columns: SourceColumn[];
  /** Primary key columns in key order (empty: none). */
  primaryKey: string[];
}

/** Where a table's extract stands: the last row's watermark value and key, as text. */
export interface Position {
  value: string;
  key: string[];
}

export interface PageRequest {
  table: SourceTable;
  /** The watermark column (temporal or numeric); undefined: the table is read in full by key. */
  watermark: string | undefined;
  /** Rows strictly after this position (by watermark, then key). */
  after?: Position;
  /** Rows whose watermark is at least the watermark `value` minus `lookbackMs` (first page of an incremental run). */
  since?: { value: string; lookbackMs: number };
  /** Only the rows whose watermark is NULL, by key (`after.key`; `since` does not apply): they have no position. */
  nullWatermark?: boolean;
  limit: number;
}

/** One row: every column's value as text (binary as base64), NULL as null, in `table.columns` order. */
export type TextRow = (string | null)[];

/** Rows whose `column` is at least `value` minus `lookbackMs` (key-diff deletes scoped to a recent range). */
export interface KeyScope {
  column: string;
  value: string;
  lookbackMs: number;
}

export interface SourceConnection {
  readonly kind: 'mysql' | 'postgres' | 'bigquery';
  /** Every base table of these schemas (default: the database's own), with columns and primary keys. */
  tables(schemas?: string[]): Promise<SourceTable[]>;
  /** One page of rows, streamed. */
  page(request: PageRequest): AsyncIterable<TextRow>;
  /** Every primary key of the table (or of its rows in `since`'s range), streamed in key order, as text. */
  keys(table: SourceTable, pageSize: number, since?: KeyScope): AsyncIterable<TextRow>;
  close(): Promise<void>;
}

/** A source that cannot be reached or read: one line naming the source and what to do. */
export class SourceError extends LakeletError {
  constructor(
    readonly source: string,
    message: string,
    options?: { cause?: unknown; transient?: boolean },
  ) {
    super('SOURCE', `source '${source}': ${message}`, options);
  }
}

export interface SourceConnectOptions {
  /** The source's name in lakelet.yml (every error names it). */
  name: string;
  url: SourceUrl;
  password: string | undefined;
  /** TLS: require (encrypt, any certificate), verify-ca / verify-full (check against `ca`, or the system's CAs). */
  tls?: { mode: 'require' | 'verify-ca' | 'verify-full'; ca?: string };
  connectTimeoutMs: number;
}
