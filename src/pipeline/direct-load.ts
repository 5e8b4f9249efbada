import { open, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sqlString } from '../adapters/compute/sql.ts';
import type { ObjectMeta } from '../adapters/storage/object-store.ts';
import type { Column, RemoteFile } from '../warehouse/warehouse.ts';
import { workDir } from './batch.ts';
import type { ManifestFile } from './batch-state.ts';
import type { PipelineRuntime } from './runtime.ts';

/**
 * Seed 004's size-based dispatch (`bigquery.loadJobFrom`): a landed file at or above the threshold,
 * on a gs:// landing, is planned without being read here. Its identity is what the GCS listing says
 * about its content (`md5:<hex>`, or `gen:<generation>` for a composite object without an MD5) in
 * place of a sha256, and the warehouse loads it straight from its URI (a BigQuery load job); the
 * job's verdict decides the file's outcome as the in-process checks would (quarantined with
 * BigQuery's error, or staged with its bad records reported). Smaller files go the in-process way.
 *
 * What a load job cannot honour keeps a file in-process: transforms, json.path and format json
 * (lakelet's own readers), and the rescue policies (a load job has no `_rescued_data`).
 */
export interface DirectFile {
  file: RemoteFile;
  identity: string;
}

export function directLoadFor(rt: PipelineRuntime, c: ObjectMeta): DirectFile | undefined {
  const from = rt.tables.remoteLoadFrom;
  if (from === undefined || !rt.tables.loadRemote || c.size < from || !rt.landing.uri.startsWith('gs://')) return undefined;
  const identity = c.md5 ? `md5:${c.md5}` : c.generation ? `gen:${c.generation}` : undefined;
  const why = inProcessReason(rt);
  if (why || !identity) {
    rt.reporter.event('info', 'file.load-in-process', { pipeline: rt.pipeline.name, file: c.key, size: c.size, reason: why ?? 'the listing gives no MD5 or generation for it' });
    return undefined;
  }
  const p = rt.pipeline;
  const format = p.format as RemoteFile['format'];
  return { identity, file: { key: c.key, uri: `${rt.landing.uri}/${c.key}`, size: c.size, format, ...(format === 'csv' ? { csv: p.csv } : {}) } };
}

function inProcessReason(rt: PipelineRuntime): string | undefined {
  const p = rt.pipeline;
  if (p.format === 'json') return 'format json is read by lakelet (a load job takes parquet, csv, ndjson)';
  if (Object.keys(p.transforms).length) return 'the pipeline has transforms';
  if (p.json.path) return 'the pipeline has json.path';
  if (p.badRecords === 'rescue' || p.schemaDrift === 'rescue') return 'rescue keeps bad values in _rescued_data, which a load job cannot';
  return undefined;
}

/**
 * Loads a big file (the warehouse's load job) and makes its verdict a manifest entry. Undefined: the
 * file changed while it was loaded (another generation is live now): the next run takes it.
 */
export async function planDirectFile(rt: PipelineRuntime, seq: number, index: number, c: ObjectMeta, d: DirectFile): Promise<ManifestFile | undefined> {
  const started = Date.now();
  const columns = d.file.format === 'parquet' ? await footerColumns(rt, seq, c) : undefined;
  const r = await rt.tables.loadRemote!(seq, index, { ...d.file, ...(columns ? { columns } : {}) });
  const after = await rt.landing.head(c.key);
  if (!after || after.generation !== c.generation || after.size !== c.size) {
    rt.reporter.event('info', 'file.still-changing', { pipeline: rt.pipeline.name, file: c.key });
    return undefined;
  }
  const base = { key: c.key, size: c.size, mtime: c.lastModified, sha256: d.identity, loadJob: { index, errors: r.errors.slice(0, 100) } };
  rt.reporter.event('info', 'file.load-job', { pipeline: rt.pipeline.name, batch: seq, file: c.key, size: c.size, rows: r.rows, badRecords: r.badRecords, failed: r.failed, ms: Date.now() - started });
  if (r.failed) {
    return { ...base, outcome: 'quarantine', error: { kind: 'load-job', message: `the BigQuery load job of ${d.file.uri} failed: ${r.failed}`, hint: 'fix the file and land it again, or raise bigquery.maxBadRecords to load it without its bad records' } };
  }
  const known = await rt.tables.stageColumns();
  const added = known?.length ? r.columns.filter((c2) => !known.some((k) => k.name.toLowerCase() === c2.name.toLowerCase())) : [];
  if (added.length && rt.pipeline.schemaDrift === 'fail') {
    return { ...base, outcome: 'quarantine', error: { kind: 'schema', message: `new column(s) ${added.map((a) => a.name).join(', ')} (schemaDrift: fail)`, hint: 'set schemaDrift: evolve or ignore, or land the file without them' } };
  }
  const f: ManifestFile = { ...base, outcome: 'stage', records: r.rows };
  if (r.badRecords > 0) {
    const first = r.errors.find((e) => e.message);
    f.bad = { records: r.badRecords, leftOut: r.badRecords, summary: `${r.badRecords} bad record(s) left out by the BigQuery load job (bigquery.maxBadRecords tolerated them)${first ? `; first: ${first.location ? `${first.location}: ` : ''}${first.message}` : ''}` };
  }
  return f;
}

/** A directly loaded file's bad-records report: BigQuery's error list (it gives no records back), one JSON object a line. */
export function loadErrorsDocument(f: ManifestFile): string {
  return f.loadJob!.errors.map((e) => JSON.stringify({ _error: e.message ?? null, _reason: e.reason ?? null, _location: e.location ?? null, _from: 'bigquery load job' })).join('\n') + '\n';
}

/**
 * A Parquet file's columns from its footer alone: two ranged reads (the last 8 bytes: footer length
 * and magic; then the footer), placed at their offsets in a sparse local file of the same size, which
 * DuckDB describes reading nothing but the footer. So the load job gets the schema the in-process
 * path would have given (types.ts), while the rows stay in GCS. Undefined when it is not Parquet
 * (no PAR1 at the end): the load job then gives BigQuery's own verdict.
 */
export async function footerColumns(rt: PipelineRuntime, seq: number, c: ObjectMeta): Promise<Column[] | undefined> {
  if (c.size < 12) return undefined;
  const tail = await rt.landing.getRange(c.key, c.size - 8, 8);
  if (Buffer.from(tail.subarray(4)).toString('latin1') !== 'PAR1') return undefined;
  const length = Buffer.from(tail).readUInt32LE(0);
  if (length + 12 > c.size) return undefined;
  const footer = await rt.landing.getRange(c.key, c.size - 8 - length, length);
  const dir = join(workDir(rt, seq), 'footers');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${c.key.replace(/[^A-Za-z0-9._-]+/g, '_')}.parquet`);
  const fh = await open(path, 'w');
  try {
    await fh.truncate(c.size);
    await fh.write(Buffer.from('PAR1', 'latin1'), 0, 4, 0);
    await fh.write(footer, 0, footer.length, c.size - 8 - length);
    await fh.write(tail, 0, 8, c.size - 8);
  } finally {
    await fh.close();
  }
  try {
    const described = await rt.compute.query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path)})`);
    return described.map((x) => ({ name: x.column_name, type: x.column_type }));
  } catch {
    return undefined; // a footer DuckDB cannot read: BigQuery's load job says what is wrong
  } finally {
    await rm(path, { force: true });
  }
}
