/**
 * The Delta table schema (PROTOCOL.md "Schema Serialization Format").
 * Primitive types are strings: string, long, integer, short, byte, float, double, boolean, binary,
 * date, timestamp, timestamp_ntz, decimal(p,s); complex types are objects.
 */
export type PrimitiveType = string;

export interface StructField {
  name: string;
  type: DataType;
  nullable: boolean;
  metadata: Record<string, unknown>;
}

export interface StructType {
  type: 'struct';
  fields: StructField[];
}

export interface ArrayType {
  type: 'array';
  elementType: DataType;
  containsNull: boolean;
}

export interface MapType {
  type: 'map';
  keyType: DataType;
  valueType: DataType;
  valueContainsNull: boolean;
}

export type DataType = PrimitiveType | StructType | ArrayType | MapType;

export function isStruct(t: DataType): t is StructType {
  return typeof t === 'object' && t.type === 'struct';
}
export function isArray(t: DataType): t is ArrayType {
  return typeof t === 'object' && t.type === 'array';
}
export function isMap(t: DataType): t is MapType {
  return typeof t === 'object' && t.type === 'map';
}

export function parseSchemaString(schemaString: string): StructType {
  const parsed = JSON.parse(schemaString) as StructType;
  if (!parsed || parsed.type !== 'struct' || !Array.isArray(parsed.fields)) {
    throw new Error('schemaString is not a struct type');
  }
  return parsed;
}

export function field(name: string, type: DataType, nullable = true, metadata: Record<string, unknown> = {}): StructField {
  return { name, type, nullable, metadata };
}

export function struct(fields: StructField[]): StructType {
  return { type: 'struct', fields };
}

/** A Delta type as Spark prints it: struct<a: long, b: string>, array<int>, map<string, double>. */
export function typeText(t: DataType): string {
  if (typeof t === 'string') return t;
  switch (t.type) {
    case 'struct':
      return `struct<${t.fields.map((f) => `${f.name}: ${typeText(f.type)}`).join(', ')}>`;
    case 'array':
      return `array<${typeText(t.elementType)}>`;
    case 'map':
      return `map<${typeText(t.keyType)}, ${typeText(t.valueType)}>`;
  }
}
