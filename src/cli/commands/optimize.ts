import { Option, type Command } from 'commander';
import { commaList, positiveInteger, printJson, withTable } from '../options.ts';
import { formatKeyValues, humanBytes, plural } from '../output/table-format.ts';

interface OptimizeOptions {
  where?: string;
  zorderBy?: string[];
  sortBy?: string[];
  targetSize?: number;
  minFileSize?: number;
  json?: boolean;
}

export function registerOptimize(program: Command): void {
  program
    .command('optimize')
    .summary('compact small files, optionally clustering rows by Z-order or sort order')
    .description(
      'Compact the small files of each partition into files of about the target size (default: the table property ' +
        'delta.targetFileSize, else 128 MiB), as one Delta commit (operation OPTIMIZE) that changes no data. With ' +
        '--zorder-by (or --sort-by) every file of a partition is rewritten with rows clustered by those columns, so ' +
        'that filters on them can skip more files.',
    )
    .argument('<table>', 'path of the Delta table')
    .option('--where <sql>', 'only partitions matching this predicate over partition columns')
    .addOption(new Option('--zorder-by <columns>', 'comma-separated columns to cluster by (Z-order)').argParser(commaList).conflicts('sortBy'))
    .option('--sort-by <columns>', 'comma-separated columns to sort by (linear order)', commaList)
    .option('--target-size <bytes>', 'target file size in bytes', positiveInteger)
    .option('--min-file-size <bytes>', 'files at least this large are left alone (default: the target size)', positiveInteger)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet optimize ./tables/orders
  $ lakelet optimize ./tables/orders --where "order_date >= '2024-05-01'" --zorder-by customer_id,product_id
  $ lakelet optimize ./tables/events --target-size 268435456 --json`,
    )
    .action(async (location: string, options: OptimizeOptions) => {
      const result = await withTable(location, async (table) => {
        const b = table.optimize();
        if (options.where) b.where(options.where);
        if (options.zorderBy) b.zOrderBy(options.zorderBy);
        if (options.sortBy) b.sortBy(options.sortBy);
        if (options.targetSize) b.targetSize(options.targetSize);
        if (options.minFileSize) b.minFileSize(options.minFileSize);
        const r = await b.execute();
        return { table: table.uri, version: r.version, metrics: r.metrics, skipped: r.skipped };
      });
      if (options.json) {
        printJson({ table: result.table, version: result.version, ...result.metrics, ...(result.skipped ? { skipped: result.skipped } : {}) });
        return;
      }
      if (result.skipped) {
        process.stdout.write(`${result.table} unchanged (version ${result.version}): ${result.skipped}\n`);
        return;
      }
      const m = result.metrics;
      process.stdout.write(
        `optimized ${result.table} in version ${result.version}: ${plural(m.numFilesRemoved, 'file')} → ${plural(m.numFilesAdded, 'file')}\n` +
          formatKeyValues([
            ['files removed', `${m.filesRemoved.totalFiles} (${humanBytes(m.filesRemoved.totalSize)})`],
            ['files added', `${m.filesAdded.totalFiles} (${humanBytes(m.filesAdded.totalSize)})`],
            ['partitions', String(m.partitionsOptimized)],
            ['batches', String(m.numBatches)],
            ['files considered', `${m.totalConsideredFiles} (${m.totalFilesSkipped} left as they were)`],
            ['time', `${m.executionTimeMs} ms`],
          ]),
      );
    });
}
