import type { Metadata } from './actions.ts';
import type { DataType, StructField, StructType } from './schema.ts';
import { isArray, isMap, isStruct } from './schema.ts';

export type ColumnMappingMode = 'none' | 'name' | 'id';

export function columnMappingMode(metadata: Metadata): ColumnMappingMode {
  const mode = metadata.configuration?.['delta.columnMapping.mode'];
  return mode === 'name' || mode === 'id' ? mode : 'none';
}

/** The name a field has inside Parquet files and in partitionValues/stats keys. */
export function physicalName(field: StructField, mode: ColumnMappingMode): string {
  if (mode === 'none') return field.name;
  const p = field.metadata?.['delta.columnMapping.physicalName'];
  return typeof p === 'string' && p.length > 0 ? p : field.name;
}

/** The table schema with every (nested) field renamed to its physical name. */
export function physicalSchema(schema: StructType, mode: ColumnMappingMode): StructType {
  if (mode === 'none') return schema;
  const mapType = (t: DataType): DataType => {
    if (isStruct(t)) return { type: 'struct', fields: t.fields.map((f) => ({ ...f, name: physicalName(f, mode), type: mapType(f.type) })) };
    if (isArray(t)) return { ...t, elementType: mapType(t.elementType) };
    if (isMap(t)) return { ...t, keyType: mapType(t.keyType), valueType: mapType(t.valueType) };
    return t;
  };
  return mapType(schema) as StructType;
}
