import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { AddCDCFile, Metadata } from '../delta/actions.ts';
import type { StructField } from '../delta/schema.ts';
import type { Snapshot } from '../delta/snapshot.ts';
import type { TableContext } from '../delta/table-context.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/duckdb.ts';
import { columnMappingMode, physicalName } from '../delta/column-mapping.ts';
import { deltaTypeToDuckDb } from '../delta/duckdb-types.ts';
import { DEFAULT_TARGET_FILE_SIZE, partitionStringExpr, physicalExpr } from '../delta/data-writer.ts';
import { encodeAddPath, partitionDirectory } from '../delta/paths.ts';
import { InputError } from '../errors.ts';

/**
 * Change data feed, write side (PROTOCOL.md "Change Data Files" / "Add CDC File"): when a table has
 * `delta.enableChangeDataFeed=true`, operations that change existing rows (DELETE, UPDATE, MERGE)
 * also write the changed rows, with a `_change_type` column ('insert', 'update_preimage',
 * 'update_postimage', 'delete'), into Parquet files under `_change_data/` and commit them as `cdc`
 * actions. Readers use a version's cdc files instead of its add/remove actions when it has any.
 */

export const CHANGE_TYPE_COLUMN = '_change_type';
export const CHANGE_DATA_DIR = '_change_data';
export type ChangeType = 'insert' | 'update_preimage' | 'update_postimage' | 'delete';

/** True when writers must record change data for this table (metadata or snapshot). */
export function isChangeDataFeedEnabled(of: Snapshot | Metadata): boolean {
  return String(of.configuration?.['delta.enableChangeDataFeed'] ?? '').toLowerCase() === 'true';
}

/**
 * Writes the rows of `sql` — the table's columns by logical name plus `_change_type` — as change
 * data files of the table: `_change_data/<partition dir>/cdc-<uuid>.zstd.parquet`, data columns
 * under their physical names, partition columns only in the path and in `cdc.partitionValues`
 * (serialised exactly as data files serialise them). Columns the relation lacks are written as
 * NULL. Returns the `cdc` actions to commit (dataChange=false, as the protocol requires); nothing
 * is committed here. No rows, no files.
 */
export async function writeChangeDataFiles(ctx: TableContext, snapshot: Snapshot, sql: string): Promise<AddCDCFile[]> {
  const mode = columnMappingMode(snapshot.metadata);
  const partLower = snapshot.partitionColumns.map((c) => c.toLowerCase());
  const fields = snapshot.schema.fields;
  const partitionFields = partLower.map((c) => fields.find((f) => f.name.toLowerCase() === c)!);
  const dataFields = fields.filter((f) => !partLower.includes(f.name.toLowerCase()));

  const described = await ctx.compute.query<{ column_name: string }>(`DESCRIBE ${sql}`);
  const present = new Set(described.map((c) => c.column_name.toLowerCase()));
  if (!present.has(CHANGE_TYPE_COLUMN)) {
    throw new InputError(`${ctx.uri}: change data rows need a ${CHANGE_TYPE_COLUMN} column (got ${described.map((c) => c.column_name).join(', ')}).`);
  }
  const valueOf = (f: StructField) =>
    present.has(f.name.toLowerCase()) ? `CAST(s.${sqlIdent(f.name)} AS ${deltaTypeToDuckDb(f.type)})` : `NULL::${deltaTypeToDuckDb(f.type)}`;
  const select = dataFields.map((f) => `${physicalExpr(valueOf(f), f.type, mode)} AS ${sqlIdent(physicalName(f, mode))}`);
  select.push(`CAST(s.${sqlIdent(CHANGE_TYPE_COLUMN)} AS VARCHAR) AS ${sqlIdent(CHANGE_TYPE_COLUMN)}`);
  partitionFields.forEach((f, i) => select.push(`${partitionStringExpr(valueOf(f), f)} AS ${sqlIdent(`__lakelet_pv${i}`)}`));

  const id = ctx.ids.uuid();
  const staging = ctx.store.localPath(`.lakelet-staging/${id}`) ?? join(tmpdir(), 'lakelet-staging', id);
  await mkdir(staging, { recursive: true });
  try {
    const options = ['FORMAT parquet', 'COMPRESSION zstd', 'RETURN_STATS', `FILENAME_PATTERN 'cdc-{uuid}'`, 'OVERWRITE_OR_IGNORE'];
    if (partitionFields.length > 0) options.push(`PARTITION_BY (${partitionFields.map((_, i) => sqlIdent(`__lakelet_pv${i}`)).join(', ')})`);
    // Unpartitioned, FILE_SIZE_BYTES makes DuckDB write into the directory (FILENAME_PATTERN) too.
    else options.push(`FILE_SIZE_BYTES ${Number(snapshot.configuration['delta.targetFileSize'] ?? DEFAULT_TARGET_FILE_SIZE)}`);
    const rows = await ctx.compute.query<{ filename: string; count: string; file_size_bytes: string; partition_keys: { key: string; value: string | null }[] | null }>(
      `COPY (SELECT ${select.join(', ')} FROM (${sql}) s) TO ${sqlString(staging)} (${options.join(', ')})`,
    );
    const out: AddCDCFile[] = [];
    for (const row of rows) {
      if (Number(row.count) === 0) continue;
      const keys = new Map((row.partition_keys ?? []).map((kv) => [kv.key, kv.value]));
      const partitionValues: Record<string, string | null> = {};
      partitionFields.forEach((f, i) => {
        partitionValues[physicalName(f, mode)] = keys.get(`__lakelet_pv${i}`) ?? null;
      });
      const dir = partitionFields.length > 0 ? partitionDirectory(partitionFields.map((f) => physicalName(f, mode)), partitionValues) + '/' : '';
      const uuid = basename(row.filename).replace(/^cdc-/, '').replace(/\.parquet$/, '');
      const key = `${CHANGE_DATA_DIR}/${dir}cdc-${uuid}.zstd.parquet`;
      await ctx.store.putFile(key, row.filename);
      out.push({ path: encodeAddPath(key), partitionValues, size: Number(row.file_size_bytes), dataChange: false });
    }
    return out;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
