import { InputError } from '../../errors/lakelet-error.ts';
import type { Column, UpsertResult, UpsertSpec } from '../warehouse.ts';
import type { BigQueryClient } from './client.ts';
import { stateWriteSql, type StateCache } from './committed-state.ts';
import { countsOf, ledgerInsert, ledgerSelect, notYet, Sql, type LedgerCache } from './ledger.ts';
import { stagingTable } from './stage.ts';
import { buriedExpression, createTombstonesSql, tombstoneInsertFrom, type TombstoneSpec } from './tombstones.ts';
import { bigQueryType, clusterable, partitionExpression, quoteIdent, quoteString } from './types.ts';

const DELETED = '__lakelet_deleted';
const FILE = '__lakelet_file';
const ROW = '__lakelet_row';
const BURIED = '__lakelet_buried';

export interface UpsertTables {
  client: BigQueryClient;
  ledger: LedgerCache;
  pipeline: string;
  stage: string;
  target: string;
  tombstones: boolean;
  now: () => number;
  /** Follows the committed state a MERGE writes (spec.state). */
  states?: StateCache;
}

/** The per-batch table the MERGE reads: the staging table deduplicated, built once and dropped by the same script. */
export function mergeSourceTable(stage: string, seq: number): string {
  return `${stage}__merge_${seq}`;
}

/**
 * MERGE a batch's staging table into the target in GoogleSQL, once: one row per key (the latest by
 * orderBy, then arrival order), delete markers applied, a row never replaced by an older one, and
 * never an older row for a key deleted since (tombstones.ts).
 *
 * One script, one job (on the emulator every job costs ~0.1-0.3 s, and each mention of the
 * deduplicating window another ~0.3 s): the target (and tombstone table) created or given new
 * columns; the deduplicated source materialized once; then one transaction with the tombstones, the
 * ledger row (its counts computed from the source and the target as they are before the MERGE) and
 * the MERGE, all under "no ledger row for this batch yet" (`done`, read at the script's start: the
 * pipeline's lock keeps anyone else from writing it meanwhile). A crash leaves all or nothing, a redo
 * of a committed batch changes nothing, and the script ends selecting the ledger row, so a redo
 * reports the counts of the MERGE that happened.
 */
