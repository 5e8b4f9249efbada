/**
 * Reading a snapshot's rows without DuckDB, for the command line's start-up: loading DuckDB's Node
 * client costs more than the whole of `lakelet read` of a small table may (issue 13: ≤ 2× the
 * DuckDB CLI), so a plain read of a small local table decodes its Parquet files with parquet-lite.
 *
 * The scope is narrow on purpose and everything outside it is refused with DirectReadUnsupported
 * (the caller then runs the DuckDB path, which reads anything): top-level primitive columns only,
 * each file's stored type one that DuckDB's CAST to the Delta type leaves unchanged in value (see
 * `converterFor`), partition columns of a few types, local files only, a bounded total size.
 * Deletion vectors and column mapping are applied as scan.ts does. Values come back normalised per
 * Delta type (see DirectValue); rendering them is the caller's.
 */
import { readFileSync } from 'node:fs';
import type { AddFile } from './actions.ts';
import type { Snapshot } from './snapshot.ts';
import type { StructField } from './schema.ts';
import { columnMappingMode, physicalName } from './column-mapping.ts';
import { readDeletionVector } from './deletion-vector.ts';
import { resolveAddPath } from './paths.ts';
import { lookupPartitionValue, parseDateToDays, parseTimestamp } from './partition-values.ts';
import { parseDecimalType, unscaledDecimal } from './duckdb-types.ts';
import { readFooter, Repetition, Type, type SchemaNode } from './parquet-lite/footer.ts';
import { readColumnChunk, type ValueKind } from './parquet-lite/column-chunk.ts';
import { ParquetLiteUnsupported } from './parquet-lite/unsupported.ts';

/** Why the direct path declined; never shown to a user (the DuckDB path runs instead). */
export class DirectReadUnsupported extends Error {
  constructor(message: string) {
    super(`direct read: ${message}`);
    this.name = 'DirectReadUnsupported';
  }
}

/**
 * A cell, by the column's Delta type: byte/short/integer a number; long a number or (beyond 2^53) a
 * bigint; float (a float32 value) and double a number; boolean; string; binary a Uint8Array; date
 * days since the epoch; timestamp and timestamp_ntz microseconds since the epoch (number or bigint);
 * decimal its unscaled integer (number or bigint) at the type's scale; null.
 */
export type DirectValue = number | bigint | boolean | string | Uint8Array | null;

export interface DirectColumn {
  name: string;
  /** A primitive Delta type (`long`, `decimal(10,2)`, …). */
  type: string;
}

export interface DirectRows {
  columns: DirectColumn[];
  /** Row-major, in file order then row order (DuckDB's order for a plain read_parquet). */
  rows: DirectValue[][];
}

export interface DirectReadOptions {
  /** Logical column names, in output order (case-insensitive, as scan.ts); default all. */
  columns?: string[];
  /** Decline above this many bytes of data files (memory: every row is held). */
  maxBytes: number;
  /**
   * Decline above this many rows (before deletion vectors), counted from the files' stats where
   * they have them and from the Parquet footers as they are read: decoding in JavaScript costs
   * per row what DuckDB's load costs once, so a large table is read faster through SQL.
   */
  maxRows: number;
}

const INTEGRAL = new Set(['byte', 'short', 'integer', 'long']);
const RANGE: Record<string, [bigint, bigint]> = {
  byte: [-128n, 127n],
  short: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
};

