/**
 * MERGE planning, before any target data is read: the source materialised once (deduplicated by
 * key when asked), the target created or its schema evolved when asked, the clauses coded, and the
 * target files that can hold a matching row chosen by partition values and key stats.
 */
import type { Action, AddFile, Metadata } from '../../delta/actions.ts';
import type { StructType } from '../../delta/schema.ts';
import type { Snapshot } from '../../delta/snapshot.ts';
import type { TableContext } from '../../delta/table-context.ts';
import type { TableHandle } from '../../table-handle.ts';
import { sqlIdent, sqlString } from '../../../adapters/compute/sql.ts';
import { schemaFromDuckDbColumns } from '../../delta/duckdb-types.ts';
import { assertLoadableNesting } from '../../delta/nesting-limit.ts';
import { withColumnMapping } from '../../delta/column-mapping-assign.ts';
import { chooseProtocol } from '../../delta/protocol-chooser.ts';
import { reconcileSchema } from '../../delta/schema-compat.ts';
import { InputError, NotATableError } from '../../errors.ts';
import { exactSourceSql, parquetFileOf, type Source } from '../source.ts';
import { WriteBuilder } from '../write.ts';
import { codeClauses, type CodedClause, type MergeClause } from './clauses.ts';
import { pruneByKeys, type KeyOrder, type KeyRange, type PrunedFiles } from './pruning.ts';
import { inputErrorFrom } from '../../../errors/lakelet-error.ts';

/** The column numbering source rows (for dedup ties, and to tell a matched row from none). */
export const SOURCE_ROW = '__lakelet_srow';

/** The merge's source, materialised once: it is joined, counted and range-joined. */
export interface MergeSource {
  /** The temp table (or, for a Parquet file, view) holding it, with the SOURCE_ROW column. */
  table: string;
  /** Its columns, without SOURCE_ROW. */
  schema: StructType;
  numSourceRows: number;
  /** Source rows dropped by dedup. */
  numSourceRowsDeduplicated: number;
  /**
   * Each key occurs at most once (deduplicated by key), so no target row can match two source
   * rows and the ambiguity check has nothing to find.
   */
  uniqueKeys: boolean;
  /**
   * A column of `table` naming each source row the same way on every read (a Parquet file's row
   * number, a temp table's rowid), or undefined: the join can then keep just it, and the write
   * fetch the values of the few rows it writes.
   */
  rowId?: string;
  /** The one local Parquet file `table` is a view of, row for row (no dedup): see adopt-parquet.ts. */
  parquetFile?: string;
}

export interface Dedup {
  orderBy: string;
  keep: 'last' | 'first';
}

