/**
 * What one file tells about one column: from its partition value (exact) or its stats (min/max
 * bounds, nullCount, numRecords; missing stats tell nothing). Column names match
 * case-insensitively, as in Delta; nested struct fields (a.b) use the nested stats.
 */
import type { FileStats } from '../actions.ts';
import type { DataType, StructField, StructType } from '../schema.ts';
import { isStruct } from '../schema.ts';
import type { PhysicalNameOf } from '../stats.ts';
import { partitionBound, statBound, type AnyBound } from './bounds.ts';

/** What one file tells about one column. */
export interface Facts {
  /** Some row may hold NULL. */
  mayNull: boolean;
  /** Some row may hold a non-NULL value. */
  mayNonNull: boolean;
  type: DataType;
  /** Lower bound of the non-null values (true min ≥ lower.lo); undefined = unbounded. */
  lower?: AnyBound;
  /** Upper bound (true max ≤ upper.hi). */
  upper?: AnyBound;
}

export interface SkippingFile {
  partitionValues: Record<string, string | null>;
  stats?: FileStats;
}

export interface Context {
  file: SkippingFile;
  schema: StructType;
  partitions: Set<string>;
  physicalNameOf: PhysicalNameOf;
}

function findField(fields: StructField[], name: string): StructField | undefined {
  return fields.find((f) => f.name === name) ?? fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
}

function getPath(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function partitionValueOf(pv: Record<string, string | null>, keys: string[]): { found: boolean; value: string | null } {
  for (const k of keys) if (Object.prototype.hasOwnProperty.call(pv, k)) return { found: true, value: pv[k] ?? null };
  const lower = keys.map((k) => k.toLowerCase());
  for (const [k, v] of Object.entries(pv)) if (lower.includes(k.toLowerCase())) return { found: true, value: v };
  return { found: false, value: null };
}

export function factsFor(column: string[], ctx: Context): Facts | undefined {
  const top = findField(ctx.schema.fields, column[0]!);
  if (!top) return undefined;
  if (ctx.partitions.has(top.name.toLowerCase())) {
    if (column.length !== 1) return undefined;
    const { found, value } = partitionValueOf(ctx.file.partitionValues ?? {}, [ctx.physicalNameOf(top.name, top, []), top.name]);
    if (!found) return undefined;
    // '' is null for every type (PROTOCOL.md, Partition Value Serialization).
    if (value === null || value === '') return { mayNull: true, mayNonNull: false, type: top.type };
    const b = partitionBound(value, top.type);
    return { mayNull: false, mayNonNull: true, type: top.type, lower: b, upper: b };
  }
  // A data column, possibly nested in structs.
  let field = top;
  const logical: string[] = [];
  const physical: string[] = [ctx.physicalNameOf(top.name, top, [])];
  for (const name of column.slice(1)) {
    if (!isStruct(field.type)) return undefined;
    logical.push(field.name);
    const child = findField(field.type.fields, name);
    if (!child) return undefined;
    physical.push(ctx.physicalNameOf(child.name, child, [...logical]));
    field = child;
  }
  const stats = ctx.file.stats;
  if (!stats) return { mayNull: true, mayNonNull: true, type: field.type };
  const numRecords = stats.numRecords;
  const nulls = getPath(stats.nullCount, physical);
  const nullCount = typeof nulls === 'number' ? nulls : undefined;
  const facts: Facts = {
    mayNull: nullCount !== 0,
    // nullCount == numRecords means every (valid) row is null, even with wide bounds.
    mayNonNull: !(typeof numRecords === 'number' && nullCount === numRecords),
    type: field.type,
  };
  if (!isStruct(field.type)) {
    facts.lower = statBound(getPath(stats.minValues, physical), field.type);
    facts.upper = statBound(getPath(stats.maxValues, physical), field.type);
  }
  return facts;
}
