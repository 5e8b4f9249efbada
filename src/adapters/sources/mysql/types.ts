import type { SourceColumn, WatermarkKind } from '../source.ts';

/** A column as information_schema.COLUMNS describes it (MySQL and MariaDB). */
export interface MysqlColumnInfo {
  name: string;
  dataType: string;
  columnType: string;
  precision: number | null;
  scale: number | null;
  /** MariaDB's JSON is LONGTEXT with a json_valid() CHECK. */
  isJson: boolean;
}

const cast = (type: string) => (e: string) => `CAST(${e} AS ${type})`;

/**
 * MySQL/MariaDB types → DuckDB (README, "Database sources: types"). Values arrive as text in a
 * UTC session (see mysql-source.ts), so DATETIME (no zone) stays a naive TIMESTAMP and TIMESTAMP
 * (stored in UTC, shown in the session's zone) becomes TIMESTAMPTZ at the right instant; zero
 * dates become NULL; tinyint(1) is MySQL's BOOLEAN; binary is base64 text.
 */
export function mysqlColumn(c: MysqlColumnInfo): SourceColumn {
  const t = c.dataType.toLowerCase();
  const unsigned = /\bunsigned\b/i.test(c.columnType);
  const kinds: Record<string, WatermarkKind> = { date: 'date', datetime: 'timestamp', timestamp: 'timestamptz', tinyint: 'integer', smallint: 'integer', mediumint: 'integer', int: 'integer', integer: 'integer', bigint: 'integer' };
  const watermark = t === 'tinyint' && /^tinyint\(1\)/i.test(c.columnType) ? undefined : kinds[t];
  const col = (duckType: string, decode: (e: string) => string = cast(duckType)): SourceColumn => ({ name: c.name, sourceType: c.columnType, duckType, decode, ...(watermark ? { watermark } : {}) });
  if (c.isJson || t === 'json') return col('JSON');
  if (t === 'tinyint' && /^tinyint\(1\)/i.test(c.columnType)) return col('BOOLEAN', (e) => `(CAST(${e} AS TINYINT) <> 0)`);
  const ints: Record<string, [string, string]> = { tinyint: ['TINYINT', 'UTINYINT'], smallint: ['SMALLINT', 'USMALLINT'], mediumint: ['INTEGER', 'UINTEGER'], int: ['INTEGER', 'UINTEGER'], integer: ['INTEGER', 'UINTEGER'], bigint: ['BIGINT', 'DECIMAL(20,0)'] };
  if (ints[t]) return col(ints[t][unsigned ? 1 : 0]);
  if (t === 'decimal' || t === 'numeric') return (c.precision ?? 10) <= 38 ? col(`DECIMAL(${c.precision ?? 10},${c.scale ?? 0})`) : col('VARCHAR');
  if (t === 'float') return col('FLOAT');
  if (t === 'double' || t === 'real') return col('DOUBLE');
  if (t === 'bit') return (c.precision ?? 1) === 1 ? col('BOOLEAN', (e) => `(CAST(${e} AS DECIMAL(20,0)) <> 0)`) : col('DECIMAL(20,0)');
  if (t === 'year') return col('SMALLINT');
  if (t === 'date') return col('DATE');
  if (t === 'datetime') return col('TIMESTAMP');
  if (t === 'timestamp') return col('TIMESTAMPTZ', (e) => `CAST(${e} || '+00' AS TIMESTAMPTZ)`);
  // Delta has no TIME type: the server's text ('838:59:59' fits no clock anyway).
  if (t === 'time') return col('VARCHAR');
  if (/(binary|blob)$/.test(t) || ['geometry', 'point', 'linestring', 'polygon'].includes(t)) return col('BLOB', (e) => `from_base64(${e})`);
  // char, varchar, *text, enum, set, uuid (MariaDB), inet4/6: text.
  return col('VARCHAR');
}

/** Temporal types a zero date can hide in. */
export const DATE_TYPES = new Set(['date', 'datetime', 'timestamp']);

/** '0000-00-00', '2024-00-10 …': MySQL's "zero" dates, which no other system has. */
export function isZeroDate(v: string): boolean {
  return /^\d{4}-00-|^\d{4}-\d{2}-00|^0000-/.test(v);
}
