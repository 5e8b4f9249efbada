/**
 * The compute port: what the engine, the warehouse and the pipeline ask of a SQL engine that reads
 * and writes Parquet. They see only this interface; DuckDB (`duckdb/duckdb-compute.ts`) is the one
 * implementation, opened by `openCompute()`. The SQL spoken is DuckDB's dialect.
 */
export interface Compute {
  /** Runs SQL and returns rows as JSON-safe objects (bigints/decimals as strings). */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Runs SQL for its effect. */
  run(sql: string): Promise<void>;
  /**
   * Runs a query and yields its rows chunk by chunk (arrays of cell values in column order), so a
   * large result is never held at once.
   */
  stream(sql: string): AsyncIterable<unknown[][]>;
  /** Names and types of a query's result columns, without running it. */
  describe(sql: string): Promise<ResultColumn[]>;
  /**
   * Appends rows to an existing table whose columns are all INTEGER or BIGINT, given column by
   * column (arrays of one length, safe integers), without SQL text: for many rows of numbers
   * known in JavaScript (deletion vectors' row positions).
   */
  appendIntegers(table: string, columns: readonly (readonly number[])[]): Promise<void>;
  /**
   * The reverse: a query whose columns are all INTEGER or BIGINT, without NULLs (the query filters
   * them out), as one Float64Array per column, copied from DuckDB's vectors without a JS value per
   * cell (deletion vectors' row positions: hundreds of thousands of them).
   */
  integerColumns(sql: string): Promise<Float64Array[]>;
  /**
   * How many threads one query may use, when known (a hint for splitting work into parts the
   * engine runs side by side); undefined before a lazily opened engine has started.
   */
  readonly threads?: number;
  close(): void;
}

export interface ComputeOptions {
  /** e.g. '2GB'. Default: DuckDB's default (80% of RAM) capped at 4GB. */
  memoryLimit?: string;
  threads?: number;
  /** Where the engine spills. Default: <os tmp>/lakelet-spill. */
  spillDirectory?: string;
}

export interface ResultColumn {
  name: string;
  type: ColumnType;
}

/**
 * A result column's type, as deep as output formatting needs: nested types as a tree, every other
 * type by its DuckDB name (`BIGINT`, `DECIMAL`, `TIMESTAMP_TZ`, `VARCHAR`, `UUID`, …).
 */
export type ColumnType =
  | { kind: 'struct'; fields: { name: string; type: ColumnType }[] }
  /** LIST and fixed-size ARRAY alike. */
  | { kind: 'list'; element: ColumnType }
  | { kind: 'map'; key: ColumnType; value: ColumnType }
  | { kind: 'scalar'; name: string };