export async function materializeSource(ctx: TableContext, source: Source, keys: string[], dedup: Dedup | undefined, table: string): Promise<MergeSource> {
  const { compute } = ctx;
  const unreadable = (err: unknown) => inputErrorFrom(err, (detail) => `${ctx.uri}: cannot read the MERGE source: ${detail}`);
  const { sql } = await exactSourceSql(compute, source, unreadable);
  const direction = dedup?.keep === 'last' ? 'DESC' : 'ASC';
  const partitionBy = keys.map(sqlIdent).join(', ');
  // A constant marks a source row (the join tells matched rows by it). Dedup breaks ties by source
  // order: the temp table's rowid, as DuckDB keeps a CREATE TABLE AS in the query's order
  // (preserve_insertion_order, on). A row_number() window said the same, single-threaded over the
  // whole source (a 1M-row source: 199 ms to materialise with it, 118–130 ms without).
  const marker = '1';
  // A Parquet file is cheap to re-read (only the columns a step needs) and reads the same each
  // time, so it stays a view; copying it into a temp table costs more than the re-reads.
  const kind = sourceRelationKind(source, dedup);
  // The view's marker is the row's position in the file: a stable row id, for free. (DuckDB
  // refuses it for a file with its own file_row_number column: then the plain view below.)
  const viewed = kind === 'VIEW' && 'file' in source ? await parquetViewWithRowNumbers(ctx, source.file, table) : undefined;
  let rowId = viewed ? SOURCE_ROW : undefined;
  if (!rowId) {
    try {
      // Dedup keeps every row here and deletes the losers below (a window in this statement made
      // it single-threaded over the whole source).
      await compute.run(`CREATE TEMP ${kind} ${table} AS SELECT *, ${marker} AS ${SOURCE_ROW} FROM (${sql})`);
    } catch (err) {
      throw unreadable(err);
    }
  }
  // The columns and the row count in one round trip (each statement costs ~1 ms however small).
  const described = viewed ?? (await compute.query<Described>(describeSql(table)));
  const columns = described.filter((c) => c.column_name !== SOURCE_ROW);
  // A temp table's rowid names its rows stably (unless the source has a column of that name).
  if (kind === 'TABLE' && !columns.some((c) => c.column_name.toLowerCase() === 'rowid')) rowId = 'rowid';
  for (const k of keys) {
    if (!columns.some((c) => c.column_name.toLowerCase() === k.toLowerCase())) {
      throw new InputError(`${ctx.uri}: MERGE key column '${k}' is not in the source (columns: ${columns.map((c) => c.column_name).join(', ')}).`);
    }
  }
  if (dedup && !columns.some((c) => c.column_name.toLowerCase() === dedup.orderBy.toLowerCase())) {
    throw new InputError(`${ctx.uri}: MERGE dedup column '${dedup.orderBy}' is not in the source (columns: ${columns.map((c) => c.column_name).join(', ')}).`);
  }
  const numSourceRows = Number(described[0].__n);
  let kept = numSourceRows;
  if (dedup && numSourceRows > 1) {
    // One row per key: the last (or first) by the ordering column, then by source order. Keys
    // compare as PARTITION BY does: NULL equals NULL. The DELETE counts the rows it drops; a
    // count of distinct keys first, to skip it when none repeats, cost 24 ms of the DELETE's
    // 38 for a 100,000-row pipeline batch (which usually repeats some key).
    // (A source column named rowid hides the table's own: the rows are numbered in their order then.)
    if (!rowId) await compute.run(`CREATE OR REPLACE TEMP TABLE ${table} AS SELECT * REPLACE (row_number() OVER () AS ${SOURCE_ROW}) FROM ${table}`);
    const order = rowId ?? SOURCE_ROW;
    const losers = `SELECT ${order} FROM ${table} QUALIFY row_number() OVER (PARTITION BY ${partitionBy} ORDER BY ${sqlIdent(dedup.orderBy)} ${direction} NULLS LAST, ${order} ${direction}) > 1`;
    const [deleted] = await compute.query<{ Count: string | number }>(`DELETE FROM ${table} WHERE ${order} IN (${losers})`);
    kept = numSourceRows - Number(deleted?.Count ?? 0);
  }
  const schema = schemaFromDuckDbColumns(columns.map((c) => ({ name: c.column_name, type: c.column_type })));
  assertLoadableNesting(ctx.uri, schema, 'the MERGE source');
  const parquetFile = kind === 'VIEW' && rowId === SOURCE_ROW ? parquetFileOf(source) : undefined;
  return { table, schema, numSourceRows, numSourceRowsDeduplicated: numSourceRows - kept, uniqueKeys: dedup !== undefined, rowId, ...(parquetFile ? { parquetFile } : {}) };
}

/** Whether materializeSource makes the source a temp VIEW or TABLE (known before it runs, so the caller can drop exactly that). */
export function sourceRelationKind(source: Source, dedup: Dedup | undefined): 'VIEW' | 'TABLE' {
  return !dedup && parquetFileOf(source) !== undefined ? 'VIEW' : 'TABLE';
}

type Described = { column_name: string; column_type: string; __n: string };

/** A relation's columns, and its row count in every row. */
const describeSql = (table: string) => `SELECT column_name, column_type, (SELECT count(*) FROM ${table}) AS __n FROM (DESCRIBE ${table})`;

/**
 * A view of one Parquet file whose SOURCE_ROW is the row's position in the file, created and
 * described in one round trip (its columns and row count); undefined if DuckDB refuses it.
 */
async function parquetViewWithRowNumbers(ctx: TableContext, file: string, table: string): Promise<Described[] | undefined> {
  try {
    return await ctx.compute.query<Described>(
      `CREATE TEMP VIEW ${table} AS SELECT * EXCLUDE (file_row_number), file_row_number AS ${SOURCE_ROW} FROM read_parquet(${sqlString(file)}, file_row_number = true); ${describeSql(table)}`,
    );
  } catch {
    // (Should the view have been made and its description failed, the plain view takes its name.)
    await ctx.compute.run(`DROP VIEW IF EXISTS ${table}`).catch(() => {});
    return undefined;
  }
}

/** The target as the merge writes it: its snapshot, the (evolved) schema and metadata. */
export interface MergeTarget {
  snapshot: Snapshot;
  schema: StructType;
  metadata: Metadata;
  /** metaData / protocol actions of a schema evolution, committed with the merge. */
  actions: Action[];
}

export interface TargetOptions {
  keys: string[];
  clauses: MergeClause[];
  mergeSchema: boolean;
  createIfMissing?: { partitionBy: string[]; properties?: Record<string, string> };
}

