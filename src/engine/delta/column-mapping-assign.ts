import type { Metadata } from './actions.ts';
import type { DataType, StructField, StructType } from './schema.ts';
import { isArray, isMap, isStruct } from './schema.ts';

export const COLUMN_MAPPING_ID = 'delta.columnMapping.id';
export const COLUMN_MAPPING_PHYSICAL_NAME = 'delta.columnMapping.physicalName';
export const MAX_COLUMN_ID = 'delta.columnMapping.maxColumnId';

/**
 * Gives every field that lacks them a column-mapping id and physical name (PROTOCOL.md "Column
 * Mapping"): top-level and nested fields alike, including the fields of structs inside arrays and
 * maps. Fields that already have them keep them (ids and physical names never change once
 * committed, or existing data files would lose their columns). New ids count up from the table's
 * `delta.columnMapping.maxColumnId` (or the largest id in the schema, whichever is higher), and the
 * returned configuration carries the new maximum.
 *
 * `physicalNameOf` names a new field: `col-<uuid>` for new columns (as Spark does, so a dropped and
 * re-added column never reads the old one's data); the logical name itself when an existing table
 * is upgraded to mapping, so the files already written keep matching.
 */
export function assignColumnMapping(
  schema: StructType,
  configuration: Record<string, string>,
  physicalNameOf: (field: StructField, path: string) => string,
): { schema: StructType; configuration: Record<string, string>; changed: boolean } {
  let max = Math.max(Number(configuration[MAX_COLUMN_ID] ?? 0) || 0, largestId(schema));
  const before = max;
  let named = false;
  const mapField = (f: StructField, parent: string): StructField => {
    const path = `${parent}/${f.name}`;
    const metadata = { ...f.metadata };
    if (!isValidId(metadata[COLUMN_MAPPING_ID])) metadata[COLUMN_MAPPING_ID] = ++max;
    const p = metadata[COLUMN_MAPPING_PHYSICAL_NAME];
    if (typeof p !== 'string' || p.length === 0) {
      metadata[COLUMN_MAPPING_PHYSICAL_NAME] = physicalNameOf(f, path);
      named = true;
    }
    return { ...f, type: mapType(f.type, path), metadata };
  };
  const mapType = (t: DataType, path: string): DataType => {
    if (isStruct(t)) return { ...t, fields: t.fields.map((f) => mapField(f, path)) };
    if (isArray(t)) return { ...t, elementType: mapType(t.elementType, `${path}[]`) };
    if (isMap(t)) return { ...t, keyType: mapType(t.keyType, `${path}{k}`), valueType: mapType(t.valueType, `${path}{v}`) };
    return t;
  };
  const mapped = mapType(schema, '') as StructType;
  const maxText = String(max);
  const changed = max !== before || named || configuration[MAX_COLUMN_ID] !== maxText;
  return { schema: mapped, configuration: { ...configuration, [MAX_COLUMN_ID]: maxText }, changed };
}

/** The Parquet field_id of a field (its column-mapping id), when it has one. */
export function columnMappingId(field: StructField): number | undefined {
  const id = field.metadata?.[COLUMN_MAPPING_ID];
  return isValidId(id) ? id : undefined;
}

function isValidId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 0x7fffffff;
}

function largestId(t: DataType): number {
  if (isStruct(t)) return t.fields.reduce((m, f) => Math.max(m, columnMappingId(f) ?? 0, largestId(f.type)), 0);
  if (isArray(t)) return largestId(t.elementType);
  if (isMap(t)) return Math.max(largestId(t.keyType), largestId(t.valueType));
  return 0;
}

/**
 * The schema and configuration a table must have under its configuration's column mapping (mode
 * name or id; any other mode returns them as they are). `before`: the table's metadata when it
 * exists (undefined when it is being created). A field the table already had and that has no
 * physical name yet is named after itself: its data files were written under that name (mapping
 * just turned on, mode none -> name; or a mapped table written without annotations). Fields new
 * here get `col-<uuid>` names. All get ids above maxColumnId.
 */
export function withColumnMapping(
  before: Metadata | undefined,
  schema: StructType,
  configuration: Record<string, string>,
  uuid: () => string,
): { schema: StructType; configuration: Record<string, string>; changed: boolean } {
  const mode = configuration['delta.columnMapping.mode'];
  if (mode !== 'name' && mode !== 'id') return { schema, configuration, changed: false };
  const existing = before ? fieldPaths(JSON.parse(before.schemaString) as StructType, '', new Set()) : new Set<string>();
  return assignColumnMapping(schema, configuration, (f, path) => (existing.has(path) ? f.name : `col-${uuid()}`));
}

/** Every field's path, spelled as assignColumnMapping spells it. */
function fieldPaths(t: DataType, parent: string, out: Set<string>): Set<string> {
  if (isStruct(t)) {
    for (const f of t.fields) {
      out.add(`${parent}/${f.name}`);
      fieldPaths(f.type, `${parent}/${f.name}`, out);
    }
  } else if (isArray(t)) fieldPaths(t.elementType, `${parent}[]`, out);
  else if (isMap(t)) {
    fieldPaths(t.keyType, `${parent}{k}`, out);
    fieldPaths(t.valueType, `${parent}{v}`, out);
  }
  return out;
}