export async function readRowsDirect(snapshot: Snapshot, options: DirectReadOptions): Promise<DirectRows> {
  const { store, uri } = snapshot.table;
  const mode = columnMappingMode(snapshot.metadata);
  const fields = snapshot.schema.fields;
  const byLower = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
  const wanted = (options.columns ?? fields.map((f) => f.name)).map((c) => {
    const f = byLower.get(c.toLowerCase());
    if (!f) throw new DirectReadUnsupported(`no column ${c}`);
    return f;
  });
  for (const f of wanted) {
    if (typeof f.type !== 'string' || !(INTEGRAL.has(f.type) || SIMPLE.has(f.type) || parseDecimalType(f.type))) {
      throw new DirectReadUnsupported(`column ${f.name} has type ${JSON.stringify(f.type)}`);
    }
  }
  const partitions = new Set(snapshot.partitionColumns.map((c) => c.toLowerCase()));
  const files = snapshot.files;
  const bytes = files.reduce((s, f) => s + f.size, 0);
  if (bytes > options.maxBytes) throw new DirectReadUnsupported(`${bytes} bytes of data files`);
  const counted = statsRowCount(files);
  if (counted > options.maxRows) throw new DirectReadUnsupported(`${counted} rows`);

  const rows: DirectValue[][] = [];
  const budget = { rows: options.maxRows };
  for (const file of files) {
    const resolved = resolveAddPath(store.uri, file.path);
    const local = resolved.kind === 'relative' ? store.localPath(resolved.key) : resolved.localPath;
    if (!local) throw new DirectReadUnsupported(`file ${file.path} is not local`);
    const deleted = file.deletionVector ? new Set(await readDeletionVector(store, file.deletionVector, { tablePath: uri, version: snapshot.version })) : undefined;
    readFile(readFileSync(local), file, wanted, partitions, mode === 'none' ? (f) => f.name : (f) => physicalName(f, mode), deleted, rows, budget);
  }
  return { columns: wanted.map((f) => ({ name: f.name, type: f.type as string })), rows };
}

// Not 'float': DuckDB prints some single-precision values with more digits than the shortest
// (direct-values.ts), so a FLOAT column is read through DuckDB.
const SIMPLE = new Set(['double', 'boolean', 'string', 'binary', 'date', 'timestamp', 'timestamp_ntz']);

/** Appends the rows of one data file (less its deleted rows) to `out`. */
function readFile(
  bytes: Uint8Array,
  add: AddFile,
  wanted: StructField[],
  partitions: Set<string>,
  physical: (f: StructField) => string,
  deleted: Set<number> | undefined,
  out: DirectValue[][],
  budget: { rows: number },
): void {
  let meta;
  try {
    meta = readFooter(bytes);
  } catch (err) {
    throw new DirectReadUnsupported(`${add.path}: ${(err as Error).message}`);
  }
  for (const rg of meta.rowGroups) budget.rows -= rg.numRows;
  if (budget.rows < 0) throw new DirectReadUnsupported('more rows than the direct path reads');
  // Top-level columns by lower-cased name, as DuckDB's union_by_name matches them.
  const tops = new Map<string, SchemaNode | null>();
  for (const c of meta.root.children) {
    const key = c.name.toLowerCase();
    tops.set(key, tops.has(key) ? null : c);
  }
  const constants: (DirectValue | undefined)[] = wanted.map((f) =>
    partitions.has(f.name.toLowerCase()) ? partitionValue(add.partitionValues, physical(f), f) : undefined,
  );
  let fileRow = 0;
  for (const rg of meta.rowGroups) {
    const columns: (DirectValue[] | null)[] = wanted.map((f, i) => {
      if (constants[i] !== undefined) return null;
      const node = tops.get(physical(f).toLowerCase());
      if (node === undefined) return null; // not in this file: NULL, as union_by_name reads it
      if (node === null || node.children.length > 0 || node.repetition === Repetition.REPEATED) {
        throw new DirectReadUnsupported(`${add.path}: column ${f.name} is not a single primitive column`);
      }
      const chunk = rg.columns.get(node.path.join('\u0000'));
      if (!chunk) throw new DirectReadUnsupported(`${add.path}: a row group lacks column ${f.name}`);
      const { kind, convert } = converterFor(node, f.type as string, `${add.path}: column ${f.name}`);
      try {
        const data = readColumnChunk(bytes, chunk, node, kind);
        const values: DirectValue[] = new Array(rg.numRows);
        if (data.count !== rg.numRows) throw new DirectReadUnsupported(`${add.path}: column ${f.name} holds ${data.count} values for ${rg.numRows} rows`);
        let v = 0;
        for (let r = 0; r < rg.numRows; r++) {
          values[r] = data.def && data.def[r] !== node.defLevel ? null : convert(data.values[v++]);
        }
        return values;
      } catch (err) {
        if (err instanceof ParquetLiteUnsupported) throw new DirectReadUnsupported(`${add.path}: ${err.message}`);
        throw err;
      }
    });
    for (let r = 0; r < rg.numRows; r++, fileRow++) {
      if (deleted?.has(fileRow)) continue;
      const row: DirectValue[] = new Array(wanted.length);
      for (let i = 0; i < wanted.length; i++) {
        const c = columns[i];
        row[i] = c ? c[r] : (constants[i] ?? null);
      }
      out.push(row);
    }
  }
}

