import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import { columnMappingMode, physicalName } from '../../engine/delta/column-mapping.ts';
import { localFileFor } from '../../engine/delta/materialize.ts';
import { parseStats } from '../../engine/delta/stats.ts';
import { canSkipFile, type Predicate } from '../../engine/delta/skipping.ts';
import type { Snapshot } from '../../engine/delta/snapshot.ts';
import type { AddFile } from '../../engine/delta/actions.ts';
import type { Scan } from '../../engine/delta/scan.ts';
import type { DeltaTable } from '../../engine/table.ts';
import { LINEAGE, RESCUED, type Column, type StageBatch, type StageResult } from '../warehouse.ts';
import { stageAppId } from './ledger.ts';

/**
 * The stage table of a Delta pipeline: every batch's rows with lineage, appended once per batch
 * (txn `lakelet:<pipeline>:stage` @ seq), read back by the MERGE, and trimmed by retention.
 */
export async function stageColumns(stage: DeltaTable, compute: Compute): Promise<Column[] | undefined> {
  const snap = await stage.tryLatest();
  if (!snap) return undefined;
  // Asked once per batch; the answer changes only with the schema.
  const known = columnsBySchema.get(stage);
  if (known?.schema === snap.metadata.schemaString) return known.columns.map((c) => ({ ...c }));
  // The columns are the snapshot's schema: a scan of no files gives them as typed NULLs, without
  // DuckDB describing every stage file (union_by_name), a cost that grew with the stage per batch.
  const scan = await stage.scan({ version: snap.version, files: [] });
  try {
    const cols = await compute.query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM (${scan.sql})`);
    const columns = cols.filter((c) => !(LINEAGE as readonly string[]).includes(c.column_name)).map((c) => ({ name: c.column_name, type: c.column_type }));
    columnsBySchema.set(stage, { schema: snap.metadata.schemaString, columns });
    return columns.map((c) => ({ ...c }));
  } finally {
    await scan.release();
  }
}

/** The stage's columns as last described, with the schema they were described from (per table handle). */
const columnsBySchema = new WeakMap<DeltaTable, { schema: string; columns: Column[] }>();

export async function appendBatch(stage: DeltaTable, pipeline: string, batch: StageBatch, properties: Record<string, string>): Promise<StageResult> {
  // Batch files on a remote store are read through the bounded local cache (DuckDB reads local files).
  const paths = batch.query !== undefined ? [] : await Promise.all(batch.files.map((f) => localFileFor(f.store, f.key)));
  const sql = batch.query ?? `SELECT * FROM read_parquet([${paths.map(sqlString).join(', ')}])`;
  const result = await stage
    .write({ sql })
    .mode('append')
    .mergeSchema(batch.addColumns)
    .properties(properties)
    .txn(stageAppId(pipeline), batch.seq)
    .execute();
  return { version: result.version, rows: Number(result.metrics.numOutputRows ?? 0), skipped: result.skipped !== undefined };
}

/** Per file of a staged batch: rows whose key is NULL (never merged) and rows with rescued data. */
export async function batchCounts(stage: DeltaTable, compute: Compute, seq: number, key: string[]): Promise<Map<string, { rejected: number; rescued: number }>> {
  // The usual batch has neither: its files' stats say so without a scan (a scan plans, binds and
  // describes its files: six statements per batch, a few ms each, for a map of zeros).
  const latest = await stage.tryLatest();
  if (latest && batchFiles(latest, seq, key).noneRejectedOrRescued) return new Map();
  const scan = await batchScan(stage, seq);
  try {
    // The scan's columns are its snapshot's schema fields: no DESCRIBE round trip needed.
    const cols = scan.snapshot.schema.fields.map((f) => ({ column_name: f.name }));
    const hasRescue = cols.some((c) => c.column_name === RESCUED);
    const nullKey = key.length ? key.map((k) => `${sqlIdent(k)} IS NULL`).join(' OR ') : 'false';
    const rows = await compute.query<{ f: string; rejected: string | number; rescued: string | number }>(
      `SELECT _source_file AS f, count(*) FILTER (WHERE ${nullKey}) AS rejected, ${hasRescue ? `count(${RESCUED})` : '0'} AS rescued FROM (${scan.sql}) WHERE _batch = ${seq} GROUP BY 1`,
    );
    return new Map(rows.map((r) => [r.f, { rejected: Number(r.rejected), rescued: Number(r.rescued) }]));
  } finally {
    await scan.release();
  }
}

/**
 * A scan of batch `seq`'s stage rows: of the files whose `_batch` stats may hold it (all of them
 * when a file has no such stats), rows filtered by `_batch` in the SQL. The files are chosen here
 * rather than by the scan's `where`, which binds and compiles a predicate (four statements) to
 * learn what the stats already say.
 */
export async function batchScan(stage: DeltaTable, seq: number): Promise<Scan & { snapshot: Snapshot }> {
  const snapshot = await stage.snapshot();
  const scan = await stage.scan({ version: snapshot.version, files: batchFiles(snapshot, seq).files });
  return { ...scan, sql: `SELECT * FROM (${scan.sql}) WHERE _batch = ${seq}` };
}

/**
 * The stage files that may hold batch `seq` (data skipping on `_batch = seq`: partition value or
 * stats; all of them when a file has neither), and whether their stats show no NULL in a key
 * column and nothing in the rescued column (then every file of the batch counts 0 and 0). A
 * file's stats cover all its batches, so a 0 there holds for this one; a deletion vector only
 * removes rows, so a nullCount of 0 (or of all its records) stays true of what is left.
 */
function batchFiles(snapshot: Snapshot, seq: number, key: string[] = []): { files: AddFile[]; noneRejectedOrRescued: boolean } {
  const mode = columnMappingMode(snapshot.metadata);
  const byLower = new Map(snapshot.schema.fields.map((f) => [f.name.toLowerCase(), f]));
  const physical = (name: string) => {
    const f = byLower.get(name.toLowerCase());
    return f && physicalName(f, mode);
  };
  const inBatch: Predicate = { kind: 'compare', op: '=', column: ['_batch'], value: { duckType: 'BIGINT', text: String(seq) } };
  const keyCols = key.map(physical);
  const rescueCol = physical(RESCUED);
  let none = keyCols.every((k) => k !== undefined);
  const files: AddFile[] = [];
  for (const f of snapshot.files) {
    const stats = parseStats(f.stats);
    if (canSkipFile(inBatch, { partitionValues: f.partitionValues ?? {}, stats }, snapshot.schema, snapshot.partitionColumns, (n) => physical(n) ?? n)) continue;
    files.push(f);
    if (!none) continue;
    const nulls = stats?.nullCount ?? {};
    if (keyCols.some((k) => Number(nulls[k!] ?? NaN) !== 0)) none = false;
    if (rescueCol !== undefined && (stats?.numRecords === undefined || Number(nulls[rescueCol] ?? NaN) !== stats.numRecords)) none = false;
  }
  return { files, noneRejectedOrRescued: none };
}

/**
 * Deletes finished batches (up to `upToBatch`, ingested before `olderThan` if given) and vacuums
 * their files at once: the stage is the pipeline's own table, read only under its lock, so the
 * usual 7-day vacuum retention protects no reader here and would only keep the disk full.
 */
export async function trimStage(stage: DeltaTable, upToBatch: number, olderThan: number | undefined): Promise<{ deletedRows: number; vacuumedFiles: number }> {
  if (!(await stage.tryLatest())) return { deletedRows: 0, vacuumedFiles: 0 };
  const predicate = olderThan === undefined ? `_batch <= ${upToBatch}` : `_batch <= ${upToBatch} AND _ingested_at < CAST(epoch_ms(CAST(${olderThan} AS BIGINT)) AS TIMESTAMPTZ)`;
  const deleted = await stage.delete(predicate).execute();
  const deletedRows = deleted.skipped ? 0 : Number(deleted.metrics.numDeletedRows);
  if (deletedRows === 0) return { deletedRows: 0, vacuumedFiles: 0 };
  const vacuum = await stage.vacuum().retentionMillis(0).retentionCheck(false).execute();
  return { deletedRows, vacuumedFiles: vacuum.metrics.numDeletedFiles };
}
