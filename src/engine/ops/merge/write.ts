/**
 * The MERGE's writes and commit: the rows of the rewritten files and the inserts written in one
 * pass (constraints checked first), the change data files when the feed is on, then one commit of
 * removes, adds and cdc actions. Files written by an attempt that does not commit are deleted.
 */
import type { Action, AddCDCFile, AddFile, Protocol } from '../../delta/actions.ts';
import { mergeProtocols } from '../restore.ts';
import type { StructType } from '../../delta/schema.ts';
import type { TableContext } from '../../delta/table-context.ts';
import type { TableHandle } from '../../table-handle.ts';
import type { OperationResult } from '../operation-result.ts';
import type { Compute } from '../../../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../../../adapters/compute/sql.ts';
import { columnMappingMode } from '../../delta/column-mapping.ts';
import { enforceConstraints, tableConstraints } from '../../delta/constraints.ts';
import { writeDataFiles, type DataWriteResult } from '../../delta/data-writer.ts';
import { compilePredicate, type Predicate } from '../../delta/skipping.ts';
import { parseStats } from '../../delta/stats.ts';
import { scanSnapshot, type Scan } from '../../delta/scan.ts';
import { deltaTypeToDuckDb } from '../../delta/duckdb-types.ts';
import { commit } from '../../delta/transaction.ts';
import { isChangeDataFeedEnabled, writeChangeDataFiles } from '../cdf.ts';
import { isDelete, isUpdate, type CodedClause } from './clauses.ts';
import { emptyMetrics, type MergeMetrics } from './metrics.ts';
import type { MergePlan, MergeTarget } from './plan.ts';
import { collectPositions, deleteUnusedDvFiles, deletionVectorsEnabled, markRowsDeleted, type DvMarkResult } from '../deletion-vectors.ts';
import { removeFor } from '../file-selection.ts';
import { stageParquetFile } from '../../delta/adopt-parquet.ts';

export interface MergeOutput {
  written: DataWriteResult;
  cdc: AddCDCFile[];
  /** The candidate files holding a changed row: removed, their other rows rewritten. */
  removedFiles: AddFile[];
  /** With deletion vectors: the touched files' new DVs (removedFiles are then the wholly deleted ones). */
  dv?: DvMarkResult;
  rewriteTimeMs: number;
}

export interface OutputInput {
  target: MergeTarget;
  plan: MergePlan;
  joined: string;
  /** The files holding a changed row, with how many of their rows changed. */
  touched: Map<string, number>;
  /** The scanned target files: the joined rows' `__file` is an index into these. */
  scanned: AddFile[];
  /** Their current deletion vectors' rows, as the scan decoded them (Scan.deletedRows). */
  scannedDeleted?: ReadonlyMap<string, readonly number[]>;
  /** A plain upsert (join.ts isPlainUpsert): the updated and inserted rows are this source's rows. */
  fromSource?: string;
  /** The join kept source row ids (join.ts lateSourceRows): the written rows' values are fetched by them. */
  sourceRows?: { table: string; rowId: string };
  /**
   * With fromSource: the Parquet file the source is, as it is (no dedup), with its columns: the
   * rows to write are that file's, which may then be taken into the table as it is (adopt-parquet.ts).
   */
  sourceFile?: { path: string; schema: StructType; rows: number };
}

/**
 * Writes the kept rows of the touched files and the inserts as new data files, and the change data.
 * With deletion vectors on, the touched files keep their rows: the updated and deleted ones are
 * marked in a DV, and only updated rows and inserts are written.
 */