/** The rows the files' stats say they hold (numRecords; 0 for a file without stats). */
export function statsRowCount(files: AddFile[]): number {
  let n = 0;
  for (const f of files) {
    const m = f.stats ? /"numRecords"\s*:\s*(\d+)/.exec(f.stats) : null;
    if (m) n += Number(m[1]);
  }
  return n;
}

type Convert = (v: unknown) => DirectValue;
const same: Convert = (v) => v as DirectValue;

/** Logical type union ids (parquet.thrift LogicalType) and converted types this reader knows. */
const L_STRING = 1;
const L_DECIMAL = 5;
const L_DATE = 6;
const L_TIMESTAMP = 8;
const L_INTEGER = 10;
const C_UTF8 = 0;
const C_DECIMAL = 5;
const C_DATE = 6;
const C_TIMESTAMP_MILLIS = 9;
const C_TIMESTAMP_MICROS = 10;

function logicalId(node: SchemaNode): number | undefined {
  return node.logicalType ? Number(Object.keys(node.logicalType)[0]) : undefined;
}

/**
 * How a stored column becomes a value of Delta type `type`, when DuckDB's read + CAST to that type
 * is the identity on values (integer widening, float to double, millisecond to microsecond
 * timestamps, decimals of the same scale); anything else is refused.
 */
function converterFor(node: SchemaNode, type: string, where: string): { kind: ValueKind; convert: Convert } {
  const logical = logicalId(node);
  const converted = node.convertedType;
  const refuse = (): never => {
    throw new DirectReadUnsupported(`${where}: stored as physical type ${node.type} (converted ${converted}, logical ${logical}), read as ${type}`);
  };
  const plainInt = (): boolean => {
    if (logical === L_INTEGER) return node.logicalType![L_INTEGER] !== undefined && (node.logicalType![L_INTEGER] as Record<number, unknown>)[2] === true;
    return logical === undefined && (converted === undefined || (converted >= 15 && converted <= 18));
  };
  if (INTEGRAL.has(type)) {
    if (!plainInt()) refuse();
    if (node.type === Type.INT32) return { kind: 'int32', convert: type === 'long' || type === 'integer' ? same : inRange(type, where) };
    if (node.type === Type.INT64 && type === 'long') return { kind: 'int64-exact', convert: same };
    return refuse();
  }
  const dec = parseDecimalType(type);
  if (dec) return decimalConverter(node, dec, refuse);
  switch (type) {
    case 'double':
      if (logical !== undefined || converted !== undefined) refuse();
      if (node.type === Type.DOUBLE) return { kind: 'double', convert: same };
      if (node.type === Type.FLOAT) return { kind: 'float', convert: same };
      return refuse();
    case 'boolean':
      if (logical !== undefined || converted !== undefined || node.type !== Type.BOOLEAN) refuse();
      return { kind: 'boolean', convert: same };
    case 'string':
      if (node.type !== Type.BYTE_ARRAY || !(logical === L_STRING || (logical === undefined && converted === C_UTF8))) refuse();
      return { kind: 'string', convert: same };
    case 'binary':
      if (node.type !== Type.BYTE_ARRAY || logical !== undefined || converted !== undefined) refuse();
      return { kind: 'bytes', convert: same };
    case 'date':
      if (node.type !== Type.INT32 || !(logical === L_DATE || (logical === undefined && converted === C_DATE))) refuse();
      return { kind: 'int32', convert: same };
    case 'timestamp':
    case 'timestamp_ntz': {
      // DuckDB runs with TimeZone UTC, so TIMESTAMP <-> TIMESTAMPTZ casts keep the microseconds.
      if (node.type !== Type.INT64) refuse();
      let unit: 'millis' | 'micros' | undefined;
      if (logical === L_TIMESTAMP) {
        const u = (node.logicalType![L_TIMESTAMP] as Record<number, unknown>)[2] as Record<number, unknown> | undefined;
        unit = u?.[1] !== undefined ? 'millis' : u?.[2] !== undefined ? 'micros' : undefined;
      } else if (logical === undefined) {
        unit = converted === C_TIMESTAMP_MILLIS ? 'millis' : converted === C_TIMESTAMP_MICROS ? 'micros' : undefined;
      }
      if (unit === undefined) return refuse();
      return { kind: 'int64-exact', convert: unit === 'micros' ? same : millisToMicros };
    }
  }
  return refuse();
}

