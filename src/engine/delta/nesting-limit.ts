import { InputError } from '../errors.ts';
import { isArray, isMap, isStruct, type DataType, type StructType } from './schema.ts';

/**
 * The deepest a column may nest (lists, structs and maps), as BigQuery allows. DuckDB's Parquet
 * reader sets up a column of nested lists in time that doubles with every level (16 levels: 15 ms,
 * 20: 130 ms, 24: 1.6 s; 99: a read that never ends), so a table holding a deeper column would
 * be written fine and then be unreadable; and about 200 levels fail every statement that names it.
 */
export const MAX_NESTED_LEVELS = 15;

/** How many levels of lists, structs and maps `t` has (a primitive: 0), without recursion. */
export function nestedLevels(t: DataType): number {
  let deepest = 0;
  const stack: [DataType, number][] = [[t, 0]];
  while (stack.length) {
    const [type, depth] = stack.pop()!;
    if (typeof type === 'string') continue;
    deepest = Math.max(deepest, depth + 1);
    if (isStruct(type)) for (const f of type.fields) stack.push([f.type, depth + 1]);
    else if (isArray(type)) stack.push([type.elementType, depth + 1]);
    else if (isMap(type)) stack.push([type.keyType, depth + 1], [type.valueType, depth + 1]);
  }
  return deepest;
}

/** The first column nested deeper than MAX_NESTED_LEVELS, with its levels; undefined when none is. */
export function tooDeepColumn(schema: StructType): { name: string; levels: number } | undefined {
  for (const f of schema.fields) {
    const levels = nestedLevels(f.type);
    if (levels > MAX_NESTED_LEVELS) return { name: f.name, levels };
  }
  return undefined;
}

/** Refuses, naming the column, a schema with a column nested deeper than MAX_NESTED_LEVELS. */
export function assertLoadableNesting(table: string, schema: StructType, what: string): void {
  const deep = tooDeepColumn(schema);
  if (deep) {
    throw new InputError(
      `${table}: column ${deep.name} of ${what} nests ${deep.levels} levels deep (lists, structs and maps); at most ${MAX_NESTED_LEVELS} are written, ` +
        `since a deeper column would leave the table too slow to read (DuckDB's Parquet reader doubles its set-up time with each level). ` +
        `Flatten it, or store it as JSON text (CAST(${deep.name} AS VARCHAR)).`,
    );
  }
}
