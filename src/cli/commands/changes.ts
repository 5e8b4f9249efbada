import { Option, type Command } from 'commander';
import type { Compute } from '../../adapters/compute/compute.ts';
import type { DeltaTable } from '../../engine/table.ts';
import { withMissingFileCheck } from '../../engine/delta/scan.ts';
import { nonNegativeInteger, withTable } from '../options.ts';
import { outputColumns, type OutputColumn } from '../output/values.ts';
import { formatTable, plural } from '../output/table-format.ts';
import { OutputSink } from '../output/sink.ts';
import { firstRowsAsText, streamRows } from '../output/query-output.ts';

interface ChangesOptions {
  fromVersion: number;
  toVersion?: number;
  where?: string;
  limit?: number;
  format: 'table' | 'ndjson' | 'csv';
}

const TABLE_FORMAT_LIMIT = 50;
const ORDER = ` ORDER BY _commit_version, CASE _change_type WHEN 'delete' THEN 0 WHEN 'update_preimage' THEN 1 WHEN 'update_postimage' THEN 2 ELSE 3 END`;

export function registerChanges(program: Command): void {
  program
    .command('changes')
    .summary('print the change data feed (inserted, updated, deleted rows) between versions')
    .description(
      'Print the rows that changed between two versions (inclusive) of a table with the change data feed enabled ' +
        '(delta.enableChangeDataFeed=true): the table\'s columns plus _change_type (insert, update_preimage, ' +
        'update_postimage, delete), _commit_version and _commit_timestamp, in commit order.',
    )
    .argument('<table>', 'path of the Delta table')
    .requiredOption('--from-version <n>', 'first version to read changes of', nonNegativeInteger)
    .option('--to-version <n>', 'last version (default: the latest)', nonNegativeInteger)
    .option('--where <sql>', 'keep change rows matching a SQL predicate (may use _change_type, _commit_version)')
    .option('--limit <n>', `print at most n rows (default: ${TABLE_FORMAT_LIMIT} for --format table, all otherwise)`, nonNegativeInteger)
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'ndjson', 'csv']).default('table'))
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet changes ./tables/orders --from-version 5
  $ lakelet changes ./tables/orders --from-version 5 --to-version 9 --format ndjson
  $ lakelet changes ./tables/orders --from-version 0 --where "_change_type = 'delete'" --format csv`,
    )
    .action(async (location: string, options: ChangesOptions) => {
      await withTable(location, (table) => printChanges(table, options));
    });
}

async function printChanges(table: DeltaTable, options: ChangesOptions): Promise<void> {
  const builder = table.changes({ fromVersion: options.fromVersion, toVersion: options.toVersion });
  if (options.where) builder.where(options.where);
  const scan = await builder.scan();
  try {
    const compute = table.ctx.compute;
    const sql = `SELECT * FROM (${scan.sql})${ORDER}`;
    await withMissingFileCheck(scan.snapshot, scan.files, async () => {
      const columns = await outputColumns(compute, sql);
      if (options.format === 'table') await printTable(compute, sql, columns, options.limit ?? TABLE_FORMAT_LIMIT);
      else await streamRows(compute, sql, columns, options.format, options.limit);
    });
    if (options.format === 'table') {
      const m = scan.metrics;
      process.stderr.write(
        `versions ${m.fromVersion}..${m.toVersion}: ${plural(m.numCommits, 'commit')} with changes ` +
          `(${m.numChangeFiles} change data, ${m.numAddFiles} added, ${m.numRemoveFiles} removed files)\n`,
      );
    }
  } finally {
    await scan.release();
  }
}

async function printTable(compute: Compute, sql: string, columns: OutputColumn[], limit: number): Promise<void> {
  const { rows, more } = await firstRowsAsText(compute, sql, columns, limit);
  const sink = new OutputSink(process.stdout);
  sink.write(formatTable(columns.map((c) => c.name), rows, { rightAlign: columns.map((c) => c.numeric) }));
  if (more) sink.write(`… more rows (showing ${limit}; use --limit to see more)\n`);
  else if (rows.length === 0) sink.write('(no changes)\n');
  await sink.flush();
}
