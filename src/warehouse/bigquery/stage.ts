import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlString } from '../../adapters/compute/sql.ts';
import { localFileFor } from '../../engine/delta/materialize.ts';
import { LINEAGE, RESCUED, type Column, type StageBatch, type StageResult } from '../warehouse.ts';
import type { BigQueryClient } from './client.ts';
import { ledgerInsert, ledgerSelect, Sql, type LedgerCache } from './ledger.ts';
import { loadTable } from './direct-load.ts';
import { bigQueryType, duckdbType, literal, quoteIdent, quoteString } from './types.ts';

/**
 * The stage of a BigQuery pipeline is one staging table per batch (`<stage>__batch_<seq>`, seed
 * 000's flow): the batch's Parquet goes in with a load job (WRITE_TRUNCATE, so a redo after a crash
 * loads the same bytes again instead of twice), the MERGE reads it, and stage retention drops it
 * (`truncate-after-merge`: right after the MERGE). The stage's columns are remembered in the ledger,
 * so they outlive the dropped tables.
 */
export function stagingTable(stage: string, seq: number): string {
  return `${stage}__batch_${seq}`;
}

export interface StageTables {
  client: BigQueryClient;
  ledger: LedgerCache;
  compute: Compute;
  pipeline: string;
  stage: string;
}

/** The stage's columns without lineage: every batch's, in order of first appearance. */
export async function stageColumns(t: StageTables): Promise<Column[] | undefined> {
  const rows = await t.ledger.rows(t.pipeline, 'stage');
  if (rows.length === 0) return undefined;
  const out: Column[] = [];
  for (const r of rows) for (const c of JSON.parse(r.columns ?? '[]') as Column[]) if (!out.some((o) => o.name.toLowerCase() === c.name.toLowerCase())) out.push(c);
  return out;
}

/** Per-file counts a stage ledger row keeps (so the log step needs no query). */
interface StagedFile {
  file: string;
  n: number;
  rescued: number;
}

/**
 * Loads a batch into its staging table and records it, once: a load job per local file, then one
 * script that copies in the files BigQuery loaded itself (direct-load.ts) and records the batch.
 */
