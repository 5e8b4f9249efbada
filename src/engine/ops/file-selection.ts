import type { AddFile, RemoveFile } from '../delta/actions.ts';
import type { Snapshot } from '../delta/snapshot.ts';
import { sqlIdent } from '../../adapters/compute/sql.ts';
import { columnMappingMode, physicalName } from '../delta/column-mapping.ts';
import { partitionValueToSql } from '../delta/partition-values.ts';
import { parseStats } from '../delta/stats.ts';
import { scanSnapshot, withMissingFileCheck } from '../delta/scan.ts';
import { InputError } from '../errors.ts';

/**
 * Shared by DELETE, UPDATE and OPTIMIZE: which files a predicate touches, and how many of their
 * rows it matches. A row matches when the predicate is TRUE; NULL counts as no match (SQL WHERE).
 */

/** `coalesce((p), false)`: the SQL truth of a predicate with NULL meaning "no". */
export function isTrue(predicate: string): string {
  return `coalesce((${predicate}), false)`;
}

/** A partition value of a file, looked up by physical name, then logical name (case-insensitively). */
export function partitionValueOf(file: AddFile, physical: string, logical: string): string | null {
  const values = file.partitionValues ?? {};
  if (physical in values) return values[physical];
  if (logical in values) return values[logical];
  const lower = logical.toLowerCase();
  for (const [k, v] of Object.entries(values)) if (k.toLowerCase() === lower) return v;
  return null;
}

/**
 * Decides the predicate per file from partition values alone, when it only mentions partition
 * columns: DuckDB evaluates it over one row per distinct partition (typed like a scan would type
 * it). Returns undefined when the table is not partitioned or the predicate needs another column
 * (DuckDB cannot bind it over partition columns alone), so the caller must read the data.
 */
export async function matchByPartition(snapshot: Snapshot, files: AddFile[], predicate: string): Promise<boolean[] | undefined> {
  const partitionColumns = snapshot.partitionColumns;
  if (partitionColumns.length === 0) return undefined;
  const mode = columnMappingMode(snapshot.metadata);
  const fields = partitionColumns.map((c) => snapshot.schema.fields.find((f) => f.name.toLowerCase() === c.toLowerCase())!);
  const tuples = new Map<string, number>();
  const fileTuple: number[] = [];
  const literals: string[][] = [];
  for (const f of files) {
    const raw = fields.map((field) => partitionValueOf(f, physicalName(field, mode), field.name));
    const key = JSON.stringify(raw);
    let i = tuples.get(key);
    if (i === undefined) {
      i = tuples.size;
      tuples.set(key, i);
      literals.push(raw.map((v, j) => partitionValueToSql(v, fields[j].type)));
    }
    fileTuple.push(i);
  }
  const columns = ['__lakelet_i', ...fields.map((f) => sqlIdent(f.name))].join(', ');
  // The empty case still binds the predicate, so a data-column predicate falls back to scanning.
  const rows = literals.length > 0 ? literals : [fields.map((f) => partitionValueToSql(null, f.type))];
  const matched = new Set<number>();
  try {
    for (let start = 0; start < rows.length; start += 1000) {
      const values = rows
        .slice(start, start + 1000)
        .map((lits, k) => `(${start + k}, ${lits.join(', ')})`)
        .join(', ');
      const result = await snapshot.table.compute.query<{ i: number }>(
        `SELECT __lakelet_i AS i FROM (VALUES ${values}) AS __p(${columns}) WHERE ${isTrue(predicate)}`,
      );
      for (const r of result) matched.add(Number(r.i));
    }
  } catch {
    // Typically "Referenced column … not found": the predicate needs data columns.
    return undefined;
  }
  if (literals.length === 0) return [];
  return fileTuple.map((i) => matched.has(i));
}

export interface FileMatch {
  file: AddFile;
  /** Live rows in the file (after its deletion vector). */
  total: number;
  /** Rows for which the predicate is TRUE. */
  matched: number;
}

/** Reads `files` once and counts, per file, its rows and the rows matching `predicate`. */
export async function countMatches(snapshot: Snapshot, files: AddFile[], predicate: string): Promise<FileMatch[]> {
  if (files.length === 0) return [];
  const scan = await scanSnapshot(snapshot, { files, withFileInfo: true });
  try {
    const rows = await withMissingFileCheck(snapshot, files, () =>
      evaluate(snapshot, predicate, () =>
        snapshot.table.compute.query<{ f: string; total: string; matched: string }>(
          `SELECT _file AS f, count(*) AS total, count(*) FILTER (WHERE ${isTrue(predicate)}) AS matched FROM (${scan.sql}) GROUP BY _file`,
        ),
      ),
    );
    const byPath = new Map(rows.map((r) => [r.f, r]));
    return files.map((file) => {
      const r = byPath.get(file.path);
      return { file, total: Number(r?.total ?? 0), matched: Number(r?.matched ?? 0) };
    });
  } finally {
    await scan.release();
  }
}

/** Live row count of files: from stats when every file has them, else by reading. */
export async function countRows(snapshot: Snapshot, files: AddFile[]): Promise<number> {
  if (files.length === 0) return 0;
  let total = 0;
  let known = true;
  for (const f of files) {
    const n = parseStats(f.stats)?.numRecords;
    if (typeof n !== 'number') {
      known = false;
      break;
    }
    total += n - (f.deletionVector?.cardinality ?? 0);
  }
  if (known) return total;
  const scan = await scanSnapshot(snapshot, { files });
  try {
    const [row] = await withMissingFileCheck(snapshot, files, () => snapshot.table.compute.query<{ n: string }>(`SELECT count(*) AS n FROM (${scan.sql})`));
    return Number(row.n);
  } finally {
    await scan.release();
  }
}

/** Runs SQL built from a user predicate/expression; DuckDB's complaints become InputErrors naming it. */
export async function evaluate<T>(snapshot: Snapshot, expression: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const message = String((err as Error)?.message ?? err);
    if (/Binder Error|Parser Error|Conversion Error|Catalog Error|Invalid Input Error/i.test(message)) {
      throw new InputError(`${snapshot.table.uri}: cannot evaluate ${JSON.stringify(expression)}: ${message.split('\n')[0]}`, { cause: err });
    }
    throw err;
  }
}

/** The `remove` action for an active file, as DELETE/UPDATE/OPTIMIZE/RESTORE commit it. */
export function removeFor(file: AddFile, deletionTimestamp: number, dataChange: boolean): { remove: RemoveFile } {
  return {
    remove: {
      path: file.path,
      deletionTimestamp,
      dataChange,
      extendedFileMetadata: true,
      partitionValues: file.partitionValues,
      size: file.size,
      ...(file.stats ? { stats: file.stats } : {}),
      ...(file.tags ? { tags: file.tags } : {}),
      ...(file.deletionVector ? { deletionVector: file.deletionVector } : {}),
      ...(file.baseRowId != null ? { baseRowId: file.baseRowId } : {}),
      ...(file.defaultRowCommitVersion != null ? { defaultRowCommitVersion: file.defaultRowCommitVersion } : {}),
    },
  };
}

export function totalBytes(files: { size?: number | null }[]): number {
  return files.reduce((s, f) => s + Number(f.size ?? 0), 0);
}