export async function writeMergeOutput(ctx: TableContext, { target, plan, joined, touched, scanned, scannedDeleted, fromSource, sourceRows, sourceFile }: OutputInput): Promise<MergeOutput> {
  const { schema, metadata, snapshot } = target;
  const touchedFiles = plan.candidates.filter((f) => touched.has(f.path));
  const useDv = deletionVectorsEnabled(snapshot) && touchedFiles.length > 0;
  const rewriteStarted = Date.now();
  const deleteCodes = plan.clauses.filter(isDelete).map((c) => c.code);
  const updateCodes = plan.clauses.filter(isUpdate).map((c) => c.code);
  const cols = schema.fields.map((f) => sqlIdent(f.name)).join(', ');
  const parts: string[] = [];
  let rescan: Scan | undefined;
  // The updated rows and the inserts: from the join, or, for a plain upsert, the source rows.
  const writtenCodes = [...updateCodes, ...plan.inserts.map((c) => c.code)];
  const acted = fromSource
    ? [`SELECT ${cols} FROM ${fromSource}`]
    : sourceRows
      ? // One output row per joined row (a source row matching two target rows updates both).
        writtenCodes.length > 0
        ? [`SELECT ${schema.fields.map((f) => `s.${sqlIdent(f.name)}`).join(', ')} FROM ${joined} j JOIN ${sourceRows.table} s ON s.${sourceRows.rowId} = j.__srow WHERE j.__code IN (${writtenCodes.join(', ')})`]
        : []
      : [
        ...(updateCodes.length ? [`SELECT ${cols} FROM ${joined} WHERE __code IN (${updateCodes.join(', ')})`] : []),
        ...(plan.inserts.length > 0 ? [`SELECT ${cols} FROM ${joined} WHERE __code BETWEEN 101 AND 199`] : []),
      ];
  // With deletion vectors the touched files keep their rows (the DVs hide the changed ones).
  // Copy-on-write: a touched file whose every live row changed has nothing to keep; the others'
  // rows are re-read from the files (each once), minus every row a clause updated or deleted.
  const keeping = touchedFiles.filter((f) => !(touched.get(f.path)! >= liveRows(f)));
  const changed = [...updateCodes, ...deleteCodes];
  // Files by their index in the join's scan (the joined rows' __file).
  const indexOf = new Map(scanned.map((f, i) => [f.path, i]));
  if (!useDv && keeping.length > 0) {
    rescan = await scanSnapshot(snapshot, { withFileInfo: true, fileIndex: true, files: keeping });
    // The re-scan numbers its files anew; as indexes of the join's scan, they are:
    const asScanned = `[${rescan.files.map((f) => indexOf.get(f.path)).join(', ')}][r._file::INTEGER + 1]`;
    // A column just added by schema evolution has no value in the files yet.
    const existing = new Set(snapshot.schema.fields.map((f) => f.name.toLowerCase()));
    const kept = schema.fields.map((f) => (existing.has(f.name.toLowerCase()) ? `r.${sqlIdent(f.name)}` : `NULL::${deltaTypeToDuckDb(f.type)} AS ${sqlIdent(f.name)}`)).join(', ');
    parts.push(
      `SELECT ${kept} FROM (${rescan.sql}) r ANTI JOIN (SELECT __file, __row FROM ${joined} WHERE __code IN (${changed.join(', ')})) c ON c.__file = ${asScanned} AND c.__row = r._row_index`,
    );
  }
  const noRows = `SELECT ${schema.fields.map((f) => `NULL::${deltaTypeToDuckDb(f.type)} AS ${sqlIdent(f.name)}`).join(', ')} WHERE false`;
  const union = (sqls: string[]) => (sqls.length ? sqls.map((p) => `(${p})`).join(' UNION ALL ') : noRows);
  // With deletion vectors: the changed rows' positions (one query), then their DV file encoded and
  // written. A file whose every live row changed is removed outright: its positions are not needed.
  const now = ctx.clock.now();
  const partialSet = new Set(keeping);
  const whole = useDv ? touchedFiles.filter((f) => !partialSet.has(f)) : [];
  const markDeleted = async (): Promise<DvMarkResult> => {
    const positions =
      keeping.length > 0
        ? await collectPositions(
            ctx,
            `SELECT __file AS f, __row AS r FROM ${joined} WHERE __code IN (${changed.join(', ')})` +
              (whole.length > 0 ? ` AND __file IN (${keeping.map((f) => indexOf.get(f.path)).join(', ')})` : ''),
            scanned,
          )
        : new Map<string, Float64Array>();
    return markRowsDeleted(ctx, snapshot, keeping, positions, now, scannedDeleted);
  };
  // When the source file is likely taken as it is (mostly file copies, no Parquet encoding), the DV
  // file is written meanwhile: its fsync took 8-11 ms after the copy's. Beside a COPY it made the
  // DV pipeline (100-file batches) 2-5% slower, so there it still comes after the rows.
  let marking: Promise<DvMarkResult> | undefined;
  if (useDv && fromSource && sourceFile) {
    marking = markDeleted();
    // (Awaited below; a failure meanwhile is not unhandled.)
    marking.catch(() => undefined);
  }
  let written: DataWriteResult;
  let adopted: DataWriteResult | undefined;
  let placing: Promise<void> | undefined;
  try {
    await enforceConstraints(ctx.compute, ctx.uri, tableConstraints(schema, metadata.configuration), union([...parts, ...acted]));
    // A plain upsert from a Parquet file in the table's own layout: that file is taken as it is.
    // Its copy is moved into place (a rename and two fsyncs) while the kept rows are rewritten.
    const staged = fromSource && sourceFile ? await stageParquetFile(ctx, sourceFile.path, { schema, fileSchema: sourceFile.schema, metadata, expectedRows: sourceFile.rows }) : undefined;
    adopted = staged?.result;
    if (!staged) parts.push(...acted);
    placing = staged?.place();
    placing?.catch(() => undefined);
    const rewritten = parts.length
      ? await writeDataFiles(ctx, union(parts), {
          schema,
          partitionColumns: metadata.partitionColumns,
          mappingMode: columnMappingMode(metadata),
          configuration: metadata.configuration,
          columns: schema.fields.map((f) => f.name),
          rowGroupSize: rewriteRowGroupSize(useDv ? 0 : keeping.reduce((n, f) => n + liveRows(f), 0)),
        })
      : { adds: [], numOutputRows: 0, numOutputBytes: 0 };
    await placing;
    written = adopted
      ? { adds: [...rewritten.adds, ...adopted.adds], numOutputRows: rewritten.numOutputRows + adopted.numOutputRows, numOutputBytes: rewritten.numOutputBytes + adopted.numOutputBytes }
      : rewritten;
  } catch (err) {
    // The adopted file and the DV file written meanwhile are committed by nothing: not left behind.
    await placing?.catch(() => undefined);
    if (adopted) await deleteFiles(ctx, adopted.adds);
    const unused = await marking?.catch(() => undefined);
    if (unused) await deleteUnusedDvFiles(ctx, unused.written);
    throw err;
  } finally {
    await rescan?.release();
  }
  let dv: DvMarkResult | undefined;
  if (useDv) {
    try {
      dv = await (marking ?? markDeleted());
    } catch (err) {
      await deleteFiles(ctx, written.adds);
      throw err;
    }
    for (const f of whole) {
      dv.actions.push(removeFor(f, now, true));
      dv.filesRemoved.push(f);
    }
  }
  const removedFiles = dv ? dv.filesRemoved : touchedFiles;
  const rewriteTimeMs = Date.now() - rewriteStarted;
  const cdc = isChangeDataFeedEnabled(snapshot) ? await writeChangeDataFiles(ctx, snapshot, changeRowsSql(schema, joined, plan.clauses)) : [];
  return { written, cdc, removedFiles, dv, rewriteTimeMs };
}

