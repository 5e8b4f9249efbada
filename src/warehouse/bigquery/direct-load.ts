import type { JobLoadMetadata } from '@google-cloud/bigquery';
import type { RemoteFile, RemoteLoad } from '../warehouse.ts';
import { BigQueryError } from './bigquery-error.ts';
import type { BigQueryClient } from './client.ts';
import { bigQueryType, duckdbType } from './types.ts';
import { LakeletError } from '../../errors/lakelet-error.ts';

/**
 * Seed 004's dispatch: a landed file at or above `bigquery.loadJobFrom` on gs:// is loaded by a
 * BigQuery load job straight from its URI into a table of its own, `<stage>__load_<seq>_<index>`
 * (WRITE_TRUNCATE: a redo replaces it), and never passes through this process. The job's verdict
 * (its errorResult, its error list, its bad-record count under maxBadRecords) becomes the file's, as
 * the in-process checks' would: quarantined, or staged with its bad records reported. The stage
 * step then copies the rows into the batch's staging table with their lineage (stage.ts).
 */
export function loadTable(stage: string, seq: number, index: number): string {
  return `${stage}__load_${seq}_${index}`;
}

/** The load job's configuration for a file. CSV/NDJSON columns are autodetected; Parquet carries its own. */
export function loadConfig(file: RemoteFile, maxBadRecords: number): JobLoadMetadata {
  const base: JobLoadMetadata = { writeDisposition: 'WRITE_TRUNCATE', createDisposition: 'CREATE_IF_NEEDED', maxBadRecords };
  // An explicit schema mapped as the in-process path maps it (types.ts): the same columns either way.
  if (file.format === 'parquet') return { ...base, sourceFormat: 'PARQUET', ...(file.columns?.length ? { schema: { fields: file.columns.map((c) => ({ name: c.name, type: bigQueryType(c.type, c.name), mode: 'NULLABLE' })) } } : {}) };
  if (file.format === 'ndjson') return { ...base, sourceFormat: 'NEWLINE_DELIMITED_JSON', autodetect: true };
  const csv = file.csv ?? {};
  return {
    ...base,
    sourceFormat: 'CSV',
    autodetect: true,
    skipLeadingRows: csv.header === false ? 0 : 1,
    ...(csv.delimiter !== undefined ? { fieldDelimiter: csv.delimiter } : {}),
    ...(csv.quote !== undefined ? { quote: csv.quote } : {}),
    ...(csv.nullString !== undefined ? { nullMarker: csv.nullString } : {}),
  };
}

type JobError = { reason?: string; location?: string; message?: string };

/**
 * A finished load job's metadata as the file's verdict (BigQuery's Job resource: `status.errorResult`
 * present = the job failed; `status.errors` = the first errors met, also on a job that succeeded
 * because maxBadRecords tolerated them; `statistics.load.outputRows` / `badRecords` as decimal strings).
 */
export function loadVerdict(metadata: unknown): Omit<RemoteLoad, 'columns'> {
  const m = metadata as { status?: { errorResult?: JobError; errors?: JobError[] }; statistics?: { load?: { outputRows?: string | number; badRecords?: string | number } } };
  const errorResult = m.status?.errorResult;
  // The errorResult is usually repeated as the list's last entry: kept once.
  const errors = (m.status?.errors ?? []).filter((e) => !errorResult || e.message !== errorResult.message || e.reason !== errorResult.reason);
  const badRecords = Number(m.statistics?.load?.badRecords ?? 0);
  if (errorResult) {
    const first = errors.find((e) => e.message)?.message;
    return { rows: 0, badRecords, errors, failed: `${errorResult.reason ?? 'error'}: ${errorResult.message ?? 'no message'}${first ? ` (first error: ${first})` : ''}` };
  }
  return { rows: Number(m.statistics?.load?.outputRows ?? 0), badRecords, errors };
}

/** Runs the load of one file and reads its verdict and (when it loaded) its columns. */
export async function loadRemoteFile(client: BigQueryClient, stage: string, seq: number, index: number, file: RemoteFile): Promise<RemoteLoad> {
  const table = loadTable(stage, seq, index);
  let metadata: unknown;
  try {
    metadata = await client.loadUrisJob(table, [file.uri], file.size, loadConfig(file, client.settings.maxBadRecords ?? 0));
  } catch (err) {
    // A job BigQuery refused outright for this file (invalid, notFound) is the file's verdict too; a transient failure is not.
    // A column type BigQuery cannot take (types.ts) is the file's too.
    if (err instanceof LakeletError && !(err instanceof BigQueryError)) return { rows: 0, badRecords: 0, errors: [], failed: err.message, columns: [] };
    if (err instanceof BigQueryError && !err.transient && err.reason !== undefined && ['invalid', 'notFound', 'invalidQuery'].includes(err.reason)) {
      return { rows: 0, badRecords: 0, errors: err.errors, failed: err.message, columns: [] };
    }
    throw err;
  }
  const verdict = loadVerdict(metadata);
  if (verdict.failed) return { ...verdict, columns: [] };
  const columns = ((await client.columns(table)) ?? []).map((c) => ({ name: c.name, type: duckdbType(c.type) }));
  return { ...verdict, columns };
}
