/**
 * A Parquet file taken into the table as it is, instead of decoded and written again: when a write's
 * rows are exactly one local Parquet file's rows (a plain upsert whose source is that file, or a
 * write of that file), and the file already has the table's columns in the table's own physical
 * forms, a copy of its bytes is a valid data file (as CONVERT TO DELTA and Iceberg's add_files take
 * files in place). It costs a file copy and two footer reads (a scan for float columns' stats) where
 * re-encoding cost a Parquet write (a 100,000-row file: ~34 ms of COPY on 2 threads).
 *
 * Only what every Delta reader reads the same as lakelet's own files is taken: flat columns with
 * the table's names, in the table's order, read by DuckDB as the table's types, each in the
 * physical form lakelet writes for it (physicalOk); the codecs and encodings of a version-1 Parquet
 * writer; no `key=value` folder in the path (DuckDB would read it as a column); no larger than the
 * table's target file size; as many rows as the caller decided on. Anything else is written the
 * usual way (undefined is returned).
 */
import { copyFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Metadata } from './actions.ts';
import type { DataType, StructField, StructType } from './schema.ts';
import { parseDecimalType, unscaledDecimal } from './duckdb-types.ts';
import { parseDateToDays, parseTimestamp } from './partition-values.ts';
import type { TableContext } from './table-context.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import { encodeAddPath } from './paths.ts';
import { returnStatsKey, statsColumns, statsFromReturnStats } from './stats.ts';
import { makeStagingFolder, removeStagingFolder } from './write-leftovers.ts';
import { columnMappingMode } from './column-mapping.ts';
import { DEFAULT_TARGET_FILE_SIZE, type DataWriteResult } from './data-writer.ts';

export interface AdoptOptions {
  /** The table's schema (what the file must hold). */
  schema: StructType;
  /** The file's columns as DuckDB reads them (their Delta types), in the file's order. */
  fileSchema: StructType;
  metadata: Metadata;
  /** Bytes per file (default: the table's delta.targetFileSize, else 128 MiB): a larger file is written anew, split. */
  targetFileSize?: number;
  /** How many rows the caller decided to write, when it knows: a file with another count is written anew. */
  expectedRows?: number;
}

/** Codecs every Delta reader decodes (Spark, delta-rs, DuckDB); the name's infix for each. */
const CODECS: Record<string, string> = { ZSTD: '.zstd', SNAPPY: '.snappy', GZIP: '.gz', UNCOMPRESSED: '' };
/** The encodings of a version-1 writer (DuckDB's, Spark's, pyarrow's default). */
const ENCODINGS = new Set(['PLAIN', 'PLAIN_DICTIONARY', 'RLE_DICTIONARY', 'RLE', 'BIT_PACKED']);

/** Returns the adds for the file taken into the table, or undefined when it must be rewritten. */
export async function adoptParquetFile(ctx: TableContext, file: string, options: AdoptOptions): Promise<DataWriteResult | undefined> {
  const staged = await stageParquetFile(ctx, file, options);
  if (!staged) return undefined;
  await staged.place();
  return staged.result;
}

/** A file checked and copied into the table's staging folder, not yet under its name in the table. */
export interface StagedParquetFile {
  /** The adds (and counts) the file will have once placed. */
  result: DataWriteResult;
  /**
   * Moves the copy to its name in the table, durably, and removes the staging folder: no DuckDB
   * statement, so it may run beside one (a merge's rewrite), its fsyncs overlapping the COPY.
   * On failure the staging folder is removed too.
   */
  place(): Promise<void>;
}

/**
 * Does everything adoptParquetFile does except the last move: copies the file into a staging
 * folder and checks the copy's layout and footer. Undefined (and nothing left behind) when the file
 * must be written anew.
 */
