import { join } from 'node:path';
import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import type { KeyScope, SourceConnection, SourceTable } from '../../adapters/sources/source.ts';
import type { PipelineTables } from '../../warehouse/warehouse.ts';
import type { KeyDiff } from '../source-config.ts';
import { ExtractWriter } from './extract-writer.ts';

/** The `_source_file` of a batch's key-diff delete rows (last in the MERGE's file order, so a delete beats a row of the same batch). */
export const keyDiffFile = (source: string, table: string) => `${source}:${table}#key-diff`;

export interface KeyDiffRequest {
  conn: SourceConnection;
  compute: Compute;
  tables: PipelineTables;
  table: SourceTable;
  keyDiff: KeyDiff;
  /** The watermark column (undefined: a table synced in full). */
  watermark: string | undefined;
  /** The newest watermark value (source text) the scope `recent` counts back from. */
  newest: string | undefined;
  /** The batch's extract files (their keys count as the target's: a row extracted and then deleted goes too). */
  extract: string[];
  /** A Parquet file with the batch's columns (the stage layout the delete rows must have). */
  template: string;
  /** The folder to work in; the delete rows land in `<dir>/deletes.parquet`. */
  dir: string;
  pageSize: number;
  deletedColumn: string;
  lineage: { batch: number; sourceFile: string; ingestedAt: number };
}

/**
 * Key-diff deletes (issue 12 point 5): every primary key of the source (or of its rows in the recent
 * range) is streamed to Parquet, and every key the target has (or this batch extracted) that the
 * source no longer has becomes a delete row of the batch: the key, the newest watermark value known
 * for it (so its tombstone buries older copies a lookback re-reads), NULL elsewhere, marker true.
 * Memory stays bounded: JS holds one key at a time, DuckDB does the anti join under its limit.
 */
export async function keyDiffDeletes(r: KeyDiffRequest): Promise<{ file: string | undefined; deletes: number; sourceKeys: number }> {
  const pk = r.table.primaryKey;
  const columnOf = (name: string) => r.table.columns.find((c) => c.name === name)!;
  const scope: KeyScope | undefined = r.keyDiff.recentMs !== undefined && r.watermark && r.newest !== undefined ? { column: r.watermark, value: r.newest, lookbackMs: r.keyDiff.recentMs } : undefined;

  const keys = new ExtractWriter(r.compute, join(r.dir, 'keys'), {
    columns: pk.map((k) => ({ name: k, decode: columnOf(k).decode })),
    derived: [],
    missing: [],
    lineage: r.lineage,
    rowsPerFile: 1_000_000,
  });
  for await (const row of r.conn.keys(r.table, r.pageSize, scope)) await keys.write(row);
  const keyFiles = await keys.finish({ atLeastOne: true });

  const wanted = [...pk, ...(r.watermark ? [r.watermark] : [])];
  const inScope = scope ? `${sqlIdent(scope.column)} >= ${columnOf(scope.column).decode(sqlString(scope.value))} - to_microseconds(CAST(${scope.lookbackMs * 1000} AS BIGINT))` : undefined;
  const targetFile = join(r.dir, 'target-keys.parquet');
  const hasTarget = await r.tables.exportTarget(wanted, inScope, targetFile);
  const list = (files: string[]) => `read_parquet([${files.map(sqlString).join(', ')}])`;
  const known = [
    ...(hasTarget ? [`SELECT ${wanted.map(sqlIdent).join(', ')} FROM ${list([targetFile])}`] : []),
    ...(r.extract.length ? [`SELECT ${wanted.map(sqlIdent).join(', ')} FROM ${list(r.extract)}${inScope ? ` WHERE ${inScope}` : ''}`] : []),
  ];
  if (known.length === 0) return { file: undefined, deletes: 0, sourceKeys: keys.rows };

  const keyList = pk.map(sqlIdent).join(', ');
  const gone =
    `SELECT ${keyList}${r.watermark ? `, max(${sqlIdent(r.watermark)}) AS ${sqlIdent(r.watermark)}` : ''} FROM (${known.join(' UNION ALL BY NAME ')}) c ` +
    `WHERE NOT EXISTS (SELECT 1 FROM ${list(keyFiles)} s WHERE ${pk.map((k) => `s.${sqlIdent(k)} = c.${sqlIdent(k)}`).join(' AND ')}) GROUP BY ${keyList}`;
  const layout = await r.compute.query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(r.template)})`);
  const lineage: Record<string, string> = {
    _batch: `CAST(${r.lineage.batch} AS BIGINT)`,
    _source_file: sqlString(r.lineage.sourceFile),
    _ingested_at: `CAST(epoch_ms(CAST(${r.lineage.ingestedAt} AS BIGINT)) AS TIMESTAMPTZ)`,
    _row_number: 'CAST(row_number() OVER () - 1 AS BIGINT)',
    [r.deletedColumn]: 'true',
  };
  const select = layout.map(({ column_name: c, column_type: t }) => {
    const value = lineage[c] ?? (wanted.includes(c) ? sqlIdent(c) : 'NULL');
    return `CAST(${value} AS ${t}) AS ${sqlIdent(c)}`;
  });
  const file = join(r.dir, 'deletes.parquet');
  await r.compute.run(`COPY (SELECT ${select.join(', ')} FROM (${gone})) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
  const n = Number((await r.compute.query<{ n: bigint | number }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(file)})`))[0].n);
  return { file: n > 0 ? file : undefined, deletes: n, sourceKeys: keys.rows };
}