/** Rows a file holds (its stats' count minus its deletion vector's); unknown without stats. */
/**
 * Row groups for a rewrite of `keptRows` rows: DuckDB encodes and compresses a file's row groups
 * in parallel, one per thread, so a 160,000-row rewrite in its default 122,880-row groups kept one
 * thread busy with the first group while the other finished the second, short one (a 157,000-row
 * copy: ~100 ms against ~80 ms in groups of 32,768 rows on 2 threads, the same CPU, size +0.5%). About
 * eight groups per rewrite, never under 16,384 rows (compression and readers' per-group cost) nor
 * over the default; small rewrites and inserts keep the default.
 */
function rewriteRowGroupSize(keptRows: number): number | undefined {
  if (!Number.isFinite(keptRows) || keptRows < 2 * MIN_REWRITE_ROW_GROUP) return undefined;
  return Math.max(MIN_REWRITE_ROW_GROUP, Math.min(DEFAULT_ROW_GROUP, Math.ceil(keptRows / 8)));
}

const MIN_REWRITE_ROW_GROUP = 16_384;
const DEFAULT_ROW_GROUP = 122_880;

function liveRows(f: AddFile): number {
  const n = parseStats(f.stats)?.numRecords;
  return typeof n === 'number' ? n - (f.deletionVector?.cardinality ?? 0) : Number.POSITIVE_INFINITY;
}

