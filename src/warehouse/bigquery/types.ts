import { InputError } from '../../errors/lakelet-error.ts';

/**
 * Column types between the pipeline (DuckDB's names, what its checks and Parquet speak) and
 * BigQuery (GoogleSQL). Documented in README, "BigQuery warehouse: types".
 *
 *   DuckDB                      → BigQuery     → back
 *   BOOLEAN                       BOOL           BOOLEAN
 *   TINYINT … BIGINT, U* ≤ 32     INT64          BIGINT
 *   UBIGINT, HUGEINT              BIGNUMERIC     DECIMAL(38,0)   (beyond INT64)
 *   FLOAT, DOUBLE                 FLOAT64        DOUBLE
 *   DECIMAL(p,s), p-s ≤ 29, s ≤ 9 NUMERIC        DECIMAL(38,9)
 *   DECIMAL(p,s) otherwise        BIGNUMERIC     DECIMAL(38,s)   (DuckDB stops at 38 digits)
 *   VARCHAR                       STRING         VARCHAR
 *   BLOB                          BYTES          BLOB
 *   DATE                          DATE           DATE
 *   TIME                          TIME           TIME
 *   TIMESTAMP (no zone)           DATETIME       TIMESTAMP       (a wall-clock time, no instant)
 *   TIMESTAMP WITH TIME ZONE      TIMESTAMP      TIMESTAMP WITH TIME ZONE (an instant, UTC)
 *   JSON                          JSON           JSON
 *   INTERVAL                      INTERVAL       INTERVAL
 *   UUID                          STRING         VARCHAR
 *   LIST / STRUCT / MAP           not mapped: an InputError naming the column (flatten it with a transform)
 */
export function bigQueryType(duckdb: string, column: string): string {
  const t = duckdb.trim().toUpperCase();
  if (t === 'BOOLEAN' || t === 'BOOL') return 'BOOL';
  if (['TINYINT', 'SMALLINT', 'INTEGER', 'INT', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER'].includes(t)) return 'INT64';
  if (t === 'UBIGINT' || t === 'HUGEINT' || t === 'UHUGEINT') return 'BIGNUMERIC';
  if (t === 'FLOAT' || t === 'DOUBLE' || t === 'REAL') return 'FLOAT64';
  const dec = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (dec) return Number(dec[1]) - Number(dec[2]) <= 29 && Number(dec[2]) <= 9 ? 'NUMERIC' : 'BIGNUMERIC';
  if (t === 'VARCHAR' || t === 'UUID' || t.startsWith('VARCHAR(')) return 'STRING';
  if (t === 'BLOB') return 'BYTES';
  if (t === 'DATE') return 'DATE';
  if (t === 'TIME') return 'TIME';
  if (t === 'TIMESTAMP' || t === 'TIMESTAMP_S' || t === 'TIMESTAMP_MS' || t === 'TIMESTAMP_NS') return 'DATETIME';
  if (t === 'TIMESTAMP WITH TIME ZONE' || t === 'TIMESTAMPTZ') return 'TIMESTAMP';
  if (t === 'JSON') return 'JSON';
  if (t === 'INTERVAL') return 'INTERVAL';
  throw new InputError(
    `column '${column}' has type ${duckdb}, which lakelet does not map to a BigQuery column type; cast it (transforms: { ${column}: { cast: VARCHAR } }) or flatten it before the warehouse.`,
  );
}

/** A BigQuery column type (as INFORMATION_SCHEMA or a table's schema names it) in DuckDB's terms. */
export function duckdbType(bigquery: string): string {
  const t = bigquery.trim().toUpperCase().replace(/\(.*\)$/, '');
  switch (t) {
    case 'BOOL':
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'INT64':
    case 'INTEGER':
      return 'BIGINT';
    case 'FLOAT64':
    case 'FLOAT':
      return 'DOUBLE';
    case 'NUMERIC':
      return 'DECIMAL(38,9)';
    case 'BIGNUMERIC':
      return 'DECIMAL(38,0)';
    case 'STRING':
      return 'VARCHAR';
    case 'BYTES':
      return 'BLOB';
    case 'DATETIME':
      return 'TIMESTAMP';
    case 'TIMESTAMP':
      return 'TIMESTAMP WITH TIME ZONE';
    default:
      return t; // DATE, TIME, JSON, INTERVAL have the same name
  }
}

/** Types BigQuery may partition a table by (a day partition of the column). */
export function partitionExpression(column: string, bigquery: string): string | undefined {
  if (bigquery === 'DATE') return quoteIdent(column);
  if (bigquery === 'TIMESTAMP') return `TIMESTAMP_TRUNC(${quoteIdent(column)}, DAY)`;
  if (bigquery === 'DATETIME') return `DATETIME_TRUNC(${quoteIdent(column)}, DAY)`;
  return undefined;
}

/** Types BigQuery may cluster by. */
export function clusterable(bigquery: string): boolean {
  return ['INT64', 'STRING', 'DATE', 'DATETIME', 'TIMESTAMP', 'BOOL', 'NUMERIC', 'BIGNUMERIC', 'BYTES'].includes(bigquery);
}

/** GoogleSQL identifier (a column). */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/**
 * GoogleSQL string literal. Scripts (BEGIN TRANSACTION … COMMIT) take no query parameters on the
 * emulator, so values in them are literals, every one through here.
 */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

/** A JS value as a GoogleSQL literal of `type`. */
export function literal(value: unknown, type: string): string {
  if (value === null || value === undefined) return `CAST(NULL AS ${type})`;
  switch (type) {
    case 'INT64':
      return `${Math.round(Number(value))}`;
    case 'BOOL':
      return value ? 'TRUE' : 'FALSE';
    case 'TIMESTAMP':
      return `TIMESTAMP_MILLIS(${Math.round(Number(value))})`;
    default:
      return `CAST(${quoteString(String(value))} AS ${type})`;
  }
}
