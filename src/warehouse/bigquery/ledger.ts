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
 * and every insert is guarded: the MERGE and its row commit together or not at all, and a redo of a
 * committed batch changes nothing.
 *
 * Reads go through {@link LedgerCache}: a pipeline's rows are read once per process (one query), and
 * every script that writes a row ends by selecting it, so the cache follows without another job.
 * The pipeline's lock makes this process the only writer of its rows while it runs.
 */
export const LEDGER_TABLE = '_lakelet_batches';

export type LedgerRole = 'stage' | 'target' | 'log';

const COLUMNS: [string, string][] = [
  ['pipeline', 'STRING'], ['role', 'STRING'], ['batch', 'INT64'], ['version', 'INT64'], ['columns', 'STRING'], ['staged_rows', 'INT64'],
  ['inserted', 'INT64'], ['updated', 'INT64'], ['deleted', 'INT64'], ['deduplicated', 'INT64'], ['tombstones', 'INT64'], ['load_path', 'STRING'], ['bytes', 'INT64'],
  // `staged_rows`, not `rows`: ROWS is a reserved word in GoogleSQL.
  // Per source file, as JSON: stage rows, {file, n, rescued}; target rows, {file, rejected} (NULL-key rows).
  ['files', 'STRING'],
  ['committed_at', 'TIMESTAMP'],
];

/** A SQL expression to insert as it is (a subquery computed in the writing script), not a value. */
export class Sql {
  constructor(readonly text: string) {}
}

export type LedgerFields = Partial<Record<'columns' | 'staged_rows' | 'inserted' | 'updated' | 'deleted' | 'deduplicated' | 'tombstones' | 'load_path' | 'bytes' | 'files' | 'committed_at', unknown>>;

export function createLedgerSql(client: BigQueryClient): string {
  return `CREATE TABLE IF NOT EXISTS ${client.table(LEDGER_TABLE)} (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`;
}

function where(pipeline: string, role: LedgerRole, seq: number): string {
  return `pipeline = ${quoteString(pipeline)} AND role = '${role}' AND batch = ${seq}`;
}

/** `NOT EXISTS (ledger row for pipeline/role/batch)`: the guard of every statement of a batch. */
export function notYet(client: BigQueryClient, pipeline: string, role: LedgerRole, seq: number): string {
  return `NOT EXISTS (SELECT 1 FROM ${client.table(LEDGER_TABLE)} WHERE ${where(pipeline, role, seq)})`;
}

/**
 * The INSERT of a ledger row, once (guarded), with the role's next version; `Sql` fields are
 * expressions of the script, over `from` (one row; e.g. the counts of a MERGE, computed in one pass).
 */
export function ledgerInsert(client: BigQueryClient, pipeline: string, role: LedgerRole, seq: number, fields: LedgerFields, from = '(SELECT 1)'): string {
  const ledger = client.table(LEDGER_TABLE);
  const values = COLUMNS.map(([name, type]) => {
    if (name === 'pipeline') return quoteString(pipeline);
    if (name === 'role') return `'${role}'`;
    if (name === 'batch') return String(seq);
    if (name === 'version') return `(SELECT COALESCE(MAX(version), 0) + 1 FROM ${ledger} WHERE pipeline = ${quoteString(pipeline)} AND role = '${role}')`;
    const v = (fields as Record<string, unknown>)[name];
    return v instanceof Sql ? v.text : literal(v, type);
  });
  return `INSERT INTO ${ledger} (${COLUMNS.map(([n]) => n).join(', ')}) SELECT ${values.join(', ')} FROM ${from} WHERE ${notYet(client, pipeline, role, seq)}`;
}

const SELECT_COLUMNS = 'pipeline, role, batch, version, columns, staged_rows, inserted, updated, deleted, deduplicated, tombstones, load_path, bytes, files, committed_at';

/** The SELECT of one ledger row: the last statement of a script that wrote it (what the cache learns). */
export function ledgerSelect(client: BigQueryClient, pipeline: string, role: LedgerRole, seq: number): string {
  return `SELECT ${SELECT_COLUMNS} FROM ${client.table(LEDGER_TABLE)} WHERE ${where(pipeline, role, seq)}`;
}