export async function appendBatch(t: StageTables, batch: StageBatch, committedAt: number): Promise<StageResult> {
  const done = await t.ledger.row(t.pipeline, 'stage', batch.seq);
  if (done) return { version: done.version, rows: Number(done.staged_rows ?? 0), skipped: true };
  const files = await Promise.all(batch.files.map(async (f) => ({ path: await localFileFor(f.store, f.key), size: (await f.store.head(f.key))?.size ?? 0 })));
  const described = files.length ? await t.compute.query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet([${files.map((f) => sqlString(f.path)).join(', ')}])`) : [];
  const fields = described.map((c) => ({ name: c.column_name, type: bigQueryType(c.column_type, c.column_name), mode: 'NULLABLE' }));
  const table = stagingTable(t.stage, batch.seq);
  let rows = 0;
  for (const [i, f] of files.entries()) {
    const stats = await t.client.loadFile(table, f.path, f.size, {
      sourceFormat: 'PARQUET',
      schema: { fields },
      writeDisposition: i === 0 ? 'WRITE_TRUNCATE' : 'WRITE_APPEND',
      createDisposition: 'CREATE_IF_NEEDED',
    });
    rows += stats.outputRows;
  }
  const columns = described.filter((c) => !(LINEAGE as readonly string[]).includes(c.column_name)).map((c) => ({ name: c.column_name, type: c.column_type }));
  const bytes = files.reduce((a, f) => a + f.size, 0);
  const remote = batch.remote ?? [];
  const copyIn = remote.length ? await remoteRows(t, batch, fields, columns) : [];
  const loadPath = remote.length === 0 ? 'in-process' : files.length === 0 ? 'load-job' : 'mixed';
  const row = await recordStaged(t, batch.seq, { columns, rows: remote.length ? new Sql(`(SELECT COUNT(*) FROM ${t.client.table(table)})`) : rows, bytes, loadPath, committedAt }, copyIn);
  return { version: row.version, rows: Number(row.staged_rows ?? rows), skipped: false };
}

const LINEAGE_TYPES: [string, string][] = [['_batch', 'INT64'], ['_source_file', 'STRING'], ['_ingested_at', 'TIMESTAMP'], ['_row_number', 'INT64']];

/**
 * The statements that copy the rows of the batch's directly loaded files into its staging table
 * (creating it when no local file did, so a redo starts from an empty one either way), with their
 * lineage. A load job keeps no row order, so `_row_number` is the row's place in BigQuery's read of
 * the load table (ROW_NUMBER() OVER ()), not its line in the file: two rows of one such file with
 * the same key and the same orderBy value are told apart arbitrarily (orderBy, then file order, decide
 * everything else). Without addColumns, a file's columns the stage does not have are left out.
 * `columns` (the stage columns of the batch, DuckDB names) gains the columns added.
 */
async function remoteRows(t: StageTables, batch: StageBatch, fields: { name: string; type: string }[], columns: Column[]): Promise<string[]> {
  const staging = t.client.table(stagingTable(t.stage, batch.seq));
  const have = new Map(fields.map((f) => [f.name.toLowerCase(), f.type]));
  const known = batch.addColumns ? undefined : new Set([...((await stageColumns(t)) ?? []), ...columns].map((c) => c.name.toLowerCase()));
  const out: string[] = [];
  for (const r of batch.remote!) {
    const source = loadTable(t.stage, batch.seq, r.index);
    const cols = await t.client.columns(source);
    if (!cols) throw new Error(`batch ${batch.seq} of ${t.pipeline}: ${r.key} was loaded into ${source} when the batch was planned, and that table is gone; remove the batch's manifest to plan it again`);
    const take = cols.filter((c) => !known || known.size === 0 || known.has(c.name.toLowerCase()));
    const fresh = take.filter((c) => !have.has(c.name.toLowerCase()));
    if (have.size === 0) {
      out.push(`CREATE OR REPLACE TABLE ${staging} (${[...take.map((c) => [c.name, c.type]), ...LINEAGE_TYPES].map(([n, ty]) => `${quoteIdent(n)} ${ty}`).join(', ')})`);
      for (const [n, ty] of LINEAGE_TYPES) have.set(n, ty);
    } else if (fresh.length) {
      out.push(`ALTER TABLE ${staging} ${fresh.map((c) => `ADD COLUMN IF NOT EXISTS ${quoteIdent(c.name)} ${c.type}`).join(', ')}`);
    }
    for (const c of fresh) {
      have.set(c.name.toLowerCase(), c.type);
      columns.push({ name: c.name, type: duckdbType(c.type) });
    }
    const names = take.map((c) => quoteIdent(c.name));
    out.push(
      `INSERT INTO ${staging} (${[...names, ...LINEAGE_TYPES.map(([n]) => n)].join(', ')}) ` +
        `SELECT ${[...names, String(batch.seq), quoteString(r.key), literal(batch.ingestedAt ?? 0, 'TIMESTAMP'), 'ROW_NUMBER() OVER ()'].join(', ')} FROM ${t.client.table(source)}`,
    );
  }
  return out;
}

/**
 * The stage ledger row of a loaded batch, with its per-file row and rescued counts computed from the
 * staging table in the same script (one job), which ends by selecting the row for the cache.
 */
export async function recordStaged(t: StageTables, seq: number, r: { columns: Column[]; rows: number | Sql; bytes: number; loadPath: string; committedAt: number }, before: string[] = []) {
  const staging = t.client.table(stagingTable(t.stage, seq));
  const rescued = r.columns.some((c) => c.name === RESCUED) ? `COUNTIF(${quoteIdent(RESCUED)} IS NOT NULL)` : '0';
  const files = new Sql(`(SELECT TO_JSON_STRING(ARRAY_AGG(STRUCT(f AS file, n, rescued))) FROM (SELECT _source_file AS f, COUNT(*) AS n, ${rescued} AS rescued FROM ${staging} GROUP BY 1))`);
  const script = [
    ...before,
    ledgerInsert(t.client, t.pipeline, 'stage', seq, { columns: JSON.stringify(r.columns), staged_rows: r.rows, load_path: r.loadPath, bytes: r.bytes, files, committed_at: r.committedAt }),
    ledgerSelect(t.client, t.pipeline, 'stage', seq),
  ];
  return t.ledger.write(t.pipeline, 'stage', seq, script.join(';\n') + ';', `recording batch ${seq} of ${t.pipeline} as staged`);
}

