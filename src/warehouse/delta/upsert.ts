import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import type { DeltaTable } from '../../engine/table.ts';
import { storedValue } from '../../engine/delta/data-writer.ts';
import type { StructField } from '../../engine/delta/schema.ts';
import { LINEAGE, type UpsertResult, type UpsertSpec } from '../warehouse.ts';
import type { DeltaBatchLedger } from './ledger.ts';
import { targetAppId } from './ledger.ts';
import { batchScan } from './stage.ts';
import { recordTombstones, withoutBuriedRows } from './tombstones.ts';

const DELETED = '__lakelet_deleted';
const ORDER = '__lakelet_order';

export interface UpsertTables {
  pipeline: string;
  stage: DeltaTable;
  target: DeltaTable;
  tombstones: DeltaTable | undefined;
  compute: Compute;
  ledger: DeltaBatchLedger;
  targetProperties: Record<string, string>;
}

/**
 * MERGE a batch's stage rows into the target on the key, once (txn `lakelet:<pipeline>:target`):
 * one row per key (the latest by orderBy, then arrival order), delete markers applied, a row never
 * replaced by an older one, and never an older row for a key deleted since (tombstones.ts).
 * `afterTombstones` runs between the tombstone commit and the MERGE (crash tests stop there).
 */
export async function upsertBatch(t: UpsertTables, spec: UpsertSpec, afterTombstones?: (count: number) => void): Promise<UpsertResult & { tombstones: number }> {
  const seq = spec.seq;
  const scan = spec.heldRows !== undefined ? await heldBatchRows(t, spec.heldRows, seq) : await stageBatchRows(t, seq);
  const releases: (() => Promise<void>)[] = [];
  try {
    // The scan's columns are its snapshot's schema fields, in order: no DESCRIBE round trip needed.
    const cols = scan.fields.map((f) => ({ column_name: f.name }));
    const marker = spec.deletes?.column;
    const business = cols.map((c) => c.column_name).filter((c) => !(LINEAGE as readonly string[]).includes(c) && c.toLowerCase() !== marker?.toLowerCase());
    // A file's place in the batch: one comparison for a lone file, else a join to the (file,
    // place) pairs (a CASE of 100 files compared every row up to 100 times; list_position scanned
    // the list per row: 20-30 ms per 100,000 rows, the join 7-9).
    const { fileOrder, fileJoin } = filePlaces(spec.fileOrder);
    const markerPresent = marker !== undefined && cols.some((c) => c.column_name.toLowerCase() === marker.toLowerCase());
    const deleted = markerPresent
      ? `coalesce(CAST(${sqlIdent(marker)} AS VARCHAR) IN (${spec.deletes!.values.map((v) => sqlString(String(v))).join(', ')}), false)`
      : 'false';
    const order = `struct_pack(o := ${spec.orderBy ? sqlIdent(spec.orderBy) : 'NULL'}, f := ${fileOrder}, r := _row_number)`;
    const keyNotNull = spec.key.map((k) => `${sqlIdent(k)} IS NOT NULL`).join(' AND ');
    const source = `SELECT ${business.map(sqlIdent).join(', ')}, ${deleted} AS ${DELETED}, ${order} AS ${ORDER} FROM (${scan.sql}) AS __lakelet_rows${fileJoin} WHERE _batch = ${seq} AND ${keyNotNull}`;

    await ensureTarget(t, spec, business, source);

    // Deletes leave tombstones so that no older row brings a deleted key back.
    let mergeSource = source;
    let tombstones = 0;
    if (markerPresent && spec.orderBy && t.tombstones) {
      const ts = { pipeline: t.pipeline, key: spec.key, orderColumn: spec.orderBy, deletedColumn: DELETED, arrivalOrderColumn: ORDER };
      tombstones = await recordTombstones(t.tombstones, t.compute, ts, source, seq);
      afterTombstones?.(tombstones);
      const filtered = await withoutBuriedRows(t.tombstones, ts, source, seq);
      mergeSource = filtered.sql;
      releases.push(filtered.release);
    }
    const newerOnly = spec.orderBy ? `(t.${sqlIdent(spec.orderBy)} IS NULL OR s.${sqlIdent(spec.orderBy)} >= t.${sqlIdent(spec.orderBy)})` : undefined;
    const newer = spec.changedOnly ? [newerOnly, await changedCondition(t, business)].filter(Boolean).join(' AND ') : newerOnly;
    let merge = t.target.merge({ sql: mergeSource }, { on: spec.key }).dedupBy(ORDER);
    // changedOnly is about updates: a delete row (a key diff's carries the key and its last watermark only) deletes whatever it matches.
    if (markerPresent) merge = merge.whenMatchedDelete(newerOnly ? `s.${DELETED} AND ${newerOnly}` : `s.${DELETED}`);
    merge = merge.whenMatchedUpdateAll(newer ? (markerPresent ? `NOT s.${DELETED} AND ${newer}` : newer) : markerPresent ? `NOT s.${DELETED}` : undefined);
    merge = merge.whenNotMatchedInsertAll(markerPresent ? `NOT s.${DELETED}` : undefined);
    if (spec.state) merge = merge.domainMetadata(stateDomain(spec.state.key), spec.state.value);
    const result = await merge.txn(targetAppId(t.pipeline), seq).execute();
    // Already applied (a concurrent redo won): the version that applied it, and its counts.
    if (result.skipped) return { version: result.version, metrics: await t.ledger.mergeCounts(result.version), skipped: true, tombstones };
    const m = result.metrics;
    return {
      version: result.version,
      metrics: { inserted: m.numTargetRowsInserted, updated: m.numTargetRowsUpdated, deleted: m.numTargetRowsDeleted, deduplicated: m.numSourceRowsDeduplicated },
      skipped: false,
      tombstones,
    };
  } finally {
    for (const release of releases) await release();
    await scan.release();
  }
}

