import { Option, type Command } from 'commander';
import { nonNegativeInteger, printJson, withTable } from '../options.ts';
import { usageError } from '../errors.ts';
import { formatKeyValues, humanBytes, plural } from '../output/table-format.ts';

interface RestoreOptions {
  version?: number;
  timestamp?: string;
  json?: boolean;
}

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .summary('bring a table back to an older version')
    .description(
      'Restore the table to an older version, or to the version that was current at a time, as a new Delta commit ' +
        '(operation RESTORE): files of that version are added back and files added since are removed; the old schema ' +
        'and properties come back. History is kept, so a restore can itself be undone. Fails, changing nothing, if ' +
        'a file of that version has been vacuumed.',
    )
    .argument('<table>', 'path of the Delta table')
    .addOption(new Option('--version <n>', 'the version to restore').argParser(nonNegativeInteger).conflicts('timestamp'))
    .option('--timestamp <time>', 'restore the version current at this time (ISO-8601, e.g. 2024-05-01T12:00:00Z)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet restore ./tables/orders --version 12
  $ lakelet restore ./tables/orders --timestamp 2024-05-01T08:00:00Z --json`,
    )
    .action(async (location: string, options: RestoreOptions) => {
      if (options.version === undefined && options.timestamp === undefined) throw usageError('restore needs --version <n> or --timestamp <time>.');
      const result = await withTable(location, async (table) => {
        const b = table.restore();
        if (options.version !== undefined) b.version(options.version);
        else b.timestamp(options.timestamp!);
        const r = await b.execute();
        return { table: table.uri, version: r.version, metrics: r.metrics };
      });
      const m = result.metrics;
      if (options.json) {
        printJson({ table: result.table, version: result.version, ...m });
        return;
      }
      const to = options.version !== undefined ? `version ${options.version}` : options.timestamp;
      process.stdout.write(
        `restored ${result.table} to ${to} as version ${result.version}\n` +
          formatKeyValues([
            ['files restored', `${m.numRestoredFiles} (${humanBytes(m.restoredFilesSize)})`],
            ['files removed', `${m.numRemovedFiles} (${humanBytes(m.removedFilesSize)})`],
            ['table now', `${plural(m.numOfFilesAfterRestore, 'file')}, ${humanBytes(m.tableSizeAfterRestore)}`],
            ['time', `${m.executionTimeMs} ms`],
          ]),
      );
    });
}
