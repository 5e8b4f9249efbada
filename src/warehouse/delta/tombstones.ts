import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent } from '../../adapters/compute/sql.ts';
import type { DeltaTable } from '../../engine/table.ts';

/**
 * Deletes remember when they happened. A delete marker removes the key's row from the target, and
 * with it the ordering value the MERGE's "newer row wins" guard compares against; a late copy of an
 * older row would then be a plain not-matched insert and bring the key back. So each batch's
 * winning deletes are kept as tombstones (key, the orderBy value the delete was made at, batch) in a
 * Delta table of the pipeline's own, and the MERGE drops every source row strictly older than a
 * tombstone of an earlier batch. A row newer than the delete still re-creates the key, as it should.
 *
 * Crash safety: a batch's tombstones are committed once (txn lakelet:<p>:tombstones @ seq) before
 * its MERGE, and the MERGE consults only earlier batches' tombstones, so a redo computes the same.
 */
export const tombstonesAppId = (pipeline: string) => `lakelet:${pipeline}:tombstones`;
export const TOMBSTONE_ORDER = '_deleted_at';
export const TOMBSTONE_BATCH = '_batch';

export interface TombstoneSpec {
  pipeline: string;
  key: string[];
  /** The name of the column holding each source row's orderBy value. */
  orderColumn: string;
  /** The boolean column marking delete rows in the source. */
  deletedColumn: string;
  /** The source's ordering column (orderBy value, then arrival) for picking each key's winning row. */
  arrivalOrderColumn: string;
}

/** Records the batch's winning deletes (once per batch). Returns how many keys got a tombstone. */
export async function recordTombstones(table: DeltaTable, compute: Compute, spec: TombstoneSpec, source: string, seq: number): Promise<number> {
  const snap = await table.tryLatest();
  if (snap && (snap.txnVersion(tombstonesAppId(spec.pipeline)) ?? 0) >= seq) return 0;
  const keys = spec.key.map(sqlIdent).join(', ');
  const sql =
    `SELECT ${keys}, ${sqlIdent(spec.orderColumn)} AS ${TOMBSTONE_ORDER}, CAST(${seq} AS BIGINT) AS ${TOMBSTONE_BATCH} FROM (` +
    `SELECT ${keys}, ${sqlIdent(spec.orderColumn)}, ${spec.deletedColumn}, row_number() OVER (PARTITION BY ${keys} ORDER BY ${spec.arrivalOrderColumn} DESC) AS __rn FROM (${source})` +
    `) WHERE __rn = 1 AND ${spec.deletedColumn} AND ${sqlIdent(spec.orderColumn)} IS NOT NULL`;
  const n = Number((await compute.query<{ n: bigint | number }>(`SELECT count(*) AS n FROM (${sql})`))[0].n);
  if (n === 0) return 0;
  await table.write({ sql }).mode('append').txn(tombstonesAppId(spec.pipeline), seq).execute();
  return n;
}

/**
 * Wraps a MERGE source so rows older than a tombstone of an earlier batch are dropped. Returns the
 * source unchanged when there are no tombstones, and a release for the scan it opened.
 */
export async function withoutBuriedRows(table: DeltaTable, spec: TombstoneSpec, source: string, seq: number): Promise<{ sql: string; release: () => Promise<void> }> {
  if (!(await table.tryLatest())) return { sql: source, release: async () => {} };
  const scan = await table.scan();
  const match = spec.key.map((k) => `__t.${sqlIdent(k)} = __s.${sqlIdent(k)}`).join(' AND ');
  const sql =
    `SELECT * FROM (${source}) __s WHERE NOT EXISTS (SELECT 1 FROM (${scan.sql}) __t WHERE ${match} ` +
    `AND __t.${TOMBSTONE_BATCH} < ${seq} AND __t.${TOMBSTONE_ORDER} > __s.${sqlIdent(spec.orderColumn)})`;
  return { sql, release: () => scan.release() };
}