/** The batch's stage rows read from the stage table. */
async function stageBatchRows(t: UpsertTables, seq: number): Promise<{ sql: string; fields: StructField[]; release(): Promise<void> }> {
  const scan = await batchScan(t.stage, seq);
  return { sql: scan.sql, fields: scan.snapshot.schema.fields, release: () => scan.release() };
}

/**
 * The batch's stage rows from the query the stage step appended, while its inputs are still in
 * DuckDB: the stage files just written are not read back (a 10,000-row batch paid 15-20 ms to
 * decompress and decode them again). Each stage column as the stage writer stored it: the query's
 * column cast to the stage type, or NULL for a column the batch lacks (data-writer.ts storedValue),
 * so the rows are the ones in the stage table. Read after the stage commit: its schema includes
 * any column the batch added.
 */
async function heldBatchRows(t: UpsertTables, query: string, seq: number): Promise<{ sql: string; fields: StructField[]; release(): Promise<void> }> {
  const snapshot = await t.stage.snapshot();
  const described = await t.compute.query<{ column_name: string }>(`DESCRIBE SELECT * FROM (${query})`);
  const present = new Set(described.map((c) => c.column_name.toLowerCase()));
  const select = snapshot.schema.fields.map((f) => `${storedValue(f, present)} AS ${sqlIdent(f.name)}`);
  return { sql: `SELECT * FROM (SELECT ${select.join(', ')} FROM (${query})) WHERE _batch = ${seq}`, fields: snapshot.schema.fields, release: async () => {} };
}

/**
 * The expression of a stage row's place in the batch's file order (NULL for a file not in it), and
 * the join it needs: none for zero or one file.
 */
function filePlaces(files: string[]): { fileOrder: string; fileJoin: string } {
  if (files.length === 0) return { fileOrder: 'CAST(NULL AS INTEGER)', fileJoin: '' };
  if (files.length === 1) return { fileOrder: `CASE WHEN _source_file = ${sqlString(files[0])} THEN 0 END`, fileJoin: '' };
  // A name listed twice keeps its first place (as a list lookup did), so the join matches one pair.
  const places = new Map<string, number>();
  files.forEach((f, i) => places.has(f) || places.set(f, i));
  const pairs = [...places].map(([f, i]) => `(${sqlString(f)}, ${i})`).join(', ');
  // Names no business column has: the source's columns are named unqualified.
  return { fileOrder: '__lakelet_file_place', fileJoin: ` LEFT JOIN (VALUES ${pairs}) AS __lakelet_files(__lakelet_file_name, __lakelet_file_place) ON __lakelet_rows._source_file = __lakelet_file_name` };
}

/** The Delta domain that holds a committed state (warehouse.ts CommittedState). */
export const stateDomain = (key: string) => `lakelet.state.${key}`;

/** Some column the source and the target share differs (NULL-safe). */
async function changedCondition(t: UpsertTables, business: string[]): Promise<string | undefined> {
  const snap = await t.target.tryLatest();
  const shared = business.filter((b) => snap?.schema.fields.some((f) => f.name === b));
  // A column new to the target counts as a change when it has a value.
  const added = business.filter((b) => !shared.includes(b)).map((b) => `s.${sqlIdent(b)} IS NOT NULL`);
  const parts = [...shared.map((c) => `s.${sqlIdent(c)} IS DISTINCT FROM t.${sqlIdent(c)}`), ...added];
  return parts.length ? `(${parts.join(' OR ')})` : undefined;
}

/** The target holds the business columns only: created on first use, or given the columns the stage gained (evolve). */
async function ensureTarget(t: UpsertTables, spec: UpsertSpec, business: string[], source: string): Promise<void> {
  const snap = await t.target.tryLatest();
  const businessSql = `SELECT ${business.map(sqlIdent).join(', ')} FROM (${source}) WHERE false`;
  if (!snap) {
    await t.target.write({ sql: businessSql }).partitionBy(...spec.partitionBy).properties(t.targetProperties).execute();
    return;
  }
  const missing = business.some((b) => !snap.schema.fields.some((f) => f.name.toLowerCase() === b.toLowerCase()));
  if (missing && spec.addColumns) await t.target.write({ sql: businessSql }).mode('append').mergeSchema().execute();
}
