import type { SourceColumn, WatermarkKind } from '../source.ts';

/** A column as information_schema.columns describes it. */
export interface PostgresColumnInfo {
  name: string;
  dataType: string;
  udtName: string;
  precision: number | null;
  scale: number | null;
}

const cast = (type: string) => (e: string) => `CAST(${e} AS ${type})`;

/**
 * PostgreSQL's `infinity` / `-infinity` dates and timestamps: DuckDB would keep them, but in Parquet
 * they are the type's extreme values, which other Delta readers cannot turn into a date (delta-rs
 * overflows on them, and -infinity came back as year -28164): NULL, as MySQL's zero dates are.
 */
const temporal = (type: string) => (e: string) => `CASE WHEN ${e} IN ('infinity', '-infinity') THEN NULL ELSE CAST(${e} AS ${type}) END`;

/**
 * PostgreSQL types → DuckDB (README, "Database sources: types"). Values arrive as PostgreSQL's
 * text output in a UTC, ISO-DateStyle session: timestamptz as a UTC instant, timestamp naive,
 * bytea as base64 (converted from hex by postgres-source.ts). NUMERIC without precision (or above
 * 38 digits) stays exact text: no DuckDB decimal holds every such value.
 */
export function postgresColumn(c: PostgresColumnInfo): SourceColumn {
  const t = c.dataType.toLowerCase();
  const kinds: Record<string, WatermarkKind> = { date: 'date', 'timestamp without time zone': 'timestamp', 'timestamp with time zone': 'timestamptz', smallint: 'integer', integer: 'integer', bigint: 'integer' };
  const watermark = kinds[t];
  const col = (duckType: string, decode: (e: string) => string = cast(duckType)): SourceColumn => ({ name: c.name, sourceType: t === 'user-defined' ? c.udtName : t, duckType, decode, ...(watermark ? { watermark } : {}) });
  switch (t) {
    case 'smallint': return col('SMALLINT');
    case 'integer': return col('INTEGER');
    case 'bigint': return col('BIGINT');
    case 'numeric': return c.precision !== null && c.precision <= 38 ? col(`DECIMAL(${c.precision},${c.scale ?? 0})`) : col('VARCHAR');
    case 'real': return col('FLOAT');
    case 'double precision': return col('DOUBLE');
    case 'boolean': return col('BOOLEAN');
    case 'date': return col('DATE', temporal('DATE'));
    case 'timestamp without time zone': return col('TIMESTAMP', temporal('TIMESTAMP'));
    case 'timestamp with time zone': return col('TIMESTAMPTZ', temporal('TIMESTAMPTZ'));
    case 'uuid': return col('UUID');
    case 'json': case 'jsonb': return col('JSON');
    case 'bytea': return col('BLOB', (e) => `from_base64(${e})`);
    // text, varchar, char, enums (USER-DEFINED), arrays (text form '{…}'), inet, money, timetz, …
    default: return col('VARCHAR');
  }
}
