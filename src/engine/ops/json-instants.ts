import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';

/**
 * Text of a date and a time of day that ends in Z or a UTC offset (`+02:00`, `-0500`, `+02`): an
 * instant. One pattern for JavaScript and DuckDB (RE2) alike; match it case-insensitively.
 */
export const WITH_OFFSET_PATTERN = String.raw`\d[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$`;

/**
 * DuckDB's JSON reader infers `2024-01-01T05:00:00+02:00` as the wall-clock TIMESTAMP 03:00 (UTC):
 * a Delta timestamp_ntz, which also needs a reader-version-3 table feature. Its CSV sniffer, Spark
 * and BigQuery infer an instant. This returns the source SQL with each TIMESTAMP column whose text
 * names an offset read as TIMESTAMPTZ (the same instant: the reader already converted it to UTC,
 * and lakelet's DuckDB runs in UTC). One read of the file's raw objects, only when DuckDB inferred
 * a TIMESTAMP column.
 */
export async function jsonInstantsSql(compute: Compute, sql: string, file: string, format: 'json' | 'ndjson'): Promise<string> {
  const described = await compute.query<{ column_name: string; column_type: string }>(`DESCRIBE ${sql}`);
  const candidates = described.filter((c) => c.column_type === 'TIMESTAMP').map((c) => c.column_name);
  if (candidates.length === 0) return sql;
  const tests = candidates.map((name, i) => `coalesce(bool_or(regexp_matches(trim(j->>${sqlString(name)}), ${sqlString(WITH_OFFSET_PATTERN)}, 'i')), false) AS c${i}`);
  const [row] = await compute.query<Record<string, boolean>>(
    `SELECT ${tests.join(', ')} FROM read_json_objects(${sqlString(file)}, format = ${sqlString(format === 'ndjson' ? 'newline_delimited' : 'auto')}) t(j)`,
  );
  const instants = candidates.filter((_, i) => row[`c${i}`] === true);
  if (instants.length === 0) return sql;
  return `SELECT * REPLACE (${instants.map((c) => `CAST(${sqlIdent(c)} AS TIMESTAMPTZ) AS ${sqlIdent(c)}`).join(', ')}) FROM (${sql})`;
}
