import { InputError } from '../../errors/lakelet-error.ts';
import type { Column, MergeCounts, UpsertResult, UpsertSpec } from '../warehouse.ts';
import type { BigQueryClient } from './client.ts';
import { ledgerInsert, ledgerRows, notYet } from './ledger.ts';
import { stagingTable } from './stage.ts';
import { createTombstones, tombstoneInsert, withoutBuriedRows, type TombstoneSpec } from './tombstones.ts';
import { bigQueryType, clusterable, partitionExpression, quoteIdent, quoteString } from './types.ts';

const DELETED = '__lakelet_deleted';
const FILE = '__lakelet_file';
const ROW = '__lakelet_row';

export interface UpsertTables {
  client: BigQueryClient;
  pipeline: string;
  stage: string;
  target: string;
  tombstones: boolean;
  now: () => number;
}

/**
 * MERGE a batch's staging table into the target in GoogleSQL, once: one row per key (the latest by
 * orderBy, then arrival order), delete markers applied, a row never replaced by an older one, and
 * never an older row for a key deleted since (tombstones.ts). The tombstones, the MERGE and the
 * ledger row run as one multi-statement transaction, each guarded by "no ledger row for this batch
 * yet": a crash anywhere leaves all or nothing, and a redo of a committed batch changes nothing.
 * The counts are computed just before the transaction (the pipeline's lock keeps the target still)
 * and stored in the ledger row, so a redo reports the counts of the MERGE that happened.
 */
export async function upsertBatch(t: UpsertTables, spec: UpsertSpec, afterTombstones?: (count: number) => void): Promise<UpsertResult & { tombstones: number }> {
  const { client } = t;
  const seq = spec.seq;
  const done = (await ledgerRows(client, t.pipeline, 'target', `batch = ${seq}`))[0];
  if (done) return { version: done.version, metrics: countsOf(done), skipped: true, tombstones: 0 };
  const staged = (await ledgerRows(client, t.pipeline, 'stage', `batch = ${seq}`))[0];
  if (!staged) throw new InputError(`batch ${seq} of pipeline '${t.pipeline}' is not staged in BigQuery (no ledger row); run the stage step first`);
  const stageCols = (JSON.parse(staged.columns ?? '[]') as Column[]).map((c) => ({ name: c.name, type: bigQueryType(c.type, c.name) }));
  const marker = spec.deletes?.column;
  const markerPresent = marker !== undefined && stageCols.some((c) => c.name.toLowerCase() === marker.toLowerCase());
  let business = stageCols.filter((c) => c.name.toLowerCase() !== marker?.toLowerCase());
  for (const k of spec.key) if (!business.some((c) => c.name === k)) throw new InputError(`pipeline '${t.pipeline}': key column '${k}' is not in batch ${seq}'s columns (${business.map((c) => c.name).join(', ')})`);

  business = await ensureTarget(t, spec, business);

  const staging = client.table(stagingTable(t.stage, seq));
  const deleted = markerPresent ? `COALESCE(CAST(${quoteIdent(marker)} AS STRING) IN (${spec.deletes!.values.map((v) => quoteString(String(v))).join(', ')}), FALSE)` : 'FALSE';
  const fileOrder = spec.fileOrder.map((f, i) => `WHEN ${quoteString(f)} THEN ${i}`).join(' ');
  const keyNotNull = spec.key.map((k) => `${quoteIdent(k)} IS NOT NULL`).join(' AND ');
  const cols = business.map((c) => quoteIdent(c.name));
  const raw = `SELECT ${cols.join(', ')}, ${deleted} AS ${DELETED}, CASE _source_file ${fileOrder || "WHEN '' THEN 0"} ELSE -1 END AS ${FILE}, _row_number AS ${ROW} FROM ${staging} WHERE ${keyNotNull}`;
  const order = [...(spec.orderBy ? [`${quoteIdent(spec.orderBy)} DESC NULLS LAST`] : []), `${FILE} DESC`, `${ROW} DESC`].join(', ');
  const deduplicated = `SELECT * EXCEPT(__rn) FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY ${spec.key.map(quoteIdent).join(', ')} ORDER BY ${order}) AS __rn FROM (${raw})) WHERE __rn = 1`;

  let source = deduplicated;
  let ts: TombstoneSpec | undefined;
  if (markerPresent && spec.orderBy && t.tombstones) {
    const typeOf = (n: string) => business.find((c) => c.name === n)!.type;
    ts = { client, pipeline: t.pipeline, key: spec.key.map((k) => ({ name: k, type: typeOf(k) })), order: { name: spec.orderBy, type: typeOf(spec.orderBy) }, deletedColumn: DELETED };
    await createTombstones(ts);
    source = withoutBuriedRows(ts, deduplicated, seq);
  }

  const target = client.table(t.target);
  const on = spec.key.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  const ob = spec.orderBy ? quoteIdent(spec.orderBy) : undefined;
  const newer = ob ? `(t.${ob} IS NULL OR s.${ob} >= t.${ob})` : 'TRUE';
  const counts = await mergeCounts(client, { raw, deduplicated, source, target, on, newer, tombstones: ts !== undefined, orderBy: ob });
  afterTombstones?.(counts.tombstones);

  const clauses = [
    ...(markerPresent ? [`WHEN MATCHED AND s.${DELETED} AND ${newer} THEN DELETE`] : []),
    `WHEN MATCHED AND NOT s.${DELETED} AND ${newer} THEN UPDATE SET ${cols.map((c) => `${c} = s.${c}`).join(', ')}`,
    // Explicit column lists: the emulator rejects INSERT ROW, and a target with more columns than the batch is fine.
    `WHEN NOT MATCHED AND NOT s.${DELETED} THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`,
  ];
  const script = [
    'BEGIN TRANSACTION',
    ...(ts ? [tombstoneInsert(ts, deduplicated, seq)] : []),
    `MERGE ${target} t USING (SELECT * FROM (${source}) WHERE ${notYet(client, t.pipeline, 'target', seq)}) s ON ${on} ${clauses.join(' ')}`,
    ledgerInsert(client, t.pipeline, 'target', seq, { ...counts.metrics, committed_at: t.now() }),
    'COMMIT TRANSACTION',
  ].join(';\n');
  await client.query(script + ';', `MERGE of batch ${seq} into ${t.target}`);
  const row = (await ledgerRows(client, t.pipeline, 'target', `batch = ${seq}`))[0];
  return { version: row.version, metrics: countsOf(row), skipped: false, tombstones: counts.tombstones };
}