/** Change data rows of a merge: inserts, update pre/post images and deletes (pre-images). */
function changeRowsSql(schema: StructType, joined: string, clauses: CodedClause[]): string {
  const post = schema.fields.map((f) => sqlIdent(f.name)).join(', ');
  const pre = schema.fields.map((f, i) => `__pre_${i} AS ${sqlIdent(f.name)}`).join(', ');
  const updates = clauses.filter(isUpdate).map((c) => c.code);
  const deletes = clauses.filter(isDelete).map((c) => c.code);
  const parts = [`SELECT ${post}, 'insert' AS _change_type FROM ${joined} WHERE __code BETWEEN 101 AND 199`];
  if (updates.length) {
    parts.push(`SELECT ${pre}, 'update_preimage' AS _change_type FROM ${joined} WHERE __code IN (${updates.join(', ')})`);
    parts.push(`SELECT ${post}, 'update_postimage' AS _change_type FROM ${joined} WHERE __code IN (${updates.join(', ')})`);
  }
  if (deletes.length) parts.push(`SELECT ${pre}, 'delete' AS _change_type FROM ${joined} WHERE __code IN (${deletes.join(', ')})`);
  return parts.map((p) => `(${p})`).join(' UNION ALL ');
}

export interface CommitInput {
  target: MergeTarget;
  plan: MergePlan;
  output: MergeOutput;
  metrics: MergeMetrics;
  /** The join condition, as committed in operationParameters.predicate. */
  on: string;
  keys: string[];
  sourceTable: string;
  txn?: { appId: string; version: number };
  /** Domain metadata committed with the merge (an application's own state, e.g. a sync watermark). */
  domains?: { domain: string; configuration: string }[];
  started: number;
}

/** Commits the merge; an attempt that does not commit deletes the files it wrote. */
export async function commitMerge(table: TableHandle, input: CommitInput): Promise<OperationResult<MergeMetrics>> {
  const ctx = table.ctx;
  const { target, plan, output, metrics } = input;
  const actions: Action[] = [...target.actions, ...output.cdc.map((cdc) => ({ cdc }))];
  const now = ctx.clock.now();
  if (output.dv) {
    // Wholly deleted files and the remove/add pairs that swap in each touched file's new DV.
    actions.push(...output.dv.actions);
  } else {
    for (const f of output.removedFiles) {
      actions.push({ remove: { path: f.path, deletionTimestamp: now, dataChange: true, extendedFileMetadata: true, partitionValues: f.partitionValues, size: f.size, ...(f.deletionVector ? { deletionVector: f.deletionVector } : {}) } });
    }
  }
  for (const add of output.written.adds) actions.push({ add });
  if (input.domains?.length) withDomains(actions, target.snapshot.protocol, input.domains);

  // What we read, for conflict detection: the scanned files, and the source's key range.
  const readScope = plan.bySource.length > 0 ? ('all' as const) : keyRangeScope(ctx.compute, input.keys, input.sourceTable);
  metrics.executionTimeMs = Date.now() - input.started;
  const unused = [...output.written.adds, ...output.cdc, ...(output.dv?.written ?? []).map((path) => ({ path }))];
  const result = await commit(ctx, {
    read: target.snapshot,
    actions,
    operation: 'MERGE',
    operationParameters: operationParameters(input.on, plan),
    operationMetrics: { ...metrics },
    readSet: { files: plan.candidates, scope: readScope },
    appTxn: input.txn,
  }).catch(async (err: unknown) => {
    // The files this attempt wrote will never be referenced: remove them before giving up.
    await deleteFiles(ctx, unused);
    throw err;
  });
  if (result.skipped) {
    // Another writer applied this txn first: what this attempt wrote (change data too) is unused.
    await deleteFiles(ctx, unused);
    return { version: result.version, snapshot: result.snapshot, metrics: emptyMetrics(), skipped: `transaction ${result.skipped.appId}@${result.skipped.txnVersion} already committed` };
  }
  return { version: result.version, snapshot: result.snapshot, metrics };
}

