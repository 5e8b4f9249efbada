import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { commaList, isUri, localDataFile, printJson, remoteDataFileError, withTable } from '../options.ts';
import { plural } from '../output/table-format.ts';
import { usageError } from '../errors.ts';
import { DeltaTable } from '../../engine/table.ts';
import type { Source } from '../../engine/ops/source.ts';

interface MergeCliOptions {
  from: string;
  on: string[];
  dedupBy?: string;
  whenMatched: 'update' | 'delete' | 'ignore';
  whenNotMatched: 'insert' | 'ignore';
  whenNotMatchedBySource: 'delete' | 'ignore';
  deleteWhen?: string;
  updateWhen?: string;
  mergeSchema?: boolean;
  json?: boolean;
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .summary('upsert a file or another Delta table into a table on key columns')
    .description(
      'MERGE the rows of a file (.csv, .json, .ndjson, .parquet) or of another Delta table into a table, ' +
        'matching rows on the key columns. Only files holding a matched row are rewritten; others are ' +
        'skipped by their key statistics before any data is read. Prints the merge metrics.',
    )
    .argument('<table>', 'path of the target Delta table')
    .requiredOption('--from <file|table>', 'the source: a data file, or the path of a Delta table')
    .requiredOption('--on <keys>', 'comma-separated key columns', commaList)
    .option('--dedup-by <column>', 'keep only the latest source row per key, by this ordering column')
    .addOption(new Option('--when-matched <action>', 'what to do with target rows that have a source row').choices(['update', 'delete', 'ignore']).default('update'))
    .addOption(new Option('--when-not-matched <action>', 'what to do with source rows that have no target row').choices(['insert', 'ignore']).default('insert'))
    .addOption(new Option('--when-not-matched-by-source <action>', 'what to do with target rows the source does not have').choices(['delete', 'ignore']).default('ignore'))
    .option('--delete-when <condition>', "delete markers: a source row for which this SQL condition holds deletes its key's target row and is never inserted (s: the source row, e.g. \"s.op = 'D'\")")
    .option('--update-when <condition>', 'update a matched row only when this SQL condition holds (t: the target row, s: the source row; e.g. "s.last_modified > t.last_modified": a re-sent or older row changes nothing)')
    .option('--merge-schema', 'add source columns the table does not have yet')
    .option('--json', 'print the metrics as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet merge ./tables/accounts --from incremental.csv --on customer_id --dedup-by last_modified
  $ lakelet merge ./tables/orders --from ./tables/orders_stage --on tracking_num --json
  $ lakelet merge ./tables/accounts --from full-snapshot.parquet --on customer_id --when-not-matched-by-source delete
  $ lakelet merge ./tables/accounts --from changes.csv --on customer_id --dedup-by last_modified \\
      --delete-when "s.op = 'D'" --update-when "s.last_modified > t.last_modified"`,
    )
    .action(async (location: string, options: MergeCliOptions) => {
      if (options.deleteWhen !== undefined && options.whenMatched === 'delete') throw usageError('--delete-when and --when-matched delete contradict each other: every matched row is deleted already; give one');
      if (options.updateWhen !== undefined && options.whenMatched !== 'update') throw usageError(`--update-when applies to --when-matched update, not ${options.whenMatched}`);
      const result = await withTable(location, async (table) => {
        let source: Source;
        let release = async () => {};
        // A gs:// source can only be a Delta table: data files are read from local paths only.
        const remote = isUri(options.from) && !/^file:\/\//i.test(options.from);
        const from = remote ? options.from : localDataFile(options.from);
        if (remote || existsSync(join(from, '_delta_log'))) {
          const other = await DeltaTable.forPath(from, { compute: table.ctx.compute });
          if (remote && !(await other.exists())) throw remoteDataFileError(from);
          const scan = await other.scan();
          source = { sql: scan.sql };
          release = () => scan.release();
        } else {
          source = { file: from };
        }
        try {
          const builder = table.merge(source, { on: options.on });
          if (options.dedupBy) builder.dedupBy(options.dedupBy);
          if (options.mergeSchema) builder.mergeSchema();
          // Clauses apply in order, the first that holds wins: a delete marker before the update.
          if (options.deleteWhen !== undefined) builder.whenMatchedDelete(options.deleteWhen);
          if (options.whenMatched === 'update') builder.whenMatchedUpdateAll(options.updateWhen);
          if (options.whenMatched === 'delete') builder.whenMatchedDelete();
          // A marker for a key the table lacks is not inserted (IS NOT TRUE: a NULL marker column is an ordinary row).
          if (options.whenNotMatched === 'insert') builder.whenNotMatchedInsertAll(options.deleteWhen !== undefined ? `(${options.deleteWhen}) IS NOT TRUE` : undefined);
          if (options.whenNotMatchedBySource === 'delete') builder.whenNotMatchedBySourceDelete();
          const r = await builder.execute();
          return { table: table.uri, version: r.version, metrics: r.metrics, skipped: r.skipped };
        } finally {
          await release();
        }
      });
      if (options.json) {
        printJson({ table: result.table, version: result.version, ...result.metrics, ...(result.skipped ? { skipped: result.skipped } : {}) });
        return;
      }
      const m = result.metrics;
      process.stdout.write(
        (result.skipped ? `nothing to commit, ${result.table} stays at version ${result.version}: ` : `merged into version ${result.version} of ${result.table}: `) +
          `${plural(m.numTargetRowsInserted, 'row')} inserted, ${m.numTargetRowsUpdated} updated, ${m.numTargetRowsDeleted} deleted, ${m.numTargetRowsCopied} copied; ` +
          `files: ${m.numTargetFilesScanned} scanned, ${m.numTargetFilesSkipped} skipped, ${m.numTargetFilesRemoved} rewritten, ${m.numTargetFilesAdded} added; ` +
          `${m.executionTimeMs} ms\n`,
      );
    });
}
