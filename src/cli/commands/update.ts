import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withTable } from '../options.ts';
import { plural } from '../output/table-format.ts';
import { printJsonOrSkipped, rewriteDetails } from '../output/operation-result.ts';

interface UpdateOptions {
  set: [string, string][];
  where?: string;
  json?: boolean;
}

export function registerUpdate(program: Command): void {
  program
    .command('update')
    .summary('set columns to SQL expressions in the rows that match a predicate')
    .description(
      'Update rows, as one Delta commit (operation UPDATE): in every row matching --where (every row without it), ' +
        'each assigned column becomes the value of its SQL expression, computed from the row as it was. Only files ' +
        "holding a matching row are rewritten. The table's NOT NULL and CHECK constraints are enforced; a violation " +
        'changes nothing.',
    )
    .argument('<table>', 'path of the Delta table')
    .requiredOption('--set <assignments>', 'col=expr[,col=expr…] (repeatable); commas inside parentheses or quotes are part of the expression', collectAssignments)
    .option('--where <sql>', "SQL predicate over the table's columns")
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet update ./tables/orders --set "status='shipped'" --where "id = 42"
  $ lakelet update ./tables/orders --set "amount=amount * 1.1, note=concat(note, ' (+10%)')" --where "region = 'eu'"
  $ lakelet update ./tables/orders --set "name=upper(name)" --json`,
    )
    .action(async (location: string, options: UpdateOptions) => {
      const result = await withTable(location, async (table) => {
        const r = await table.update(Object.fromEntries(options.set), options.where).execute();
        return { table: table.uri, version: r.version, metrics: r.metrics, skipped: r.skipped };
      });
      if (printJsonOrSkipped(result, options.json, 'nothing updated in')) return;
      const m = result.metrics;
      process.stdout.write(`updated ${plural(m.numUpdatedRows, 'row')} of ${result.table} in version ${result.version}\n` + rewriteDetails(m));
    });
}

function collectAssignments(value: string, previous: [string, string][] | undefined): [string, string][] {
  const out = [...(previous ?? [])];
  for (const part of splitTopLevel(value)) {
    const eq = part.indexOf('=');
    const column = eq > 0 ? part.slice(0, eq).trim().replace(/^"(.*)"$/, '$1') : '';
    const expression = eq > 0 ? part.slice(eq + 1).trim() : '';
    if (!column || !expression) throw new InvalidArgumentError(`expected col=expr, got ${JSON.stringify(part.trim())}.`);
    out.push([column, expression]);
  }
  return out;
}

/** Splits on commas that are outside parentheses, brackets, braces and quotes. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '(' || ch === '[' || ch === '{') {
      depth++;
    } else if (ch === ')' || ch === ']' || ch === '}') {
      depth--;
    } else if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim()) parts.push(current);
  return parts;
}
