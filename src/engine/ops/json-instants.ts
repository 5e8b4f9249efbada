import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';

/**
 * Text of a date and a time of day that ends in Z or a UTC offset (`+02:00`, `-0500`, `+02`): an
 * instant.
 */
const WITH_OFFSET = new RegExp(String.raw`\d[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$`, 'i');

interface DescribedColumn {
  column_name: string;
  column_type: string;
}

/**
 * DuckDB's JSON reader infers `2024-01-01T05:00:00+02:00` as the wall-clock TIMESTAMP 03:00 (UTC):
 * a Delta timestamp_ntz, which also needs a reader-version-3 table feature. Its CSV sniffer, Spark
 * and BigQuery infer an instant. This returns the source SQL with each TIMESTAMP column whose text
 * names an offset read as TIMESTAMPTZ (the same instant: the reader already converted it to UTC,
 * and lakelet's DuckDB runs in UTC). The columns come back as DESCRIBE gives them for the
 * returned SQL.
 *
 * A column's first value decides (namesOffset): DuckDB types a column TIMESTAMP only when its
 * values share one notation (`Z` beside `+02:00` is one, `…Z` beside `…05:00` is text), so one value
 * tells for all, and the read of the raw objects stops at it. Testing every value took 36–72 ms of
 * a 100,000-row file; the first value's read takes about a millisecond.
 */
export async function jsonInstantsSql(compute: Compute, sql: string, file: string, format: 'json' | 'ndjson'): Promise<{ sql: string; columns: DescribedColumn[] }> {
  const described = await compute.query<DescribedColumn>(`DESCRIBE ${sql}`);
  const candidates = described.filter((c) => c.column_type === 'TIMESTAMP').map((c) => c.column_name);
  if (candidates.length === 0) return { sql, columns: described };
  const objects = `read_json_objects(${sqlString(file)}, format = ${sqlString(format === 'ndjson' ? 'newline_delimited' : 'auto')}) t(j)`;
  const firsts = candidates.map((name, i) => `(SELECT j->>${sqlString(name)} FROM ${objects} WHERE j->>${sqlString(name)} IS NOT NULL LIMIT 1) AS c${i}`);
  const [row] = await compute.query<Record<string, string | null>>(`SELECT ${firsts.join(', ')}`);
  const instants = new Set(candidates.filter((_, i) => namesOffset(row[`c${i}`])));
  if (instants.size === 0) return { sql, columns: described };
  return {
    sql: `SELECT * REPLACE (${[...instants].map((c) => `CAST(${sqlIdent(c)} AS TIMESTAMPTZ) AS ${sqlIdent(c)}`).join(', ')}) FROM (${sql})`,
    // As DESCRIBE names the cast columns' type: the caller need not describe the file again.
    columns: described.map((c) => (instants.has(c.column_name) ? { ...c, column_type: 'TIMESTAMP WITH TIME ZONE' } : c)),
  };
}

/**
 * Whether a TIMESTAMP column's first value (as text) names an offset; one value tells for the
 * column (see jsonInstantsSql).
 */
export function namesOffset(first: unknown): boolean {
  return typeof first === 'string' && WITH_OFFSET.test(first.trim());
}
