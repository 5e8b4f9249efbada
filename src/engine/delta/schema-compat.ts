import type { DataType, StructField, StructType } from './schema.ts';
import { SchemaMismatchError } from '../errors.ts';

const INTEGERS = ['byte', 'short', 'integer', 'long'];
const FLOATS = ['float', 'double'];
const TIMES = ['date', 'timestamp', 'timestamp_ntz'];

function family(t: DataType): string {
  if (typeof t !== 'string') return t.type;
  if (INTEGERS.includes(t) || FLOATS.includes(t) || t.startsWith('decimal')) return 'number';
  if (TIMES.includes(t)) return 'time';
  return t;
}

/** Type widenings Delta allows on schema evolution (the typeWidening feature's safe set). */
export function isWidening(from: DataType, to: DataType): boolean {
  if (typeof from !== 'string' || typeof to !== 'string') return false;
  const i = INTEGERS.indexOf(from);
  const j = INTEGERS.indexOf(to);
  if (i >= 0 && j > i) return true;
  if (from === 'float' && to === 'double') return true;
  if (from === 'date' && to === 'timestamp_ntz') return true;
  return false;
}

/**
 * Checks a batch's schema against the table's. Source values are cast to the table's types when
 * they are of the same family (an integer column read as BIGINT from CSV into an INTEGER column;
 * DuckDB checks each value fits). Anything else — a column the table lacks, a string into a number
 * column, a missing NOT NULL column — is a SchemaMismatchError, unless `mergeSchema` asks to add the
 * new columns (and widen types where Delta allows).
 */
export function reconcileSchema(
  tablePath: string,
  table: StructType,
  source: StructType,
  options: { mergeSchema?: boolean } = {},
): { schema: StructType; changed: boolean } {
  const byLower = new Map(table.fields.map((f) => [f.name.toLowerCase(), f]));
  const problems: string[] = [];
  const added: StructField[] = [];
  const widened = new Map<string, DataType>();
  for (const s of source.fields) {
    const t = byLower.get(s.name.toLowerCase());
    if (!t) {
      if (options.mergeSchema) added.push({ ...s, nullable: true });
      else problems.push(`column '${s.name}' is not in the table`);
      continue;
    }
    if (JSON.stringify(shapeOf(t.type)) === JSON.stringify(shapeOf(s.type))) continue;
    if (options.mergeSchema && isWidening(t.type, s.type)) {
      widened.set(t.name, s.type);
      continue;
    }
    if (family(t.type) !== family(s.type) || typeof t.type !== 'string') {
      problems.push(`column '${s.name}' is ${describe(s.type)} in the batch but ${describe(t.type)} in the table`);
    }
  }
  const sourceNames = new Set(source.fields.map((f) => f.name.toLowerCase()));
  for (const t of table.fields) {
    if (!t.nullable && !sourceNames.has(t.name.toLowerCase())) problems.push(`NOT NULL column '${t.name}' is missing from the batch`);
  }
  if (problems.length > 0) {
    throw new SchemaMismatchError(
      tablePath,
      `the batch does not match the table schema: ${problems.join('; ')}. ` +
        (options.mergeSchema ? 'Fix the batch.' : 'Fix the batch, or allow schema evolution (mergeSchema / --merge-schema) to add new columns.'),
    );
  }
  if (added.length === 0 && widened.size === 0) return { schema: table, changed: false };
  const fields = table.fields.map((f) => (widened.has(f.name) ? { ...f, type: widened.get(f.name)! } : f));
  return { schema: { type: 'struct', fields: [...fields, ...added] }, changed: true };
}

/** A type without field metadata (column-mapping ids and names): what two schemas must share. */
function shapeOf(t: DataType): unknown {
  if (typeof t === 'string') return t;
  if (t.type === 'struct') return { struct: t.fields.map((f) => [f.name.toLowerCase(), shapeOf(f.type)]) };
  if (t.type === 'array') return { array: shapeOf(t.elementType) };
  return { map: [shapeOf(t.keyType), shapeOf(t.valueType)] };
}

function describe(t: DataType): string {
  return typeof t === 'string' ? t : t.type;
}