export async function stageParquetFile(ctx: TableContext, file: string, options: AdoptOptions): Promise<StagedParquetFile | undefined> {
  const { schema, fileSchema, metadata } = options;
  // Column mapping off (the file's names are the physical names), no partition columns.
  if (columnMappingMode(metadata) !== 'none' || metadata.partitionColumns.length > 0) return undefined;
  // One plain local file: not a glob, not a URL, and in no `key=value` folder, whose value DuckDB
  // would read as a column (hive partitioning) in place of the file's own.
  if (/[*?[\]{}]/.test(file) || /^[a-z][a-z0-9+.-]*:\/\//i.test(file) || dirname(file).split(/[\\/]/).some((part) => part.includes('='))) return undefined;
  if (!sameColumns(schema, fileSchema)) return undefined;
  const limit = options.targetFileSize ?? Number(metadata.configuration?.['delta.targetFileSize'] ?? DEFAULT_TARGET_FILE_SIZE);
  if (!((await sizeOf(file)) <= limit)) return undefined;

  const staging = await makeStagingFolder(ctx.store, ctx.ids.uuid());
  const cleanUp = () => removeStagingFolder(staging);
  let handedOver = false;
  try {
    // Copied first, and everything after read from the copy: it describes the bytes committed,
    // whatever happens to the source meanwhile.
    const uuid = ctx.ids.uuid();
    const staged = join(staging, `part-${uuid}.parquet`);
    await copyFile(file, staged);
    const size = await sizeOf(staged);
    if (!(size <= limit) || !(await layoutOk(ctx, staged, schema))) return undefined;
    const footer = await footerFacts(ctx, staged, schema, metadata);
    if (footer.codec === undefined) return undefined;
    const facts = footer.stats !== undefined ? { numRecords: footer.numRecords, json: footer.stats } : await scannedStats(ctx, staged, schema, metadata);
    // The rows the caller decided on are the file's: a count that differs means it is not what it seemed.
    if (facts.numRecords !== footer.numRecords || (options.expectedRows !== undefined && facts.numRecords !== options.expectedRows)) return undefined;
    if (facts.numRecords === 0) return { result: { adds: [], numOutputRows: 0, numOutputBytes: 0 }, place: async () => {} };
    const key = `part-00000-${uuid}-c000${footer.codec}.parquet`;
    const result = {
      adds: [{ path: encodeAddPath(key), partitionValues: {}, size, modificationTime: ctx.clock.now(), dataChange: true, stats: facts.json }],
      numOutputRows: facts.numRecords,
      numOutputBytes: size,
    };
    // From here the staging folder is place()'s to remove.
    handedOver = true;
    return {
      result,
      place: async () => {
        try {
          await ctx.store.putFile(key, staged);
        } finally {
          await cleanUp();
        }
      },
    };
  } finally {
    if (!handedOver) await cleanUp();
  }
}

/** A regular file's size; NaN for anything else (compares false with every limit). */
async function sizeOf(file: string): Promise<number> {
  return stat(file).then(
    (s) => (s.isFile() ? s.size : Number.NaN),
    () => Number.NaN,
  );
}

/** Flat columns, the table's names in the table's order, each read as the table's type. */
function sameColumns(schema: StructType, fileSchema: StructType): boolean {
  if (schema.fields.length !== fileSchema.fields.length) return false;
  return schema.fields.every((f, i) => {
    const g = fileSchema.fields[i];
    return typeof f.type === 'string' && f.name === g.name && typeTag(f.type) === typeTag(g.type);
  });
}

function typeTag(t: DataType): string {
  return typeof t === 'string' ? t.replace(/\s+/g, '') : JSON.stringify(t);
}

interface SchemaRow {
  name: string;
  type: string | null;
  converted_type: string | null;
  logical_type: string | null;
  num_children: number | string | null;
  repetition_type: string | null;
}

/**
 * Whether the file's columns are laid out as lakelet's own files are (footer only: no data page is
 * decoded): the root, then one flat leaf per column, in the table's order, each in a physical form
 * every reader reads as the column's type.
 */
async function layoutOk(ctx: TableContext, file: string, schema: StructType): Promise<boolean> {
  const columns = await ctx.compute.query<SchemaRow>(`SELECT name, type, converted_type, logical_type, num_children, repetition_type FROM parquet_schema(${sqlString(file)})`);
  if (columns.length !== schema.fields.length + 1 || Number(columns[0].num_children) !== schema.fields.length) return false;
  return schema.fields.every((f, i) => {
    const c = columns[i + 1];
    return c.name === f.name && c.num_children === null && c.repetition_type !== 'REPEATED' && physicalOk(f.type as string, c);
  });
}

/**
 * The physical form (and annotation) each Delta type has in lakelet's own files, as DuckDB writes
 * them, or as pyarrow writes the same logical type: what every Delta reader reads as that type. A
 * UUID or JSON column (read as text), an unsigned integer, a float16, a timestamp with only the
 * legacy annotation or a decimal of another precision is written anew.
 */
function physicalOk(type: string, c: SchemaRow): boolean {
  const converted = c.converted_type;
  const logical = c.logical_type ?? '';
  const signed = logical === '' || /isSigned=1/.test(logical);
  switch (type) {
    case 'byte':
      return c.type === 'INT32' && converted === 'INT_8' && signed;
    case 'short':
      return c.type === 'INT32' && converted === 'INT_16' && signed;
    case 'integer':
      return c.type === 'INT32' && (converted === null || converted === 'INT_32') && signed;
    case 'long':
      return c.type === 'INT64' && (converted === null || converted === 'INT_64') && signed;
    case 'float':
      return c.type === 'FLOAT' && converted === null && logical === '';
    case 'double':
      return c.type === 'DOUBLE' && converted === null && logical === '';
    case 'boolean':
      return c.type === 'BOOLEAN';
    case 'string':
      return c.type === 'BYTE_ARRAY' && converted === 'UTF8' && (logical === '' || logical === 'StringType()');
    case 'binary':
      return c.type === 'BYTE_ARRAY' && converted === null && logical === '';
    case 'date':
      return c.type === 'INT32' && converted === 'DATE';
    case 'timestamp':
    case 'timestamp_ntz':
      return c.type === 'INT64' && /MICROS=MicroSeconds/.test(logical) && logical.includes(`isAdjustedToUTC=${type === 'timestamp' ? 1 : 0}`);
  }
  const dec = parseDecimalType(type);
  if (!dec || converted !== 'DECIMAL' || logical !== `DecimalType(scale=${dec.scale}, precision=${dec.precision})`) return false;
  // Parquet's rule: INT32 up to 9 digits, INT64 up to 18, fixed-length bytes for any.
  return (c.type === 'INT32' && dec.precision <= 9) || (c.type === 'INT64' && dec.precision <= 18) || c.type === 'FIXED_LEN_BYTE_ARRAY';
}

interface FooterFacts {
  /** The name infix of the file's one codec; undefined when its codecs or encodings are not ones lakelet's files use. */
  codec?: string;
  numRecords: number;
  /** add.stats from the row groups' statistics; undefined when some are missing or cannot be trusted alone. */
  stats?: string;
}

interface FooterRow {
  row_group_id: string | number;
  path_in_schema: string;
  row_group_num_rows: string | number;
  compression: string;
  encodings: string;
  stats_min_value: string | null;
  stats_max_value: string | null;
  stats_null_count: string | number | null;
}

/**
 * Codecs, encodings, row count and statistics from the file's footer (one small query: its row
 * groups' rows, combined here, which took ~1.5 ms where DuckDB's own aggregate over them took 4–17).
 * Row-group min/max (Parquet's min_value/max_value: bounds in the column's own order) combine as
 * the column's type orders them. Float columns need a scan (Parquet's bounds leave NaN out, and
 * Delta's must not), as does a column whose row groups lack a bound or a null count.
 */
async function footerFacts(ctx: TableContext, file: string, schema: StructType, metadata: AdoptOptions['metadata']): Promise<FooterFacts> {
  const rows = await ctx.compute.query<FooterRow>(
    `SELECT row_group_id, path_in_schema, row_group_num_rows, compression, encodings, stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata(${sqlString(file)})`,
  );
  const codecs = new Set(rows.map((r) => r.compression));
  const encodings = rows.flatMap((r) => r.encodings.split(',').map((e) => e.trim()));
  const [only] = codecs;
  const codec = codecs.size === 1 && only in CODECS && encodings.every((e) => ENCODINGS.has(e)) ? CODECS[only] : undefined;
  // Rows per row group, from any of its columns (every one of them names the group's count).
  const rowGroups = new Map(rows.map((r) => [String(r.row_group_id), Number(r.row_group_num_rows)]));
  const numRecords = [...rowGroups.values()].reduce((n, c) => n + c, 0);
  if (codec === undefined) return { codec, numRecords };
  const entries: [StructField, StatsEntry][] = [];
  for (const f of statsFields(schema, metadata)) {
    const groups = rows.filter((r) => r.path_in_schema === f.name);
    if (groups.length !== rowGroups.size || groups.some((g) => g.stats_null_count === null)) return { codec, numRecords };
    const nulls = groups.reduce((n, g) => n + BigInt(g.stats_null_count!), 0n).toString();
    if (!hasBounds(f.type)) {
      entries.push([f, { nulls, lo: null, hi: null }]);
      continue;
    }
    const order = orderKey(f.type);
    if (!order) return { codec, numRecords };
    const lo = extreme(groups.map((g) => g.stats_min_value), order, -1);
    const hi = extreme(groups.map((g) => g.stats_max_value), order, 1);
    if (lo === undefined || hi === undefined) return { codec, numRecords };
    entries.push([f, { nulls, lo, hi }]);
  }
  return { codec, numRecords, stats: addStats(numRecords, entries, schema, metadata) };
}

type Key = bigint | Buffer;

/**
 * How a type's footer values (as DuckDB prints them) order: numbers, dates and timestamps by value,
 * text by its UTF-8 bytes (Parquet's and DuckDB's order). Undefined for floats (see footerFacts).
 */
function orderKey(type: DataType): ((text: string) => Key | undefined) | undefined {
  if (typeof type !== 'string') return undefined;
  if (['byte', 'short', 'integer', 'long'].includes(type)) return (t) => (/^-?\d+$/.test(t) ? BigInt(t) : undefined);
  const dec = parseDecimalType(type);
  if (dec) return (t) => unscaledDecimal(t, dec);
  if (type === 'date') return (t) => ((d) => (d === undefined ? undefined : BigInt(d)))(parseDateToDays(t));
  if (type === 'timestamp' || type === 'timestamp_ntz') return (t) => parseTimestamp(t)?.micros;
  if (type === 'string') return (t) => Buffer.from(t);
  return undefined;
}

/** The least (sign -1) or greatest (1) value's text; undefined if one is missing or unreadable. */
function extreme(values: (string | null)[], key: (text: string) => Key | undefined, sign: -1 | 1): string | undefined {
  let best: { text: string; key: Key } | undefined;
  for (const text of values) {
    const k = text === null ? undefined : key(text);
    if (text === null || k === undefined) return undefined;
    if (!best || compareKeys(k, best.key) * sign > 0) best = { text, key: k };
  }
  return best?.text;
}

function compareKeys(a: Key, b: Key): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(a as Buffer, b as Buffer);
}

