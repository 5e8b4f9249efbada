import type { AddFile } from './actions.ts';
import type { Snapshot } from './snapshot.ts';
import type { StructField } from './schema.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import { columnMappingMode, physicalName, type ColumnMappingMode } from './column-mapping.ts';
import { deltaTypeToDuckDb } from './duckdb-types.ts';
import { logicalColumnExprs } from './stored-columns.ts';
import { lookupPartitionValue, partitionValueToSql } from './partition-values.ts';
import { readDeletionVector } from './deletion-vector.ts';
import { resolveAddPath } from './paths.ts';
import { localFileFor } from './materialize.ts';
import { parseStats } from './stats.ts';
import { canSkipFile, compilePredicate, type Predicate } from './skipping.ts';
import { DamagedFileError, InputError, MissingFileError } from '../errors.ts';
import { DAMAGE_MESSAGE, findDamagedFile } from './damaged-file.ts';

export interface ScanOptions {
  /** Logical column names to return, in order. Default: every column of the schema. */
  columns?: string[];
  /** A SQL predicate over logical column names, used for file skipping and as a row filter. */
  where?: string;
  /** Also return `_file` (the add.path of the row's file) and `_row_index` (row position in it). */
  withFileInfo?: boolean;
  /**
   * With withFileInfo: `_file` is the index of the row's file in `Scan.files` instead of
   * its path. Cheaper: no per-row string join on the file name, and a narrow column to carry.
   * It is DuckDB's file_index as it comes (UBIGINT): a cast here would run on every row read,
   * ~10 ms per million rows, while a merge keeps few of them; the caller casts what it keeps.
   */
  fileIndex?: boolean;
  /** Restrict the scan to these files (used by merge/update/delete to read just what they rewrite). */
  files?: AddFile[];
}

export interface ScanMetrics {
  filesTotal: number;
  filesScanned: number;
  filesSkipped: number;
  bytesScanned: number;
}

/**
 * A scan of one snapshot as a DuckDB relation: `sql` is a SELECT that can be used as a subquery
 * or a view. Temp tables that back it (file list, deletion vectors) live until `release()`.
 */
export interface Scan {
  readonly sql: string;
  readonly metrics: ScanMetrics;
  /** The files the scan reads after skipping. */
  readonly files: AddFile[];
  /**
   * The rows each read file's deletion vector deletes (by add.path), as this scan decoded them:
   * an operation marking more rows deleted unions with these instead of reading the DVs again.
   */
  readonly deletedRows?: ReadonlyMap<string, readonly number[]>;
  release(): Promise<void>;
}

let scanCounter = 0;

export async function planFiles(snapshot: Snapshot, where?: string, files?: AddFile[]): Promise<{ kept: AddFile[]; skipped: number; predicate?: Predicate }> {
  const all = files ?? snapshot.files;
  if (!where) return { kept: all, skipped: 0 };
  const mode = columnMappingMode(snapshot.metadata);
  await assertPredicateBinds(snapshot, where);
  const predicate = await compilePredicate(snapshot.table.compute, where);
  const physicalOf = physicalNameLookup(snapshot.schema.fields, mode);
  const kept: AddFile[] = [];
  for (const f of all) {
    const skip = canSkipFile(
      predicate,
      { partitionValues: f.partitionValues, stats: parseStats(f.stats) },
      snapshot.schema,
      snapshot.partitionColumns,
      physicalOf,
    );
    if (!skip) kept.push(f);
  }
  return { kept, skipped: all.length - kept.length, predicate };
}

/**
 * Binds the predicate against an empty relation of the table's schema, so a typo in a column name
 * or a type error is reported as the user's mistake, with the table's columns, before any file is read.
 */
async function assertPredicateBinds(snapshot: Snapshot, where: string): Promise<void> {
  const fields = snapshot.schema.fields;
  const empty = fields.length
    ? `SELECT ${fields.map((f) => `NULL::${deltaTypeToDuckDb(f.type)} AS ${sqlIdent(f.name)}`).join(', ')} WHERE false`
    : 'SELECT 1 WHERE false';
  try {
    await snapshot.table.compute.query(`SELECT * FROM (${empty}) WHERE ${where} LIMIT 0`);
  } catch (err) {
    const reason = String((err as Error).message).split('\n')[0];
    throw new InputError(
      `${snapshot.table.uri}: the predicate '${where}' is not valid for this table (${reason}). Columns: ${fields.map((f) => f.name).join(', ')}.`,
      { cause: err },
    );
  }
}

function physicalNameLookup(fields: StructField[], mode: ColumnMappingMode): (logical: string) => string {
  const map = new Map(fields.map((f) => [f.name.toLowerCase(), physicalName(f, mode)]));
  return (logical: string) => map.get(logical.toLowerCase()) ?? logical;
}

