import type { SourceColumn, WatermarkKind } from '../source.ts';

const cast = (type: string) => (e: string) => `CAST(${e} AS ${type})`;

/**
 * BigQuery types → DuckDB (README, "Database sources: types"). Values are turned into text by the
 * query itself (sql.ts `select`), so nothing passes through JS numbers: INT64 and NUMERIC exact,
 * TIMESTAMP as a UTC instant, DATETIME as stored (no zone), BYTES base64, ARRAY/STRUCT as JSON.
 */
export function bigQueryColumn(name: string, dataType: string): SourceColumn {
  const t = dataType.toUpperCase();
  const base = t.replace(/[<(].*$/s, '').trim();
  const kinds: Record<string, WatermarkKind> = { DATE: 'date', DATETIME: 'timestamp', TIMESTAMP: 'timestamptz', INT64: 'integer' };
  const col = (duckType: string, decode: (e: string) => string = cast(duckType)): SourceColumn => ({ name, sourceType: dataType, duckType, decode, ...(kinds[base] ? { watermark: kinds[base] } : {}) });
  switch (base) {
    case 'INT64':
      return col('BIGINT');
    case 'NUMERIC':
      return col(`DECIMAL(${/\(\s*(\d+)\s*,\s*(\d+)\s*\)/.exec(t)?.slice(1, 3).join(',') ?? '38,9'})`);
    case 'FLOAT64':
      return col('DOUBLE');
    case 'BOOL':
      return col('BOOLEAN');
    case 'DATE':
      return col('DATE');
    case 'DATETIME':
      return col('TIMESTAMP');
    case 'TIMESTAMP':
      return col('TIMESTAMPTZ');
    case 'BYTES':
      return col('BLOB', (e) => `from_base64(${e})`);
    case 'JSON':
    case 'ARRAY':
    case 'STRUCT':
      return col('JSON');
    default:
      // STRING, BIGNUMERIC (beyond DECIMAL(38)), TIME (no Delta type), GEOGRAPHY (WKT), INTERVAL, RANGE: text.
      return col('VARCHAR');
  }
}

/** The BigQuery SQL turning column `ident` of this type into the text the decode above reads. */
export function bigQueryText(ident: string, dataType: string): string {
  const base = dataType.toUpperCase().replace(/[<(].*$/s, '').trim();
  if (base === 'STRING') return ident;
  if (base === 'BYTES') return `TO_BASE64(${ident})`;
  if (base === 'TIMESTAMP') return `FORMAT_TIMESTAMP('%Y-%m-%d %H:%M:%E6S+00', ${ident}, 'UTC')`;
  if (base === 'JSON' || base === 'ARRAY' || base === 'STRUCT') return `TO_JSON_STRING(${ident})`;
  return `CAST(${ident} AS STRING)`;
}
