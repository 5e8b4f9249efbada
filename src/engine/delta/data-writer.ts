import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { AddFile } from './actions.ts';
import type { DataType, StructField, StructType } from './schema.ts';
import { isArray, isMap, isStruct } from './schema.ts';
import type { TableContext } from './table-context.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/duckdb.ts';
import { deltaTypeToDuckDb } from './duckdb-types.ts';
import { partitionDirectory, encodeAddPath } from './paths.ts';
import { statsFromReturnStats } from './stats.ts';
import { physicalName, physicalSchema, type ColumnMappingMode } from './column-mapping.ts';

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
}

export interface DataWriteResult {
  adds: AddFile[];
  numOutputRows: number;
  numOutputBytes: number;
}

export const DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024;

/**
 * Writes the rows of a SQL relation as Parquet data files of the table (zstd, unique names), one
 * DuckDB COPY for all partitions: partition values are serialised to Delta's string form inside
 * DuckDB and used as the PARTITION_BY keys, so the partition_keys DuckDB reports are exactly the
 * strings `add.partitionValues` needs. Files are written into a staging folder and then moved into
 * the table's Hive-style layout through the ObjectStore. Nothing is committed here.
 */
export async function writeDataFiles(table: TableContext, sourceSql: string, options: DataWriteOptions): Promise<DataWriteResult> {
  const { schema, partitionColumns, mappingMode } = options;
  const partLower = partitionColumns.map((c) => c.toLowerCase());
  const partitionFields = partLower.map((c) => schema.fields.find((f) => f.name.toLowerCase() === c)!);
  const dataFields = schema.fields.filter((f) => !partLower.includes(f.name.toLowerCase()));

  // Columns the batch lacks (after schema evolution, or nullable ones left out) are written as NULL.
  const present = new Set(
    (await table.compute.query<{ column_name: string }>(`DESCRIBE ${sourceSql}`)).map((c) => c.column_name.toLowerCase()),
  );
  const valueOf = (f: StructField) =>
    present.has(f.name.toLowerCase()) ? `CAST(s.${sqlIdent(f.name)} AS ${deltaTypeToDuckDb(f.type)})` : `NULL::${deltaTypeToDuckDb(f.type)}`;
  const select: string[] = dataFields.map((f) => `${physicalExpr(valueOf(f), f.type, mappingMode)} AS ${sqlIdent(physicalName(f, mappingMode))}`);
  partitionFields.forEach((f, i) => select.push(`${partitionStringExpr(valueOf(f), f)} AS ${sqlIdent(`__lakelet_pv${i}`)}`));
  const id = table.ids.uuid();
  const stagingLocal = table.store.localPath(`.lakelet-staging/${id}`) ?? join(tmpdir(), 'lakelet-staging', id);
  await mkdir(stagingLocal, { recursive: true });
  try {
    const size = options.targetFileSize ?? Number(options.configuration?.['delta.targetFileSize'] ?? DEFAULT_TARGET_FILE_SIZE);
    const copyOptions = [
      'FORMAT parquet',
      'COMPRESSION zstd',
      'RETURN_STATS',
      `FILENAME_PATTERN 'part-{uuid}'`,
      'OVERWRITE_OR_IGNORE',
    ];
    // DuckDB cannot roll files by size while partitioning; partitioned writes get one file per
    // partition (per thread) and OPTIMIZE compacts later.
    if (partitionFields.length === 0) copyOptions.push(`FILE_SIZE_BYTES ${Math.max(1, Math.floor(size))}`);
    if (partitionFields.length > 0) copyOptions.push(`PARTITION_BY (${partitionFields.map((_, i) => sqlIdent(`__lakelet_pv${i}`)).join(', ')})`);
    const order = options.orderBy ? ` ORDER BY ${options.orderBy}` : '';
    const rows = await table.compute.query<ReturnStatsRow>(
      `COPY (SELECT ${select.join(', ')} FROM (${sourceSql}) s${order}) TO ${sqlString(stagingLocal)} (${copyOptions.join(', ')})`,
    );
    const adds: AddFile[] = [];
    let numOutputRows = 0;
    let numOutputBytes = 0;
    // Stats are keyed by physical names at every depth, like the Parquet columns they describe.
    const physicalData = physicalSchema({ type: 'struct', fields: dataFields }, mappingMode);
    for (const row of rows) {
      const count = Number(row.count);
      if (count === 0) continue;
      const partitionValues: Record<string, string | null> = {};
      const keys = new Map((row.partition_keys ?? []).map((kv) => [kv.key, kv.value]));
      partitionFields.forEach((f, i) => {
        partitionValues[physicalName(f, mappingMode)] = keys.get(`__lakelet_pv${i}`) ?? null;
      });
      const dir = partitionFields.length > 0 ? partitionDirectory(partitionFields.map((f) => physicalName(f, mappingMode)), partitionValues) + '/' : '';
      const uuid = basename(row.filename).replace(/^part-/, '').replace(/\.parquet$/, '');
      const key = `${dir}part-00000-${uuid}-c000.zstd.parquet`;
      const bytes = Number(row.file_size_bytes);
      await table.store.putFile(key, row.filename);
      const stats = statsFromReturnStats(row, physicalData, (n: string) => n, {
        configuration: options.configuration,
      });
      adds.push({
        path: encodeAddPath(key),
        partitionValues,
        size: bytes,
        modificationTime: table.clock.now(),
        dataChange: options.dataChange ?? true,
        stats,
      });
      numOutputRows += count;
      numOutputBytes += bytes;
    }
    return { adds, numOutputRows, numOutputBytes };
  } finally {
    await rm(stagingLocal, { recursive: true, force: true });
  }
}

interface ReturnStatsRow {
  filename: string;
  count: string;
  file_size_bytes: string;
  column_statistics: unknown;
  partition_keys: { key: string; value: string | null }[] | null;
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
      // The partition string is the bytes read as UTF-8 (DuckDB's VARCHAR cast would write escapes).
      return `decode(${expr})`;
    case 'float':
    case 'double':
      // Java's spelling of the special values, which Spark's parser accepts.
      return `CASE WHEN isnan(${expr}) THEN 'NaN' WHEN isinf(${expr}) AND ${expr} > 0 THEN 'Infinity' WHEN isinf(${expr}) THEN '-Infinity' ELSE CAST(${expr} AS VARCHAR) END`;
    default:
      return `CAST(${expr} AS VARCHAR)`;
  }
}