export async function scanSnapshot(snapshot: Snapshot, options: ScanOptions = {}): Promise<Scan> {
  const { compute, store, uri } = snapshot.table;
  const mode = columnMappingMode(snapshot.metadata);
  const schemaFields = snapshot.schema.fields;
  const partitionSet = new Set(snapshot.partitionColumns.map((c) => c.toLowerCase()));
  const byLower = new Map(schemaFields.map((f) => [f.name.toLowerCase(), f]));
  const wanted = (options.columns ?? schemaFields.map((f) => f.name)).map((c) => {
    const f = byLower.get(c.toLowerCase());
    if (!f) throw new InputError(`${uri}: column '${c}' does not exist; the table has ${schemaFields.map((x) => x.name).join(', ')}.`);
    return f;
  });

  const { kept, skipped } = await planFiles(snapshot, options.where, options.files);
  const metrics: ScanMetrics = {
    filesTotal: (options.files ?? snapshot.files).length,
    filesScanned: kept.length,
    filesSkipped: skipped,
    bytesScanned: kept.reduce((s, f) => s + f.size, 0),
  };
  const where = options.where ? ` WHERE ${options.where}` : '';
  const extraCols = options.withFileInfo ? `, NULL::${options.fileIndex ? 'UBIGINT' : 'VARCHAR'} AS _file, NULL::BIGINT AS _row_index` : '';

  if (kept.length === 0) {
    const cols = wanted.map((f) => `NULL::${deltaTypeToDuckDb(f.type)} AS ${sqlIdent(f.name)}`).join(', ');
    const sql = `SELECT * FROM (SELECT ${cols}${extraCols}) WHERE false`;
    return { sql, metrics, files: kept, release: async () => {} };
  }

  const id = `${process.pid}_${++scanCounter}`;
  const filesTable = `__lakelet_files_${id}`;
  const dvTable = `__lakelet_dv_${id}`;
  const localPaths = await Promise.all(
    kept.map(async (f) => {
      const resolved = resolveAddPath(store.uri, f.path);
      if (resolved.kind === 'absolute') {
        if (!resolved.localPath) throw new InputError(`${uri}: file ${f.path} is outside the table and not on a local disk; lakelet cannot read it.`);
        return resolved.localPath;
      }
      return localFileFor(store, resolved.key, f.size);
    }),
  );

  const partitionFields = schemaFields.filter((f) => partitionSet.has(f.name.toLowerCase()));
  const needFileJoin = partitionFields.length > 0 || (options.withFileInfo && !options.fileIndex);
  const dvFiles = kept.map((f, i) => ({ f, i })).filter(({ f }) => f.deletionVector);
  const created: string[] = [];
  const deletedRows = new Map<string, number[]>();

  try {
    if (needFileJoin) {
      const partCols = partitionFields.map((f) => `${sqlIdent('p_' + f.name)} ${deltaTypeToDuckDb(f.type)}`);
      await compute.run(
        `CREATE TEMP TABLE ${filesTable} (__local VARCHAR, __path VARCHAR${partCols.map((c) => ', ' + c).join('')})`,
      );
      created.push(filesTable);
      const rows = kept.map((f, i) => {
        const values = partitionFields.map((pf) => {
          const raw = lookupPartitionValue(f.partitionValues, physicalName(pf, mode), pf.name);
          return partitionValueToSql(raw, pf.type);
        });
        return `(${[sqlString(localPaths[i]), sqlString(f.path), ...values].join(', ')})`;
      });
      for (let i = 0; i < rows.length; i += 1000) {
        await compute.run(`INSERT INTO ${filesTable} VALUES ${rows.slice(i, i + 1000).join(', ')}`);
      }
    }
    if (dvFiles.length > 0) {
      // Keyed by the file's position in the list read (DuckDB's file_index), not its path: an
      // integer join. The positions cross through DuckDB's appender, with no SQL to parse (a VALUES
      // row per position, then a JSON list per file, cost parsing that grew with every MERGE into
      // a table with deletion vectors).
      await compute.run(`CREATE TEMP TABLE ${dvTable} (__file INTEGER, __row BIGINT)`);
      created.push(dvTable);
      for (const { f, i } of dvFiles) {
        const deleted = await readDeletionVector(store, f.deletionVector!, { tablePath: uri, version: snapshot.version });
        deletedRows.set(f.path, deleted);
        if (deleted.length === 0) continue;
        await compute.appendIntegers(dvTable, [new Array<number>(deleted.length).fill(i), deleted]);
      }
    }

    const available = await availableColumns(compute, localPaths, kept);
    const fileList = `[${localPaths.map(sqlString).join(', ')}]`;
    const readerArgs = `union_by_name = true, hive_partitioning = false${needFileJoin ? ', filename = true' : ''}${dvFiles.length > 0 || options.withFileInfo ? ', file_row_number = true' : ''}`;
    // Every column is projected inside, so a predicate may use columns the caller did not ask
    // for; DuckDB's projection pushdown still reads only the columns the outer query needs.
    const readExprs = await logicalColumnExprs(
      compute,
      schemaFields.map((f) => {
        const actual = partitionSet.has(f.name.toLowerCase()) ? undefined : available.get(physicalName(f, mode).toLowerCase());
        return actual && { expr: `d.${sqlIdent(actual.name)}`, type: f.type, storedType: actual.type };
      }),
      mode,
    );
    const projections = schemaFields.map((f, i) => {
      if (partitionSet.has(f.name.toLowerCase())) return `f.${sqlIdent('p_' + f.name)} AS ${sqlIdent(f.name)}`;
      const expr = readExprs[i];
      if (expr === undefined) return `NULL::${deltaTypeToDuckDb(f.type)} AS ${sqlIdent(f.name)}`;
      return `${expr} AS ${sqlIdent(f.name)}`;
    });
    // DuckDB's file_index is the file's position in the list read, which is `kept`'s order.
    if (options.withFileInfo) projections.push(options.fileIndex ? 'd.file_index AS _file' : 'f.__path AS _file', 'd.file_row_number AS _row_index');
    let from = `read_parquet(${fileList}, ${readerArgs}) d`;
    if (needFileJoin) from += ` JOIN ${filesTable} f ON d.filename = f.__local`;
    if (dvFiles.length > 0) from += ` ANTI JOIN ${dvTable} x ON d.file_index::INTEGER = x.__file AND d.file_row_number = x.__row`;
    const outer = [...wanted.map((f) => sqlIdent(f.name)), ...(options.withFileInfo ? ['_file', '_row_index'] : [])].join(', ');
    const sql = `SELECT ${outer} FROM (SELECT ${projections.join(', ')} FROM ${from})${where}`;
    return {
      sql,
      metrics,
      files: kept,
      deletedRows,
      release: async () => {
        for (const t of created) await compute.run(`DROP TABLE IF EXISTS ${t}`);
      },
    };
  } catch (err) {
    for (const t of created) await compute.run(`DROP TABLE IF EXISTS ${t}`).catch(() => {});
    throw await explainMissing(err, snapshot, kept);
  }
}