/** Creates the target when asked (and missing), checks the keys, evolves the schema when asked. */
export async function prepareTarget(table: TableHandle, snapshot: Snapshot | undefined, source: MergeSource, options: TargetOptions): Promise<MergeTarget> {
  const uri = table.ctx.uri;
  if (!snapshot) {
    if (!options.createIfMissing) throw new NotATableError(uri, 'MERGE needs an existing target; use createIfMissing()');
    const created = await new WriteBuilder(table, { sql: `SELECT * EXCLUDE (${SOURCE_ROW}) FROM ${source.table} WHERE false` })
      .partitionBy(...options.createIfMissing.partitionBy)
      .properties(options.createIfMissing.properties ?? {})
      .execute();
    snapshot = created.snapshot;
  }
  for (const k of options.keys) {
    if (!snapshot.schema.fields.some((f) => f.name.toLowerCase() === k.toLowerCase())) {
      throw new InputError(`${uri}: MERGE key column '${k}' is not in the target table.`);
    }
  }
  const target: MergeTarget = { snapshot, schema: snapshot.schema, metadata: snapshot.metadata, actions: [] };
  if (!options.clauses.some((c) => !c.set && (c.kind === 'matched-update' || c.kind === 'not-matched-insert'))) return target;
  // Like Delta: without schema evolution, UPDATE SET * / INSERT * ignore source columns the
  // target lacks (e.g. an `op` marker column); shared columns must still have compatible types.
  const targetNames = new Set(snapshot.schema.fields.map((f) => f.name.toLowerCase()));
  const compared = options.mergeSchema ? source.schema : { ...source.schema, fields: source.schema.fields.filter((f) => targetNames.has(f.name.toLowerCase())) };
  const evolved = reconcileSchema(uri, snapshot.schema, compared, { mergeSchema: options.mergeSchema });
  if (evolved.changed) {
    // Under column mapping the new columns get new ids (above maxColumnId) and physical names.
    const mapped = withColumnMapping(snapshot.metadata, evolved.schema, target.metadata.configuration, () => table.ctx.ids.uuid());
    target.schema = mapped.schema;
    target.metadata = { ...target.metadata, schemaString: JSON.stringify(target.schema), configuration: mapped.configuration };
    target.actions.push({ metaData: target.metadata });
    const protocol = chooseProtocol(target.schema, target.metadata.configuration);
    if (protocol.minWriterVersion > snapshot.protocol.minWriterVersion || protocol.minReaderVersion > snapshot.protocol.minReaderVersion) target.actions.push({ protocol });
  }
  return target;
}

/** The coded clauses by family, and the target files the merge reads. */
export interface MergePlan {
  clauses: CodedClause[];
  matched: CodedClause[];
  inserts: CodedClause[];
  bySource: CodedClause[];
  /** Files that may hold a row the merge changes: all of them with a NOT MATCHED BY SOURCE clause. */
  candidates: AddFile[];
  /** Per key column (lower-cased), when pruning knew it: the range holding every key of the candidates. */
  keyRanges: Record<string, KeyRange>;
  /** See PrunedFiles.keyOrder: worked out while pruning when the ambiguity check may need it. */
  keyOrder?: KeyOrder;
}

/** `source.uniqueKeys`: the source is known unique by key, so the pruning pass need not read the keys' order. */
export async function planFiles(snapshot: Snapshot, clauses: MergeClause[], keys: string[], source: Pick<MergeSource, 'table' | 'uniqueKeys'>): Promise<MergePlan> {
  const coded = codeClauses(clauses);
  const bySource = coded.filter((c) => c.kind.startsWith('by-source'));
  const matched = coded.filter((c) => c.kind.startsWith('matched'));
  const inserts = coded.filter((c) => c.kind === 'not-matched-insert');
  // Every target row matters to a NOT MATCHED BY SOURCE clause; otherwise only rows whose key is
  // among the source's (matched rows, and the keys inserts must not duplicate).
  // (The keys' order matters only to the ambiguity check: matched clauses, a source not deduplicated.)
  const checkOrder = matched.length > 0 && !source.uniqueKeys;
  const pruned: PrunedFiles = bySource.length > 0 ? { files: snapshot.files, keyRanges: {} } : await pruneByKeys(snapshot, keys, source.table, { checkOrder });
  return { clauses: coded, matched, inserts, bySource, candidates: pruned.files, keyRanges: pruned.keyRanges, ...(pruned.keyOrder ? { keyOrder: pruned.keyOrder } : {}) };
}
