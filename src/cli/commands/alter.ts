import type { Command } from 'commander';
import { printJson, propertyOption, withTable } from '../options.ts';
import { plural } from '../output/table-format.ts';

interface AlterOptions {
  property?: Record<string, string>;
  json?: boolean;
}

/** `lakelet alter <table> --property k=v`: SET TBLPROPERTIES on an existing table. */
export function registerAlter(program: Command): void {
  program
    .command('alter')
    .summary('set table properties of an existing table (SET TBLPROPERTIES)')
    .description(
      'Set Delta table properties on an existing table in one metadata-only commit: no data file is rewritten. ' +
        'A property that needs a newer protocol (delta.enableChangeDataFeed needs writer version 4) upgrades it. ' +
        'Nothing is committed when every property already has the value given. delta.columnMapping.mode=name maps an ' +
        'existing table (each column keeps its name as physical name); mode id, in-commit timestamps and CHECK ' +
        'constraints can only be set when a table is created (`lakelet write --property`).',
    )
    .argument('<table>', 'path of the Delta table')
    .requiredOption('--property <key=value>', 'a table property to set (repeatable)', propertyOption)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet alter ./tables/orders --property delta.enableChangeDataFeed=true
  $ lakelet alter ./tables/orders --property delta.deletedFileRetentionDuration="interval 30 days" --property delta.checkpointInterval=20
  $ lakelet alter ./tables/orders --property delta.columnMapping.mode=name   # column mapping; no file rewritten
  $ lakelet describe ./tables/orders            # shows the properties`,
    )
    .action(async (location: string, options: AlterOptions) => {
      const result = await withTable(location, async (table) => {
        const r = await table.setProperties(options.property ?? {}).execute();
        return { table: table.uri, version: r.version, changed: r.changed, skipped: r.skipped, properties: r.snapshot.configuration };
      });
      if (options.json) {
        printJson({ table: result.table, version: result.version, changed: result.changed, properties: result.properties, ...(result.skipped ? { skipped: result.skipped } : {}) });
        return;
      }
      if (result.skipped) {
        process.stdout.write(`nothing to change in ${result.table} (version ${result.version}): ${result.skipped}\n`);
        return;
      }
      const lines = Object.entries(result.changed).map(([k, c]) => `  ${k}: ${c.from === undefined ? '(unset)' : c.from} -> ${c.to}\n`);
      process.stdout.write(`set ${plural(lines.length, 'property', 'properties')} of ${result.table} in version ${result.version}:\n${lines.join('')}`);
    });
}
