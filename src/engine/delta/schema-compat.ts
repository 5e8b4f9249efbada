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
    const mismatch = castProblem(s.type, t.type, s.name);
    if (mismatch !== undefined) {
      problems.push(`column '${s.name}' is ${describe(s.type)} in the batch but ${describe(t.type)} in the table${mismatch ? ` (${mismatch})` : ''}`);
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

/**
 * Why a batch value of type `from` cannot be cast to the table's `to`, or undefined when it can: the
 * same family at every level (an INTEGER read where the table has BIGINT, inside structs, arrays and
 * maps too: DuckDB casts nested values field by field, structs by name). A struct must have the
 * table's fields, no more and no fewer (in any order): adding nested fields is not schema evolution
 * lakelet does. `path` names the place inside the column (`st.a`, `li[]`, `mp.value`); the empty
 * string means the column's own types differ (`top`), which the caller's message already says.
 */
function castProblem(from: DataType, to: DataType, path: string, top = true): string | undefined {
  const differ = () => (top ? '' : `at ${path}: ${describe(from)}, the table has ${describe(to)}`);
  if (typeof from === 'string' || typeof to === 'string') {
    return typeof from === 'string' && typeof to === 'string' && family(from) === family(to) ? undefined : differ();
  }
  if (from.type === 'array' && to.type === 'array') return castProblem(from.elementType, to.elementType, `${path}[]`, false);
  if (from.type === 'map' && to.type === 'map') return castProblem(from.keyType, to.keyType, `${path}.key`, false) ?? castProblem(from.valueType, to.valueType, `${path}.value`, false);
  if (from.type === 'struct' && to.type === 'struct') {
    const theirs = new Map(to.fields.map((f) => [f.name.toLowerCase(), f]));
    const ours = new Set(from.fields.map((f) => f.name.toLowerCase()));
    const extra = from.fields.filter((f) => !theirs.has(f.name.toLowerCase())).map((f) => f.name);
    const missing = to.fields.filter((f) => !ours.has(f.name.toLowerCase())).map((f) => f.name);
    if (extra.length > 0 || missing.length > 0) {
      const where = top ? '' : `at ${path}: `;
      return where + [...(extra.length > 0 ? [`field ${extra.join(', ')} is not in the table`] : []), ...(missing.length > 0 ? [`field ${missing.join(', ')} is missing`] : [])].join(', ');
    }
    for (const f of from.fields) {
      const problem = castProblem(f.type, theirs.get(f.name.toLowerCase())!.type, `${path}.${f.name}`, false);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  return differ();
}

/** A type as Delta's schema strings spell it, nested types in full (`struct<a: long, b: string>`). */
function describe(t: DataType): string {
  if (typeof t === 'string') return t;
  if (t.type === 'array') return `array<${describe(t.elementType)}>`;
  if (t.type === 'map') return `map<${describe(t.keyType)}, ${describe(t.valueType)}>`;
  return `struct<${t.fields.map((f) => `${f.name}: ${describe(f.type)}`).join(', ')}>`;
}