/** The table's columns that carry statistics (flat columns only reach here). */
function statsFields(schema: StructType, metadata: AdoptOptions['metadata']): StructField[] {
  const wanted = new Set(statsColumns(metadata).filter((p) => p.length === 1).map((p) => p[0]));
  return schema.fields.filter((f) => wanted.has(f.name));
}

/** Booleans and binary get no bounds in Delta's stats. */
function hasBounds(type: DataType): boolean {
  return type !== 'boolean' && type !== 'binary';
}

interface StatsEntry {
  nulls: unknown;
  lo: unknown;
  hi: unknown;
  nan?: boolean;
}

/** add.stats, through the one conversion both writers share (the entries shaped as a RETURN_STATS row). */
function addStats(numRecords: number, entries: [StructField, StatsEntry][], schema: StructType, metadata: AdoptOptions['metadata']): string {
  const column_statistics = entries.map(([f, e]) => ({
    key: returnStatsKey([f.name]),
    value: [
      { key: 'null_count', value: e.nulls },
      { key: 'min', value: e.lo ?? null },
      { key: 'max', value: e.hi ?? null },
      ...(e.nan !== undefined ? [{ key: 'has_nan', value: String(e.nan) }] : []),
    ],
  }));
  return statsFromReturnStats({ count: numRecords, column_statistics }, schema, (n) => n, { configuration: metadata.configuration });
}