/**
 * Per file of a staged batch: rows whose key is NULL (never merged) and rows with rescued data.
 * Both come from the ledger (rescued counted when the batch was staged, NULL keys when it was
 * merged); a query only for a batch recorded without them.
 */
export async function batchCounts(t: StageTables, seq: number, key: string[]): Promise<Map<string, { rejected: number; rescued: number }>> {
  const row = await t.ledger.row(t.pipeline, 'stage', seq);
  if (!row) return new Map();
  const merged = key.length ? (await t.ledger.row(t.pipeline, 'target', seq))?.files : '[]';
  if (row.files && merged) {
    const out = new Map<string, { rejected: number; rescued: number }>();
    for (const f of JSON.parse(row.files) as StagedFile[]) out.set(f.file, { rejected: 0, rescued: Number(f.rescued) });
    for (const f of JSON.parse(merged) as { file: string; rejected: number }[]) out.set(f.file, { rescued: out.get(f.file)?.rescued ?? 0, rejected: Number(f.rejected) });
    return out;
  }
  const hasRescue = (JSON.parse(row.columns ?? '[]') as Column[]).some((c) => c.name === RESCUED);
  const nullKey = key.length ? key.map((k) => `${quoteIdent(k)} IS NULL`).join(' OR ') : 'FALSE';
  const rows = await t.client.query<{ f: string; rejected: number; rescued: number }>(
    `SELECT _source_file AS f, COUNTIF(${nullKey}) AS rejected, ${hasRescue ? `COUNTIF(${quoteIdent(RESCUED)} IS NOT NULL)` : '0'} AS rescued FROM ${t.client.table(stagingTable(t.stage, seq))} GROUP BY 1`,
    `counting batch ${seq} of ${t.pipeline}`,
  );
  return new Map(rows.map((r) => [r.f, { rejected: Number(r.rejected), rescued: Number(r.rescued) }]));
}

/** Drops the staging tables of finished batches (up to `upToBatch`, staged before `olderThan` if given). */
export async function trimStage(t: StageTables, upToBatch: number, olderThan: number | undefined): Promise<{ deletedRows: number; vacuumedFiles: number }> {
  const all = await t.client.tablesStartingWith(`${t.stage}__`);
  const existing = new Set(all.filter((id) => id.startsWith(`${t.stage}__batch_`)));
  if (existing.size === 0) return { deletedRows: 0, vacuumedFiles: 0 };
  const staged = (await t.ledger.rows(t.pipeline, 'stage')).filter((r) => r.batch <= upToBatch);
  const drop = staged.filter((r) => existing.has(stagingTable(t.stage, r.batch)) && (olderThan === undefined || (r.committed_at !== null && Date.parse(r.committed_at) < olderThan)));
  if (drop.length === 0) return { deletedRows: 0, vacuumedFiles: 0 };
  // The tables direct loads of those batches left (direct-load.ts) go with them.
  const loads = all.filter((id) => drop.some((r) => id.startsWith(`${t.stage}__load_${r.batch}_`)));
  // One script, one job, however many tables.
  await t.client.query([...drop.map((r) => stagingTable(t.stage, r.batch)), ...loads].map((id) => `DROP TABLE IF EXISTS ${t.client.table(id)}`).join(';\n') + ';', `dropping ${drop.length} staging table(s) of ${t.pipeline}`);
  return { deletedRows: drop.reduce((a, r) => a + Number(r.staged_rows ?? 0), 0), vacuumedFiles: drop.length };
}

/** Rows of the staging tables still there (small reads: notebooks, status). */
export async function stageRows(t: StageTables, options: { where?: string; orderBy?: string; limit?: number }): Promise<Record<string, unknown>[]> {
  const tables = (await t.client.tablesStartingWith(`${t.stage}__batch_`)).sort((a, b) => Number(a.split('_').pop()) - Number(b.split('_').pop()));
  const out: Record<string, unknown>[] = [];
  for (const table of tables) {
    const sql = `SELECT * FROM ${t.client.table(table)}${options.where ? ` WHERE ${options.where}` : ''}${options.orderBy ? ` ORDER BY ${options.orderBy}` : ''}${options.limit !== undefined ? ` LIMIT ${options.limit}` : ''}`;
    out.push(...(await t.client.query(sql, `reading ${table}`)));
    if (options.limit !== undefined && out.length >= options.limit) return out.slice(0, options.limit);
  }
  return out;
}
