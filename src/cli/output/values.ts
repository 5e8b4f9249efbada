import {
  DuckDBTypeId,
  type DuckDBArrayType,
  type DuckDBConnection,
  type DuckDBListType,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
} from '@duckdb/node-api';
import { sqlIdent, sqlString } from '../../adapters/compute/duckdb.ts';

/**
 * The one value encoding every output format shares: DuckDB turns each cell into JSON text, so that
 * 64-bit integers and decimals are JSON strings (never rounded through a JS number), timestamps are
 * ISO-8601 (`…Z` for instants, no zone for timestamp_ntz), dates `YYYY-MM-DD`, binary base64, and
 * nested values JSON with the same rules applied inside. ndjson splices the text as is; csv and the
 * table format unwrap strings.
 */
export interface OutputColumn {
  name: string;
  type: DuckDBType;
  /** Right-aligned in the table format. */
  numeric: boolean;
}

/** Names and types of a query's result columns, without running it. */
export async function outputColumns(connection: DuckDBConnection, sql: string): Promise<OutputColumn[]> {
  const prepared = await connection.prepare(sql);
  try {
    const columns: OutputColumn[] = [];
    for (let i = 0; i < prepared.columnCount; i++) {
      const type = prepared.columnType(i);
      columns.push({ name: prepared.columnName(i), type, numeric: isNumeric(type) });
    }
    return columns;
  } finally {
    prepared.destroySync();
  }
}

/** A SELECT over `sql` whose i-th column (`c<i>`) is the JSON text of the i-th input column, or NULL. */
export function jsonTextSelect(sql: string, columns: OutputColumn[]): string {
  if (columns.length === 0) return `SELECT NULL::VARCHAR AS c0 FROM (${sql}) AS __q WHERE false`;
  const projections = columns.map(
    (c, i) => `CAST(${jsonExpr(`__q.${sqlIdent(c.name)}`, c.type, 0)} AS VARCHAR) AS ${sqlIdent(`c${i}`)}`,
  );
  return `SELECT ${projections.join(', ')} FROM (${sql}) AS __q`;
}

const ISO_SECONDS = '%Y-%m-%dT%H:%M:%S.%f';

/** A SQL expression of type JSON for `expr` of DuckDB type `type` (NULL stays NULL). */
function jsonExpr(expr: string, type: DuckDBType, depth: number): string {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return `to_json(${expr})`;
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
    case DuckDBTypeId.DECIMAL:
      return `to_json(CAST(${expr} AS VARCHAR))`;
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      // The shortest decimal form (1.1, not 1.100000023841858 for a FLOAT); JSON has no NaN or
      // infinities, so those become strings the way Spark's to_json writes them.
      return (
        `CASE WHEN ${expr} IS NULL THEN NULL::JSON ` +
        `WHEN isnan(${expr}) THEN '"NaN"'::JSON ` +
        `WHEN isinf(${expr}) THEN (CASE WHEN ${expr} > 0 THEN '"Infinity"' ELSE '"-Infinity"' END)::JSON ` +
        `ELSE CAST(CAST(${expr} AS VARCHAR) AS JSON) END`
      );
    case DuckDBTypeId.DATE:
      return `to_json(strftime(${expr}, '%Y-%m-%d'))`;
    case DuckDBTypeId.TIMESTAMP_TZ:
      return `to_json(strftime(${expr} AT TIME ZONE 'UTC', ${sqlString(ISO_SECONDS + 'Z')}))`;
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return `to_json(strftime(CAST(${expr} AS TIMESTAMP), ${sqlString(ISO_SECONDS)}))`;
    case DuckDBTypeId.BLOB:
      return `to_json(to_base64(${expr}))`;
    case DuckDBTypeId.VARCHAR:
      return `to_json(${expr})`;
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      const args = struct.entryNames.map(
        (name, i) => `${sqlString(name)}, ${jsonExpr(`${expr}.${sqlIdent(name)}`, struct.entryTypes[i], depth + 1)}`,
      );
      return `CASE WHEN ${expr} IS NULL THEN NULL::JSON ELSE json_object(${args.join(', ')}) END`;
    }
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const element = (type as DuckDBListType | DuckDBArrayType).valueType;
      const v = `__e${depth}`;
      return `to_json(list_transform(${expr}, lambda ${v}: ${jsonExpr(v, element, depth + 1)}))`;
    }
    case DuckDBTypeId.MAP: {
      // A JSON object with the keys as text, as Spark and delta-rs print maps.
      const map = type as DuckDBMapType;
      const kv = `__kv${depth}`;
      const entry = `{'key': CAST(${kv}.key AS VARCHAR), 'value': ${jsonExpr(`${kv}.value`, map.valueType, depth + 1)}}`;
      return `to_json(map_from_entries(list_transform(map_entries(${expr}), lambda ${kv}: ${entry})))`;
    }
    default:
      // UUID, ENUM, TIME, INTERVAL, BIT, UNION, …: DuckDB's text form.
      return `to_json(CAST(${expr} AS VARCHAR))`;
  }
}

function isNumeric(type: DuckDBType): boolean {
  switch (type.typeId) {
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
    case DuckDBTypeId.DECIMAL:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return true;
    default:
      return false;
  }
}

/** The plain-text form of a JSON-text cell: strings unwrapped, everything else as JSON, NULL as null. */
export function plainText(json: string | null): string | null {
  if (json === null) return null;
  return json.startsWith('"') ? (JSON.parse(json) as string) : json;
}
