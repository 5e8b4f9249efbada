import type { BigQueryClient } from './client.ts';
import { notYet } from './ledger.ts';
import { quoteIdent } from './types.ts';

/**
 * Deletes remember when they happened (see delta/tombstones.ts for why): each batch's winning
 * deletes are kept as (key, orderBy value, batch) in a table of the pipeline's own,
 * `_lakelet_tombstones_<pipeline>`, and the MERGE drops every source row strictly older than a
 * tombstone of an earlier batch. Here the tombstones are inserted in the same transaction as the
 * MERGE and its ledger row, so a redo finds either all three or none.
 */
export const TOMBSTONE_ORDER = '_deleted_at';
export const TOMBSTONE_BATCH = '_batch';

export function tombstoneTable(pipeline: string): string {
  return `_lakelet_tombstones_${pipeline.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export interface TombstoneSpec {
  client: BigQueryClient;
  pipeline: string;
  key: { name: string; type: string }[];
  order: { name: string; type: string };
  /** The boolean column marking delete rows in the deduplicated source. */
  deletedColumn: string;
}

export async function createTombstones(s: TombstoneSpec): Promise<void> {
  const cols = [...s.key.map((k) => `${quoteIdent(k.name)} ${k.type}`), `${TOMBSTONE_ORDER} ${s.order.type}`, `${TOMBSTONE_BATCH} INT64`];
  await s.client.query(`CREATE TABLE IF NOT EXISTS ${s.client.table(tombstoneTable(s.pipeline))} (${cols.join(', ')})`, `creating the tombstones of ${s.pipeline}`);
}

/** The batch's winning deletes (from the deduplicated source), as a SELECT of tombstone rows. */
export function tombstoneRows(s: TombstoneSpec, deduplicated: string, seq: number): string {
  const keys = s.key.map((k) => quoteIdent(k.name)).join(', ');
  return `SELECT ${keys}, ${quoteIdent(s.order.name)} AS ${TOMBSTONE_ORDER}, ${seq} AS ${TOMBSTONE_BATCH} FROM (${deduplicated}) WHERE ${s.deletedColumn} AND ${quoteIdent(s.order.name)} IS NOT NULL`;
}

/** The INSERT of the batch's tombstones, for the MERGE's transaction (guarded like the MERGE). */
export function tombstoneInsert(s: TombstoneSpec, deduplicated: string, seq: number): string {
  const cols = [...s.key.map((k) => quoteIdent(k.name)), TOMBSTONE_ORDER, TOMBSTONE_BATCH].join(', ');
  return `INSERT INTO ${s.client.table(tombstoneTable(s.pipeline))} (${cols}) SELECT * FROM (${tombstoneRows(s, deduplicated, seq)}) WHERE ${notYet(s.client, s.pipeline, 'target', seq)}`;
}

/** Wraps a MERGE source so rows older than a tombstone of an earlier batch are dropped. */
export function withoutBuriedRows(s: TombstoneSpec, source: string, seq: number): string {
  const match = s.key.map((k) => `__t.${quoteIdent(k.name)} = __s.${quoteIdent(k.name)}`).join(' AND ');
  return (
    `SELECT * FROM (${source}) __s WHERE NOT EXISTS (SELECT 1 FROM ${s.client.table(tombstoneTable(s.pipeline))} __t WHERE ${match} ` +
    `AND __t.${TOMBSTONE_BATCH} < ${seq} AND __t.${TOMBSTONE_ORDER} > __s.${quoteIdent(s.order.name)})`
  );
}
