import type { AddCDCFile, Metadata } from '../delta/actions.ts';
import type { Snapshot } from '../delta/snapshot.ts';
import type { TableContext } from '../delta/table-context.ts';
import { columnMappingMode } from '../delta/column-mapping.ts';
import { writeParquetFiles, type FileKind } from '../delta/data-writer.ts';
import { encodeAddPath } from '../delta/paths.ts';

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

/** Change data files: `_change_data/<partition dir>/cdc-<uuid>.zstd.parquet`, with `_change_type`, no stats. */
const CHANGE_DATA_FILES: FileKind = {
  what: 'change data',
  prefix: 'cdc',
  key: (dir, uuid) => `${CHANGE_DATA_DIR}/${dir}cdc-${uuid}.zstd.parquet`,
  stats: false,
  extraColumns: [{ name: CHANGE_TYPE_COLUMN, duckType: 'VARCHAR' }],
};

/**
 * Writes the rows of `sql` — the table's columns by logical name plus `_change_type` — as change
 * data files of the table, through the same writer as data files: data columns under their
 * physical names, partition columns only in the path and in `cdc.partitionValues` (serialised
 * exactly as data files serialise them). Columns the relation lacks are written as NULL. Returns
 * the `cdc` actions to commit (dataChange=false, as the protocol requires); nothing is committed
 * here. No rows, no files.
 */
export async function writeChangeDataFiles(ctx: TableContext, snapshot: Snapshot, sql: string): Promise<AddCDCFile[]> {
  const files = await writeParquetFiles(ctx, sql, CHANGE_DATA_FILES, {
    schema: snapshot.schema,
    partitionColumns: snapshot.partitionColumns,
    mappingMode: columnMappingMode(snapshot.metadata),
    configuration: snapshot.configuration,
  });
  return files.map((f) => ({ path: encodeAddPath(f.key), partitionValues: f.partitionValues, size: f.size, dataChange: false }));
}