/** Columns present in the union of the files' Parquet schemas (name and type as read), by lower-cased name. */
async function availableColumns(compute: Snapshot['table']['compute'], paths: string[], files: AddFile[]): Promise<Map<string, { name: string; type: string }>> {
  // A data file is never rewritten in place (a new one gets a new name), so the same files (path,
  // size, time) have the same columns: a MERGE scans its target files twice, a pipeline batch its
  // stage file twice, each a DESCRIBE that opens every file's footer.
  // Long lists are not kept (their key alone would be large).
  const key = paths.length <= DESCRIBED_MAX_FILES ? JSON.stringify(paths.map((p, i) => [p, files[i].size, files[i].modificationTime])) : '';
  const known = key ? describedColumns.get(key) : undefined;
  if (known) {
    describedColumns.delete(key);
    describedColumns.set(key, known);
    return new Map(known);
  }
  const list = `[${paths.map(sqlString).join(', ')}]`;
  const rows = await compute.query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false)`);
  const columns = new Map(rows.map((r) => [r.column_name.toLowerCase(), { name: r.column_name, type: r.column_type }]));
  if (key) describedColumns.set(key, columns);
  if (describedColumns.size > DESCRIBED_KEPT) describedColumns.delete(describedColumns.keys().next().value!);
  return new Map(columns);
}

/** The columns of recently scanned file lists, least recently used first (bounded: DESCRIBED_KEPT lists). */
const describedColumns = new Map<string, Map<string, { name: string; type: string }>>();
const DESCRIBED_KEPT = 64;
const DESCRIBED_MAX_FILES = 256;


/**
 * DuckDB says "No files found" or fails to decode a file; the user needs to know which file and
 * which version (MissingFileError, DamagedFileError). Other errors pass through unchanged.
 */
async function explainMissing(err: unknown, snapshot: Snapshot, files: AddFile[]): Promise<unknown> {
  const message = String((err as Error)?.message ?? err);
  if (/No files found|Cannot open file|No such file|not found/i.test(message)) {
    for (const f of files) {
      const resolved = resolveAddPath(snapshot.table.store.uri, f.path);
      if (resolved.kind === 'relative' && !(await snapshot.table.store.head(resolved.key))) {
        return new MissingFileError(snapshot.table.uri, f.path, snapshot.version, err);
      }
    }
  }
  if (DAMAGE_MESSAGE.test(message)) {
    const damaged = await findDamagedFile(snapshot, files).catch(() => undefined);
    if (damaged) return new DamagedFileError(snapshot.table.uri, damaged.file.path, snapshot.version, damaged.reason, err);
  }
  return err;
}

/** Wraps DuckDB errors raised while executing a scan's SQL. */
export async function withMissingFileCheck<T>(snapshot: Snapshot, files: AddFile[], run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw await explainMissing(err, snapshot, files);
  }
}
