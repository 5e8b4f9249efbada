import type { BigQueryClient } from './client.ts';
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

export function createTombstonesSql(s: TombstoneSpec): string {
  const cols = [...s.key.map((k) => `${quoteIdent(k.name)} ${k.type}`), `${TOMBSTONE_ORDER} ${s.order.type}`, `${TOMBSTONE_BATCH} INT64`];
  return `CREATE TABLE IF NOT EXISTS ${s.client.table(tombstoneTable(s.pipeline))} (${cols.join(', ')})`;
}

/** The INSERT of the batch's winning deletes from its deduplicated source table, for the MERGE's transaction. */
export function tombstoneInsertFrom(s: TombstoneSpec, source: string, seq: number): string {
  const keys = s.key.map((k) => quoteIdent(k.name)).join(', ');
  return (
    `INSERT INTO ${s.client.table(tombstoneTable(s.pipeline))} (${keys}, ${TOMBSTONE_ORDER}, ${TOMBSTONE_BATCH}) ` +
    `SELECT ${keys}, ${quoteIdent(s.order.name)}, ${seq} FROM ${source} WHERE ${s.deletedColumn} AND ${quoteIdent(s.order.name)} IS NOT NULL`
  );
}

/** TRUE for a source row (alias `row`) older than a tombstone of an earlier batch: it must not come back. */
export function buriedExpression(s: TombstoneSpec, row: string, seq: number): string {
  const match = s.key.map((k) => `__t.${quoteIdent(k.name)} = ${row}.${quoteIdent(k.name)}`).join(' AND ');
  return (
    `EXISTS (SELECT 1 FROM ${s.client.table(tombstoneTable(s.pipeline))} __t WHERE ${match} ` +
    `AND __t.${TOMBSTONE_BATCH} < ${seq} AND __t.${TOMBSTONE_ORDER} > ${row}.${quoteIdent(s.order.name)})`
  );
}
