import { Option, type Command } from 'commander';
import type { Compute } from '../../adapters/compute/compute.ts';
import type { DeltaTable } from '../../engine/table.ts';
import { withMissingFileCheck } from '../../engine/delta/scan.ts';
import { commaList, nonNegativeInteger, withTable } from '../options.ts';
import { jsonTextSelect, outputColumns, plainText, type OutputColumn } from '../output/values.ts';
import { NdjsonEncoder } from '../output/ndjson.ts';
import { CsvEncoder } from '../output/csv.ts';
import { formatTable, plural } from '../output/table-format.ts';
import { OutputSink } from '../output/sink.ts';

type ReadFormat = 'table' | 'ndjson' | 'csv';

interface ReadOptions {
  version?: number;
  timestamp?: string;
  where?: string;
  columns?: string[];
  limit?: number;
  format: ReadFormat;
}

const TABLE_FORMAT_LIMIT = 50;

export function registerRead(program: Command): void {
  program
    .command('read')
    .summary('print the rows of a table')
    .description(
      'Print the rows of a Delta table, optionally as of an older version or time, filtered and projected. ' +
        'ndjson and csv stream every row (64-bit integers and decimals as strings, timestamps ISO-8601 UTC); ' +
        `the table format shows the first ${TABLE_FORMAT_LIMIT} rows unless --limit says otherwise.`,
    )
    .argument('<table>', 'path of the Delta table (the directory that holds _delta_log)')
    .addOption(new Option('--version <n>', 'read the table as of this version (time travel)').argParser(nonNegativeInteger).conflicts('timestamp'))
    .option('--timestamp <time>', 'read the table as of this time: the last version committed at or before it (ISO-8601, e.g. 2024-05-01T12:00:00Z)')
    .option('--where <sql>', "keep rows matching a SQL predicate, e.g. \"day = '2024-05-01' AND amount > 10\"; files that cannot match are skipped")
    .option('--columns <list>', 'comma-separated columns to print, in this order (default: all)', commaList)
    .option('--limit <n>', `print at most n rows (default: ${TABLE_FORMAT_LIMIT} for --format table, all rows otherwise)`, nonNegativeInteger)
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'ndjson', 'csv']).default('table'))
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet read ./tables/orders
  $ lakelet read ./tables/orders --where "order_date >= '2024-05-01'" --columns id,amount
  $ lakelet read ./tables/orders --version 3 --format ndjson > orders-v3.ndjson
  $ lakelet read ./tables/orders --timestamp 2024-05-01T12:00:00Z --format csv --limit 1000`,
    )
    .action(async (location: string, options: ReadOptions) => {
      await withTable(location, (table) => read(table, options));
    });
}

async function read(table: DeltaTable, options: ReadOptions): Promise<void> {
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

/** ndjson / csv: rows go out chunk by chunk (DuckDB's 2048-row vectors), never all held at once. */
async function streamRows(compute: Compute, sql: string, columns: OutputColumn[], format: 'ndjson' | 'csv', limit: number | undefined): Promise<void> {
  const names = columns.map((c) => c.name);
  const encoder = format === 'ndjson' ? new NdjsonEncoder(names) : new CsvEncoder(names);
  const sink = new OutputSink(process.stdout);
  if (encoder instanceof CsvEncoder) sink.write(encoder.header());
  const select = jsonTextSelect(sql, columns) + (limit !== undefined ? ` LIMIT ${limit}` : '');
  for await (const rows of compute.stream(select)) {
    for (const row of rows) {
      sink.write(encoder.line(row as (string | null)[]));
    }
    if (sink.full) await sink.flush();
  }
  await sink.flush();
}

/** The table format: the first `limit` rows aligned, and how many more there are. */
async function printTable(compute: Compute, sql: string, columns: OutputColumn[], limit: number): Promise<void> {
  const rows: (string | null)[][] = [];
  for await (const chunk of compute.stream(`${jsonTextSelect(sql, columns)} LIMIT ${limit + 1}`)) {
    for (const row of chunk) rows.push((row as (string | null)[]).map(plainText));
  }
  const more = rows.length > limit;
  if (more) rows.length = limit;
  const sink = new OutputSink(process.stdout);
  sink.write(
    formatTable(
      columns.map((c) => c.name),
      rows,
      { rightAlign: columns.map((c) => c.numeric) },
    ),
  );
  if (more) {
    const [counted] = await compute.query<{ n: string | number }>(`SELECT count(*) AS n FROM (${sql})`);
    const total = Number(counted.n);
    sink.write(`… ${plural(total - limit, 'more row')} (showing ${limit} of ${total}; use --limit to see more)\n`);
  } else if (rows.length === 0) {
    sink.write('(no rows)\n');
  }
  await sink.flush();
}
