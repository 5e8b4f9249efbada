import type { ColumnType, Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';

/**
 * The one value encoding every output format shares: DuckDB turns each cell into JSON text, so that
 * 64-bit integers and decimals are JSON strings (never rounded through a JS number), timestamps are
 * ISO-8601 (`…Z` for instants, no zone for timestamp_ntz), dates `YYYY-MM-DD`, binary base64, and
 * nested values JSON with the same rules applied inside. ndjson splices the text as is; csv and the
 * table format unwrap strings.
 */
export interface OutputColumn {
  name: string;
  type: ColumnType;
  /** Right-aligned in the table format. */
  numeric: boolean;
}

/** Names and types of a query's result columns, without running it. */
export async function outputColumns(compute: Compute, sql: string): Promise<OutputColumn[]> {
  return (await compute.describe(sql)).map((c) => ({ name: c.name, type: c.type, numeric: isNumeric(c.type) }));
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

/** A SQL expression of type JSON for `expr` of type `type` (NULL stays NULL). */
function jsonExpr(expr: string, type: ColumnType, depth: number): string {
  switch (type.kind) {
    case 'struct': {
      const args = type.fields.map((f) => `${sqlString(f.name)}, ${jsonExpr(`${expr}.${sqlIdent(f.name)}`, f.type, depth + 1)}`);
      return `CASE WHEN ${expr} IS NULL THEN NULL::JSON ELSE json_object(${args.join(', ')}) END`;
    }
    case 'list': {
      const v = `__e${depth}`;
      return `to_json(list_transform(${expr}, lambda ${v}: ${jsonExpr(v, type.element, depth + 1)}))`;
    }
    case 'map': {
      // A JSON object with the keys as text, as Spark and delta-rs print maps.
      const kv = `__kv${depth}`;
      const entry = `{'key': CAST(${kv}.key AS VARCHAR), 'value': ${jsonExpr(`${kv}.value`, type.value, depth + 1)}}`;
      return `to_json(map_from_entries(list_transform(map_entries(${expr}), lambda ${kv}: ${entry})))`;
    }
    case 'scalar':
      return scalarJsonExpr(expr, type.name);
  }
}

function scalarJsonExpr(expr: string, name: string): string {
  switch (name) {
    case 'BOOLEAN':
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
      return `to_json(${expr})`;
    case 'BIGINT':
    case 'UBIGINT':
    case 'HUGEINT':
    case 'UHUGEINT':
    case 'BIGNUM':
    case 'DECIMAL':
      return `to_json(CAST(${expr} AS VARCHAR))`;
    case 'FLOAT':
    case 'DOUBLE':
      // The shortest decimal form (1.1, not 1.100000023841858 for a FLOAT); JSON has no NaN or
      // infinities, so those become strings the way Spark's to_json writes them.
      return (
        `CASE WHEN ${expr} IS NULL THEN NULL::JSON ` +
        `WHEN isnan(${expr}) THEN '"NaN"'::JSON ` +
        `WHEN isinf(${expr}) THEN (CASE WHEN ${expr} > 0 THEN '"Infinity"' ELSE '"-Infinity"' END)::JSON ` +
        `ELSE CAST(CAST(${expr} AS VARCHAR) AS JSON) END`
      );
    case 'DATE':
      return `to_json(strftime(${expr}, '%Y-%m-%d'))`;
    case 'TIMESTAMP_TZ':
      return `to_json(strftime(${expr} AT TIME ZONE 'UTC', ${sqlString(ISO_SECONDS + 'Z')}))`;
    case 'TIMESTAMP':
    case 'TIMESTAMP_S':
    case 'TIMESTAMP_MS':
    case 'TIMESTAMP_NS':
      return `to_json(strftime(CAST(${expr} AS TIMESTAMP), ${sqlString(ISO_SECONDS)}))`;
    case 'BLOB':
      return `to_json(to_base64(${expr}))`;
    case 'VARCHAR':
      return `to_json(${expr})`;
    default:
      // UUID, ENUM, TIME, INTERVAL, BIT, UNION, …: DuckDB's text form.
      return `to_json(CAST(${expr} AS VARCHAR))`;
  }
}

const NUMERIC = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT', 'BIGNUM', 'DECIMAL', 'FLOAT', 'DOUBLE']);

function isNumeric(type: ColumnType): boolean {
  return type.kind === 'scalar' && NUMERIC.has(type.name);
}

/** The plain-text form of a JSON-text cell: strings unwrapped, everything else as JSON, NULL as null. */
export function plainText(json: string | null): string | null {
  if (json === null) return null;
  return json.startsWith('"') ? (JSON.parse(json) as string) : json;
}
