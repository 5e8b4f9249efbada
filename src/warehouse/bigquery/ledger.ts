import type { BatchLedger, MergeCounts } from '../warehouse.ts';
import type { BigQueryClient } from './client.ts';
import { literal, quoteString } from './types.ts';

/**
 * The batch ledger of a BigQuery pipeline: a table `_lakelet_batches` in the dataset, one row per
 * (pipeline, role, batch) — role `stage` (batch loaded into its staging table), `target` (batch
 * MERGEd), `log` (its ingestion-log rows written). BigQuery tables have no versions a pipeline could
 * name, so each role counts its own: a row's `version` is one more than the role's last.
 *
 * A target row is inserted in the same multi-statement transaction as the batch's MERGE (upsert.ts),
 * and every insert is guarded by NOT EXISTS: the MERGE and its row commit together or not at all,
 * and a redo of a committed batch changes nothing.
 */
export const LEDGER_TABLE = '_lakelet_batches';

export type LedgerRole = 'stage' | 'target' | 'log';

const COLUMNS: [string, string][] = [
  ['pipeline', 'STRING'], ['role', 'STRING'], ['batch', 'INT64'], ['version', 'INT64'], ['columns', 'STRING'], ['rows', 'INT64'],
  ['inserted', 'INT64'], ['updated', 'INT64'], ['deleted', 'INT64'], ['deduplicated', 'INT64'], ['load_path', 'STRING'], ['bytes', 'INT64'],
  ['committed_at', 'TIMESTAMP'],
];

export type LedgerFields = Partial<Record<'columns' | 'rows' | 'inserted' | 'updated' | 'deleted' | 'deduplicated' | 'load_path' | 'bytes' | 'committed_at', unknown>>;

export async function createLedger(client: BigQueryClient): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${client.table(LEDGER_TABLE)} (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`, 'creating the batch ledger');
}

/** `NOT EXISTS (ledger row for pipeline/role/batch)`: the guard of every statement of a batch. */
export function notYet(client: BigQueryClient, pipeline: string, role: LedgerRole, seq: number): string {
  return `NOT EXISTS (SELECT 1 FROM ${client.table(LEDGER_TABLE)} WHERE pipeline = ${quoteString(pipeline)} AND role = '${role}' AND batch = ${seq})`;
}

/** The INSERT of a ledger row, once (guarded), with the role's next version. */
export function ledgerInsert(client: BigQueryClient, pipeline: string, role: LedgerRole, seq: number, fields: LedgerFields): string {
  const ledger = client.table(LEDGER_TABLE);
  const values = COLUMNS.map(([name, type]) => {
    if (name === 'pipeline') return quoteString(pipeline);
    if (name === 'role') return `'${role}'`;
    if (name === 'batch') return String(seq);
    if (name === 'version') return `(SELECT COALESCE(MAX(version), 0) + 1 FROM ${ledger} WHERE pipeline = ${quoteString(pipeline)} AND role = '${role}')`;
    return literal((fields as Record<string, unknown>)[name], type);
  });
  return `INSERT INTO ${ledger} (${COLUMNS.map(([n]) => n).join(', ')}) SELECT ${values.join(', ')} FROM (SELECT 1) WHERE ${notYet(client, pipeline, role, seq)}`;
}

export interface LedgerRow {
  batch: number;
  version: number;
  columns: string | null;
  rows: number | null;
  inserted: number | null;
  updated: number | null;
  deleted: number | null;
  deduplicated: number | null;
  load_path: string | null;
  bytes: number | null;
  committed_at: string | null;
}

export async function ledgerRows(client: BigQueryClient, pipeline: string, role: LedgerRole, where = 'TRUE'): Promise<LedgerRow[]> {
  const rows = await client.query<LedgerRow>(
    `SELECT batch, version, columns, rows, inserted, updated, deleted, deduplicated, load_path, bytes, committed_at FROM ${client.table(LEDGER_TABLE)} ` +
      `WHERE pipeline = ${quoteString(pipeline)} AND role = '${role}' AND ${where} ORDER BY batch`,
    `reading the ${role} ledger of ${pipeline}`,
  );
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => ({ ...r, batch: Number(r.batch), version: Number(r.version), rows: n(r.rows), inserted: n(r.inserted), updated: n(r.updated), deleted: n(r.deleted), deduplicated: n(r.deduplicated), bytes: n(r.bytes) }));
}

export class BigQueryBatchLedger implements BatchLedger {
  constructor(
    private readonly client: BigQueryClient,
    private readonly pipeline: string,
    private readonly hasTarget: boolean,
  ) {}

  async stageVersion(seq: number): Promise<number | undefined> {
    return (await ledgerRows(this.client, this.pipeline, 'stage', `batch = ${seq}`))[0]?.version;
  }

  async targetVersion(seq: number): Promise<number | undefined> {
    if (!this.hasTarget) return undefined;
    return (await ledgerRows(this.client, this.pipeline, 'target', `batch = ${seq}`))[0]?.version;
  }

  async mergeCounts(version: number): Promise<MergeCounts> {
    const row = (await ledgerRows(this.client, this.pipeline, 'target', `version = ${version}`))[0];
    return { inserted: Number(row?.inserted ?? 0), updated: Number(row?.updated ?? 0), deleted: Number(row?.deleted ?? 0), deduplicated: Number(row?.deduplicated ?? 0) };
  }
}