export async function upsertBatch(t: UpsertTables, spec: UpsertSpec, afterTombstones?: (count: number) => void): Promise<UpsertResult & { tombstones: number }> {
  const { client } = t;
  const seq = spec.seq;
  const done = await t.ledger.row(t.pipeline, 'target', seq);
  if (done) return { version: done.version, metrics: countsOf(done), skipped: true, tombstones: 0 };
  const staged = await t.ledger.row(t.pipeline, 'stage', seq);
  if (!staged) throw new InputError(`batch ${seq} of pipeline '${t.pipeline}' is not staged in BigQuery (no ledger row); run the stage step first`);
  const stageCols = (JSON.parse(staged.columns ?? '[]') as Column[]).map((c) => ({ name: c.name, type: bigQueryType(c.type, c.name) }));
  const marker = spec.deletes?.column;
  const markerPresent = marker !== undefined && stageCols.some((c) => c.name.toLowerCase() === marker.toLowerCase());
  const businessAll = stageCols.filter((c) => c.name.toLowerCase() !== marker?.toLowerCase());
  for (const k of spec.key) if (!businessAll.some((c) => c.name === k)) throw new InputError(`pipeline '${t.pipeline}': key column '${k}' is not in batch ${seq}'s columns (${businessAll.map((c) => c.name).join(', ')})`);

  const { ddl, business, targetColumns } = await targetSetUp(t, spec, businessAll);

  const staging = client.table(stagingTable(t.stage, seq));
  const deleted = markerPresent ? `COALESCE(CAST(${quoteIdent(marker)} AS STRING) IN (${spec.deletes!.values.map((v) => quoteString(String(v))).join(', ')}), FALSE)` : 'FALSE';
  const fileOrder = spec.fileOrder.map((f, i) => `WHEN ${quoteString(f)} THEN ${i}`).join(' ');
  const keyNotNull = spec.key.map((k) => `${quoteIdent(k)} IS NOT NULL`).join(' AND ');
  const keyNull = spec.key.map((k) => `${quoteIdent(k)} IS NULL`).join(' OR ');
  const cols = business.map((c) => quoteIdent(c.name));
  const order = [...(spec.orderBy ? [`${quoteIdent(spec.orderBy)} DESC NULLS LAST`] : []), `${FILE} DESC`, `${ROW} DESC`].join(', ');
  const raw = `SELECT ${cols.join(', ')}, ${deleted} AS ${DELETED}, CASE _source_file ${fileOrder || "WHEN '' THEN 0"} ELSE -1 END AS ${FILE}, _row_number AS ${ROW} FROM ${staging} WHERE ${keyNotNull}`;
  // QUALIFY needs a WHERE (GoogleSQL), and the window's ORDER BY names the inner query's columns.
  const deduplicated = `SELECT * FROM (${raw}) WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY ${spec.key.map(quoteIdent).join(', ')} ORDER BY ${order}) = 1`;

  let ts: TombstoneSpec | undefined;
  if (markerPresent && spec.orderBy && t.tombstones) {
    const typeOf = (n: string) => business.find((c) => c.name === n)!.type;
    ts = { client, pipeline: t.pipeline, key: spec.key.map((k) => ({ name: k, type: typeOf(k) })), order: { name: spec.orderBy, type: typeOf(spec.orderBy) }, deletedColumn: DELETED };
  }
  const source = client.table(mergeSourceTable(t.stage, seq));
  // Rows older than a delete of an earlier batch (tombstones) stay out of the MERGE, but their deletes still count as tombstones.
  const buried = ts ? buriedExpression(ts, '__d', seq) : 'FALSE';
  const target = client.table(t.target);
  const on = spec.key.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  const ob = spec.orderBy ? quoteIdent(spec.orderBy) : undefined;
  const newerOnly = ob ? `(t.${ob} IS NULL OR s.${ob} >= t.${ob})` : 'TRUE';
  // changedOnly: a matched row is written (and counted) only when some column differs, NULL-safe;
  // the target's columns the batch lacks are not compared (they are not written either).
  const newer = spec.changedOnly && cols.length ? `${newerOnly} AND (${business.map((c) => changed(c)).join(' OR ')})` : newerOnly;
  const live = `(SELECT * FROM ${source} WHERE NOT ${BURIED})`;
  // What the MERGE will do, counted in one pass over the source and the target as they are before it.
  const counts =
    `(SELECT COUNTIF(t.__hit IS NULL AND NOT s.${DELETED}) AS inserted, COUNTIF(t.__hit IS NOT NULL AND NOT s.${DELETED} AND ${newer}) AS updated, ` +
    `COUNTIF(t.__hit IS NOT NULL AND s.${DELETED} AND ${newerOnly}) AS deleted FROM ${live} s ` +
    `LEFT JOIN (SELECT ${targetRead(spec, business)}, TRUE AS __hit FROM ${target}) t ON ${on}) __c`;
  const metrics = {
    inserted: new Sql('__c.inserted'),
    updated: new Sql('__c.updated'),
    deleted: new Sql('__c.deleted'),
    deduplicated: new Sql(`((SELECT COUNT(*) FROM ${staging} WHERE ${keyNotNull}) - (SELECT COUNT(*) FROM ${source}))`),
    tombstones: new Sql(ts ? `(SELECT COUNT(*) FROM ${source} WHERE ${DELETED} AND ${ob} IS NOT NULL)` : '0'),
    // NULL-key rows per file (the log's rows_rejected), so the log step needs no query.
    files: new Sql(`(SELECT TO_JSON_STRING(ARRAY_AGG(STRUCT(f AS file, rejected))) FROM (SELECT _source_file AS f, COUNTIF(${keyNull}) AS rejected FROM ${staging} GROUP BY 1))`),
  };

  const clauses = [
    ...(markerPresent ? [`WHEN MATCHED AND s.${DELETED} AND ${newerOnly} THEN DELETE`] : []),
    `WHEN MATCHED AND NOT s.${DELETED} AND ${newer} THEN UPDATE SET ${cols.map((c) => `${c} = s.${c}`).join(', ')}`,
    // Explicit column lists: the emulator rejects INSERT ROW, and a target with more columns than the batch is fine.
    `WHEN NOT MATCHED AND NOT s.${DELETED} THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`,
  ];
  const inTransaction = [
    ...(ts ? [tombstoneInsertFrom(ts, source, seq)] : []),
    ledgerInsert(client, t.pipeline, 'target', seq, { ...metrics, columns: JSON.stringify(targetColumns), committed_at: t.now() }, counts),
    `MERGE ${target} t USING ${live} s ON ${on} ${clauses.join(' ')}`,
    ...(spec.state ? stateWriteSql(client, t.pipeline, spec.state, t.now()) : []),
  ];
  const script = [
    // DECLARE comes first in a GoogleSQL script.
    `DECLARE done BOOL DEFAULT (SELECT NOT ${notYet(client, t.pipeline, 'target', seq)})`,
    ...ddl,
    ...(ts ? [createTombstonesSql(ts)] : []),
    `IF NOT done THEN\n  CREATE OR REPLACE TABLE ${source} AS SELECT __d.*, ${buried} AS ${BURIED} FROM (${deduplicated}) __d;\nEND IF`,
    'BEGIN TRANSACTION',
    `IF NOT done THEN\n  ${inTransaction.join(';\n  ')};\nEND IF`,
    'COMMIT TRANSACTION',
    `DROP TABLE IF EXISTS ${source}`,
    ledgerSelect(client, t.pipeline, 'target', seq),
  ];
  let row;
  try {
    row = await t.ledger.write(t.pipeline, 'target', seq, script.join(';\n') + ';', `MERGE of batch ${seq} into ${t.target}`);
  } catch (err) {
    t.states?.forget(t.pipeline);
    throw err;
  }
  if (spec.state) await t.states?.committed(t.pipeline, spec.state);
  const tombstones = Number(row.tombstones ?? 0);
  // The tombstones commit with the MERGE (one transaction): this runs once both are in.
  afterTombstones?.(tombstones);
  return { version: row.version, metrics: countsOf(row), skipped: false, tombstones };
}