/** add.stats from one aggregate over the file (both cores), where the footer's do not serve. */
async function scannedStats(ctx: TableContext, file: string, schema: StructType, metadata: AdoptOptions['metadata']): Promise<{ numRecords: number; json: string }> {
  const fields = statsFields(schema, metadata);
  const parts = ['count(*) AS __n'];
  fields.forEach((f, i) => {
    const c = sqlIdent(f.name);
    parts.push(`count(*) - count(${c}) AS __z${i}`);
    if (hasBounds(f.type)) parts.push(`min(${c})::VARCHAR AS __lo${i}`, `max(${c})::VARCHAR AS __hi${i}`);
    if (f.type === 'float' || f.type === 'double') parts.push(`coalesce(bool_or(isnan(${c})), false) AS __nan${i}`);
  });
  // (Not hive-partitioned: a `key=value` folder above the table would otherwise become a column.)
  const [row] = await ctx.compute.query<Record<string, unknown>>(`SELECT ${parts.join(', ')} FROM read_parquet(${sqlString(file)}, hive_partitioning = false)`);
  const numRecords = Number(row.__n);
  const entry = (i: number, f: StructField): StatsEntry => ({
    nulls: row[`__z${i}`],
    lo: row[`__lo${i}`] ?? null,
    hi: row[`__hi${i}`] ?? null,
    ...(f.type === 'float' || f.type === 'double' ? { nan: row[`__nan${i}`] === true } : {}),
  });
  return { numRecords, json: addStats(numRecords, fields.map((f, i) => [f, entry(i, f)]), schema, metadata) };
}
