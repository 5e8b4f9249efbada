import { Option, type Command } from 'commander';
import { withTable } from '../options.ts';
import { usageError } from '../errors.ts';
import { plural } from '../output/table-format.ts';
import { printJsonOrSkipped, rewriteDetails } from '../output/operation-result.ts';

interface DeleteOptions {
  where?: string;
  all?: boolean;
  json?: boolean;
}

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .summary('delete the rows of a table that match a SQL predicate')
    .description(
      'Delete rows matching a SQL predicate, as one Delta commit (operation DELETE). Files that cannot hold a ' +
        'matching row are not read; files where every row matches are removed without rewriting; the others are ' +
        'rewritten without the deleted rows. A row for which the predicate is NULL is kept. Deleting every row needs --all.',
    )
    .argument('<table>', 'path of the Delta table')
    .option('--where <sql>', "SQL predicate over the table's columns, e.g. \"day < '2024-01-01' AND status = 'void'\"")
    .addOption(new Option('--all', 'delete every row').conflicts('where'))
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet delete ./tables/orders --where "order_date < DATE '2023-01-01'"
  $ lakelet delete ./tables/orders --where "status = 'cancelled'" --json
  $ lakelet delete ./tables/scratch --all`,
    )
    .action(async (location: string, options: DeleteOptions) => {
      if (!options.where && !options.all) {
        throw usageError('delete needs --where <predicate> (or --all to delete every row).');
      }
      const result = await withTable(location, async (table) => {
        const r = await table.delete(options.where).execute();
        return { table: table.uri, version: r.version, metrics: r.metrics, skipped: r.skipped };
      });
      if (printJsonOrSkipped(result, options.json, 'nothing deleted from')) return;
      const m = result.metrics;
      process.stdout.write(`deleted ${plural(m.numDeletedRows, 'row')} from ${result.table} in version ${result.version}\n` + rewriteDetails(m));
    });
}