function countsOf(row: { inserted: number | null; updated: number | null; deleted: number | null; deduplicated: number | null }): MergeCounts {
  return { inserted: Number(row.inserted ?? 0), updated: Number(row.updated ?? 0), deleted: Number(row.deleted ?? 0), deduplicated: Number(row.deduplicated ?? 0) };
}

/** What the MERGE will do, in one query: rows it inserts, updates, deletes; source rows its dedup collapses; tombstones. */
async function mergeCounts(
  client: BigQueryClient,
  q: { raw: string; deduplicated: string; source: string; target: string; on: string; newer: string; tombstones: boolean; orderBy: string | undefined },
): Promise<{ metrics: MergeCounts; tombstones: number }> {
  const [r] = await client.query<{ inserted: number; updated: number; deleted: number; raw_rows: number; dedup_rows: number; tombstones: number }>(
    `SELECT COUNTIF(t.__hit IS NULL AND NOT s.${DELETED}) AS inserted, COUNTIF(t.__hit IS NOT NULL AND NOT s.${DELETED} AND ${q.newer}) AS updated, ` +
      `COUNTIF(t.__hit IS NOT NULL AND s.${DELETED} AND ${q.newer}) AS deleted, ` +
      `(SELECT COUNT(*) FROM (${q.raw})) AS raw_rows, (SELECT COUNT(*) FROM (${q.deduplicated})) AS dedup_rows, ` +
      `${q.tombstones ? `(SELECT COUNT(*) FROM (${q.deduplicated}) WHERE ${DELETED} AND ${q.orderBy} IS NOT NULL)` : '0'} AS tombstones ` +
      `FROM (${q.source}) s LEFT JOIN (SELECT *, TRUE AS __hit FROM ${q.target}) t ON ${q.on}`,
    'counting the MERGE',
  );
  const n = (v: unknown) => Number(v ?? 0);
  return {
    metrics: { inserted: n(r?.inserted), updated: n(r?.updated), deleted: n(r?.deleted), deduplicated: n(r?.raw_rows) - n(r?.dedup_rows) },
    tombstones: n(r?.tombstones),
  };
}

/**
 * The target holds the business columns: created from the batch's schema on first use (partitioned
 * by a date/timestamp `partitionBy` column, clustered by the key), or given the columns the batch
 * brought (evolve: ALTER TABLE ADD COLUMN). Returns the columns the MERGE writes: without evolve,
 * columns new to the target are left out, as on Delta.
 */
async function ensureTarget(t: UpsertTables, spec: UpsertSpec, business: { name: string; type: string }[]): Promise<{ name: string; type: string }[]> {
  const { client } = t;
  const existing = await client.columns(t.target);
  if (!existing) {
    await client.query(createTableSql(t, spec, business), `creating ${t.target}`);
    return business;
  }
  const missing = business.filter((b) => !existing.some((e) => e.name.toLowerCase() === b.name.toLowerCase()));
  if (missing.length === 0) return business;
  if (!spec.addColumns) return business.filter((b) => !missing.includes(b));
  await client.query(`ALTER TABLE ${client.table(t.target)} ${missing.map((m) => `ADD COLUMN IF NOT EXISTS ${quoteIdent(m.name)} ${m.type}`).join(', ')}`, `adding ${missing.map((m) => m.name).join(', ')} to ${t.target}`);
  return business;
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