/** The target's columns the counting join needs: the key and orderBy, or (changedOnly) every column the MERGE writes. */
function targetRead(spec: UpsertSpec, business: { name: string }[]): string {
  const names = spec.changedOnly ? [...new Set([...spec.key, ...business.map((c) => c.name)])] : [...spec.key, ...(spec.orderBy && !spec.key.includes(spec.orderBy) ? [spec.orderBy] : [])];
  return names.map(quoteIdent).join(', ');
}

/** `s.c` differs from `t.c`, NULL-safe. JSON has no equality in GoogleSQL: compared as its JSON text. */
function changed(c: { name: string; type: string }): string {
  const q = quoteIdent(c.name);
  return c.type === 'JSON' ? `TO_JSON_STRING(s.${q}) IS DISTINCT FROM TO_JSON_STRING(t.${q})` : `s.${q} IS DISTINCT FROM t.${q}`;
}

/**
 * The target holds the business columns: created from the batch's schema on first use (partitioned
 * by a date/timestamp `partitionBy` column, clustered by the key), or given the columns the batch
 * brought (evolve: ALTER TABLE ADD COLUMN). Returns the statements for the MERGE's script, the
 * columns the MERGE writes (without evolve, columns new to the target are left out, as on Delta) and
 * the target's columns after it (kept in the ledger row, so the next batch needs no lookup).
 */
async function targetSetUp(t: UpsertTables, spec: UpsertSpec, business: { name: string; type: string }[]): Promise<{ ddl: string[]; business: { name: string; type: string }[]; targetColumns: { name: string; type: string }[] }> {
  const { client } = t;
  const known = (await t.ledger.rows(t.pipeline, 'target')).at(-1)?.columns;
  const existing = known ? (JSON.parse(known) as { name: string; type: string }[]) : await client.columns(t.target);
  if (!existing) return { ddl: [createTableSql(t, spec, business)], business, targetColumns: business };
  const missing = business.filter((b) => !existing.some((e) => e.name.toLowerCase() === b.name.toLowerCase()));
  if (missing.length === 0) return { ddl: [], business, targetColumns: existing };
  if (!spec.addColumns) return { ddl: [], business: business.filter((b) => !missing.includes(b)), targetColumns: existing };
  const alter = `ALTER TABLE ${client.table(t.target)} ${missing.map((m) => `ADD COLUMN IF NOT EXISTS ${quoteIdent(m.name)} ${m.type}`).join(', ')}`;
  return { ddl: [alter], business, targetColumns: [...existing, ...missing] };
}

export function createTableSql(t: { client: BigQueryClient; target: string }, spec: Pick<UpsertSpec, 'key' | 'partitionBy'>, business: { name: string; type: string }[]): string {
  const typeOf = (n: string) => business.find((c) => c.name === n)?.type;
  const partitions = spec.partitionBy.map((p) => ({ p, expr: partitionExpression(p, typeOf(p) ?? '') }));
  const bad = partitions.find((x) => x.expr === undefined);
  if (partitions.length > 1 || bad) {
    throw new InputError(
      `${t.target}: BigQuery partitions a table by one DATE, TIMESTAMP or DATETIME column; partitionBy is ${spec.partitionBy.join(', ')}` +
        `${bad ? ` (${bad.p} is ${typeOf(bad.p) ?? 'not a column of the batch'})` : ''}. Partition by one date/time column, or leave partitionBy out (the table is clustered by the key).`,
    );
  }
  const cluster = spec.key.filter((k) => clusterable(typeOf(k) ?? '')).slice(0, 4);
  return (
    `CREATE TABLE IF NOT EXISTS ${t.client.table(t.target)} (${business.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')})` +
    `${partitions.length ? ` PARTITION BY ${partitions[0].expr}` : ''}${cluster.length ? ` CLUSTER BY ${cluster.map(quoteIdent).join(', ')}` : ''}`
  );
}
