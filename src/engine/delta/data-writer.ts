import { basename } from 'node:path';
import type { AddFile } from './actions.ts';
import type { DataType, StructField, StructType } from './schema.ts';
import { isArray, isMap, isStruct } from './schema.ts';
import type { TableContext } from './table-context.ts';
import { InputError } from '../errors.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import { deltaTypeToDuckDb } from './duckdb-types.ts';
import { partitionDirectory, encodeAddPath } from './paths.ts';
import { statsFromReturnStats } from './stats.ts';
import { physicalName, physicalSchema, type ColumnMappingMode } from './column-mapping.ts';
import { columnMappingId } from './column-mapping-assign.ts';
import { makeStagingFolder, removeStagingFolder } from './write-leftovers.ts';

export interface DataWriteOptions {
  schema: StructType;
  partitionColumns: string[];
  mappingMode: ColumnMappingMode;
  /** Roll over to a new file past this many bytes. */
  targetFileSize?: number;
  /** Table properties (stats column limits). */
  configuration?: Record<string, string>;
  /** Mark the adds as data changes (false for OPTIMIZE-style rewrites). */
  dataChange?: boolean;
  /** Optional ORDER BY clause for the written rows (OPTIMIZE ZORDER/sort). */
  orderBy?: string;
  /**
   * Every row belongs to this one partition (OPTIMIZE's bins): the rows are written without
   * PARTITION_BY, so files roll over by size and keep the ORDER BY, and are placed in its directory.
   */
  partitionValues?: Record<string, string | null>;
  /** Rows per Parquet row group (DuckDB checks the file size only between row groups). */
  rowGroupSize?: number;
  /** The relation's column names when the caller knows them: spares a DESCRIBE of it. */
  columns?: string[];
  /** zstd level (default FAST_ZSTD_LEVEL; OPTIMIZE, whose files are meant to last, asks for more). */
  compressionLevel?: number;
}

/**
 * zstd level of ordinary writes: 1, not DuckDB's default 3, costs about a third less CPU per write
 * (the largest share of a MERGE's time), and on typical tables the files come out about the same
 * size. Any zstd reader reads any level.
 */
export const FAST_ZSTD_LEVEL = 1;

export interface DataWriteResult {
  adds: AddFile[];
  numOutputRows: number;
  numOutputBytes: number;
}

export const DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024;

/** Which files a write makes: data files of the table, or change data files (see ops/cdf.ts). */
export interface FileKind {
  /** What the rows are, for error messages ("change data"). */
  what: string;
  /** DuckDB's FILENAME_PATTERN prefix: files are written as `<prefix>-<uuid>.parquet`. */
  prefix: string;
  /** The file's key in the table, from its partition directory ('' or 'k=v/') and uuid. */
  key(partitionDir: string, uuid: string): string;
  /** Compute `add.stats` for the files. */
  stats: boolean;
  /** Columns written after the table's data columns, cast from the source; each must be there. */
  extraColumns?: { name: string; duckType: string }[];
}

export const DATA_FILES: FileKind = {
  what: 'data',
  prefix: 'part',
  key: (dir, uuid) => `${dir}part-00000-${uuid}-c000.zstd.parquet`,
  stats: true,
};

/** One file a write placed in the table; nothing is committed yet. */
export interface WrittenFile {
  /** The key in the table's store (not yet URL-encoded as add/cdc paths are). */
  key: string;
  partitionValues: Record<string, string | null>;
  size: number;
  numRecords: number;
  stats?: string;
}

/**
 * Writes the rows of a SQL relation as data files of the table (`add` actions to commit). Nothing
 * is committed here.
 */
export async function writeDataFiles(table: TableContext, sourceSql: string, options: DataWriteOptions): Promise<DataWriteResult> {
  const files = await writeParquetFiles(table, sourceSql, DATA_FILES, options);
  const adds: AddFile[] = files.map((f) => ({
    path: encodeAddPath(f.key),
    partitionValues: f.partitionValues,
    size: f.size,
    modificationTime: table.clock.now(),
    dataChange: options.dataChange ?? true,
    stats: f.stats,
  }));
  return { adds, numOutputRows: files.reduce((n, f) => n + f.numRecords, 0), numOutputBytes: files.reduce((n, f) => n + f.size, 0) };
}

