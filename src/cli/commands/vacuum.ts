import { InvalidArgumentError, type Command } from 'commander';
import { printJson, withTable } from '../options.ts';
import { formatKeyValues, humanBytes, plural } from '../output/table-format.ts';

interface VacuumOptions {
  retainHours?: number;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

export function registerVacuum(program: Command): void {
  program
    .command('vacuum')
    .summary('delete files the table no longer references, after the retention period')
    .description(
      'Delete data, change data and deletion vector files that the current version of the table does not use and ' +
        'that were removed (and written) longer ago than the retention: by default the table property ' +
        'delta.deletedFileRetentionDuration, else 7 days. Time travel to versions older than the retention stops ' +
        'working for the deleted files. A retention shorter than the table\'s is refused unless --force is given. ' +
        'Records VACUUM START and VACUUM END commits (not in a dry run). Also removes what lakelet writers killed ' +
        'half-way left in the table folder (.lakelet-tmp-* files, .lakelet-staging/ folders) once their process is gone ' +
        'or they are older than the retention (at least an hour).',
    )
    .argument('<table>', 'path of the Delta table')
    .option('--retain-hours <n>', 'keep files removed less than this many hours ago', nonNegativeNumber)
    .option('--dry-run', 'list the files that would be deleted, delete nothing')
    .option('--force', "allow a retention shorter than the table's (readers of older versions may fail)")
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet vacuum ./tables/orders --dry-run
  $ lakelet vacuum ./tables/orders
  $ lakelet vacuum ./tables/scratch --retain-hours 1 --force --json`,
    )
    .action(async (location: string, options: VacuumOptions) => {
      const result = await withTable(location, async (table) => {
        const b = table.vacuum();
        if (options.retainHours !== undefined) b.retentionHours(options.retainHours);
        if (options.force) b.force();
        if (options.dryRun) b.dryRun();
        const r = await b.execute();
        return { table: table.uri, version: r.version, metrics: r.metrics };
      });
      const m = result.metrics;
      if (options.json) {
        printJson({ table: result.table, version: result.version, ...m });
        return;
      }
      const lines = m.dryRun
        ? `dry run: would delete ${plural(m.numDeletedFiles, 'file')} (${humanBytes(m.sizeOfDataToDelete)}) from ${result.table}\n` +
          m.filesDeleted.map((f) => `  ${f}\n`).join('')
        : `vacuumed ${result.table}: deleted ${plural(m.numDeletedFiles, 'file')} (${humanBytes(m.sizeOfDataToDelete)}), version ${result.version}\n`;
      const leftovers = m.leftoversDeleted.length === 0
        ? ''
        : `${m.dryRun ? 'would also remove' : 'also removed'} ${plural(m.leftoversDeleted.length, 'leftover')} of killed writers\n` +
          (m.dryRun ? m.leftoversDeleted.map((f) => `  ${f}\n`).join('') : '');
      process.stdout.write(
        lines +
          leftovers +
          formatKeyValues([
            ['retention', `${m.retentionMillis / 3_600_000} hours`],
            ['time', `${m.executionTimeMs} ms`],
          ]),
      );
    });
}

function nonNegativeNumber(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of hours (0 or more).');
  return n;
}
