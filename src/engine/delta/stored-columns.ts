/**
 * From a column as stored in the data files (physical names, the type DuckDB reads from Parquet)
 * to the table's logical column (logical names, the Delta type).
 *
 * Top-level primitives are always cast: INT96 and millisecond timestamps, widened integers, floats
 * and decimals all become the Delta type. A nested column (struct, array, map) is passed through
 * untouched when DuckDB already reads it with exactly the Delta type, which is the common case and
 * costs nothing; otherwise it is rebuilt field by field (struct_pack / list_transform /
 * map_from_entries) with the same casts, so a `timestamp` inside a struct that another engine wrote
 * as INT96 reads as an instant, like it does at top level, and a field the file lacks reads as NULL.
 */
import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent } from '../../adapters/compute/sql.ts';
import type { DataType } from './schema.ts';
import { isArray, isMap, isStruct } from './schema.ts';
import { physicalName, type ColumnMappingMode } from './column-mapping.ts';
import { deltaTypeToDuckDb, duckDbTypeToDelta } from './duckdb-types.ts';

export interface StoredColumn {
  /** SQL expression of the column as read (e.g. `d."payload"`). */
  expr: string;
  /** The column's Delta type. */
  type: DataType;
  /** The type DuckDB reads for it, exactly as DESCRIBE prints it. */
  storedType: string;
}

/**
 * One SQL expression per column, of the column's Delta type (logical names inside); a column no
 * file has (undefined) stays undefined.
 */
export async function logicalColumnExprs(
  compute: Compute,
  columns: ReadonlyArray<StoredColumn | undefined>,
  mode: ColumnMappingMode,
): Promise<Array<string | undefined>> {
  const nested = columns.flatMap((c) => (c && typeof c.type !== 'string' ? [deltaTypeToDuckDb(c.type)] : []));
  const spelled = await describeSpellings(compute, nested);
  return columns.map((c) => {
    if (c === undefined) return undefined;
    const wanted = deltaTypeToDuckDb(c.type);
    if (typeof c.type === 'string') return `CAST(${c.expr} AS ${wanted})`;
    if (spelled.get(wanted) === c.storedType) return c.expr;
    return rebuild(c.expr, c.type, parseStored(c.storedType), mode, 0);
  });
}

// How DESCRIBE spells a DuckDB type (`TIMESTAMPTZ` -> `TIMESTAMP WITH TIME ZONE`, quoting of field
// names), learnt from DuckDB itself so the comparison with the stored type is exact. Types are
// few per table and the spelling never changes, so each is asked once per process.
const spellings = new Map<string, string>();

async function describeSpellings(compute: Compute, types: string[]): Promise<Map<string, string>> {
  const unknown = [...new Set(types)].filter((t) => !spellings.has(t));
  if (unknown.length > 0) {
    const rows = await compute.query<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT ${unknown.map((t, i) => `NULL::${t} AS c${i}`).join(', ')}`,
    );
    for (const r of rows) spellings.set(unknown[Number(r.column_name.slice(1))], r.column_type);
  }
  return spellings;
}

/** The stored type's shape (field names as in the file), or undefined if DuckDB's type has no Delta form. */
function parseStored(storedType: string): DataType | undefined {
  try {
    return duckDbTypeToDelta(storedType);
  } catch {
    return undefined;
  }
}

/**
 * `expr` (stored shape `stored`, when known) as Delta type `type`. Struct fields are looked up by
 * physical name; lambda parameters carry the depth so nested lists and maps do not shadow them.
 */
function rebuild(expr: string, type: DataType, stored: DataType | undefined, mode: ColumnMappingMode, depth: number): string {
  if (isStruct(type)) {
    const storedFields = stored !== undefined && isStruct(stored) ? stored.fields : undefined;
    const parts = type.fields.map((f) => {
      const phys = physicalName(f, mode);
      const sf = storedFields?.find((s) => s.name.toLowerCase() === phys.toLowerCase());
      if (storedFields && !sf) return `${sqlIdent(f.name)} := NULL::${deltaTypeToDuckDb(f.type)}`;
      return `${sqlIdent(f.name)} := ${rebuild(`${expr}.${sqlIdent(sf?.name ?? phys)}`, f.type, sf?.type, mode, depth)}`;
    });
    return `CASE WHEN ${expr} IS NULL THEN NULL ELSE struct_pack(${parts.join(', ')}) END`;
  }
  if (isArray(type) && hasStruct(type.elementType)) {
    const e = `__e${depth}`;
    const storedElement = stored !== undefined && isArray(stored) ? stored.elementType : undefined;
    return `list_transform(${expr}, lambda ${e}: ${rebuild(e, type.elementType, storedElement, mode, depth + 1)})`;
  }
  if (isMap(type) && (hasStruct(type.keyType) || hasStruct(type.valueType))) {
    const kv = `__kv${depth}`;
    const storedMap = stored !== undefined && isMap(stored) ? stored : undefined;
    const key = rebuild(`${kv}.key`, type.keyType, storedMap?.keyType, mode, depth + 1);
    const value = rebuild(`${kv}.value`, type.valueType, storedMap?.valueType, mode, depth + 1);
    return `map_from_entries(list_transform(map_entries(${expr}), lambda ${kv}: {'key': ${key}, 'value': ${value}}))`;
  }
  // Primitives, and arrays and maps of primitives: DuckDB casts element by element.
  return `CAST(${expr} AS ${deltaTypeToDuckDb(type)})`;
}

function hasStruct(t: DataType): boolean {
  return isStruct(t) || (isArray(t) && hasStruct(t.elementType)) || (isMap(t) && (hasStruct(t.keyType) || hasStruct(t.valueType)));
}