/**
 * The one Parquet writer of the engine (data files, change data files, OPTIMIZE's rewrites): the
 * rows of a SQL relation as Parquet files of the table (zstd, unique names), in one DuckDB COPY
 * for all partitions. Data columns are written under their physical names (nested ones too);
 * partition values are serialised to Delta's string form inside DuckDB and used as the
 * PARTITION_BY keys, so the partition_keys DuckDB reports are exactly the strings
 * `partitionValues` needs. Files are written into a staging folder and then moved into the
 * table's Hive-style layout through the ObjectStore. Nothing is committed here.
 */
export async function writeParquetFiles(table: TableContext, sourceSql: string, kind: FileKind, options: DataWriteOptions): Promise<WrittenFile[]> {
  const layout = columnLayout(options);
  const select = await selectList(table, sourceSql, kind, layout, options.mappingMode, options.columns);
  const id = table.ids.uuid();
  const stagingLocal = await makeStagingFolder(table.store, id);
  try {
    const order = options.orderBy ? ` ORDER BY ${options.orderBy}` : '';
    const rows = await table.compute.query<ReturnStatsRow>(
      `COPY (SELECT ${select.join(', ')} FROM (${sourceSql}) s${order}) TO ${sqlString(stagingLocal)} (${copyOptions(kind, layout, options).join(', ')})`,
    );
    // Stats are keyed by physical names at every depth, like the Parquet columns they describe.
    const physicalData = physicalSchema({ type: 'struct', fields: layout.dataFields }, options.mappingMode);
    const files: WrittenFile[] = [];
    for (const row of rows) {
      const numRecords = Number(row.count);
      if (numRecords === 0) continue;
      const partitionValues = partitionValuesOf(row, layout, options);
      const names = layout.partitionFields.map((f) => physicalName(f, options.mappingMode));
      const dir = layout.partitionFields.length > 0 ? partitionDirectory(names, partitionValues) + '/' : '';
      const uuid = basename(row.filename).slice(kind.prefix.length + 1).replace(/\.parquet$/, '');
      const key = kind.key(dir, uuid);
      await table.store.putFile(key, row.filename);
      const stats = kind.stats ? statsFromReturnStats(row, physicalData, (n: string) => n, { configuration: options.configuration }) : undefined;
      files.push({ key, partitionValues, size: Number(row.file_size_bytes), numRecords, ...(stats !== undefined ? { stats } : {}) });
    }
    return files;
  } finally {
    await removeStagingFolder(stagingLocal);
  }
}

interface ColumnLayout {
  partitionFields: StructField[];
  dataFields: StructField[];
  /** DuckDB PARTITION_BY: partition values come from the rows (not one fixed partition). */
  partitionBy: boolean;
}

function columnLayout(options: DataWriteOptions): ColumnLayout {
  const { schema, partitionColumns } = options;
  const partLower = partitionColumns.map((c) => c.toLowerCase());
  const partitionFields = partLower.map((c) => schema.fields.find((f) => f.name.toLowerCase() === c)!);
  const dataFields = schema.fields.filter((f) => !partLower.includes(f.name.toLowerCase()));
  return { partitionFields, dataFields, partitionBy: partitionFields.length > 0 && !options.partitionValues };
}

/** The COPY's select list: data columns (physical names), the kind's extra columns, partition keys. */
/**
 * A table column's value as the writer stores it from a query whose columns (lower-cased) are
 * `present`: the query's column cast to the column's type, or NULL of that type when the query
 * lacks it (a column added by schema evolution, a nullable one left out). `qualifier`: the query's
 * alias with its dot, if any. Whoever reads a batch from its query instead of the files written from
 * it (the pipeline's held rows) must use the same, or the two reads would differ.
 */
export function storedValue(f: StructField, present: ReadonlySet<string>, qualifier = ''): string {
  const type = deltaTypeToDuckDb(f.type);
  return present.has(f.name.toLowerCase()) ? `CAST(${qualifier}${sqlIdent(f.name)} AS ${type})` : `NULL::${type}`;
}