function millisToMicros(v: unknown): DirectValue {
  const micros = typeof v === 'bigint' ? v * 1000n : (v as number) * 1000;
  return typeof micros === 'number' && !Number.isSafeInteger(micros) ? BigInt(v as number) * 1000n : micros;
}

function inRange(type: string, where: string): Convert {
  const [lo, hi] = RANGE[type];
  return (v) => {
    if ((v as number) < lo || (v as number) > hi) throw new DirectReadUnsupported(`${where}: ${v} does not fit ${type}`);
    return v as number;
  };
}

function decimalConverter(node: SchemaNode, dec: { precision: number; scale: number }, refuse: () => never): { kind: ValueKind; convert: Convert } {
  const logical = logicalId(node);
  let scale: number | undefined;
  let precision: number | undefined;
  if (logical === L_DECIMAL) {
    const d = node.logicalType![L_DECIMAL] as Record<number, unknown>;
    scale = d[1] as number;
    precision = d[2] as number;
  } else if (logical === undefined && node.convertedType === C_DECIMAL) {
    scale = node.scale ?? 0;
    precision = node.precision;
  }
  // The same scale and no more digits than the table's type: DuckDB's CAST leaves the value as is.
  if (scale !== dec.scale || precision === undefined || precision > dec.precision) return refuse();
  switch (node.type) {
    case Type.INT32:
      return { kind: 'int32', convert: same };
    case Type.INT64:
      return { kind: 'int64-exact', convert: same };
    case Type.FIXED_LEN_BYTE_ARRAY:
      return { kind: 'fixed', convert: bigEndianSigned };
    case Type.BYTE_ARRAY:
      return { kind: 'bytes', convert: bigEndianSigned };
  }
  return refuse();
}

/** A big-endian two's-complement integer (a DECIMAL stored in bytes). */
function bigEndianSigned(v: unknown): DirectValue {
  const b = v as Uint8Array;
  if (b.length === 0) return 0;
  let n = 0n;
  for (const byte of b) n = (n << 8n) | BigInt(byte);
  if (b[0] & 0x80) n -= 1n << BigInt(8 * b.length);
  return n;
}

/** A partition value as scan.ts's partitionValueToSql + DuckDB would read it, for the types handled here. */
function partitionValue(values: Record<string, string | null>, physical: string, f: StructField): DirectValue {
  const raw = lookupPartitionValue(values, physical, f.name);
  const type = f.type as string;
  if (raw === null || raw === '') return null;
  const bad = (): never => {
    throw new DirectReadUnsupported(`partition value ${JSON.stringify(raw)} of ${f.name} (${type})`);
  };
  if (type === 'string') return raw;
  if (INTEGRAL.has(type)) {
    const t = raw.trim();
    if (!/^[+-]?\d+$/.test(t)) return bad();
    const n = BigInt(t);
    const [lo, hi] = RANGE[type];
    if (n < lo || n > hi) return bad();
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  switch (type) {
    case 'boolean': {
      const t = raw.trim().toLowerCase();
      return t === 'true' ? true : t === 'false' ? false : bad();
    }
    case 'date':
      return parseDateToDays(raw) ?? bad();
    case 'timestamp':
      return parseTimestamp(raw)?.micros ?? bad();
    case 'timestamp_ntz': {
      const ts = parseTimestamp(raw);
      return ts && !ts.hasZone ? ts.micros : bad();
    }
  }
  const dec = parseDecimalType(type);
  if (dec) return unscaledDecimal(raw.trim(), dec) ?? bad();
  return bad();
}