export interface LedgerRow {
  role: LedgerRole;
  batch: number;
  version: number;
  columns: string | null;
  staged_rows: number | null;
  inserted: number | null;
  updated: number | null;
  deleted: number | null;
  deduplicated: number | null;
  tombstones: number | null;
  load_path: string | null;
  bytes: number | null;
  files: string | null;
  committed_at: string | null;
}

function ledgerRow(r: Record<string, unknown>): LedgerRow {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const s = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    role: r.role as LedgerRole, batch: Number(r.batch), version: Number(r.version), columns: s(r.columns), staged_rows: n(r.staged_rows), inserted: n(r.inserted), updated: n(r.updated), deleted: n(r.deleted),
    deduplicated: n(r.deduplicated), tombstones: n(r.tombstones), load_path: s(r.load_path), bytes: n(r.bytes), files: s(r.files), committed_at: s(r.committed_at),
  };
}

/**
 * The ledger rows of each pipeline, read once per process. A script that writes a row goes through
 * `write`: its last statement selects the row, which the cache keeps; a script that fails leaves the
 * cache not knowing, so the next read asks BigQuery again (the script may have committed before the
 * answer was lost).
 */
export class LedgerCache {
  private readonly rowsOf = new Map<string, Promise<LedgerRow[]>>();

  constructor(private readonly client: BigQueryClient) {}

  async rows(pipeline: string, role: LedgerRole): Promise<LedgerRow[]> {
    let all = this.rowsOf.get(pipeline);
    if (!all) {
      all = this.client
        .query(`SELECT ${SELECT_COLUMNS} FROM ${this.client.table(LEDGER_TABLE)} WHERE pipeline = ${quoteString(pipeline)} ORDER BY batch`, `reading the batch ledger of ${pipeline}`)
        .then((rows) => rows.map(ledgerRow));
      this.rowsOf.set(pipeline, all);
      all.catch(() => this.rowsOf.delete(pipeline));
    }
    return (await all).filter((r) => r.role === role);
  }

  async row(pipeline: string, role: LedgerRole, seq: number): Promise<LedgerRow | undefined> {
    return (await this.rows(pipeline, role)).find((r) => r.batch === seq);
  }

  /** Runs a script ending in {@link ledgerSelect} of the row it writes; returns that row. */
  async write(pipeline: string, role: LedgerRole, seq: number, script: string, what: string): Promise<LedgerRow> {
    await this.rows(pipeline, role); // known before, so the new row is added to a complete list
    let written: Record<string, unknown>[];
    try {
      written = await this.client.query(script, what);
    } catch (err) {
      this.rowsOf.delete(pipeline);
      throw err;
    }
    if (written.length !== 1) {
      this.rowsOf.delete(pipeline);
      throw new Error(`${what}: expected the script to end with its ledger row, got ${written.length} rows`);
    }
    const row = ledgerRow(written[0]);
    const all = await this.rowsOf.get(pipeline)!;
    const next = [...all.filter((r) => !(r.role === role && r.batch === seq)), row].sort((a, b) => a.batch - b.batch);
    this.rowsOf.set(pipeline, Promise.resolve(next));
    return row;
  }
}

export function countsOf(row: LedgerRow | undefined): MergeCounts {
  return { inserted: Number(row?.inserted ?? 0), updated: Number(row?.updated ?? 0), deleted: Number(row?.deleted ?? 0), deduplicated: Number(row?.deduplicated ?? 0) };
}

export class BigQueryBatchLedger implements BatchLedger {
  constructor(
    private readonly cache: LedgerCache,
    private readonly pipeline: string,
    private readonly hasTarget: boolean,
  ) {}

  async stageVersion(seq: number): Promise<number | undefined> {
    return (await this.cache.row(this.pipeline, 'stage', seq))?.version;
  }

  async targetVersion(seq: number): Promise<number | undefined> {
    if (!this.hasTarget) return undefined;
    return (await this.cache.row(this.pipeline, 'target', seq))?.version;
  }

  async mergeCounts(version: number): Promise<MergeCounts> {
    return countsOf((await this.cache.rows(this.pipeline, 'target')).find((r) => r.version === version));
  }
}