/**
 * Adds domainMetadata actions, and the protocol upgrade they need (writer feature
 * `domainMetadata`) when the table does not have it yet, merged with any upgrade already planned.
 */
function withDomains(actions: Action[], current: Protocol, domains: { domain: string; configuration: string }[]): void {
  const planned = actions.findIndex((a) => a.protocol);
  const base = planned >= 0 ? actions[planned].protocol! : current;
  if (base.minWriterVersion < 7 || !(base.writerFeatures ?? []).includes('domainMetadata')) {
    const protocol = mergeProtocols(base, { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ['domainMetadata'] });
    if (planned >= 0) actions[planned] = { protocol };
    else actions.push({ protocol });
  }
  for (const d of domains) actions.push({ domainMetadata: { domain: d.domain, configuration: d.configuration, removed: false } });
}

async function deleteFiles(ctx: TableContext, files: { path: string }[]): Promise<void> {
  for (const f of files) await ctx.store.delete(decodeURIComponent(f.path)).catch(() => {});
}

function operationParameters(on: string, plan: MergePlan): Record<string, unknown> {
  const predicate = (c: CodedClause) => (c.condition ? { predicate: c.condition } : {});
  return {
    predicate: on,
    matchedPredicates: plan.matched.map((c) => ({ actionType: c.kind === 'matched-delete' ? 'delete' : 'update', ...predicate(c) })),
    notMatchedPredicates: plan.inserts.map((c) => ({ actionType: 'insert', ...predicate(c) })),
    notMatchedBySourcePredicates: plan.bySource.map((c) => ({ actionType: c.kind === 'by-source-delete' ? 'delete' : 'update', ...predicate(c) })),
  };
}

/**
 * A predicate covering the source's key range: files a concurrent writer adds inside it conflict.
 * Both the range (one query over the source, which lives until the merge returns) and the
 * predicate are worked out only if a concurrent commit has to be checked against them: an
 * uncontended merge never reads them.
 */
function keyRangeScope(compute: Compute, keys: string[], src: string): () => Promise<Predicate | 'none'> {
  return async () => {
    const cols = keys.map((k, i) => `min(${sqlIdent(k)})::VARCHAR AS lo${i}, max(${sqlIdent(k)})::VARCHAR AS hi${i}, typeof(min(${sqlIdent(k)})) AS t${i}`);
    const [r] = await compute.query<Record<string, string | null>>(`SELECT ${cols.join(', ')} FROM ${src}`);
    const parts: string[] = [];
    for (const [i, k] of keys.entries()) {
      const lo = r[`lo${i}`];
      const hi = r[`hi${i}`];
      if (lo === null || hi === null) return 'none';
      parts.push(`${sqlIdent(k)} BETWEEN CAST(${sqlString(lo)} AS ${r[`t${i}`]}) AND CAST(${sqlString(hi)} AS ${r[`t${i}`]})`);
    }
    return compilePredicate(compute, parts.join(' AND '));
  };
}