async function selectList(table: TableContext, sourceSql: string, kind: FileKind, layout: ColumnLayout, mode: ColumnMappingMode, known?: string[]): Promise<string[]> {
  // Columns the batch lacks (after schema evolution, or nullable ones left out) are written as NULL.
  const described = known ? known.map((column_name) => ({ column_name })) : await table.compute.query<{ column_name: string }>(`DESCRIBE ${sourceSql}`);
  const present = new Set(described.map((c) => c.column_name.toLowerCase()));
  const valueOf = (f: StructField) => storedValue(f, present, 's.');
  const select = layout.dataFields.map((f) => `${physicalExpr(valueOf(f), f.type, mode)} AS ${sqlIdent(physicalName(f, mode))}`);
  for (const extra of kind.extraColumns ?? []) {
    if (!present.has(extra.name.toLowerCase())) {
      throw new InputError(`${table.uri}: ${kind.what} rows need a ${extra.name} column (got ${described.map((c) => c.column_name).join(', ')}).`);
    }
    select.push(`CAST(s.${sqlIdent(extra.name)} AS ${extra.duckType}) AS ${sqlIdent(extra.name)}`);
  }
  if (layout.partitionBy) layout.partitionFields.forEach((f, i) => select.push(`${partitionStringExpr(valueOf(f), f)} AS ${sqlIdent(`__lakelet_pv${i}`)}`));
  return select;
}

function copyOptions(kind: FileKind, layout: ColumnLayout, options: DataWriteOptions): string[] {
  const size = options.targetFileSize ?? Number(options.configuration?.['delta.targetFileSize'] ?? DEFAULT_TARGET_FILE_SIZE);
  const level = options.compressionLevel ?? FAST_ZSTD_LEVEL;
  const copy = ['FORMAT parquet', 'COMPRESSION zstd', `COMPRESSION_LEVEL ${level}`, 'RETURN_STATS', `FILENAME_PATTERN '${kind.prefix}-{uuid}'`, 'OVERWRITE_OR_IGNORE'];
  // DuckDB cannot roll files by size while partitioning; partitioned writes get one file per
  // partition (per thread) and OPTIMIZE compacts later. Unpartitioned, FILE_SIZE_BYTES also makes
  // DuckDB write into the directory (FILENAME_PATTERN).
  if (layout.partitionBy) copy.push(`PARTITION_BY (${layout.partitionFields.map((_, i) => sqlIdent(`__lakelet_pv${i}`)).join(', ')})`);
  else copy.push(`FILE_SIZE_BYTES ${Math.max(1, Math.floor(size))}`);
  if (options.rowGroupSize !== undefined) copy.push(`ROW_GROUP_SIZE ${options.rowGroupSize}`);
  const fieldIds = options.mappingMode === 'none' ? undefined : fieldIdsOf(layout.dataFields, options.mappingMode);
  if (fieldIds) copy.push(`FIELD_IDS ${fieldIds}`);
  return copy;
}

/**
 * Under column mapping each column's id goes into the Parquet field_id (PROTOCOL.md: writers must
 * write it; readers in mode id find columns by it). DuckDB's FIELD_IDS takes a struct keyed by
 * column name: a plain id for a leaf, `{__duckdb_field_id: id, child: ...}` for a nested column
 * (`element` inside a list, `key`/`value` inside a map). Fields without an id are left out.
 */
function fieldIdsOf(fields: StructField[], mode: ColumnMappingMode): string | undefined {
  const entries: string[] = [];
  for (const f of fields) {
    const id = columnMappingId(f);
    const inner = nestedFieldIds(f.type, mode);
    if (inner) entries.push(`${sqlIdent(physicalName(f, mode))}: {${id !== undefined ? `__duckdb_field_id: ${id}, ` : ''}${inner}}`);
    else if (id !== undefined) entries.push(`${sqlIdent(physicalName(f, mode))}: ${id}`);
  }
  return entries.length > 0 ? `{${entries.join(', ')}}` : undefined;
}

