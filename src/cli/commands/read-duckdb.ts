import type { Compute } from '../../adapters/compute/compute.ts';
import type { DeltaTable } from '../../engine/table.ts';
import { withMissingFileCheck } from '../../engine/delta/scan.ts';
import { outputColumns, type OutputColumn } from '../output/values.ts';
import { formatTable, plural, readTableFooter } from '../output/table-format.ts';
import { OutputSink } from '../output/sink.ts';
import { firstRowsAsText, streamRows } from '../output/query-output.ts';
import { TABLE_FORMAT_LIMIT, type ReadOptions } from './read-options.ts';

/**
 * `lakelet read` through DuckDB: any table, predicate and time travel. Loaded only when the direct
 * path (read-direct.ts) declines, since DuckDB's client alone costs more to load than that path.
 */
export async function read(table: DeltaTable, options: ReadOptions): Promise<void> {
  // Every read runs SQL: DuckDB starts on its threads while the log is read.
  table.startCompute();
  const scan = await table.scan({
    columns: options.columns,
    where: options.where,
    version: options.version,
    timestamp: options.timestamp,
  });
  try {
    const compute = table.ctx.compute;
    await withMissingFileCheck(scan.snapshot, scan.files, async () => {
      const columns = await outputColumns(compute, scan.sql);
      if (options.format === 'table') await printTable(compute, scan.sql, columns, options.limit ?? TABLE_FORMAT_LIMIT);
      else await streamRows(compute, scan.sql, columns, options.format, options.limit);
    });
    if (options.where && options.format === 'table') {
      // After the rows, so that a predicate DuckDB rejects does not leave a misleading line behind.
      const m = scan.metrics;
      process.stderr.write(`scanned ${m.filesScanned} of ${plural(m.filesTotal, 'file')} (${m.filesSkipped} skipped)\n`);
    }
  } finally {
    await scan.release();
  }
}

/** The table format: the first `limit` rows aligned, and how many more there are. */
async function printTable(compute: Compute, sql: string, columns: OutputColumn[], limit: number): Promise<void> {
  const { rows, more } = await firstRowsAsText(compute, sql, columns, limit);
  const sink = new OutputSink(process.stdout);
  sink.write(
    formatTable(
      columns.map((c) => c.name),
      rows,
      { rightAlign: columns.map((c) => c.numeric) },
    ),
  );
  // The whole count only when rows were left out.
  const total = more ? Number((await compute.query<{ n: string | number }>(`SELECT count(*) AS n FROM (${sql})`))[0].n) : rows.length;
  sink.write(readTableFooter(limit, total));
  await sink.flush();
}
