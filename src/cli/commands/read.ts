import { Option, type Command } from 'commander';
import { commaList, nonNegativeInteger, withTable } from '../options.ts';
import { TABLE_FORMAT_LIMIT, type ReadOptions } from './read-options.ts';

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
      // A plain read of a small local table needs no SQL: decoded directly, it prints the same bytes
      // without loading DuckDB (read-direct.ts); anything else, or anything it declines, runs SQL.
      const { readDirect } = await import('./read-direct.ts');
      if (await readDirect(location, options)) return;
      const { read } = await import('./read-duckdb.ts');
      await withTable(location, (table) => read(table, options));
    });
}