function nestedFieldIds(t: DataType, mode: ColumnMappingMode): string | undefined {
  if (isStruct(t)) return fieldIdsOf(t.fields, mode)?.slice(1, -1);
  if (isArray(t)) {
    const e = nestedFieldIds(t.elementType, mode);
    return e ? `element: {${e}}` : undefined;
  }
  if (isMap(t)) {
    const parts = [['key', nestedFieldIds(t.keyType, mode)], ['value', nestedFieldIds(t.valueType, mode)]].filter(([, v]) => v);
    return parts.length > 0 ? parts.map(([k, v]) => `${k}: {${v}}`).join(', ') : undefined;
  }
  return undefined;
}

function partitionValuesOf(row: ReturnStatsRow, layout: ColumnLayout, options: DataWriteOptions): Record<string, string | null> {
  if (options.partitionValues) return { ...options.partitionValues };
  const keys = new Map((row.partition_keys ?? []).map((kv) => [kv.key, kv.value]));
  const partitionValues: Record<string, string | null> = {};
  layout.partitionFields.forEach((f, i) => {
    partitionValues[physicalName(f, options.mappingMode)] = keys.get(`__lakelet_pv${i}`) ?? null;
  });
  return partitionValues;
}

interface ReturnStatsRow {
  filename: string;
  count: string;
  file_size_bytes: string;
  column_statistics: unknown;
  partition_keys?: { key: string; value: string | null }[] | null;
}

/**
 * Under column mapping, nested struct fields are stored under their physical names too: rebuild
 * each struct (inside lists and maps as well) with the physical field names. The inverse of the
 * scan's logical projection.
 */
export function physicalExpr(expr: string, type: DataType, mode: ColumnMappingMode): string {
  if (mode === 'none' || !hasStruct(type)) return expr;
  if (isStruct(type)) {
    const parts = type.fields.map((f) => `${sqlIdent(physicalName(f, mode))} := ${physicalExpr(`${expr}.${sqlIdent(f.name)}`, f.type, mode)}`);
    return `CASE WHEN ${expr} IS NULL THEN NULL ELSE struct_pack(${parts.join(', ')}) END`;
  }
  if (isArray(type)) return `list_transform(${expr}, lambda __e: ${physicalExpr('__e', type.elementType, mode)})`;
  if (isMap(type)) {
    return `map_from_entries(list_transform(map_entries(${expr}), lambda __kv: {'key': ${physicalExpr('__kv.key', type.keyType, mode)}, 'value': ${physicalExpr('__kv.value', type.valueType, mode)}}))`;
  }
  return expr;
}

function hasStruct(t: DataType): boolean {
  return isStruct(t) || (isArray(t) && hasStruct(t.elementType)) || (isMap(t) && (hasStruct(t.keyType) || hasStruct(t.valueType)));
}

/** Delta's partition value serialisation (PROTOCOL.md), computed in DuckDB. */
export function partitionStringExpr(expr: string, field: StructField): string {
  switch (field.type) {
    case 'date':
      return `strftime(${expr}, '%Y-%m-%d')`;
    case 'timestamp':
      // ISO-8601 in UTC with microseconds, as current Delta writers do (PROTOCOL.md recommends it;
      // a zone-less value would be read in each reader's own zone). Session time zone is UTC.
      return `strftime(${expr}, '%Y-%m-%dT%H:%M:%S.%fZ')`;
    case 'timestamp_ntz':
      return `strftime(${expr}, '%Y-%m-%d %H:%M:%S.%f')`;
    case 'binary':
      // The partition string is the bytes read as UTF-8 (DuckDB's VARCHAR cast would write escapes);
      // empty is null, as for a string (below).
      return `NULLIF(decode(${expr}), '')`;
    case 'string':
      // An empty partition string means null (PROTOCOL.md), and Spark writes '' as null (its
      // Empty2Null): '' and NULL share one partition whose value is recorded as null, never "",
      // which Spark would read back as '' where lakelet and delta-rs read null.
      return `NULLIF(CAST(${expr} AS VARCHAR), '')`;
    case 'float':
    case 'double':
      // Java's spelling of the special values, which Spark's parser accepts.
      return `CASE WHEN isnan(${expr}) THEN 'NaN' WHEN isinf(${expr}) AND ${expr} > 0 THEN 'Infinity' WHEN isinf(${expr}) THEN '-Infinity' ELSE CAST(${expr} AS VARCHAR) END`;
    default:
      return `CAST(${expr} AS VARCHAR)`;
  }
}
