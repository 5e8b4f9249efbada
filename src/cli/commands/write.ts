import { Option, type Command } from 'commander';
import { commaList, localDataFile, printJson, propertyOption, withTable } from '../options.ts';
import { humanBytes, plural } from '../output/table-format.ts';

interface WriteOptions {
  from: string;
  mode: 'append' | 'overwrite';
  partitionBy?: string[];
  mergeSchema?: boolean;
  property?: Record<string, string>;
  json?: boolean;
}

export function registerWrite(program: Command): void {
  program
    .command('write')
    .summary('append or overwrite a table from a CSV, JSON, NDJSON or Parquet file')
    .description(
      'Write the rows of a file into a Delta table, creating the table on the first write. ' +
        'The format comes from the extension (.csv, .json, .ndjson/.jsonl, .parquet); CSV dialects and ' +
        'column types are detected by DuckDB. Prints the new version and what was written.',
    )
    .argument('<table>', 'path of the Delta table (created if it does not exist)')
    .requiredOption('--from <file>', 'the file to load: .csv, .json, .ndjson or .parquet')
    .addOption(new Option('--mode <mode>', 'append to the table, or replace all of its rows').choices(['append', 'overwrite']).default('append'))
    .option('--partition-by <columns>', 'comma-separated partition columns (when creating the table)', commaList)
    .option('--merge-schema', 'add columns of the file that the table does not have yet')
    .option('--property <key=value>', 'a Delta table property, e.g. delta.enableChangeDataFeed=true (repeatable; on an existing table it is changed in the same commit)', propertyOption)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet write ./tables/orders --from orders-2024-05-01.csv --partition-by order_date
  $ lakelet write ./tables/orders --from more-orders.parquet
  $ lakelet write ./tables/orders --from fixed.ndjson --mode overwrite
  $ lakelet write ./tables/orders --from with-new-column.csv --merge-schema --json
  $ lakelet write ./tables/events --from events.ndjson --property delta.enableChangeDataFeed=true --property delta.appendOnly=true`,
    )
    .action(async (location: string, options: WriteOptions) => {
      const result = await withTable(location, async (table) => {
        let builder = table.write({ file: localDataFile(options.from) }).mode(options.mode);
        if (options.partitionBy) builder = builder.partitionBy(...options.partitionBy);
        if (options.mergeSchema) builder = builder.mergeSchema();
        if (options.property) builder = builder.properties(options.property);
        const r = await builder.execute();
        return { table: table.uri, version: r.version, metrics: r.metrics, skipped: r.skipped };
      });
      if (options.json) {
        printJson({
          table: result.table,
          version: result.version,
          mode: options.mode,
          ...result.metrics,
          ...(result.skipped ? { skipped: result.skipped } : {}),
        });
        return;
      }
      if (result.skipped) {
        process.stdout.write(`nothing written to ${result.table} (version ${result.version}): ${result.skipped}\n`);
        return;
      }
      const m = result.metrics;
      const removed = m.numRemovedFiles ? `, removed ${plural(m.numRemovedFiles, 'file')}` : '';
      process.stdout.write(
        `wrote version ${result.version} of ${result.table}: ${plural(m.numOutputRows, 'row')} in ${plural(m.numFiles, 'file')} ` +
          `(${humanBytes(m.numOutputBytes)})${removed}, ${m.executionTimeMs} ms\n`,
      );
    });
}
